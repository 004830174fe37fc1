import { poolKey, type AvailabilityTrace, type Pool } from '../market';

/**
 * Interruption hazard per pool: a Gamma–Poisson model. Interruptions of a running spot instance are a
 * Poisson process with rate λ per hour of exposure; λ ~ Gamma(α, β) with a prior from the pool's
 * interruption-frequency band, updated by observed (exposure, interruptions). The probability that a
 * sub-task of duration d is interrupted is the posterior predictive 1 − (β / (β + d))^α, which is
 * slightly below 1 − e^(−E[λ]·d) when the rate is uncertain (Jensen: E[e^(−λd)] ≥ e^(−E[λ]d)).
 */
export type InterruptionModelOptions = {
  /** Prior weight, in hours of pseudo-exposure at the band's rate (default 24 h). */
  priorExposureHours?: number;
  /**
   * Evidence is discounted by 2^(−exposure/halfLife) as new exposure accrues, so the rate follows a
   * changing market (default 24 h, chosen on training data only; Infinity keeps all evidence).
   */
  halfLifeHours?: number;
  /** Prior rate for pools without a band (default: Spot Advisor band 1, "5-10%" a month). */
  defaultRatePerHour?: number;
  /** Prior mean time for capacity to come back after an interruption (default 1 h), weight 1 recovery. */
  recoveryPriorHours?: number;
};

type PoolState = {
  pool: Pool;
  priorAlpha: number;
  priorBeta: number;
  events: number;
  exposureHours: number;
  recoveries: number;
  downHours: number;
  lastState?: { atMs: number; available: boolean };
};

export type InterruptionModelJSON = { options: Required<InterruptionModelOptions>; pools: PoolState[] };

const HOURS_PER_MONTH = 730;
/** Representative monthly interruption frequency of each Spot Advisor band (<5%, 5-10%, 10-15%, 15-20%, >20%). */
const BAND_MONTHLY = [0.025, 0.075, 0.125, 0.175, 0.3];

/** Hazard per hour implied by a Spot Advisor band index (0 = "<5%" … 4 = ">20%" a month). */
export function bandRatePerHour(band: number): number {
  const p = BAND_MONTHLY[Math.min(4, Math.max(0, Math.round(band)))]!;
  return -Math.log(1 - p) / HOURS_PER_MONTH;
}

/** SpotLake's `if_band` score (3.0 = "<5%" … 1.0 = ">20%", in steps of 0.5) as a Spot Advisor band index. */
export function spotLakeIfBandToAdvisorBand(ifBand: number): number {
  return Math.min(4, Math.max(0, Math.round((3 - ifBand) * 2)));
}

export class InterruptionModel {
  private readonly options: Required<InterruptionModelOptions>;
  private readonly pools = new Map<string, PoolState>();

  constructor(options: InterruptionModelOptions = {}) {
    this.options = {
      priorExposureHours: options.priorExposureHours ?? 24,
      halfLifeHours: options.halfLifeHours ?? 24,
      defaultRatePerHour: options.defaultRatePerHour ?? bandRatePerHour(1),
      recoveryPriorHours: options.recoveryPriorHours ?? 1,
    };
  }

  static fromJSON(json: InterruptionModelJSON): InterruptionModel {
    const model = new InterruptionModel(json.options);
    for (const s of json.pools)
      model.pools.set(poolKey(s.pool), { ...s, lastState: s.lastState && { ...s.lastState } });
    return model;
  }

  toJSON(): InterruptionModelJSON {
    return { options: { ...this.options }, pools: [...this.pools.values()].map((s) => ({ ...s })) };
  }

  /** Whether the model has a prior or evidence of its own for the pool. */
  knows(pool: Pool): boolean {
    return this.pools.has(poolKey(pool));
  }

  /** Sets the prior from a prior rate (per hour), keeping evidence already observed. */
  setPriorRate(pool: Pool, ratePerHour: number): void {
    if (!(ratePerHour > 0)) throw new RangeError(`prior rate must be > 0, got ${ratePerHour}`);
    const s = this.state(pool);
    s.priorBeta = this.options.priorExposureHours;
    s.priorAlpha = ratePerHour * s.priorBeta;
  }

  /** Sets the prior from a Spot Advisor band index (0 … 4). */
  setPriorBand(pool: Pool, band: number): void {
    this.setPriorRate(pool, bandRatePerHour(band));
  }

