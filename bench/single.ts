/**
 * Single-job benchmark: one long job on one spot trace, in Can't Be Late's tick model
 * (src/sim/single/job.ts), under on-demand, greedy, Uniform Progress, spotdag and the exact optimum
 * knowing the trace. See docs/allocation.md.
 *
 *   node dist/cli/main.js bench single --trace ../shared/data/spot-traces/availability/1-node/aws-02-15-2023/us-east-1a_v100_1.json \
 *     --work-hours 48 --deadline-hours 52 --overhead-hours 0.2 --spot-price 0.97 --on-demand-price 3.06 --json single.json
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { loadSkyPilotTrace } from '../src/market';
import { runSingleJob, type SingleJob, type SinglePolicy, type SingleRun } from '../src/sim/single/job';
import { omniscientSchedule } from '../src/sim/single/omniscient';
import { greedyPolicy, onDemandPolicy, uniformProgressSinglePolicy } from '../src/sim/single/policies';
import { spotdagSinglePolicy } from '../src/sim/single/spotdag';
import { expandFiles } from './schedule';

export interface SingleBenchmarkOptions {
  trace: string;
  workHours?: number;
  deadlineHours?: number;
  overheadHours?: number;
  spotPrice?: number;
  onDemandPrice?: number;
  startTick?: number;
  json?: string;
  progress?: boolean;
  print?: boolean;
}

export interface SinglePolicyResult {
  policy: string;
  cost: number;
  finishHours: number | null;
  deadlineMet: boolean;
}

export interface SingleBenchmarkResult {
  policies: SinglePolicyResult[];
}

/** The job of the options, its availability cut from the trace at the start tick. */
export function singleJobFromTrace(options: SingleBenchmarkOptions): {
  job: SingleJob;
  trace: ReturnType<typeof loadSkyPilotTrace>;
  startTick: number;
} {
  const trace = loadSkyPilotTrace(options.trace);
  const job: SingleJob = {
    workSeconds: (options.workHours ?? 48) * 3600,
    deadlineSeconds: (options.deadlineHours ?? 52) * 3600,
    overheadSeconds: (options.overheadHours ?? 0.2) * 3600,
    spotPricePerHour: options.spotPrice ?? 0.97,
    onDemandPricePerHour: options.onDemandPrice ?? 3.06,
    gapSeconds: trace.gapSeconds,
    available: new Uint8Array(0),
  };
  const startTick = options.startTick ?? 0;
  if (job.deadlineSeconds < job.workSeconds)
    throw new Error(
      `--deadline-hours ${job.deadlineSeconds / 3600} is shorter than --work-hours ${job.workSeconds / 3600}`,
    );
  const needed = Math.ceil(job.deadlineSeconds / trace.gapSeconds - 1e-9);
  const left = trace.unavailable.length - startTick;
  if (left < needed)
    throw new Error(
      `--start-tick ${startTick}: ${options.trace} has ${Math.max(0, left)} ticks of ${trace.gapSeconds} s from there; ` +
        `the deadline needs ${needed}`,
    );
  job.available = Uint8Array.from(trace.unavailable.slice(startTick), (u) => (u ? 0 : 1));
  return { job, trace, startTick };
}

/** Replays a fixed list of choices (the optimum's). */
const replay = (name: string, choices: SingleRun['choices']): SinglePolicy => ({
  name,
  decide: ({ state }) => choices[state.tick] ?? 'none',
});

