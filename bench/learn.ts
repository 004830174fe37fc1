/**
 * `spotdag learn`: the learning environment, training and held-out evaluation of the learned
 * policy (src/learn), over the scheduling benchmark's simulated jobs (bench/schedule.ts, src/sim).
 *
 * The environment: a policy is a point of the controller's parameter space; one step evaluates a
 * batch of policies on the same scenarios (every workflow × window × seed, with spot traces drawn
 * from the given trace groups), and the score of each is its mean cost ÷ on-demand HEFT's, plus 1
 * per missed deadline. Training is an evolution strategy (src/learn/evolution.ts) from the
 * heuristic. Evaluation is out of sample: leave one trace group and one set of workflow families
 * out at a time, train on the rest, and report only the held-out scenarios.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadDocument } from '../activities/documents';
import { dagArrays, fromPlainDagArrays, type DagArrays } from '../src/allocate/rank';
import type { CheckpointStore } from '../src/checkpoint/types';
import { plannedDag } from '../src/job/allocation-input';
import { isSimulated, listEpisodes, markConsumed, readEpisode } from '../src/learn/episodes';
import { evolve, type GenerationRecord } from '../src/learn/evolution';
import { MODEL_FORMAT, type PolicyModel } from '../src/learn/model';
import { fromUnit, HEURISTIC_PARAMS, toUnit, type PolicyParams } from '../src/learn/policy-space';
import { addVersion, currentModel, promoteIfBetter, type EvaluationFigures } from '../src/learn/registry';
import { spotdagPolicy } from '../src/sim/policies';
import { pushAll } from '../src/util/array';
import {
  expandFiles,
  progressBar,
  runScheduleBenchmark,
  summariseRuns,
  type ExtraPolicy,
  type PolicySummary,
  type ScheduleRun,
} from './schedule';

/** The simulated jobs a policy is scored on. */
export interface LearnData {
  workflows: string[];
  /** Trace files or directories, pooled. */
  traces: string[];
  prices: string;
  windows: number;
  seeds: number;
  runtimeScale?: number;
  deadlineFactor?: number;
  /** Workflows in memory besides the files (real jobs' DAGs from their episodes). */
  dags?: Array<{ name: string; d: DagArrays }>;
}

export interface TrainOptions extends LearnData {
  /** Where the search starts (default the heuristic; `learn update`: the current version). */
  start?: PolicyParams;
  seed: number;
  generations: number;
  population: number;
  sigma?: number;
  progress?: boolean;
  /** Each generation as it ends. */
  onGeneration?: (record: GenerationRecord) => void;
}

/** The simulator policy of a parameter point, under `name`. */
export function learnedPolicy(name: string, params: PolicyParams): ExtraPolicy {
  return {
    name,
    make: (env, scenario) =>
      spotdagPolicy(env, {
        name,
        forecast: scenario.forecast(),
        rankMix: params.rankMix,
        tuning: params.tuning,
      }),
  };
}

/** A policy's training score on its runs: mean cost ÷ on-demand, +1 per missed deadline; any error: ∞. */
export function trainingScore(runs: ScheduleRun[], policy: string): number {
  const mine = runs.filter((r) => r.policy === policy);
  if (mine.length === 0 || mine.some((r) => r.error || !Number.isFinite(r.costVsOnDemand))) return Infinity;
  return mine.reduce((a, r) => a + r.costVsOnDemand + (r.deadlineMet === false ? 1 : 0), 0) / mine.length;
}

/** Workflow files' scenarios per data set: workflows × windows × seeds. */
function scenarioCount(data: LearnData): number {
  return (expandFiles(data.workflows).length + (data.dags?.length ?? 0)) * data.windows * data.seeds;
}

/** Scores of a batch of policies on `data`: one pass of the simulator, on-demand HEFT as the yardstick. */
export function scoreBatch(
  data: LearnData,
  batch: PolicyParams[],
  tag: string,
  onRun?: (run: ScheduleRun) => void,
): number[] {
  const extras = batch.map((p, i) => learnedPolicy(`${tag}-${i}`, p));
  const bench = runScheduleBenchmark({
    ...data,
    policies: ['on-demand-heft'],
    extraPolicies: extras,
    progress: false,
    print: false,
    onRun,
  });
  return extras.map((e) => trainingScore(bench.runs, e.name));
}

