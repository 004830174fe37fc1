import fc from 'fast-check';
import {
  bandRatePerHour,
  evalWindows,
  eventFrequency,
  fitInterruptionModel,
  InterruptionModel,
  smoothedFrequency,
  spotLakeIfBandToAdvisorBand,
  traceCounts,
  windowGrid,
} from '../../../src/forecast';
import type { AvailabilityTrace } from '../../../src/market';

const pool = { instanceType: 'p3.2xlarge', region: 'us-east-1', zone: 'us-east-1a' };
const other = { instanceType: 'p3.2xlarge', region: 'us-east-1', zone: 'us-east-1b' };

describe('InterruptionModel', () => {
  it('starts from the band prior and converges to the observed rate', () => {
    const model = new InterruptionModel({ halfLifeHours: Infinity });
    model.setPriorBand(pool, 4);
    expect(model.hazardPerHour(pool)).toBeCloseTo(bandRatePerHour(4), 12);
    model.observe(pool, 1000 * 3600, 500); // 0.5 per hour over 1000 h
    expect(model.hazardPerHour(pool)).toBeCloseTo(0.5, 1);
    // Lots of data: P(interrupted within d) ≈ 1 − e^{−λd} (by Jensen, the posterior predictive is a little below).
    const p = model.probabilityInterrupted(pool, 3600);
    expect(p).toBeCloseTo(1 - Math.exp(-model.hazardPerHour(pool)), 3);
    expect(p).toBeLessThan(1 - Math.exp(-model.hazardPerHour(pool)));
    expect(model.probabilityInterrupted(pool, 0)).toBe(0);
    // An untouched pool keeps the default prior.
    expect(model.hazardPerHour(other)).toBeCloseTo(bandRatePerHour(1), 12);
  });

  it('with thin data the prior dominates; discounting forgets old evidence', () => {
    const thin = new InterruptionModel({ priorExposureHours: 24, halfLifeHours: Infinity });
    thin.setPriorRate(pool, 0.01);
    thin.observe(pool, 600, 0);
    expect(thin.hazardPerHour(pool)).toBeCloseTo(0.01 * (24 / 24.1667), 4);
    const forgetful = new InterruptionModel({ halfLifeHours: 10, priorExposureHours: 1 });
    forgetful.setPriorRate(pool, 0.01);
    forgetful.observe(pool, 100 * 3600, 100); // 1/h long ago
    forgetful.observe(pool, 100 * 3600, 0); // then quiet for 10 half-lives
    expect(forgetful.hazardPerHour(pool)).toBeLessThan(0.02);
  });

  it('probabilities are in [0, 1] and increase with duration', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1e5, noNaN: true }),
        fc.nat(1000),
        fc.double({ min: 1, max: 1e6, noNaN: true }),
        (exposure, events, d) => {
          const m = new InterruptionModel();
          m.observe(pool, exposure * 3600, events);
          const p1 = m.probabilityInterrupted(pool, d);
          const p2 = m.probabilityInterrupted(pool, 2 * d);
          return p1 >= 0 && p2 <= 1 && p2 >= p1;
        },
      ),
    );
  });

  it('P(available) relaxes from the observed state to the stationary share', () => {
    const m = new InterruptionModel({
      halfLifeHours: Infinity,
      priorExposureHours: 0.001,
      recoveryPriorHours: 0.001,
    });
    m.observe(pool, 100 * 3600, 100); // λ ≈ 1/h
    m.observeRecovery(pool, 300 * 3600, 100); // μ ≈ 1/3 per h → π ≈ 0.25
    expect(m.probabilityAvailable(pool, 0)).toBeCloseTo(0.25, 2);
    m.observeAvailability(pool, 0, true);
    expect(m.probabilityAvailable(pool, 0)).toBeCloseTo(1, 9);
    expect(m.probabilityAvailable(pool, 3_600_000)).toBeCloseTo(0.25 + 0.75 * Math.exp(-4 / 3), 2);
    expect(m.probabilityAvailable(pool, 100 * 3_600_000)).toBeCloseTo(0.25, 2);
  });

  it('state survives toJSON/fromJSON (e.g. across an activity boundary)', () => {
    const m = new InterruptionModel({ halfLifeHours: 48 });
    m.setPriorBand(pool, 2);
    m.observe(pool, 7200, 3);
    m.observeAvailability(pool, 123, false);
    const copy = InterruptionModel.fromJSON(JSON.parse(JSON.stringify(m)));
    expect(copy.hazardPerHour(pool)).toBe(m.hazardPerHour(pool));
    expect(copy.probabilityAvailable(pool, 5000)).toBe(m.probabilityAvailable(pool, 5000));
    copy.observe(pool, 3600, 1);
    expect(copy.hazardPerHour(pool)).not.toBe(m.hazardPerHour(pool));
  });

  it('rejects negative observations', () => {
    expect(() => new InterruptionModel().observe(pool, -1, 0)).toThrow(RangeError);
  });
});