export function runSingleBenchmark(options: SingleBenchmarkOptions): SingleBenchmarkResult {
  const { job, trace, startTick } = singleJobFromTrace(options);
  const say = (line: string) => {
    if (options.progress !== false) process.stderr.write(`bench single: ${line}\n`);
  };
  const policies: Array<() => SinglePolicy> = [
    onDemandPolicy,
    greedyPolicy,
    uniformProgressSinglePolicy,
    () => spotdagSinglePolicy({ job, trace, startTick }),
  ];
  const runs: SingleRun[] = [];
  for (const make of policies) {
    const t0 = performance.now();
    const run = runSingleJob(job, make());
    runs.push(run);
    say(`${run.policy} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const t0 = performance.now();
  let lastReport = t0;
  // The cheapest policy run that meets the deadline is a real schedule: the optimum costs no more.
  const met = runs.filter((r) => r.deadlineMet).map((r) => r.costUsd);
  const optimum = omniscientSchedule(job, {
    upperBoundUsd: met.length ? met.reduce((a, b) => Math.min(a, b)) : undefined,
    onProgress: (tick, ticks) => {
      const now = performance.now();
      if (now - lastReport > 5000) {
        lastReport = now;
        say(`omniscient: tick ${tick}/${ticks}, ${((now - t0) / 1000).toFixed(0)} s`);
      }
    },
  });
  const omniscient = runSingleJob(job, replay('omniscient', optimum.choices));
  if (Math.abs(omniscient.costUsd - optimum.costUsd) > 1e-9 * Math.max(1, optimum.costUsd))
    throw new Error(
      `omniscient: the replayed schedule costs ${omniscient.costUsd}, the optimum ${optimum.costUsd}`,
    );
  runs.push(omniscient);
  say(`omniscient in ${((performance.now() - t0) / 1000).toFixed(1)} s (${optimum.statesKept} states)`);

  const result: SingleBenchmarkResult = {
    policies: runs.map((r) => ({
      policy: r.policy,
      cost: r.costUsd,
      finishHours: r.finishHours,
      deadlineMet: r.deadlineMet,
    })),
  };
  if (options.json) writeFileSync(options.json, `${JSON.stringify(result, null, 1)}\n`);
  if (options.print !== false) process.stdout.write(formatSingleBenchmark(result, options, job, runs));
  return result;
}

export function formatSingleBenchmark(
  result: SingleBenchmarkResult,
  options: SingleBenchmarkOptions,
  job: SingleJob,
  runs: SingleRun[],
): string {
  const optimum = result.policies.find((p) => p.policy === 'omniscient');
  const rows = [
    ['policy', 'cost $', 'vs omniscient', 'finish h', 'deadline met', 'preemptions', 'spot h', 'on-demand h'],
    ...result.policies.map((p, i) => {
      const choices = runs[i]!.choices;
      const hours = (c: string) => (choices.filter((x) => x === c).length * job.gapSeconds) / 3600;
      return [
        p.policy,
        p.cost.toFixed(2),
        optimum && optimum.cost > 0 ? (p.cost / optimum.cost).toFixed(3) : '-',
        p.finishHours === null ? '-' : p.finishHours.toFixed(2),
        p.deadlineMet ? 'yes' : 'NO',
        String(runs[i]!.preemptions),
        hours('spot').toFixed(1),
        hours('on-demand').toFixed(1),
      ];
    }),
  ];
  const widths = rows[0]!.map((_, c) => rows.reduce((w, r) => Math.max(w, r[c]!.length), 0));
  const lines = rows.map((r) =>
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
  );
  const available = job.available.slice(0, Math.ceil(job.deadlineSeconds / job.gapSeconds));
  const share = available.reduce((a, x) => a + x, 0) / Math.max(1, available.length);
  return (
    `${options.trace} from tick ${options.startTick ?? 0} (${job.gapSeconds} s ticks, spot available ` +
    `${(100 * share).toFixed(1)} % of the ticks before the deadline); work ${job.workSeconds / 3600} h, deadline ` +
    `${job.deadlineSeconds / 3600} h, overhead ${job.overheadSeconds / 3600} h, spot $${job.spotPricePerHour}/h, ` +
    `on-demand $${job.onDemandPricePerHour}/h\n${lines.join('\n')}\n` +
    'spot h / on-demand h: instance time by tick, the last tick counted whole\n'
  );
}

export interface SingleSweepOptions extends Omit<SingleBenchmarkOptions, 'trace' | 'startTick'> {
  /** Every trace file under these paths (files or directories, recursively). */
  traces: string[];
  /** Start ticks per trace, spread evenly over the part of the trace that fits the deadline. */
  starts: number;
  /** Also compute the exact optimum (slow on fine-grained traces). Default true. */
  omniscient?: boolean;
}

export interface SingleSweepRun extends SinglePolicyResult {
  trace: string;
  startTick: number;
}

export interface SingleSweepSummary {
  policy: string;
  runs: number;
  meanCost: number;
  /** Mean over runs of cost ÷ Uniform Progress's cost on the same trace and start. */
  costVsUniformProgress: number;
  deadlineMetPct: number;
}

/**
 * `bench single` over many jobs: every trace under `traces` × `starts` start ticks, each policy on
 * each; the mean cost per policy and its ratio to Uniform Progress on the same job ("on average").
 */
export function runSingleSweep(options: SingleSweepOptions): {
  runs: SingleSweepRun[];
  summary: SingleSweepSummary[];
} {
  const files = expandFiles(options.traces);
  const runs: SingleSweepRun[] = [];
  let done = 0;
  const total = files.length * options.starts;
  for (const file of files) {
    const trace = loadSkyPilotTrace(file);
    const needed = Math.ceil(((options.deadlineHours ?? 52) * 3600) / trace.gapSeconds - 1e-9);
    const room = trace.unavailable.length - needed;
    if (room < 0) {
      process.stderr.write(`bench single: ${file} is shorter than the deadline; skipped\n`);
      continue;
    }
    for (let s = 0; s < options.starts; s++) {
      const startTick = options.starts === 1 ? 0 : Math.floor((s * room) / (options.starts - 1));
      const one = runSingleJobSet({ ...options, trace: file, startTick }, options.omniscient !== false);
      for (const p of one) runs.push({ ...p, trace: file, startTick });
      done++;
      if (options.progress !== false) process.stderr.write(`bench single: ${done}/${total} jobs\n`);
    }
  }
  const policies = [...new Set(runs.map((r) => r.policy))];
  const byJob = new Map<string, SingleSweepRun[]>();
  for (const r of runs) {
    const key = `${r.trace}#${r.startTick}`;
    byJob.set(key, [...(byJob.get(key) ?? []), r]);
  }
  const summary = policies.map((policy) => {
    const mine = runs.filter((r) => r.policy === policy);
    const ratios = mine.map((r) => {
      const up = byJob.get(`${r.trace}#${r.startTick}`)!.find((x) => x.policy === 'uniform-progress')!;
      return r.cost / up.cost;
    });
    return {
      policy,
      runs: mine.length,
      meanCost: mine.reduce((a, r) => a + r.cost, 0) / Math.max(1, mine.length),
      costVsUniformProgress: ratios.reduce((a, x) => a + x, 0) / Math.max(1, ratios.length),
      deadlineMetPct: (100 * mine.filter((r) => r.deadlineMet).length) / Math.max(1, mine.length),
    };
  });
  if (options.json) writeFileSync(options.json, `${JSON.stringify({ options, runs, summary }, null, 1)}\n`);
  if (options.print !== false) {
    const rows = [
      ['policy', 'jobs', 'mean cost $', 'vs UP', 'deadline met %'],
      ...summary.map((s) => [
        s.policy,
        String(s.runs),
        s.meanCost.toFixed(2),
        s.costVsUniformProgress.toFixed(3),
        s.deadlineMetPct.toFixed(1),
      ]),
    ];
    const widths = rows[0]!.map((_, c) => rows.reduce((w, r) => Math.max(w, r[c]!.length), 0));
    process.stdout.write(
      `${files.length} traces × ${options.starts} starts; vs UP: mean over jobs of cost ÷ Uniform Progress's\n` +
        rows
          .map((r) =>
            r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
          )
          .join('\n') +
        '\n',
    );
  }
  return { runs, summary };
}

/** Every policy (and the optimum, when asked) on one job. */
function runSingleJobSet(options: SingleBenchmarkOptions, withOptimum: boolean): SinglePolicyResult[] {
  const { job, trace, startTick } = singleJobFromTrace(options);
  const policies = [
    onDemandPolicy(),
    greedyPolicy(),
    uniformProgressSinglePolicy(),
    spotdagSinglePolicy({ job, trace, startTick }),
  ];
  const runs = policies.map((p) => runSingleJob(job, p));
  if (withOptimum) {
    const met = runs.filter((r) => r.deadlineMet).map((r) => r.costUsd);
    const optimum = omniscientSchedule(job, {
      upperBoundUsd: met.length ? met.reduce((a, b) => Math.min(a, b)) : undefined,
    });
    runs.push(runSingleJob(job, replay('omniscient', optimum.choices)));
  }
  return runs.map((r) => ({
    policy: r.policy,
    cost: r.costUsd,
    finishHours: r.finishHours,
    deadlineMet: r.deadlineMet,
  }));
}
