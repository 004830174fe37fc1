import { evolve } from '../../../src/learn/evolution';
import { DIMENSIONS, fromUnit, HEURISTIC_PARAMS, toUnit } from '../../../src/learn/policy-space';

/** A bowl with its bottom at `target`: the strategy must walk towards it. */
const bowl = (target: number[]) => (points: number[][]) =>
  points.map((p) => p.reduce((a, x, i) => a + (x - target[i]!) ** 2, 0));

describe('the evolution strategy', () => {
  const target = [0.8, 0.2, 0.6];
  const run = (seed: number) =>
    evolve({ start: [0.5, 0.5, 0.5], seed, generations: 30, population: 4, evaluate: bowl(target) });

  it('is deterministic for a seed, and another seed explores elsewhere', () => {
    expect(run(7)).toEqual(run(7));
    expect(run(8).best).not.toEqual(run(7).best);
  });

  it('never loses its best point: the curve only goes down, and the result is never worse than the start', () => {
    const r = run(3);
    expect(r.bestScore).toBeLessThan(r.startScore / 4);
    for (let i = 1; i < r.curve.length; i++)
      expect(r.curve[i]!.best).toBeLessThanOrEqual(r.curve[i - 1]!.best);
    // A start that is already the optimum stays the result.
    const flat = evolve({ start: target, seed: 1, generations: 5, population: 4, evaluate: bowl(target) });
    expect(flat.best).toEqual(target);
    expect(flat.bestScore).toBe(0);
  });

  it('keeps every point in the unit cube and counts its evaluations', () => {
    const seen: number[][] = [];
    const r = evolve({
      start: [0, 1],
      seed: 2,
      generations: 3,
      population: 5,
      sigma: 0.5,
      evaluate: (points) => {
        for (const p of points) seen.push(p);
        return points.map(() => 1);
      },
    });
    expect(seen).toHaveLength(1 + 3 * 5);
    for (const p of seen) for (const x of p) expect(x >= 0 && x <= 1).toBe(true);
    expect(r.curve.map((c) => c.evaluations)).toEqual([6, 11, 16]);
  });
});

describe('the policy space', () => {
  it('holds the heuristic as a point: the round trip gives its parameters back', () => {
    const back = fromUnit(toUnit(HEURISTIC_PARAMS));
    for (const [k, v] of Object.entries(HEURISTIC_PARAMS.rankMix))
      expect(back.rankMix[k as keyof typeof back.rankMix]).toBeCloseTo(v, 12);
    for (const [k, v] of Object.entries(HEURISTIC_PARAMS.tuning))
      expect(back.tuning[k as keyof typeof back.tuning]).toBeCloseTo(v, 9);
  });

  it('maps the cube’s corners to the bounds, the safety net’s floor included', () => {
    const low = fromUnit(DIMENSIONS.map(() => -1));
    expect(low.tuning.guardMarginScale).toBe(1);
    expect(low.tuning.releaseMargins).toBe(1.5);
    expect(low.rankMix.cost).toBeCloseTo(0.05, 12);
    const high = fromUnit(DIMENSIONS.map(() => 2));
    expect(high.rankMix.damping).toBeCloseTo(0.95, 12);
    expect(() => fromUnit([0.5])).toThrow(`a policy has ${DIMENSIONS.length} parameters, got 1`);
  });
});
