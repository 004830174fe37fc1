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
    /**
     * How far ahead prices and interruptions are forecast for planning and re-planning (hours).
     * Default: 1.5 × the deadline, at least 24 h and at most 7 days.
     */
    horizonHours: z
      .number()
      .positive()
      .max(24 * 14)
      .optional(),
    /**
     * The runtime controller's policy: the learned model current when the job starts (`spotdag
     * learn`), or the hand-set heuristic. Default: learned once a version is current.
     */
    policy: z.enum(['learned', 'heuristic']).optional(),
  })
  .strict();

export type Preferences = z.output<typeof preferencesSchema>;
export type PreferencesInput = z.input<typeof preferencesSchema>;

/** The forecast horizon (seconds) planning and re-planning use for these preferences. */
export function horizonSeconds(preferences: Pick<Preferences, 'horizonHours' | 'deadline'>): number {
  if (preferences.horizonHours !== undefined) return preferences.horizonHours * 3600;
  return Math.max(24 * 3600, Math.min(7 * 86400, (preferences.deadline ?? 0) * 1.5));
}
