import { z } from 'zod';
import { FLEET_PROVIDERS } from './provider';

/**
 * Where a job's instances come from. `local` (the embedded default) runs each instance as a
 * worker process on this machine, polling its own task queue; `ec2` launches EC2 instances from
 * the control worker's EC2 settings (docs/ec2.md). The control worker must provision the same
 * provider, or the job fails before anything starts.
 */
export const fleetSchema = z
  .object({
    provider: z.enum(FLEET_PROVIDERS).default('local'),
    /** Most instances running at once. */
    instances: z.number().int().min(1).max(64).default(3),
    /** Sub-tasks one instance runs at once. */
    slotsPerInstance: z.number().int().min(1).max(64).default(1),
  })
  .strict();

export type FleetSpec = z.output<typeof fleetSchema>;
export type FleetSpecInput = z.input<typeof fleetSchema>;
