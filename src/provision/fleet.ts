import { z } from 'zod';

/**
 * Where a job's instances come from. `local` (the embedded default) runs each instance as a
 * worker process on this machine, polling its own task queue.
 */
export const fleetSchema = z
  .object({
    provider: z.enum(['local']).default('local'),
    /** Number of instances to start. */
    instances: z.number().int().min(1).max(64).default(3),
    /** Sub-tasks one instance runs at once. */
    slotsPerInstance: z.number().int().min(1).max(64).default(1),
  })
  .strict();

export type FleetSpec = z.output<typeof fleetSchema>;
export type FleetSpecInput = z.input<typeof fleetSchema>;