describe('bands', () => {
  it('map SpotLake if_band scores onto Spot Advisor bands, higher score = fewer interruptions', () => {
    expect([3, 2.5, 2, 1.5, 1].map(spotLakeIfBandToAdvisorBand)).toEqual([0, 1, 2, 3, 4]);
    expect(bandRatePerHour(0)).toBeLessThan(bandRatePerHour(4));
  });
});

describe('traceCounts', () => {
  it('counts exposure, interruptions, downtime and recoveries over transitions', () => {
    const trace: AvailabilityTrace = {
      name: 't',
      startMs: 0,
      gapSeconds: 60,
      unavailable: [false, false, true, true, false, true].map(Boolean),
    };
    expect(traceCounts(trace, 0, 5)).toEqual({
      exposureSeconds: 180,
      interruptions: 2,
      downSeconds: 120,
      recoveries: 1,
    });
    expect(traceCounts(trace, 2, 4)).toEqual({
      exposureSeconds: 0,
      interruptions: 0,
      downSeconds: 120,
      recoveries: 1,
    });
  });
});

/** A deterministic two-state chain per minute (up → down with p(i), down → up with pRecover). */
function chain(p: (i: number) => number, pRecover: number, seed: number, length = 6000): AvailabilityTrace {
  const r = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  let down = false;
  const unavailable = Array.from({ length }, (_, i) => (down = down ? r() > pRecover : r() < p(i)));
  return { name: `t${seed}`, pool, startMs: 0, gapSeconds: 60, unavailable };
}

describe('observeTrace', () => {
  it('adds up to the same counts as traceCounts when nothing is discounted, and records the last state', () => {
    const t = chain(() => 0.02, 0.1, 3, 2000);
    const byTicks = new InterruptionModel({ halfLifeHours: Infinity });
    byTicks.observeTrace(pool, t, 0, 700);
    byTicks.observeTrace(pool, t, 700, 1999);
    const c = traceCounts(t, 0, 1999);
    const whole = new InterruptionModel({ halfLifeHours: Infinity });
    whole.observe(pool, c.exposureSeconds, c.interruptions);
    whole.observeRecovery(pool, c.downSeconds, c.recoveries);
    expect(byTicks.posterior(pool).alpha).toBeCloseTo(whole.posterior(pool).alpha, 9);
    expect(byTicks.posterior(pool).beta).toBeCloseTo(whole.posterior(pool).beta, 9);
    expect(byTicks.recoveryPerHour(pool)).toBeCloseTo(whole.recoveryPerHour(pool), 9);
    const atEnd = 1999 * 60_000;
    expect(byTicks.probabilityAvailable(pool, atEnd)).toBe(t.unavailable[1999] ? 0 : 1);
  });
});

