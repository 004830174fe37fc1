/**
 * `spotdag bench order`: does the modified PageRank earn its keep against HEFT's upward rank, once
 * its free parameters (src/allocate/rank.ts, RankMix) are chosen from data, out of sample?
 *
 * Every candidate mix (the hand-set one and seeded random ones) runs as the runtime controller's
 * order in the scheduling benchmark's scenarios, beside the controller with HEFT's and with
 * topological order and on-demand HEFT. Then, leaving one workflow family out at a time, the mix
 * with the lowest mean cost ÷ HEFT-order cost on the other families (a missed deadline costs +1)
 * is "learned", and its cost on the held-out family is what is reported. A candidate set that is
 * fixed in advance lets every fold choose from the same runs: no fold sees its held-out family.
 */
import { writeFileSync } from 'node:fs';
import { DEFAULT_RANK_MIX, type RankMix } from '../src/allocate/rank';
import { spotdagPolicy } from '../src/sim/policies';
import { rng } from '../src/sim/market';
import { runScheduleBenchmark, type ScheduleRun } from './schedule';

export interface OrderBenchOptions {
  workflows: string[];
  traces: string;
  prices: string;
  /** Candidate mixes, the hand-set one included. */
  candidates: number;
  /** Seed of the random candidates. */
  seed: number;
  seeds: number;
  windows: number;
  runtimeScale?: number;
  deadlineFactor?: number;
  progress?: boolean;
}

/** One held-out family: the mix learned without it, and each order's cost there. */
export interface OrderFold {
  heldOut: string;
  learnedMix: RankMix;
  learnedCandidate: string;
  /** Mean over the family's scenarios of cost ÷ on-demand HEFT's. */
  costVsOnDemand: Record<OrderName, number>;
  deadlineMetPct: Record<OrderName, number>;
}

export type OrderName = 'pagerank-learned' | 'pagerank' | 'heft' | 'topological';
const ORDER_NAMES: OrderName[] = ['pagerank-learned', 'pagerank', 'heft', 'topological'];

export interface OrderBenchResult {
  candidates: Array<{ name: string; mix: RankMix }>;
  folds: OrderFold[];
  /**
   * Per order, over folds: the mean and standard deviation of the held-out cost ÷ on-demand, and of
   * the same ÷ HEFT order's (paired per family, so the families' spread does not hide it).
   */
  summary: Array<{
    order: OrderName;
    costVsOnDemand: number;
    sd: number;
    vsHeft: number;
    vsHeftSd: number;
    deadlineMetPct: number;
  }>;
  /** Whether the learned PageRank is no worse than HEFT order out of sample. */
  pagerankEarnsItsKeep: boolean;
  scenarios: number;
  elapsedSeconds: number;
}

const POLICY_OF: Record<Exclude<OrderName, 'pagerank-learned'>, string> = {
  pagerank: 'spotdag',
  heft: 'spotdag-heft-order',
  topological: 'spotdag-topo-order',
};

/** The hand-set mix first, then `count − 1` drawn at random (log-uniform weights). */
export function candidateMixes(count: number, seed: number): RankMix[] {
  const random = rng(seed);
  const logUniform = (lo: number, hi: number) => Math.exp(Math.log(lo) + random() * Math.log(hi / lo));
  const mixes = [DEFAULT_RANK_MIX];
  while (mixes.length < count)
    mixes.push({
      cost: logUniform(0.05, 20),
      seconds: logUniform(0.05, 20),
      transfer: logUniform(0.05, 20),
      teleport: random(),
      damping: 0.5 + 0.45 * random(),
    });
  return mixes;
}

export function runOrderBenchmark(options: OrderBenchOptions): OrderBenchResult {
  const t0 = performance.now();
  const mixes = candidateMixes(options.candidates, options.seed);
  const candidates = mixes.map((mix, i) => ({ name: i === 0 ? 'spotdag' : `spotdag-mix-${i}`, mix }));
  const bench = runScheduleBenchmark({
    workflows: options.workflows,
    traces: options.traces,
    prices: options.prices,
    seeds: options.seeds,
    windows: options.windows,
    ...(options.runtimeScale !== undefined ? { runtimeScale: options.runtimeScale } : {}),
    ...(options.deadlineFactor !== undefined ? { deadlineFactor: options.deadlineFactor } : {}),
    policies: ['on-demand-heft', 'spotdag', 'spotdag-heft-order', 'spotdag-topo-order'],
    extraPolicies: candidates.slice(1).map(({ name, mix }) => ({
      name,
      make: (env, scenario) => spotdagPolicy(env, { name, forecast: scenario.forecast(), rankMix: mix }),
    })),
    progress: options.progress,
    print: false,
  });
  const { folds, summary, scenarios } = leaveOneFamilyOut(bench.runs, candidates);
  const of = (o: OrderName) => summary.find((s) => s.order === o)!;
  return {
    candidates,
    folds,
    summary,
    pagerankEarnsItsKeep:
      of('pagerank-learned').costVsOnDemand <= of('heft').costVsOnDemand &&
      of('pagerank-learned').deadlineMetPct >= of('heft').deadlineMetPct,
    scenarios,
    elapsedSeconds: (performance.now() - t0) / 1000,
  };
}

/**
 * Leave one workflow family out at a time: the candidate with the lowest training score on the
 * other families (mean cost ÷ HEFT order's, +1 per missed deadline) is the learned mix, and the
 * held-out family's runs give its figures. The held-out runs never enter its own choice.
 */
