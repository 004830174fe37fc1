import {
  allocate,
  BudgetExceededError,
  dagArrays,
  DEFAULT_RANK_MIX,
  formatScheduleTable,
  modifiedPageRank,
  NoCapacityError,
  reallocate,
  upwardRank,
  type SpotdagSchedule,
} from '../../../src/allocate';
import { buildDag, chain, diamond, flatForecast, forkJoin, task, type TestPool } from './helpers';
import { minOf } from '../../../src/util/array';

const market: TestPool[] = [
  { key: 'cheap@z1', od: 0.1, spot: 0.01, hazard: 0.01 },
  { key: 'pricey@z2', od: 0.1, spot: 0.05, hazard: 0.01 },
  { key: 'od@z3', od: 0.08, spot: 0.2 },
];

/** At no instant do the sub-tasks placed on an instance use more cores than it has. */
function expectCapacityRespected(s: SpotdagSchedule, cpuOf: (id: string) => number) {
  for (const inst of s.instances) {
    const mine = s.placements.filter((p) => p.instanceId === inst.id);
    for (const p of mine) {
      const load = mine
        .filter((q) => q.start <= p.start + 1e-9 && q.finish > p.start + 1e-9)
        .reduce((a, q) => a + cpuOf(q.subTaskId), 0);
      expect(load).toBeLessThanOrEqual(inst.vcpu);
    }
  }
}

function expectTransfersForEveryCrossEdge(s: SpotdagSchedule, edges: Array<[string, string]>) {
  const where = new Map(s.placements.map((p) => [p.subTaskId, p.instanceId]));
  for (const [a, b] of edges) {
    const t = s.transfers.find((x) => x.from === a && x.to === b);
    if (where.get(a) === where.get(b)) expect(t).toBeUndefined();
    else expect(t).toMatchObject({ fromInstance: where.get(a), toInstance: where.get(b) });
  }
}

