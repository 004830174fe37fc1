import { prefetchesToIssue, type PrefetchState } from '../../../src/job/prefetch';

/** a → b, a → c, c → d; b and c on instance 0, a and d on instance 1. */
function state(overrides: Partial<PrefetchState> = {}): PrefetchState {
  return {
    deps: [[], [0], [0], [2]],
    placedOn: [1, 0, 0, 1],
    order: [0, 1, 2, 3],
    done: [true, false, false, false],
    started: [true, true, false, false],
    prefetched: [false, false, false, false],
    freeSlots: [0, 1],
    ...overrides,
  };
}

describe('prefetchesToIssue', () => {
  it('prefetches the next ready sub-task of a busy instance', () => {
    expect(prefetchesToIssue(state())).toEqual([{ subTask: 2, instance: 0 }]);
  });

  it('leaves an instance with a free slot alone: its next sub-task starts and fetches its own inputs', () => {
    expect(prefetchesToIssue(state({ freeSlots: [1, 1] }))).toEqual([]);
  });

  it('waits for every dependency, and skips what started, was prefetched, or has nothing to fetch', () => {
    expect(prefetchesToIssue(state({ done: [false, false, false, false] }))).toEqual([]);
    expect(prefetchesToIssue(state({ prefetched: [false, false, true, false] }))).toEqual([]);
    expect(prefetchesToIssue(state({ started: [true, true, true, false] }))).toEqual([]);
    expect(prefetchesToIssue(state({ inputBytes: [0, 10, 0, 5] }))).toEqual([]);
  });

  it('keeps at most `lookahead` prefetched sub-tasks waiting per instance', () => {
    const wide: PrefetchState = {
      deps: [[], [], [], []],
      placedOn: [0, 0, 0, 0],
      order: [3, 2, 1, 0],
      done: [false, false, false, false],
      started: [true, false, false, false],
      prefetched: [false, false, false, false],
      freeSlots: [0],
    };
    expect(prefetchesToIssue(wide)).toEqual([{ subTask: 3, instance: 0 }]);
    expect(prefetchesToIssue({ ...wide, lookahead: 2 }).map((r) => r.subTask)).toEqual([3, 2]);
    expect(prefetchesToIssue({ ...wide, prefetched: [false, false, false, true], lookahead: 2 })).toEqual([
      { subTask: 2, instance: 0 },
    ]);
  });
});
