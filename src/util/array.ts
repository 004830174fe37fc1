/**
 * Folds over arrays of any length. Spreading an array into a call (`Math.max(...xs)`,
 * `out.push(...xs)`) puts every element on the stack as an argument, and V8 throws
 * "Maximum call stack size exceeded" somewhere past ~100,000 of them: a month of price data is
 * enough. These loop instead; the lint rule `spotdag/no-unbounded-spread` points here.
 */

/** The largest value, like `Math.max(...values)`: -Infinity when empty, NaN if any value is NaN. */
export function maxOf(values: Iterable<number>): number {
  let max = -Infinity;
  for (const v of values) max = Math.max(max, v);
  return max;
}

/** The smallest value, like `Math.min(...values)`: Infinity when empty, NaN if any value is NaN. */
export function minOf(values: Iterable<number>): number {
  let min = Infinity;
  for (const v of values) min = Math.min(min, v);
  return min;
}

/** Appends every item to `target`, like `target.push(...items)`; returns `target`. */
export function pushAll<T>(target: T[], items: Iterable<T>): T[] {
  for (const item of items) target.push(item);
  return target;
}
