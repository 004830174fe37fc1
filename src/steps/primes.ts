import { defineStep, type StepContext } from './registry';
import { sumOfInputs } from './sum';

/** Odd numbers per sieve segment: 2^18 bytes stays inside L2 cache. */
const SEGMENT_ODDS = 1 << 18;

function oddPrimesUpTo(limit: number): number[] {
  const composite = new Uint8Array(limit + 1);
  const primes: number[] = [];
  for (let i = 3; i <= limit; i += 2) {
    if (composite[i]) continue;
    primes.push(i);
    for (let j = i * i; j <= limit; j += 2 * i) composite[j] = 1;
  }
  return primes;
}

/**
 * Counts primes in the inclusive range [start, end] with an odd-only segmented sieve of
 * Eratosthenes. Yields after each segment the first number not yet counted and the count so far,
 * so callers can report progress and checkpoint.
 */
export function* countPrimesSegmented(
  start: number,
  end: number,
): Generator<{ next: number; count: number }, number> {
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end))
    throw new RangeError('range must be integers');
  if (end < 2 || end < start) return 0;
  let count = start <= 2 && end >= 2 ? 1 : 0;
  const base = oddPrimesUpTo(Math.floor(Math.sqrt(end)));
  const firstOdd = Math.max(3, start % 2 === 0 ? start + 1 : start);
  const lastOdd = end % 2 === 0 ? end - 1 : end;
  const sieve = new Uint8Array(SEGMENT_ODDS);
  for (let low = firstOdd; low <= lastOdd; low += 2 * SEGMENT_ODDS) {
    const high = Math.min(lastOdd, low + 2 * SEGMENT_ODDS - 2);
    const size = (high - low) / 2 + 1;
    sieve.fill(0, 0, size);
    for (const p of base) {
      if (p * p > high) break;
      let multiple = Math.max(p * p, Math.ceil(low / p) * p);
      if (multiple % 2 === 0) multiple += p;
      for (let j = (multiple - low) / 2; j < size; j += p) sieve[j] = 1;
    }
    for (let j = 0; j < size; j++) if (sieve[j] === 0) count++;
    // Everything below `next` is counted: a checkpoint of {next, count} resumes exactly here.
    yield { next: high + 2, count };
  }
  return count;
}

/** Counts primes in [start, end] synchronously. */
export function countPrimes(start: number, end: number): number {
  const run = countPrimesSegmented(start, end);
  for (;;) {
    const next = run.next();
    if (next.done) return next.value;
  }
}

/** What `primes.count` checkpoints: primes below `next` (from the range start) number `count`. */
interface CountState {
  next: number;
  count: number;
}

async function countStep(ctx: StepContext): Promise<number> {
  const range = ctx.subTask.range;
  if (!range) throw new TypeError(`sub-task ${ctx.subTask.id}: primes.count needs a range`);
  const saved = await ctx.restore<CountState>();
  const from = saved?.next ?? range.start;
  const before = saved?.count ?? 0;
  if (saved) ctx.log(`resuming at ${from} with ${before} primes counted`);
  const run = countPrimesSegmented(from, range.end);
  const size = range.end - range.start + 1;
  let lastYield = Date.now();
  for (;;) {
    const step = run.next();
    if (step.done) return before + step.value;
    const state: CountState = { next: step.value.next, count: before + step.value.count };
    ctx.progress((state.next - range.start) / size);
    if (Date.now() - lastYield > 50) {
      if (ctx.signal.aborted) {
        // A spot notice: save exactly where we are, then stop.
        await ctx.checkpoint(state, { final: true, position: state.next });
        ctx.signal.throwIfAborted();
      }
      await ctx.checkpoint(state, { position: state.next });
      await ctx.yield();
      lastYield = Date.now();
    }
  }
}

export const primesCount = defineStep('primes.count', countStep, {
  description: 'Counts the primes in the sub-task range (segmented sieve).',
});
export const primesSum = defineStep('primes.sum', sumOfInputs('primes.sum'), {
  description: 'Sums the outputs of its inputs.',
});

/** π(10^k): the known prime counts that make the demo's result checkable. */
export const KNOWN_PRIME_COUNTS: Readonly<Record<number, number>> = {
  10: 4,
  100: 25,
  1_000: 168,
  10_000: 1_229,
  100_000: 9_592,
  1_000_000: 78_498,
  10_000_000: 664_579,
  100_000_000: 5_761_455,
  1_000_000_000: 50_847_534,
  10_000_000_000: 455_052_511,
};

/** The demo job: count the primes in [1, n] in `chunks` ranges on `instances` local instances. */
export function primesJobSpec(n: number, options: { chunks?: number; instances?: number } = {}) {
  return {
    name: `primes-${n}`,
    stages: [
      {
        id: 'count',
        kind: 'split' as const,
        step: 'primes.count',
        range: { start: 1, end: n },
        chunking: { maxSubTasks: options.chunks ?? 12 },
        resources: { cpu: 1, memoryMiB: 256 },
        // About 2 ns per number on a 2020s core (measured: π(10^9) in ~2 s).
        estimate: { secondsPerUnit: 2e-9, uncertainty: 0.3 },
      },
      {
        id: 'total',
        kind: 'reduce' as const,
        step: 'primes.sum',
        dependsOn: ['count'],
        resources: { cpu: 1, memoryMiB: 64 },
        estimate: { seconds: 0.01 },
      },
    ],
    fleet: { provider: 'local' as const, instances: options.instances ?? 3 },
    preferences: { objective: 'balanced' as const },
  };
}