describe('allocate: hand-checkable cases', () => {
  it('chain: one reused spot instance in the cheapest pool, no transfers', () => {
    const s = allocate(chain(), flatForecast(market), {}, { objective: 'balanced' });
    expect(s.instances).toHaveLength(1);
    expect(s.instances[0]).toMatchObject({ pool: 'cheap@z1', market: 'spot' });
    expect(s.transfers).toHaveLength(0);
    expect(s.placements.map((p) => p.subTaskId)).toEqual(['a', 'b', 'c']);
    const [a, b, c] = s.placements;
    expect(b!.start).toBeGreaterThanOrEqual(a!.finish);
    expect(c!.start).toBeGreaterThanOrEqual(b!.finish);
    // Boot, then 3 h of work with one 10 s checkpoint each (Young: √(2·10 s·3600/0.01) ≈ 45 min).
    expect(s.placements[0]!.checkpointIntervalSeconds).toBeCloseTo(Math.sqrt((2 * 10 * 3600) / 0.01), 6);
    expect(s.predictedMakespanSeconds).toBeCloseTo(90 + 3 * 3610, 6);
    expect(s.predictedCostUsd).toBeCloseTo((0.01 * (90 + 3 * 3610)) / 3600, 9);
    // MaxPrice: the forecast's upper quantile, never above on-demand.
    expect(s.instances[0]!.maxPricePerHour).toBeCloseTo(0.012, 9);
  });

  it('fork-join: parallel branches packed two per 2-vCPU instance, a transfer for every cross edge', () => {
    const dag = forkJoin(4);
    const s = allocate(dag, flatForecast(market), {}, { objective: 'minimize-time' });
    expect(s.placements).toHaveLength(6);
    expectCapacityRespected(s, (id) => dag.getNodeAttribute(id, 'cpu'));
    expectTransfersForEveryCrossEdge(
      s,
      dag.mapEdges((_e, _a, x, y) => [x, y] as [string, string]),
    );
    // All four branches run at once: makespan ≈ boot + src + branch + join (+ small transfers).
    expect(s.predictedMakespanSeconds).toBeLessThan(90 + 600 + 3600 + 600 + 60);
    expect(s.instances.length).toBeGreaterThanOrEqual(2);
    expect(s.instances.length).toBeLessThanOrEqual(3);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('diamond: a tight deadline puts the critical path on on-demand; none, on spot', () => {
    const risky: TestPool[] = [
      { key: 'spot@z1', od: 0.1, spot: 0.02, hazard: 0.5 },
      { key: 'od@z2', od: 0.09, spot: 0.5 },
    ];
    const loose = allocate(diamond(), flatForecast(risky), {}, { objective: 'minimize-cost' });
    expect(loose.instances.every((i) => i.market === 'spot')).toBe(true);
    const deadline = 90 + 600 + 3600 + 600 + 300;
    const tight = allocate(diamond(), flatForecast(risky), {}, { objective: 'minimize-cost', deadline });
    const market = new Map(tight.instances.map((i) => [i.id, i.market]));
    for (const id of ['a', 'b', 'd']) {
      expect(market.get(tight.placements.find((p) => p.subTaskId === id)!.instanceId)).toBe('on-demand');
    }
    expect(tight.predictedMakespanSeconds).toBeLessThanOrEqual(deadline);
  });

  it('maxSpotPrice caps MaxPrice, or rules spot out', () => {
    const capped = allocate(chain(), flatForecast(market), {}, { maxSpotPrice: 0.011 });
    expect(capped.instances.every((i) => i.market === 'on-demand' || i.maxPricePerHour <= 0.011)).toBe(true);
    const none = allocate(chain(), flatForecast(market), {}, { maxSpotPrice: 0.005 });
    expect(none.instances.every((i) => i.market === 'on-demand')).toBe(true);
  });

  it('minOnDemandFraction puts the highest-ranked share on on-demand', () => {
    const s = allocate(forkJoin(4), flatForecast(market), {}, { minOnDemandFraction: 0.5 });
    const od = new Set(s.instances.filter((i) => i.market === 'on-demand').map((i) => i.id));
    expect(s.placements.filter((p) => od.has(p.instanceId)).length).toBeGreaterThanOrEqual(3);
    expect(s.onDemandFraction).toBeGreaterThanOrEqual(0.5);
  });

  it('budget and capacity errors name what is wrong', () => {
    expect(() => allocate(chain(), flatForecast(market), {}, { budget: 0.0001 })).toThrow(
      BudgetExceededError,
    );
    const big = buildDag([task('huge', 60, 8)], []);
    expect(() => allocate(big, flatForecast(market))).toThrow(NoCapacityError);
    expect(() => allocate(big, flatForecast(market))).toThrow(/huge/);
  });

  it('formats a table with cost and finish', () => {
    const text = formatScheduleTable(allocate(chain(), flatForecast(market)));
    expect(text).toMatch(/predicted cost\s+\$0\.03/);
    expect(text).toMatch(/cheap@z1\s+spot/);
  });
});

describe('ranking', () => {
  it('PageRank on the reversed DAG: prerequisites of much work rank higher', () => {
    const d = dagArrays(chain());
    const ones = new Float64Array(3).fill(1);
    const r = modifiedPageRank(d, {
      cost: ones,
      seconds: ones,
      risk: new Float64Array(3),
      bytesPerSecond: 1e9,
    });
    const [a, b, c] = ['a', 'b', 'c'].map((id) => r[d.indexOf.get(id)!]!);
    expect(a).toBeGreaterThan(b!);
    expect(b).toBeGreaterThan(c!);
    expect(r.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 9);
  });

  it('PageRank mix: the hand-set one is the default, and each term of the mix steers the rank', () => {
    const d = dagArrays(diamond());
    const cost = Float64Array.from(d.duration);
    // b is risky and cheap to run, c is long: which prerequisite d favours depends on the mix.
    const risk = Float64Array.from(d.ids.map((id) => (id === 'b' ? 0.9 : 0)));
    const seconds = Float64Array.from(
      d.ids.map((id) => (id === 'c' ? 8 * d.duration[d.indexOf.get(id)!]! : d.duration[d.indexOf.get(id)!]!)),
    );
    const inputs = { cost, seconds, risk, bytesPerSecond: 1e9 };
    expect(modifiedPageRank(d, { ...inputs, mix: DEFAULT_RANK_MIX })).toEqual(modifiedPageRank(d, inputs));
    const rankOf = (r: Float64Array, id: string) => r[d.indexOf.get(id)!]!;
    const byCost = modifiedPageRank(d, { ...inputs, mix: { cost: 1, seconds: 0, transfer: 0 } });
    const bySeconds = modifiedPageRank(d, {
      ...inputs,
      mix: { cost: 0, seconds: 1, transfer: 0, teleport: 0 },
    });
    expect(rankOf(byCost, 'b')).toBeGreaterThan(rankOf(byCost, 'c'));
    expect(rankOf(bySeconds, 'c')).toBeGreaterThan(rankOf(bySeconds, 'b'));
    // A mix that weighs nothing splits evenly; ranks still sum to 1.
    const none = modifiedPageRank(d, { ...inputs, mix: { cost: 0, seconds: 0, transfer: 0, teleport: 0 } });
    expect(none.every(Number.isFinite)).toBe(true);
    expect(none.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 9);
  });

  it('PageRank: the heavier and riskier branch of a diamond gets the higher rank', () => {
    const d = dagArrays(diamond());
    const cost = Float64Array.from(d.duration);
    const risk = Float64Array.from(d.ids.map((id) => (id === 'b' ? 0.5 : 0)));
    const r = modifiedPageRank(d, { cost, seconds: d.duration, risk, bytesPerSecond: 1e9 });
    expect(r[d.indexOf.get('b')!]!).toBeGreaterThan(r[d.indexOf.get('c')!]!);
    const up = upwardRank(d);
    expect(up[d.indexOf.get('a')!]).toBeCloseTo(600 + 3600 + 600, 9);
  });
});

describe('reallocate', () => {
  it('re-plans displaced sub-tasks away from the interrupted pool, keeps done ones', () => {
    const dag = forkJoin(4);
    const forecast = flatForecast(market);
    const first = allocate(dag, forecast, {}, { objective: 'balanced' });
    const src = first.placements.find((p) => p.subTaskId === 'src')!;
    const now = src.finish + 100;
    const s = reallocate(
      dag,
      forecast,
      {},
      { objective: 'balanced' },
      {
        nowSeconds: now,
        done: [{ subTaskId: 'src', instanceId: src.instanceId, finishedAt: src.finish }],
        running: [],
        instances: [],
        penalisedPools: ['cheap@z1'],
        displaced: ['w0', 'w1', 'w2', 'w3', 'join'],
        nextInstanceId: 10,
      },
      first,
    );
    expect(s.placements.map((p) => p.subTaskId).sort()).toEqual(['join', 'w0', 'w1', 'w2', 'w3']);
    expect(s.instances.some((i) => i.pool === 'cheap@z1' && i.market === 'spot')).toBe(false);
    expect(s.instances.every((i) => Number(i.id.slice(1)) >= 10)).toBe(true);
    expect(minOf(s.placements.map((p) => p.start))).toBeGreaterThanOrEqual(now);
    // src's instance is gone: its output comes from the store.
    const fromSrc = s.transfers.filter((x) => x.from === 'src');
    expect(fromSrc).toHaveLength(4);
    for (const t of fromSrc) expect(t.fromInstance).toBe('store');
  });
});
