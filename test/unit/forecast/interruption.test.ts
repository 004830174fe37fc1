import fc from 'fast-check';
import {
  bandRatePerHour,
  InterruptionModel,
  spotLakeIfBandToAdvisorBand,
  traceCounts,
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
