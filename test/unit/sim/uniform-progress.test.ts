import { runSingleJob, type SingleJob } from '../../../src/sim/single/job';
import { uniformProgressSinglePolicy } from '../../../src/sim/single/policies';

const H = 3600;

/** Hour ticks; `pattern[i]` is '1' (capacity) or '0' (none) at tick i, the last one repeated. */
function job(pattern: string, work: number, deadline: number, overhead = 0.5): SingleJob {
  const ticks = Math.ceil(deadline) + 40;
  const available = new Uint8Array(ticks);
  for (let i = 0; i < ticks; i++) available[i] = pattern[Math.min(i, pattern.length - 1)] === '1' ? 1 : 0;
  return {
    workSeconds: work * H,
    deadlineSeconds: deadline * H,
    overheadSeconds: overhead * H,
    spotPricePerHour: 1,
    onDemandPricePerHour: 3,
    gapSeconds: H,
    available,
  };
}

const S = 'spot';
const O = 'on-demand';
const N = 'none';

describe('Uniform Progress on hand-made traces (1 h ticks, d = 0.5 h, spot $1/h, on-demand $3/h)', () => {
  it('always available: spot from the first tick to the end, one overhead', () => {
    const r = runSingleJob(job('1', 10, 20), uniformProgressSinglePolicy());
    expect(r.choices).toEqual(new Array(11).fill(S));
    expect(r.finishHours).toBeCloseTo(10.5, 9);
    expect(r.costUsd).toBeCloseTo(10.5, 9);
    expect(r.deadlineMet).toBe(true);
  });

  it('never available: waits while not behind (t = 0), then on-demand and stays there', () => {
    const r = runSingleJob(job('0', 10, 20), uniformProgressSinglePolicy());
    // Tick 0: 0·C/D − 0 = 0 is not behind; tick 1: behind → on-demand, never spot again.
    expect(r.choices).toEqual([N, ...new Array(11).fill(O)]);
    expect(r.finishHours).toBeCloseTo(1 + 0.5 + 10, 9);
    expect(r.costUsd).toBeCloseTo(3 * 10.5, 9);
  });

  it('one long outage in the middle: waits until behind, on-demand, back to spot once 2d ahead', () => {
    // C = 10 h, D = 20 h (C/D = 0.5): spot at ticks 0–3 (done 3.5 h), no capacity at 4–13.
    // Behind when 0.5·t > 3.5, first at t = 8 → on-demand (done 4, 5, …, 9 after ticks 8–13).
    // At 14 spot is back and (14 + 1)·0.5 − 9 < 0: spot again (overhead 0.5), done at 15.5 h.
    const r = runSingleJob(job('11110000000000111', 10, 20), uniformProgressSinglePolicy());
    expect(r.choices).toEqual([S, S, S, S, N, N, N, N, O, O, O, O, O, O, S, S]);
    expect(r.finishHours).toBeCloseTo(15.5, 9);
    expect(r.costUsd).toBeCloseTo(5.5 * 1 + 6 * 3, 9);
    expect(r.preemptions).toBe(1);
  });

  it('flapping: spot at every chance, on-demand when behind, hysteresis keeps it there', () => {
    // C = 4 h, D = 10 h (C/D = 0.4); capacity at even ticks only. Each spot tick pays the overhead.
    // t0 spot (0.5); t1 preempted, 0.4 − 0.5 < 0: wait; t2 spot (1.0); t3 1.2 − 1 > 0: on-demand
    // (1.5); t4 (5·0.4 − 1.5 ≥ 0) stays (2.5); t5 no spot (3.5); t6 7·0.4 − 3.5 < 0: spot, done at 7 h.
    const r = runSingleJob(job('1010101010101010', 4, 10), uniformProgressSinglePolicy());
    expect(r.choices).toEqual([S, N, S, O, O, O, S]);
    expect(r.finishHours).toBeCloseTo(7, 9);
    expect(r.costUsd).toBeCloseTo(3 * 1 + 3 * 3, 9);
    expect(r.preemptions).toBe(2);
  });

  it('safety net: with remaining + 2d ≥ time left it takes on-demand even when spot is there', () => {
    // C = 4 h, D = 4.5 h: ⌈4 + 1⌉ = 5 ≥ ⌊4.5⌋ = 4 at tick 0.
    const r = runSingleJob(job('1', 4, 4.5), uniformProgressSinglePolicy());
    expect(r.choices).toEqual([O, O, O, O, O]);
    expect(r.finishHours).toBeCloseTo(4.5, 9);
    expect(r.deadlineMet).toBe(true);
  });

  it('safety net: past its restart on spot it keeps spot; after a preemption there, on-demand', () => {
    // C = 4 h, D = 6 h: spot at 0 (0.5 done), 1 (1.5), 2 (2.5); preempted at 3 with 1.5 h left:
    // ⌈1.5 + 1⌉ = 3 ≥ ⌊6 − 3⌋ = 3 and not on spot → on-demand: 0.5 + 1.5 h, done at 5 h.
    const r = runSingleJob(job('1110', 4, 6), uniformProgressSinglePolicy());
    expect(r.choices).toEqual([S, S, S, O, O]);
    expect(r.finishHours).toBeCloseTo(5, 9);
    expect(r.deadlineMet).toBe(true);
  });
});
