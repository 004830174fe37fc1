/**
 * The learned policy's search space: the runtime controller's free parameters (the PageRank mix of
 * src/allocate/rank.ts and the thresholds of src/controller/tuning.ts), each with its range and
 * scale. The learner works in the unit cube: 0 and 1 are a parameter's bounds, and a log-scaled
 * one moves by ratios. The heuristic `spotdag` policy is one point of the cube.
 */
import { DEFAULT_RANK_MIX, type RankMix } from '../allocate/rank';
import { DEFAULT_TUNING, type ControllerTuning } from '../controller/tuning';

/** What a learned model sets: the controller's options. */
export interface PolicyParams {
  rankMix: RankMix;
  tuning: ControllerTuning & { penaltySeconds: number };
}

interface Dimension {
  name: string;
  lo: number;
  hi: number;
  log: boolean;
  get: (p: PolicyParams) => number;
  set: (p: PolicyParams, x: number) => void;
}

const mix = (key: keyof RankMix, lo: number, hi: number, log: boolean): Dimension => ({
  name: `rankMix.${key}`,
  lo,
  hi,
  log,
  get: (p) => p.rankMix[key],
  set: (p, x) => (p.rankMix[key] = x),
});
const tune = (key: keyof PolicyParams['tuning'], lo: number, hi: number, log: boolean): Dimension => ({
  name: `tuning.${key}`,
  lo,
  hi,
  log,
  get: (p) => p.tuning[key],
  set: (p, x) => (p.tuning[key] = x),
});

/**
 * The dimensions. The safety net's two parameters start at their floor (src/controller/tuning.ts):
 * the learner can make the net more cautious, never less.
 */
export const DIMENSIONS: readonly Dimension[] = [
  mix('cost', 0.05, 20, true),
  mix('seconds', 0.05, 20, true),
  mix('transfer', 0.05, 20, true),
  mix('teleport', 0, 1, false),
  mix('damping', 0.5, 0.95, false),
  tune('waitAheadRestarts', -2, 6, false),
  tune('backToSpotRestarts', 0, 8, false),
  tune('guardMarginScale', 1, 4, true),
  tune('releaseMargins', 1.5, 6, false),
  tune('penaltySeconds', 0, 7200, false),
];

/**
 * The heuristic: the hand-set mix and thresholds, with the simulator's pool penalty (none: the
 * learned interruption model says when a pool is back), the setting it is benchmarked in.
 */
export const HEURISTIC_PARAMS: PolicyParams = {
  rankMix: { ...DEFAULT_RANK_MIX },
  tuning: { ...DEFAULT_TUNING, penaltySeconds: 0 },
};

const clamp01 = (u: number) => (u < 0 ? 0 : u > 1 ? 1 : u);

/** The policy as a point of the unit cube. */
export function toUnit(p: PolicyParams): number[] {
  return DIMENSIONS.map((d) => {
    const x = d.get(p);
    return clamp01(d.log ? Math.log(x / d.lo) / Math.log(d.hi / d.lo) : (x - d.lo) / (d.hi - d.lo));
  });
}

/** The policy at a point of the unit cube (coordinates outside [0, 1] are clamped). */
export function fromUnit(u: readonly number[]): PolicyParams {
  if (u.length !== DIMENSIONS.length)
    throw new Error(`a policy has ${DIMENSIONS.length} parameters, got ${u.length}`);
  const p = structuredClone(HEURISTIC_PARAMS);
  DIMENSIONS.forEach((d, i) => {
    const v = clamp01(u[i]!);
    d.set(p, d.log ? d.lo * Math.pow(d.hi / d.lo, v) : d.lo + v * (d.hi - d.lo));
  });
  return p;
}
