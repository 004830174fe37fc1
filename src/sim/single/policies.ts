/**
 * Policies of the single-job benchmark that decide tick by tick from what is observable now (the
 * job's progress and whether spot has capacity at this tick):
 *
 * - on-demand          on-demand from the first tick to the end;
 * - greedy             spot whenever it has capacity, else wait; on-demand (and then to the end)
 *                      only once the deadline forces it: remaining + d ≥ time left, unless it is
 *                      on spot past its restart (the last safety rule of Uniform Progress);
 * - uniform-progress   Can't Be Late's Uniform Progress (../uniform-progress.ts).
 *
 * spotdag (spotdag.ts) and the exact optimum (omniscient.ts) are in their own modules.
 */
import { uniformProgressChoice, type Choice } from '../uniform-progress';
import type { JobView, SinglePolicy } from './job';

export const onDemandPolicy = (): SinglePolicy => ({ name: 'on-demand', decide: () => 'on-demand' });

/** Ticks rounding as in Uniform Progress's safety net. */
function deadlineForces(view: JobView): boolean {
  const { job, state } = view;
  const gap = job.gapSeconds;
  const t = state.tick * gap;
  const timeLeft = Math.floor((job.deadlineSeconds - t) / gap + 1e-9) * gap;
  const remaining = job.workSeconds - state.done;
  return Math.ceil((remaining + job.overheadSeconds) / gap - 1e-9) * gap >= timeLeft;
}

export const greedyPolicy = (): SinglePolicy => ({
  name: 'greedy',
  decide(view): Choice {
    const { state } = view;
    if (state.on === 'on-demand') return 'on-demand';
    if (deadlineForces(view)) return state.on === 'spot' && state.overheadLeft === 0 ? 'spot' : 'on-demand';
    return view.spotAvailable ? 'spot' : 'none';
  },
});

export const uniformProgressSinglePolicy = (): SinglePolicy => ({
  name: 'uniform-progress',
  decide({ job, state, spotAvailable }): Choice {
    return uniformProgressChoice({
      t: state.tick * job.gapSeconds,
      gapSeconds: job.gapSeconds,
      deadlineSeconds: job.deadlineSeconds,
      totalWork: job.workSeconds,
      done: state.done,
      remaining: job.workSeconds - state.done,
      overheadSeconds: job.overheadSeconds,
      current: state.on,
      spotAvailable,
      pastRestart: state.overheadLeft === 0,
    });
  },
});
