import { getStep, type StepContext } from '../../src/steps';
import { countPrimes } from '../../src/steps/primes';

/** A step context that keeps checkpoints in memory, as a store would across attempts. */
function context(
  range: { start: number; end: number },
  saved: unknown[],
  abort?: AbortController,
): StepContext {
  const controller = abort ?? new AbortController();
  return {
    subTask: {
      jobId: 'j',
      id: 'count/0000',
      stage: 'count',
      step: 'primes.count',
      index: 0,
      count: 1,
      range,
    },
    inputs: {},
    signal: controller.signal,
    progress: () => {},
    heartbeat: () => {},
    yield: () => new Promise((r) => setImmediate(r)),
    log: () => {},
    checkpoint: async (state) => {
      saved.push(structuredClone(state));
    },
    restore: async <T>() => saved.at(-1) as T | undefined,
  };
}

describe('primes.count checkpoints and resumes', () => {
  it('stops on a notice with a final checkpoint, and a new attempt finishes from it exactly', async () => {
    const range = { start: 1, end: 300_000_000 };
    const count = getStep('primes.count').handler;
    const saved: unknown[] = [];
    const notice = new AbortController();
    setTimeout(() => notice.abort('spot notice'), 150);
    // It stops by rethrowing the notice's abort reason (signal.throwIfAborted), after a final checkpoint.
    await expect(count(context(range, saved, notice))).rejects.toBe('spot notice');

    const final = saved.at(-1) as { next: number; count: number };
    expect(final.next).toBeGreaterThan(range.start);
    expect(final.next).toBeLessThan(range.end);
    // The checkpoint is exact: everything below `next` is counted.
    expect(final.count).toBe(countPrimes(range.start, final.next - 1));

    const resumed = await count(context(range, saved));
    expect(resumed).toBe(16_252_325); // π(3·10^8)
  });
});
