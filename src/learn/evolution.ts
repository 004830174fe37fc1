/**
 * A (1+λ) evolution strategy in the unit cube, with the one-fifth success rule for its step size.
 *
 * Why this and not a policy gradient: one evaluation of a policy is a batch of whole simulated jobs
 * (seconds to a minute on these machines), and the objective — cost with a penalty per missed
 * deadline — is not differentiable in the controller's thresholds. An elitist ES needs a handful
 * of evaluations per generation, never loses its best point (so the trained policy is never worse
 * than its start on the training set), and is deterministic for a seed.
 */
import { rng } from '../sim/market';

export interface EvolutionOptions {
  /** Where the search starts (the heuristic policy). */
  start: readonly number[];
  seed: number;
  generations: number;
  /** Offspring per generation (λ), sampled in mirrored pairs. */
  population: number;
  /** Initial step size in the unit cube (default 0.15). */
  sigma?: number;
  /** Scores of a batch of points, lower is better; the batch runs together (one simulation pass). */
  evaluate: (points: number[][], generation: number) => number[];
  onGeneration?: (step: GenerationRecord) => void;
}

/** One generation of the training curve. */
export interface GenerationRecord {
  generation: number;
  /** Points evaluated so far, the start included. */
  evaluations: number;
  /** The best score of this generation's offspring. */
  offspringBest: number;
  /** The best score so far (the parent's after this generation). */
  best: number;
  sigma: number;
  improved: boolean;
}

export interface EvolutionResult {
  best: number[];
  bestScore: number;
  startScore: number;
  curve: GenerationRecord[];
}

const clamp01 = (u: number) => (u < 0 ? 0 : u > 1 ? 1 : u);

/** A standard normal sampler over a seeded uniform one (Box–Muller). */
function normal(random: () => number): () => number {
  return () => {
    const u = 1 - random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  };
}

export function evolve(options: EvolutionOptions): EvolutionResult {
  if (!(options.population >= 1)) throw new Error('population must be at least 1');
  if (!(options.generations >= 0)) throw new Error('generations must be at least 0');
  const gauss = normal(rng(options.seed));
  let parent = options.start.map(clamp01);
  let best = options.evaluate([parent], 0)[0]!;
  const startScore = best;
  let sigma = options.sigma ?? 0.15;
  let evaluations = 1;
  const curve: GenerationRecord[] = [];
  for (let g = 1; g <= options.generations; g++) {
    const offspring: number[][] = [];
    while (offspring.length < options.population) {
      const step = parent.map(() => sigma * gauss());
      offspring.push(parent.map((x, i) => clamp01(x + step[i]!)));
      if (offspring.length < options.population) offspring.push(parent.map((x, i) => clamp01(x - step[i]!)));
    }
    const scores = options.evaluate(offspring, g);
    evaluations += offspring.length;
    let k = 0;
    for (let i = 1; i < scores.length; i++) if (scores[i]! < scores[k]!) k = i;
    const improved = scores[k]! < best;
    if (improved) {
      parent = offspring[k]!;
      best = scores[k]!;
    }
    // One-fifth rule, per generation: widen after a success, narrow after a failure; the step
    // holds still when one generation in five succeeds.
    sigma = Math.min(0.5, Math.max(0.01, sigma * Math.exp(improved ? 1 / 3 : -1 / 12)));
    const record = { generation: g, evaluations, offspringBest: scores[k]!, best, sigma, improved };
    curve.push(record);
    options.onGeneration?.(record);
  }
  return { best: parent, bestScore: best, startScore, curve };
}