  /** Records `exposureSeconds` of running spot capacity in the pool, during which `interruptions` happened. */
  observe(pool: Pool, exposureSeconds: number, interruptions: number): void {
    if (!(exposureSeconds >= 0) || !(interruptions >= 0)) {
      throw new RangeError(
        `observe: exposure and interruptions must be ≥ 0, got ${exposureSeconds}, ${interruptions}`,
      );
    }
    const s = this.state(pool);
    const hours = exposureSeconds / 3600;
    const keep = Number.isFinite(this.options.halfLifeHours) ? 2 ** (-hours / this.options.halfLifeHours) : 1;
    s.events = s.events * keep + interruptions;
    s.exposureHours = s.exposureHours * keep + hours;
  }

  /** Records `downSeconds` without capacity in the pool, during which capacity came back `recoveries` times. */
  observeRecovery(pool: Pool, downSeconds: number, recoveries: number): void {
    const s = this.state(pool);
    const hours = downSeconds / 3600;
    const keep = Number.isFinite(this.options.halfLifeHours) ? 2 ** (-hours / this.options.halfLifeHours) : 1;
    s.recoveries = s.recoveries * keep + recoveries;
    s.downHours = s.downHours * keep + hours;
  }

  /**
   * Replays the transitions from tick i−1 to tick i for from < i ≤ to of a trace of this pool, one tick
   * at a time (so that discounting ages each observation exactly): a tick that starts available adds a
   * gap of exposure and an interruption if the next tick is unavailable; a tick that starts unavailable
   * adds downtime and a recovery if the next tick is available. Then records the state at tick `to`.
   */
  observeTrace(pool: Pool, trace: AvailabilityTrace, from: number, to: number): void {
    const u = trace.unavailable;
    const last = Math.min(to, u.length - 1);
    for (let i = Math.max(1, from + 1); i <= last; i++) {
      if (!u[i - 1]) this.observe(pool, trace.gapSeconds, u[i] ? 1 : 0);
      else this.observeRecovery(pool, trace.gapSeconds, u[i] ? 0 : 1);
    }
    if (last >= 0) this.observeAvailability(pool, trace.startMs + last * trace.gapSeconds * 1000, !u[last]);
  }

  /** Records whether spot capacity was available at a time (the starting point of probabilityAvailable). */
  observeAvailability(pool: Pool, atMs: number, available: boolean): void {
    const s = this.state(pool);
    if (!s.lastState || atMs >= s.lastState.atMs) s.lastState = { atMs, available };
  }

  /** Posterior mean hazard (interruptions per hour of exposure). */
  hazardPerHour(pool: Pool): number {
    const { alpha, beta } = this.posterior(pool);
    return alpha / beta;
  }

  /** Posterior (α, β in hours) of the pool's rate. */
  posterior(pool: Pool): { alpha: number; beta: number } {
    const s = this.pools.get(poolKey(pool)) ?? this.fresh(pool);
    return { alpha: s.priorAlpha + s.events, beta: s.priorBeta + s.exposureHours };
  }

  /** P(an instance started now in the pool is interrupted within `durationSeconds`). */
  probabilityInterrupted(pool: Pool, durationSeconds: number): number {
    if (!(durationSeconds > 0)) return 0;
    const { alpha, beta } = this.posterior(pool);
    return 1 - (beta / (beta + durationSeconds / 3600)) ** alpha;
  }

  /** Rate (per hour) at which capacity comes back after an interruption. */
  recoveryPerHour(pool: Pool): number {
    const s = this.pools.get(poolKey(pool)) ?? this.fresh(pool);
    return (1 + s.recoveries) / (this.options.recoveryPriorHours + s.downHours);
  }

  /**
   * P(spot capacity is available in the pool at `atMs`): a two-state Markov chain (up → down at the
   * hazard λ, down → up at the recovery rate μ). From the last observed state at t₀ it relaxes to the
   * stationary share μ / (λ + μ): P = π + (s₀ − π)·e^{−(λ+μ)(t − t₀)}. Without an observed state, π.
   */
  probabilityAvailable(pool: Pool, atMs: number): number {
    const lambda = this.hazardPerHour(pool);
    const mu = this.recoveryPerHour(pool);
    const pi = mu / (lambda + mu);
    const last = this.pools.get(poolKey(pool))?.lastState;
    if (!last || atMs < last.atMs) return pi;
    const hours = (atMs - last.atMs) / 3_600_000;
    return pi + ((last.available ? 1 : 0) - pi) * Math.exp(-(lambda + mu) * hours);
  }

  private fresh(pool: Pool): PoolState {
    const priorBeta = this.options.priorExposureHours;
    return {
      pool: { ...pool },
      priorAlpha: this.options.defaultRatePerHour * priorBeta,
      priorBeta,
      events: 0,
      exposureHours: 0,
      recoveries: 0,
      downHours: 0,
    };
  }

  private state(pool: Pool): PoolState {
    const key = poolKey(pool);
    let s = this.pools.get(key);
    if (!s) this.pools.set(key, (s = this.fresh(pool)));
    return s;
  }
}
