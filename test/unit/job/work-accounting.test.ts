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
    expect(relocationWork(outcome, 100)).toEqual({
      lostSeconds: 0,
      savedSeconds: 99,
      estimatedLostSeconds: 0,
    });
  });

  it('counts nothing for moves whose lost attempt said nothing, or for no moves', () => {
    const silent: SubTaskOutcome = {
      ...base,
      relocations: [{ from: 'i0', to: 'i0-r1', reason: 'schedule-to-start-timeout', atMs: 5_000 }],
      finishedAtMs: 15_000,
    };
    expect(relocationWork(silent, 10)).toEqual({ lostSeconds: 0, savedSeconds: 0, estimatedLostSeconds: 0 });
    expect(relocationWork({ ...base, finishedAtMs: 1_000 }, 10)).toEqual({
      lostSeconds: 0,
      savedSeconds: 0,
      estimatedLostSeconds: 0,
    });
  });

  it('an instance whose provider said when it died lost the work from its last checkpoint to then', () => {
    // Started at 0 on i0; it checkpointed at 14 s (40 %), heartbeated last at 15 s (reported 45 %),
    // and died at 17.5 s: 3.5 s of work were lost, not the 5 % × pace the heartbeat saw.
    const outcome: SubTaskOutcome = {
      ...base,
      relocations: [
        {
          from: 'i0',
          to: 'i1',
          reason: 'instance-lost',
          atMs: 18_000,
          diedAtMs: 17_500,
        },
      ],
      resumedFromProgress: 0.4,
      resumedFromCheckpointAtMs: 14_000,
      finishedAtMs: 48_000,
    };
    const work = relocationWork(outcome, 1);
    expect(work.lostSeconds).toBeCloseTo(3.5, 10);
    expect(work.savedSeconds).toBeCloseTo(0.4 * 50, 10); // 60 % in 30 s: 50 s in all
  });

  it('counts from the attempt’s start when its checkpoint is older than the attempt', () => {
    // Moved to i1 at 10 s (resuming a checkpoint of 8 s); i1 died at 16 s without a checkpoint.
    const outcome: SubTaskOutcome = {
      ...base,
      relocations: [
        { from: 'i0', to: 'i1', reason: 'heartbeat-timeout', atMs: 10_000 },
        { from: 'i1', to: 'i2', reason: 'instance-lost', atMs: 16_500, diedAtMs: 16_000 },
      ],
      resumedFromProgress: 0.2,
      resumedFromCheckpointAtMs: 8_000,
      finishedAtMs: 40_000,
    };
    expect(relocationWork(outcome, 1).lostSeconds).toBeCloseTo(6, 10);
  });

  it('an instance no one saw die lost the work from its checkpoint to the heartbeat timeout, said as such', () => {
    // Checkpointed at 14 s; the heartbeat timeout fired at 20 s (last heartbeat + the timeout):
    // at most 6 s were lost, and all of it is an estimate.
    const outcome: SubTaskOutcome = {
      ...base,
      relocations: [
        {
          from: 'i0',
          to: 'i1',
          reason: 'heartbeat-timeout',
          atMs: 20_000,
          progress: 0.45,
          checkpointProgress: 0.4,
        },
      ],
      resumedFromProgress: 0.4,
      resumedFromCheckpointAtMs: 14_000,
      finishedAtMs: 50_000,
    };
    const work = relocationWork(outcome, 1);
    expect(work.lostSeconds).toBeCloseTo(6, 10);
    expect(work.estimatedLostSeconds).toBeCloseTo(6, 10);
    // The provider's death time, when known, is not an estimate.
    const seen = { ...outcome, relocations: [{ ...outcome.relocations![0]!, diedAtMs: 17_000 }] };
    expect(relocationWork(seen, 1)).toMatchObject({ lostSeconds: 3, estimatedLostSeconds: 0 });
  });

  it('an earlier attempt that died before it reported anything lost all it did', () => {
    // On i1 from 10 s, killed at 10.4 s before its first heartbeat; on i2 from 11 s, killed at 16 s
    // (its checkpoint of 14 s resumed on i3).
    const outcome: SubTaskOutcome = {
      ...base,
      startedAtMs: 10_000,
      relocations: [
        { from: 'i1', to: 'i2', reason: 'instance-lost', atMs: 11_000, diedAtMs: 10_400 },
        {
          from: 'i2',
          to: 'i3',
          reason: 'instance-lost',
          atMs: 16_500,
          diedAtMs: 16_000,
          progress: 0.5,
          checkpointProgress: 0.4,
        },
      ],
      resumedFromProgress: 0.4,
      resumedFromCheckpointAtMs: 14_000,
      finishedAtMs: 30_000,
    };
    expect(relocationWork(outcome, 1).lostSeconds).toBeCloseTo(0.4 + 2, 10);
  });
});
