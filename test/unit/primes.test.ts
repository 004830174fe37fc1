import { countPrimes } from '../../src/steps/primes';

function naiveCount(start: number, end: number): number {
  let count = 0;
  for (let n = Math.max(2, start); n <= end; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

describe('countPrimes (segmented sieve)', () => {
  it.each([
    [1, 1, 0],
    [1, 2, 1],
    [1, 100, 25],
    [1, 1_000_000, 78_498],
    [1, 10_000_000, 664_579],
  ])('π over [%d, %d] = %d', (start, end, expected) => {
    expect(countPrimes(start, end)).toBe(expected);
  });

  it('agrees with trial division on awkward small ranges', () => {
    for (const [start, end] of [
      [0, 0],
      [2, 2],
      [3, 3],
      [4, 4],
      [9, 9],
      [24, 29],
      [90, 97],
      [1000, 1100],
      [524_280, 524_300],
    ] as const) {
      expect(countPrimes(start, end)).toBe(naiveCount(start, end));
    }
  });

  it('counts across segment boundaries the same as in one piece', () => {
    const pieces = [
      [1, 999_999],
      [1_000_000, 1_048_577],
      [1_048_578, 3_000_000],
    ] as const;
    const sum = pieces.reduce((acc, [a, b]) => acc + countPrimes(a, b), 0);
    expect(sum).toBe(countPrimes(1, 3_000_000));
  });

  it('returns 0 for an empty range', () => {
    expect(countPrimes(10, 5)).toBe(0);
  });
});
