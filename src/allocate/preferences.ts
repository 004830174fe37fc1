import { z } from 'zod';
import { durationSchema } from '../util/duration';

/** What the user wants from a schedule. Issue #5's allocator reads all of it. */
export const preferencesSchema = z
  .object({
    objective: z.enum(['minimize-cost', 'minimize-time', 'balanced']).default('balanced'),
    /** Wall-clock limit for the whole job, from its start. */
    deadline: durationSchema.optional(),
    /** Upper bound on spend in USD. */
    budget: z.number().positive().finite().optional(),
    /** Never pay more than this per instance-hour for spot capacity (USD). */
    maxSpotPrice: z.number().positive().finite().optional(),
    /** Fraction of sub-tasks (0..1) that must run on on-demand capacity. */
    minOnDemandFraction: z.number().min(0).max(1).default(0),
  })
  .strict();

export type Preferences = z.output<typeof preferencesSchema>;
export type PreferencesInput = z.input<typeof preferencesSchema>;