/** Trains a policy on `data`, from the heuristic, deterministically for `seed`. */
export function trainPolicy(options: TrainOptions): PolicyModel {
  const t0 = performance.now();
  const scenarios = scenarioCount(options);
  // Each evaluated policy runs every scenario; on-demand HEFT runs once per batch too.
  const total = (1 + options.generations * options.population) * scenarios;
  const bar = options.progress !== false ? progressBar('learn train', 'runs', total) : undefined;
  bar?.start(total, 0, { detail: '' });
  let best = Infinity;
  const result = evolve({
    start: toUnit(options.start ?? HEURISTIC_PARAMS),
    seed: options.seed,
    generations: options.generations,
    population: options.population,
    sigma: options.sigma,
    evaluate: (points, generation) => {
      const scores = scoreBatch(options, points.map(fromUnit), `g${generation}`, (run) => {
        if (run.policy === 'on-demand-heft') return;
        const score = generation === 0 ? 'scoring the heuristic' : `best ${best.toFixed(4)}`;
        bar?.increment(1, { detail: `generation ${generation}, ${score}, ${run.workflow}` });
      });
      if (generation === 0) best = scores[0]!;
      return scores;
    },
    onGeneration: (record) => {
      best = record.best;
      options.onGeneration?.(record);
    },
  });
  bar?.stop();
  return {
    format: MODEL_FORMAT,
    params: fromUnit(result.best),
    training: {
      seed: options.seed,
      generations: options.generations,
      population: options.population,
      workflows: [
        ...expandFiles(options.workflows).map((f) => path.basename(f, '.json')),
        ...(options.dags ?? []).map((w) => w.name),
      ],
      // The groups themselves (the directories holding trace files), whatever level was given.
      traceGroups: [...new Set(options.traces.flatMap(traceGroups).map((g) => path.basename(g)))].sort(),
      prices: path.basename(options.prices),
      scenarios,
      heuristicScore: result.startScore,
      score: result.bestScore,
      curve: result.curve,
      elapsedSeconds: (performance.now() - t0) / 1000,
    },
    createdAt: new Date().toISOString(),
  };
}

/** A workflow's family: its application, the file name up to the first `-` (1000genome, montage, …). */
export function familyOf(file: string): string {
  return path.basename(file, '.json').split('-')[0]!;
}

/** Trace groups under `root`: the directories that hold trace files themselves, sorted. */
export function traceGroups(root: string): string[] {
  const groups = new Set<string>();
  for (const f of expandFiles([root])) groups.add(path.dirname(f));
  return [...groups].sort();
}

/** One fold: what is held out, and what the policy may learn from. */
export interface Fold {
  fold: number;
  heldOutFamilies: string[];
  heldOutTraceGroup: string;
  trainFiles: string[];
  testFiles: string[];
  trainTraceGroups: string[];
}

/**
 * As many folds as trace groups: fold k holds out trace group k and every k-th workflow family
 * (round robin over the sorted families), and trains on the other groups and families. Nothing of
 * a fold's test scenarios — neither the workflow family nor the spot traces — is seen in training.
 */
export function makeFolds(workflowFiles: string[], groups: string[]): Fold[] {
  if (groups.length < 2)
    throw new Error(
      `leave-one-group-out needs at least 2 trace groups (directories of trace files); found ${groups.length}`,
    );
  const families = [...new Set(workflowFiles.map(familyOf))].sort();
  if (families.length < groups.length)
    throw new Error(
      `leave-one-group-out needs at least as many workflow families as trace groups (${groups.length}); found ${families.length}`,
    );
  return groups.map((group, k) => {
    const heldOutFamilies = families.filter((_, i) => i % groups.length === k);
    const held = new Set(heldOutFamilies);
    return {
      fold: k,
      heldOutFamilies,
      heldOutTraceGroup: group,
      trainFiles: workflowFiles.filter((f) => !held.has(familyOf(f))),
      testFiles: workflowFiles.filter((f) => held.has(familyOf(f))),
      trainTraceGroups: groups.filter((g) => g !== group),
    };
  });
}

/** Policies every held-out evaluation runs beside the learned one. */
export const EVAL_BASELINES = ['on-demand-heft', 'spotdag', 'uniform-progress', 'spotdag-heft-order'];

export interface EvalOptions {
  workflows: string[];
  /** The root of the trace groups. */
  traces: string;
  prices: string;
  /** Training: its data's windows and seeds, and the evolution strategy's settings. */
  train: Omit<TrainOptions, keyof LearnData | 'progress'> & { windows: number; seeds: number };
  /** Held-out scenarios per fold: windows and seeds. */
  windows: number;
  seeds: number;
  runtimeScale?: number;
  deadlineFactor?: number;
  progress?: boolean;
}

