import type { SubTaskOutcome } from '../../../src/job/types';
import { relocationWork } from '../../../src/job/work-accounting';

const base: SubTaskOutcome = {
  subTaskId: 'spin',
  instanceId: 'i0-r1',
  output: 0,
  attempts: 2,
  relocations: [],
  startedAtMs: 0,
  finishedAtMs: 0,
};

describe('relocationWork', () => {
  it('prices the lost and kept fractions at the pace of the last attempt', () => {
    // The last attempt did the remaining 60 % in 30 s: the whole sub-task is 50 s of work.
    const outcome: SubTaskOutcome = {
      ...base,
      relocations: [
        {
          from: 'i0',
          to: 'i0-r1',
          reason: 'heartbeat-timeout',
          atMs: 20_000,
          progress: 0.5,
          checkpointProgress: 0.4,
        },
      ],
      resumedFromProgress: 0.4,
      finishedAtMs: 50_000,
    };
    const work = relocationWork(outcome, 1);
    expect(work.lostSeconds).toBeCloseTo(5, 10); // 10 % of 50 s
    expect(work.savedSeconds).toBeCloseTo(20, 10); // 40 % of 50 s
  });

  it('uses the estimate when the last attempt did almost none of the work', () => {
    const outcome: SubTaskOutcome = {
      ...base,
      relocations: [
        {
          from: 'i0',
          to: 'i0-r1',
          reason: 'interrupted',
          atMs: 10_000,
          progress: 0.99,
          checkpointProgress: 0.99,
        },
      ],
      resumedFromProgress: 0.99,
      finishedAtMs: 10_100,
    };
    expect(relocationWork(outcome, 100)).toEqual({ lostSeconds: 0, savedSeconds: 99 });
  });

  it('counts nothing for moves whose lost attempt said nothing, or for no moves', () => {
    const silent: SubTaskOutcome = {
      ...base,
      relocations: [{ from: 'i0', to: 'i0-r1', reason: 'schedule-to-start-timeout', atMs: 5_000 }],
      finishedAtMs: 15_000,
    };
    expect(relocationWork(silent, 10)).toEqual({ lostSeconds: 0, savedSeconds: 0 });
    expect(relocationWork({ ...base, finishedAtMs: 1_000 }, 10)).toEqual({ lostSeconds: 0, savedSeconds: 0 });
  });
});
