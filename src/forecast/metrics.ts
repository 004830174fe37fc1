/** Symmetric absolute percentage error of one forecast, in [0, 2]; 0 when both are 0. */
export function smape(forecast: number, actual: number): number {
  const denom = Math.abs(forecast) + Math.abs(actual);
  return denom === 0 ? 0 : (2 * Math.abs(forecast - actual)) / denom;
}

/** Running mean accumulator (numerically fine for the sample sizes here). */
export class Mean {
  sum = 0;
  n = 0;
  add(x: number): void {
    this.sum += x;
    this.n++;
  }
  get value(): number {
    return this.n === 0 ? NaN : this.sum / this.n;
  }
}

const EPS = 1e-12;

export function brierTerm(p: number, outcome: boolean): number {
  return (p - (outcome ? 1 : 0)) ** 2;
}

/** Log loss (natural log) of one probability forecast, clipped away from 0 and 1. */
export function logLossTerm(p: number, outcome: boolean): number {
  const q = Math.min(1 - EPS, Math.max(EPS, p));
  return -Math.log(outcome ? q : 1 - q);
}

export type ProbabilityScores = { brier: number; logLoss: number };

/** Brier score and log loss of one probability forecaster, accumulated over forecasts. */
export class ProbabilityScore {
  private readonly b = new Mean();
  private readonly l = new Mean();
  add(p: number, outcome: boolean): void {
    this.b.add(brierTerm(p, outcome));
    this.l.add(logLossTerm(p, outcome));
  }
  get n(): number {
    return this.b.n;
  }
  get value(): ProbabilityScores {
    return { brier: this.b.value, logLoss: this.l.value };
  }
}

export type CalibrationBin = {
  from: number;
  to: number;
  count: number;
  meanPredicted: number;
  observedRate: number;
};

/** Reliability table: forecasts binned by predicted probability into `bins` equal-width bins. */
export class Calibration {
  private readonly count: number[];
  private readonly sumP: number[];
  private readonly hits: number[];
  constructor(readonly bins = 10) {
    this.count = new Array<number>(bins).fill(0);
    this.sumP = new Array<number>(bins).fill(0);
    this.hits = new Array<number>(bins).fill(0);
  }
  add(p: number, outcome: boolean): void {
    const b = Math.min(this.bins - 1, Math.max(0, Math.floor(p * this.bins)));
    this.count[b]!++;
    this.sumP[b]! += p;
    if (outcome) this.hits[b]!++;
  }
  table(): CalibrationBin[] {
    return this.count.map((count, b) => ({
      from: b / this.bins,
      to: (b + 1) / this.bins,
      count,
      meanPredicted: count ? this.sumP[b]! / count : NaN,
      observedRate: count ? this.hits[b]! / count : NaN,
    }));
  }
}