export interface FoldResult extends Omit<Fold, 'trainFiles' | 'testFiles'> {
  trainWorkflows: string[];
  testWorkflows: string[];
  model: PolicyModel;
  /** Held-out figures per policy. */
  heldOut: Record<string, EvaluationFigures>;
  /** Mean over the held-out scenarios of learned ÷ heuristic cost. */
  learnedVsHeuristic: number;
}

export interface EvalResult {
  folds: FoldResult[];
  /** Over every fold's held-out runs, the same fields as `bench schedule`'s summary. */
  summary: PolicySummary[];
  /** Learned ÷ heuristic cost per held-out scenario: mean, sd, and the per-fold means' sd. */
  learnedVsHeuristic: { mean: number; sd: number; foldSd: number; scenarios: number };
  /** The goal: ≤ 0.95 × the heuristic, 100 % deadlines met, out of sample. */
  goalMet: boolean;
  runs: ScheduleRun[];
  elapsedSeconds: number;
}

export const LEARNED = 'spotdag-learned';

function meanSd(xs: number[]): { mean: number; sd: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1));
  return { mean, sd };
}

/** Held-out figures of each policy of a summary (`summariseRuns`). */
export function figuresOf(summary: PolicySummary[]): Record<string, EvaluationFigures> {
  return Object.fromEntries(
    summary.map((s) => [
      s.policy,
      { costVsOnDemand: s.costVsOnDemand, deadlineMetPct: s.deadlineMetPct ?? 0, scenarios: s.runs },
    ]),
  );
}

/** Per held-out scenario, `policy`'s cost ÷ the heuristic's. */
export function ratiosToHeuristic(runs: ScheduleRun[], policy: string): number[] {
  const key = (r: ScheduleRun) => `${r.workflow}|${r.startIso}|${r.seed}`;
  const heuristic = new Map(runs.filter((r) => r.policy === 'spotdag').map((r) => [key(r), r]));
  const out: number[] = [];
  for (const r of runs) {
    const h = heuristic.get(key(r));
    if (r.policy === policy && !r.error && h && !h.error && h.costUsd > 0) out.push(r.costUsd / h.costUsd);
  }
  return out;
}

/** Runs `policies` and the baselines on held-out data. */
export function evaluateHeldOut(data: LearnData, learned: ExtraPolicy[], progress: boolean): ScheduleRun[] {
  return runScheduleBenchmark({
    ...data,
    policies: EVAL_BASELINES,
    extraPolicies: learned,
    progress,
    print: false,
  }).runs;
}

/** Leave-one-group-out: per fold, train without its held-out group and families, evaluate on them. */
export function crossValidate(options: EvalOptions): EvalResult {
  const t0 = performance.now();
  const files = expandFiles(options.workflows);
  const folds = makeFolds(files, traceGroups(options.traces));
  const scale = {
    ...(options.runtimeScale !== undefined ? { runtimeScale: options.runtimeScale } : {}),
    ...(options.deadlineFactor !== undefined ? { deadlineFactor: options.deadlineFactor } : {}),
  };
  const results: FoldResult[] = [];
  const runs: ScheduleRun[] = [];
  for (const fold of folds) {
    if (options.progress !== false)
      process.stderr.write(
        `fold ${fold.fold + 1}/${folds.length}: holding out ${fold.heldOutFamilies.join(', ')} and ${path.basename(fold.heldOutTraceGroup)}\n`,
      );
    const model = trainPolicy({
      ...options.train,
      ...scale,
      workflows: fold.trainFiles,
      traces: fold.trainTraceGroups,
      prices: options.prices,
      progress: options.progress,
    });
    const held = evaluateHeldOut(
      {
        workflows: fold.testFiles,
        traces: [fold.heldOutTraceGroup],
        prices: options.prices,
        windows: options.windows,
        seeds: options.seeds,
        ...scale,
      },
      [learnedPolicy(LEARNED, model.params)],
      options.progress !== false,
    ).map((r) => ({ ...r, fold: fold.fold }));
    pushAll(runs, held);
    results.push({
      fold: fold.fold,
      heldOutFamilies: fold.heldOutFamilies,
      heldOutTraceGroup: fold.heldOutTraceGroup,
      trainTraceGroups: fold.trainTraceGroups,
      trainWorkflows: fold.trainFiles.map((f) => path.basename(f, '.json')),
      testWorkflows: fold.testFiles.map((f) => path.basename(f, '.json')),
      model,
      heldOut: figuresOf(summariseRuns(held, [...EVAL_BASELINES, LEARNED])),
      learnedVsHeuristic: meanSd(ratiosToHeuristic(held, LEARNED)).mean,
    });
  }
  const summary = summariseRuns(runs, [...EVAL_BASELINES, LEARNED]);
  const perScenario = ratiosToHeuristic(runs, LEARNED);
  const ratios = meanSd(perScenario);
  const learned = summary.find((s) => s.policy === LEARNED)!;
  return {
    folds: results,
    summary,
    learnedVsHeuristic: {
      mean: ratios.mean,
      sd: ratios.sd,
      foldSd: meanSd(results.map((f) => f.learnedVsHeuristic)).sd,
      scenarios: perScenario.length,
    },
    goalMet: ratios.mean <= 0.95 && learned.deadlineMetPct === 100,
    runs,
    elapsedSeconds: (performance.now() - t0) / 1000,
  };
}

