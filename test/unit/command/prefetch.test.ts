import { prefetchesToIssue, type PrefetchState } from '../../../src/job/prefetch';

/** Instance `a` is busy with sub-task 0; 2 and 3 are ready there, in that order; `b` has a free slot. */
function state(overrides: Partial<PrefetchState<string>> = {}): PrefetchState<string> {
  const free: Record<string, number> = { a: 0, b: 1 };
  return {
    readyOn: new Map([
      ['a', [2, 3]],
      ['b', [4]],
    ]),
    freeSlots: (i) => free[i]!,
    prefetched: () => false,
    ...overrides,
  };
}

describe('prefetchesToIssue', () => {
  it('prefetches the next ready sub-task of a busy instance', () => {
    expect(prefetchesToIssue(state())).toEqual([{ subTask: 2, instance: 'a' }]);
  });

  it('leaves an instance with a free slot alone: its next sub-task starts and fetches its own inputs', () => {
    expect(prefetchesToIssue(state({ freeSlots: () => 1 }))).toEqual([]);
  });

  it('skips what was prefetched or has nothing to fetch, without prefetching further ahead', () => {
    expect(prefetchesToIssue(state({ prefetched: (k) => k === 2 }))).toEqual([]);
    expect(prefetchesToIssue(state({ inputBytes: (k) => (k === 2 ? 0 : 5) }))).toEqual([
      { subTask: 3, instance: 'a' },
    ]);
    expect(prefetchesToIssue(state({ readyOn: new Map([['a', []]]) }))).toEqual([]);
  });

  it('keeps at most `lookahead` prefetched sub-tasks waiting per instance', () => {
    expect(prefetchesToIssue(state({ lookahead: 2 })).map((r) => r.subTask)).toEqual([2, 3]);
    expect(prefetchesToIssue(state({ lookahead: 2, prefetched: (k) => k === 2 }))).toEqual([
      { subTask: 3, instance: 'a' },
    ]);
  });
});