export function leaveOneFamilyOut(
  allRuns: ScheduleRun[],
  candidates: Array<{ name: string; mix: RankMix }>,
): Pick<OrderBenchResult, 'folds' | 'summary' | 'scenarios'> {
  const runs = allRuns.filter((r) => !r.error);
  const families = [...new Set(runs.map((r) => r.workflow))].sort();
  const scenarioKey = (r: ScheduleRun) => `${r.workflow}|${r.window}|${r.seed}`;
  const byScenario = new Map<string, Map<string, ScheduleRun>>();
  for (const r of runs) {
    let m = byScenario.get(scenarioKey(r));
    if (!m) byScenario.set(scenarioKey(r), (m = new Map()));
    m.set(r.policy, r);
  }
  const score = (candidate: string, heldOut: string) => {
    const xs: number[] = [];
    for (const m of byScenario.values()) {
      const mine = m.get(candidate);
      const heft = m.get(POLICY_OF.heft);
      if (!mine || !heft || mine.workflow === heldOut || !(heft.costUsd > 0)) continue;
      xs.push(mine.costUsd / heft.costUsd + (mine.deadlineMet === false ? 1 : 0));
    }
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Infinity;
  };
  const heldOutFigures = (policy: string, family: string) => {
    const mine = runs.filter((r) => r.policy === policy && r.workflow === family);
    const ratios = mine.map((r) => r.costVsOnDemand).filter((x) => Number.isFinite(x));
    return {
      costVsOnDemand: ratios.reduce((a, b) => a + b, 0) / Math.max(1, ratios.length),
      deadlineMetPct: (100 * mine.filter((r) => r.deadlineMet !== false).length) / Math.max(1, mine.length),
    };
  };
  const folds: OrderFold[] = families.map((heldOut) => {
    const learned = candidates.reduce((best, c) =>
      score(c.name, heldOut) < score(best.name, heldOut) ? c : best,
    );
    const figures: Record<OrderName, { costVsOnDemand: number; deadlineMetPct: number }> = {
      'pagerank-learned': heldOutFigures(learned.name, heldOut),
      pagerank: heldOutFigures(POLICY_OF.pagerank, heldOut),
      heft: heldOutFigures(POLICY_OF.heft, heldOut),
      topological: heldOutFigures(POLICY_OF.topological, heldOut),
    };
    const pick = (key: 'costVsOnDemand' | 'deadlineMetPct') =>
      Object.fromEntries(ORDER_NAMES.map((o) => [o, figures[o][key]])) as Record<OrderName, number>;
    return {
      heldOut,
      learnedMix: learned.mix,
      learnedCandidate: learned.name,
      costVsOnDemand: pick('costVsOnDemand'),
      deadlineMetPct: pick('deadlineMetPct'),
    };
  });
  const meanSd = (xs: number[]) => {
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    return { mean, sd: Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1)) };
  };
  const summary = ORDER_NAMES.map((order) => {
    const abs = meanSd(folds.map((f) => f.costVsOnDemand[order]));
    const rel = meanSd(folds.map((f) => f.costVsOnDemand[order] / f.costVsOnDemand.heft));
    const met = folds.reduce((a, f) => a + f.deadlineMetPct[order], 0) / folds.length;
    return {
      order,
      costVsOnDemand: abs.mean,
      sd: abs.sd,
      vsHeft: rel.mean,
      vsHeftSd: rel.sd,
      deadlineMetPct: met,
    };
  });
  return { folds, summary, scenarios: byScenario.size };
}

const fmtMix = (m: RankMix) =>
  `cost ${m.cost.toFixed(2)}, seconds ${m.seconds.toFixed(2)}, transfer ${m.transfer.toFixed(2)}, teleport ${m.teleport.toFixed(2)}, d ${m.damping.toFixed(2)}`;

export function formatOrderBench(r: OrderBenchResult): string {
  const rows = [
    ['held-out family', 'learned', 'pagerank', 'heft', 'topological', 'mix learned without it'],
    ...r.folds.map((f) => [
      f.heldOut,
      ...ORDER_NAMES.map((o) => f.costVsOnDemand[o].toFixed(3)),
      `${f.learnedCandidate}: ${fmtMix(f.learnedMix)}`,
    ]),
  ];
  const widths = rows[0]!.map((_, c) => rows.reduce((w, row) => Math.max(w, row[c]!.length), 0));
  const table = rows
    .map((row) =>
      row
        .map((cell, c) => (c === 0 || c === 5 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!)))
        .join('  '),
    )
    .join('\n');
  const summary = r.summary
    .map(
      (s) =>
        `  ${s.order.padEnd(16)} ${s.costVsOnDemand.toFixed(3)} ± ${s.sd.toFixed(3)} × on-demand, ` +
        `${s.vsHeft.toFixed(3)} ± ${s.vsHeftSd.toFixed(3)} × HEFT order, deadlines met ${s.deadlineMetPct.toFixed(1)} %`,
    )
    .join('\n');
  return (
    `cost ÷ on-demand HEFT on each held-out workflow family (${r.scenarios} scenarios, ${r.candidates.length} candidate mixes):\n` +
    `${table}\n${summary}\n` +
    (r.pagerankEarnsItsKeep
      ? 'the learned PageRank order is no worse than HEFT order out of sample: PageRank stays the default\n'
      : 'the learned PageRank order is WORSE than HEFT order out of sample: HEFT order is the better default\n')
  );
}

export function writeOrderJson(file: string, r: OrderBenchResult): void {
  writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
}