const f3 = (x: number | null | undefined) =>
  x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(3);

export function formatCrossValidation(r: EvalResult): string {
  const folds = r.folds
    .map(
      (f) =>
        `  fold ${f.fold + 1}: held out ${f.heldOutFamilies.join(', ')} × ${path.basename(f.heldOutTraceGroup)}: ` +
        `learned ${f3(f.heldOut[LEARNED]?.costVsOnDemand)}, heuristic ${f3(f.heldOut.spotdag?.costVsOnDemand)} × on-demand ` +
        `(learned ÷ heuristic ${f3(f.learnedVsHeuristic)}; training score ${f3(f.model.training.score)} against ${f3(f.model.training.heuristicScore)})`,
    )
    .join('\n');
  return (
    `leave-one-group-out: ${r.folds.length} folds, each holding out a trace group and workflow families\n${folds}\n` +
    formatSummary(r.summary) +
    `learned ÷ heuristic cost, per held-out scenario: ${f3(r.learnedVsHeuristic.mean)} ± ${f3(r.learnedVsHeuristic.sd)} ` +
    `(sd of the fold means ${f3(r.learnedVsHeuristic.foldSd)}; ${r.learnedVsHeuristic.scenarios} scenarios)\n` +
    (r.goalMet
      ? 'goal met: the learned policy costs ≤ 0.95 × the heuristic with every deadline met, out of sample\n'
      : 'goal NOT met out of sample (≤ 0.95 × the heuristic with every deadline met): the heuristic stays the default\n')
  );
}

export function formatSummary(summary: PolicySummary[]): string {
  const rows = [
    ['policy', 'runs', 'mean cost $', 'vs on-demand', 'deadlines met %', 'lost work h'],
    ...summary.map((s) => [
      s.policy,
      String(s.runs),
      s.meanCost.toFixed(2),
      f3(s.costVsOnDemand),
      s.deadlineMetPct === null ? '-' : s.deadlineMetPct.toFixed(1),
      s.lostWorkHours.toFixed(2),
    ]),
  ];
  const widths = rows[0]!.map((_, c) => rows.reduce((w, row) => Math.max(w, row[c]!.length), 0));
  return (
    rows
      .map((row) =>
        row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
      )
      .join('\n') + '\n'
  );
}

export function writeJson(file: string, value: unknown): void {
  writeFileSync(file, `${JSON.stringify(value, null, 1)}\n`);
}

/**
 * The part of the data a model did not train on: trace groups and workflow families absent from its
 * training record. Throws when nothing is left, rather than evaluate in sample.
 */
export function unseenData(
  model: PolicyModel,
  workflowFiles: string[],
  tracesRoot: string,
): { workflows: string[]; traces: string[] } {
  const seenFamilies = new Set(model.training.workflows.map(familyOf));
  const seenGroups = new Set(model.training.traceGroups);
  const workflows = workflowFiles.filter((f) => !seenFamilies.has(familyOf(f)));
  const traces = traceGroups(tracesRoot).filter((g) => !seenGroups.has(path.basename(g)));
  if (workflows.length === 0)
    throw new Error(
      `every workflow family given was used to train the model (${[...seenFamilies].join(', ')}): nothing is out of sample`,
    );
  if (traces.length === 0)
    throw new Error(
      `every trace group under ${tracesRoot} was used to train the model (${[...seenGroups].join(', ')}): nothing is out of sample`,
    );
  return { workflows, traces };
}