describe('windows and frequencies', () => {
  const t: AvailabilityTrace = {
    name: 't',
    startMs: 0,
    gapSeconds: 600,
    // ticks:      0      1     2     3      4      5      6      7     8
    unavailable: [false, false, true, false, false, false, false, true, false],
  };

  it('a window starts at an available tick and counts as interrupted if any of the next d/gap ticks is down', () => {
    // d = 20 min = 2 ticks; stride 10 min = 1 tick; windows must end inside the trace (t + 2 ≤ 8).
    expect(evalWindows(t, { durationSeconds: 1200 })).toEqual([
      { tick: 0, interrupted: true },
      { tick: 1, interrupted: true },
      { tick: 3, interrupted: false },
      { tick: 4, interrupted: false },
      { tick: 5, interrupted: true },
      { tick: 6, interrupted: true },
    ]);
    expect(windowGrid(t, { durationSeconds: 1200 }, 2, 3)).toEqual([
      { tick: 2, interrupted: false, available: false, availableAfter: true },
    ]);
    expect(evalWindows(t, { durationSeconds: 1200, strideSeconds: 1800 }, 1).map((w) => w.tick)).toEqual([
      1, 4,
    ]);
    const f = eventFrequency([evalWindows(t, { durationSeconds: 1200 })]);
    expect(f).toEqual({ windows: 6, events: 4, frequency: 4 / 6 });
    expect(smoothedFrequency(f)).toBeCloseTo(4.5 / 7, 12);
    expect(smoothedFrequency({ windows: 0, events: 0, frequency: NaN })).toBe(0.5);
  });
});

describe('fitInterruptionModel', () => {
  it("scores exactly the model's own online forecasts", () => {
    const traces = [chain((i) => (i % 1000 < 500 ? 0.002 : 0.03), 0.1, 7), chain(() => 0.01, 0.1, 8)];
    const grid = { defaultRatePerHour: [0.3], priorExposureHours: [2], halfLifeHours: [1.5] };
    const fit = fitInterruptionModel(traces, { durationSeconds: 1800 }, grid);
    let loss = 0;
    let n = 0;
    for (const t of traces) {
      const m = new InterruptionModel(fit.options);
      let seen = 0;
      for (const w of evalWindows(t, { durationSeconds: 1800 })) {
        m.observeTrace(pool, t, seen, w.tick);
        seen = w.tick;
        const p = m.probabilityInterrupted(pool, 1800);
        loss += -Math.log(w.interrupted ? p : 1 - p);
        n++;
      }
    }
    expect(fit.forecasts).toBe(n);
    expect(fit.logLoss).toBeCloseTo(loss / n, 9);
  });

  it('learns a near-constant forecast when the hazard is constant and one that follows bursts', () => {
    const forecasts = (train: AvailabilityTrace[], test: AvailabilityTrace) => {
      const m = new InterruptionModel(fitInterruptionModel(train).options);
      let seen = 0;
      return evalWindows(test).map((w) => {
        m.observeTrace(pool, test, seen, w.tick);
        seen = w.tick;
        return { tick: w.tick, p: m.probabilityInterrupted(pool, 3600) };
      });
    };
    const mean = (xs: { p: number }[]) => xs.reduce((a, x) => a + x.p, 0) / xs.length;
    const steady = (seed: number) => chain(() => 0.005, 0.1, seed, 8000);
    // Steady: P(lost within 1 h) = 1 − 0.995⁶⁰ ≈ 0.26 everywhere; the forecasts stay near it.
    const calm = forecasts([steady(1), steady(2)], steady(3));
    expect(calm.every((f) => f.p > 0.15 && f.p < 0.4)).toBe(true);
    // 20-hour calm stretches (P ≈ 0.03) alternate with storms (P ≈ 0.95); the forecasts follow them.
    const storm = (i: number) => Math.floor(i / 1200) % 2 === 1;
    const stormy = (seed: number) => chain((i) => (storm(i) ? 0.05 : 0.0005), 0.1, seed, 8000);
    const bursts = forecasts([stormy(1), stormy(2)], stormy(3));
    expect(mean(bursts.filter((f) => !storm(f.tick)))).toBeLessThan(0.25);
    expect(mean(bursts.filter((f) => storm(f.tick)))).toBeGreaterThan(0.6);
  });

  it('rejects traces without a scorable window', () => {
    const down: AvailabilityTrace = {
      name: 'x',
      startMs: 0,
      gapSeconds: 60,
      unavailable: [true, true, true],
    };
    expect(() => fitInterruptionModel([down])).toThrow(
      new RangeError('interruption fit: the training traces have no scorable window'),
    );
  });
});
