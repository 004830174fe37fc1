import type { Tag } from '@aws-sdk/client-ec2';

/** Tags spotdag puts on what it launches; `spotdag:job` is what cleanup and the IAM policy key on. */
export const TAG = {
  job: 'spotdag:job',
  plan: 'spotdag:plan',
  /** 0 for the schedule's instance, n for its n-th replacement. */
  generation: 'spotdag:generation',
  queue: 'spotdag:queue',
  pool: 'spotdag:pool',
  slots: 'spotdag:slots',
  /** The market the schedule asked for; the instance's own lifecycle says what it got. */
  market: 'spotdag:market',
  maxPrice: 'spotdag:max-price',
  managed: 'spotdag:managed',
} as const;

export function tagMap(tags: Tag[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of tags ?? []) if (t.Key !== undefined) out[t.Key] = t.Value ?? '';
  return out;
}

export function toTags(values: Record<string, string>): Tag[] {
  return Object.entries(values).map(([Key, Value]) => ({ Key, Value }));
}