export interface UpdateOptions {
  /** Reference workflows for the held-out comparison (families the episodes are not). */
  workflows: string[];
  /** The root of the trace groups: one (`heldOutGroup`, default the last) is kept for the comparison. */
  traces: string;
  heldOutGroup?: string;
  prices: string;
  seed: number;
  generations: number;
  population: number;
  windows: number;
  seeds: number;
  progress?: boolean;
}

export interface UpdateResult {
  episodes: string[];
  version?: number;
  promoted: boolean;
  reason: string;
  candidate?: EvaluationFigures;
  incumbent?: EvaluationFigures;
  incumbentVersion: number;
}

/**
 * `spotdag learn update`: refines the current policy (or the heuristic) from the episodes no
 * version has consumed yet. Their jobs' DAGs join the training workflows, on every trace group
 * but the held-out one; the evolution strategy starts from the current parameters. The candidate
 * and the incumbent then run the reference workflows on the held-out trace group, and the
 * candidate becomes current only if it beats the incumbent there (src/learn/registry.ts).
 */
export async function updateFromEpisodes(
  store: CheckpointStore,
  options: UpdateOptions,
): Promise<UpdateResult> {
  const pending = (await listEpisodes(store)).filter((e) => e.consumedBy === undefined);
  const current = await currentModel(store);
  const incumbentVersion = current?.version ?? 0;
  if (pending.length === 0)
    return { episodes: [], promoted: false, reason: 'no new episodes', incumbentVersion };
  const dags: Array<{ name: string; d: DagArrays }> = [];
  const simulatedDags = new Set<string>();
  for (const { jobId } of pending) {
    const episode = await readEpisode(store, jobId);
    if (!episode) continue;
    if (isSimulated(episode)) {
      // A simulated workflow's episodes share its DAG: it is trained on once.
      if (simulatedDags.has(episode.dagOwner)) continue;
      simulatedDags.add(episode.dagOwner);
      const d = fromPlainDagArrays(await loadDocument(store, episode.dagOwner, episode.dag));
      dags.push({ name: `episode-${episode.simulated.workflow}`, d });
      continue;
    }
    const job = await loadDocument(store, jobId, episode.job);
    dags.push({ name: `episode-${jobId}`, d: dagArrays(plannedDag(job)) });
  }
  const groups = traceGroups(options.traces);
  const heldOut = options.heldOutGroup
    ? groups.find((g) => path.basename(g) === options.heldOutGroup || g === options.heldOutGroup)
    : groups[groups.length - 1];
  if (!heldOut)
    throw new Error(
      `held-out trace group ${options.heldOutGroup} is not under ${options.traces} (groups: ${groups.map((g) => path.basename(g)).join(', ')})`,
    );
  const trainGroups = groups.filter((g) => g !== heldOut);
  if (trainGroups.length === 0)
    throw new Error(`learn update needs at least 2 trace groups under ${options.traces}: one is held out`);
  const model = trainPolicy({
    workflows: [],
    dags,
    traces: trainGroups,
    prices: options.prices,
    windows: options.windows,
    seeds: options.seeds,
    seed: options.seed,
    generations: options.generations,
    population: options.population,
    progress: options.progress,
    ...(current ? { start: current.model.params } : {}),
  });
  const incumbentName = current ? `spotdag-learned-v${current.version}` : 'spotdag';
  const extras = [learnedPolicy(LEARNED, model.params)];
  if (current) extras.push(learnedPolicy(incumbentName, current.model.params));
  const runs = evaluateHeldOut(
    {
      workflows: options.workflows,
      traces: [heldOut],
      prices: options.prices,
      windows: options.windows,
      seeds: options.seeds,
    },
    extras,
    options.progress !== false,
  );
  const figures = figuresOf(summariseRuns(runs, [...EVAL_BASELINES, ...extras.map((e) => e.name)]));
  const candidate = figures[LEARNED]!;
  const incumbent = figures[incumbentName]!;
  const version = await addVersion(store, model, candidate);
  const decision = await promoteIfBetter(store, version, candidate, incumbent);
  await markConsumed(
    store,
    pending.map((e) => e.jobId),
    version,
  );
  return {
    episodes: pending.map((e) => e.jobId),
    version,
    ...decision,
    candidate,
    incumbent,
    incumbentVersion,
  };
}
