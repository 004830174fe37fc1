import { observePace, PACE_TOLERANCE, paceFactor } from '../../../src/controller/pace';
import { freshMemory, type ControllerState, type RunningSubTask } from '../../../src/controller/types';

const running = (r: Partial<RunningSubTask> & Pick<RunningSubTask, 'subTaskId'>): RunningSubTask => ({
  instanceId: 'i0',
  expectedFinish: 100,
  startedAt: 0,
  ...r,
});
const state = (now: number, rs: RunningSubTask[]): ControllerState => ({
  nowSeconds: now,
  done: [],
  running: rs,
  instances: [],
});

describe('the observed pace of work', () => {
  it('learns wall seconds per declared second from two checkpoints of one attempt', () => {
    const memory = freshMemory();
    observePace(memory, state(5, [running({ subTaskId: 'a', checkpointedAt: 4, checkpointedSeconds: 2 })]));
    expect(memory.pace).toBeUndefined();
    observePace(memory, state(9, [running({ subTaskId: 'a', checkpointedAt: 8, checkpointedSeconds: 4 })]));
    expect(memory.pace).toEqual({ wallSeconds: 4, workSeconds: 2 });
    expect(paceFactor(memory)).toBeCloseTo(2, 9);
  });

  it('never counts time between two attempts (another instance, a restart) as slow work', () => {
    const memory = freshMemory();
    observePace(memory, state(5, [running({ subTaskId: 'a', checkpointedAt: 4, checkpointedSeconds: 2 })]));
    // Lost, resumed elsewhere from its checkpoint at 20 s: the next checkpoint is of a new attempt.
    observePace(
      memory,
      state(25, [
        running({
          subTaskId: 'a',
          instanceId: 'i1',
          startedAt: 20,
          checkpointedAt: 24,
          checkpointedSeconds: 3,
        }),
      ]),
    );
    expect(memory.pace).toBeUndefined();
    observePace(
      memory,
      state(27, [
        running({
          subTaskId: 'a',
          instanceId: 'i1',
          startedAt: 20,
          checkpointedAt: 26,
          checkpointedSeconds: 4,
        }),
      ]),
    );
    expect(memory.pace).toEqual({ wallSeconds: 2, workSeconds: 1 });
    // Sub-tasks no longer running are forgotten.
    observePace(memory, state(30, []));
    expect(memory.paceSeen).toEqual({});
  });

  it('takes the declared estimates as they are unless work is slower by more than the tolerance', () => {
    expect(paceFactor(freshMemory())).toBe(1);
    expect(paceFactor({ pace: { wallSeconds: 1 + PACE_TOLERANCE / 2, workSeconds: 1 } })).toBe(1);
    expect(paceFactor({ pace: { wallSeconds: 0.5, workSeconds: 1 } })).toBe(1);
    expect(paceFactor({ pace: { wallSeconds: 3, workSeconds: 2 } })).toBeCloseTo(1.5, 9);
  });
});
