import type { AvailabilityTrace } from '../market';
import { shortHash } from '../util/hash';

/** Replays real spot traces against local instances on a compressed clock. */
export interface TraceInterruptions {
  traces: AvailabilityTrace[];
  /** Trace seconds per real second (e.g. 600: ten minutes of trace pass in one second). */
  timeScale: number;
  /** Real time between the notice and the kill (AWS: 120 s; compress it for local runs). */
  noticeMs: number;
  /** Picks each instance's trace and window; the same seed gives the same interruptions. */
  seed: number;
}

/**
 * When an instance started now would be preempted, in real milliseconds from its start, or
 * undefined if its trace window has no preemption. The instance gets trace `hash(id, seed) mod n`
 * and starts at a tick drawn from the same hash, moved forward to the next tick where spot
 * capacity is available (it could not have been launched before); it is preempted at the next
 * tick where the trace says capacity is gone.
 */
export function firstPreemptionDelayMs(instanceId: string, plan: TraceInterruptions): number | undefined {
  if (plan.traces.length === 0) return undefined;
  const hash = parseInt(shortHash(`${instanceId}#${plan.seed}`), 36);
  const trace = plan.traces[hash % plan.traces.length]!;
  const ticks = trace.unavailable.length;
  let start = Math.floor(hash / plan.traces.length) % ticks;
  while (start < ticks && trace.unavailable[start]) start++;
  let preempted = start;
  while (preempted < ticks && !trace.unavailable[preempted]) preempted++;
  if (preempted >= ticks) return undefined;
  return ((preempted - start) * trace.gapSeconds * 1000) / plan.timeScale;
}
