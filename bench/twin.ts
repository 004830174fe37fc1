/**
 * `spotdag bench twin`: proof that the benchmark measures what runs. Each scenario — a job, a spot
 * market (pools with prices and availability traces), a deadline — runs twice with the same
 * runtime controller (src/controller): in the simulator, and as a real job on local instances
 * buying on the same market replayed on a compressed clock (notices, SIGKILLs, refused launches).
 * It reports how often the two placed a sub-task in the same pool and market, whether the real
 * jobs met their deadlines, and the real cost over the simulated one.
 *
 *   npm run build && node dist/cli/main.js bench twin --json twin.json
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { horizonSeconds, preferencesSchema } from '../src/allocate/preferences';
import { dagArrays } from '../src/allocate/rank';
import type { ControllerState, Decision } from '../src/controller';
import type { JobSpecInput } from '../src/dag';
import { prepareJob } from '../src/planning/pipeline';
import { InterruptionModel } from '../src/forecast/interruption';
import { controllerFleetOf, LOCAL_TIMING, marketAllocationForecast } from '../src/job/allocation-input';
import type { JobResult, SubTaskOutcome } from '../src/job/types';
import { CONTROL_TASK_QUEUE } from '../src/names';
import { ReplayMarket } from '../src/provision/replay-market';
import { controllerPolicy } from '../src/sim/controller-policy';
import {
  handMadeScenario,
  modelAt,
  replayView,
  type HandMadePool,
  type ReplayScenario,
} from '../src/sim/replay-scenario';
import { simulate, type SimResult } from '../src/sim/simulator';
import { expectedWorkloadSum, workloadJobSpec } from '../src/steps';
import { stopLocalServer } from '../workers/dev-server';
import { startLocalStack } from '../workers/local-stack';
import { spotdagJob } from '../workflows';
import { jobStateQuery } from '../workflows/job-controlled';

export interface TwinScenario {
  name: string;
  /** What it exercises, in a few words. */
  purpose: string;
  pools: HandMadePool[];
  /** Units of `workload.spin` (each `unitMs` of sleep), in `chunks` sub-tasks, plus their sum. */
  units: number;
  chunks: number;
  unitMs: number;
  /** What the spec declares per unit (default `unitMs`): work running longer than declared. */
  estimateUnitMs?: number;
  instances: number;
  deadlineSeconds: number;
  /** Pseudo-exposure of the priors (hours): small makes the model follow what the job sees. */
  priorHours?: number;
  recoveryHours?: number;
}

const c5 = (zone: string, available: boolean[], hazardPerHour: number, onDemand = 0.1): HandMadePool => ({
  instanceType: 'c5.large',
  zone,
  region: 'us-east-1',
  vcpu: 2,
  memoryMiB: 4096,
  spotPricePerHour: 0.03,
  onDemandPricePerHour: onDemand,
  available,
  tickSeconds: 1,
  hazardPerHour,
});
const on = (n: number) => Array<boolean>(n).fill(true);
const off = (n: number) => Array<boolean>(n).fill(false);
const cycle = (up: number, down: number, phase = 0) => {
  const c = [...on(up), ...off(down)];
  return [...c.slice(phase), ...c.slice(0, phase)];
};

/**
 * The default scenarios: a quiet market; spot taken away late (to on-demand); a rising hazard
 * (learn, re-split); and spot taken away late from work running twice as long as declared, where
 * the plan (trusting the estimates) waits for spot to come back and only the safety net, which
 * checks the estimates against the pace observed, moves the rest to on-demand in time.
 */
export const TWIN_SCENARIOS: TwinScenario[] = [
  {
    name: 'quiet',
    purpose: 'spot all along in two zones',
    pools: [c5('us-east-1a', on(10_000), 1), c5('us-east-1b', on(10_000), 2)],
    units: 120,
    chunks: 4,
    unitMs: 500,
    instances: 4,
    deadlineSeconds: 90,
  },
  {
    name: 'late-loss',
    purpose: 'spot taken away late: the rest must move to on-demand to meet the deadline',
    pools: ['us-east-1a', 'us-east-1b', 'us-east-1c'].map((zone) => c5(zone, [...on(24), ...off(10_000)], 1)),
    units: 180,
    chunks: 3,
    unitMs: 500,
    instances: 4,
    deadlineSeconds: 75,
  },
  {
    name: 'rising-hazard',
    purpose: 'a zone far riskier than planned: learn, and cut or move the long sub-task',
    pools: [c5('us-east-1a', cycle(8, 1), 20, 1)],
    units: 60,
    chunks: 1,
    unitMs: 1_000,
    instances: 6,
    deadlineSeconds: 240,
    priorHours: 1 / 60,
    recoveryHours: 2 / 3600,
  },
  {
    name: 'overrun',
    purpose:
      'spot taken away late from work twice as long as declared: only the safety net keeps the deadline',
    pools: ['us-east-1a', 'us-east-1b'].map((zone) => c5(zone, [...on(20), ...off(10_000)], 1)),
    units: 160,
    chunks: 8,
    unitMs: 500,
    estimateUnitMs: 250,
    instances: 1,
    deadlineSeconds: 64,
  },
];

export interface TwinRun {
  costUsd: number;
  makespanSeconds: number;
  deadlineMet: boolean;
  interruptions: number;
  resplits: number;
  safetyNet: boolean;
  /** Notes of the decisions that engaged the safety net or cut work (what the controller said). */
  notes?: string[];
  /** Where each sub-task finished. */
  placements: Record<string, string>;
}

export interface TwinScenarioResult {
  name: string;
  purpose: string;
  deadlineSeconds: number;
  sim: TwinRun;
  real: TwinRun & { correct: boolean };
  /**
   * The simulator without the safety net (the re-plan alone): whether it met the deadline. A
   * scenario needs the net when it met it with the net and missed it without.
   */
  simWithoutNet: { deadlineMet: boolean; makespanSeconds: number };
  /** The simulator without runtime cuts: what re-splitting saves (cost, time) where it cuts. */
  simWithoutCuts: { deadlineMet: boolean; makespanSeconds: number; costUsd: number };
  /** Share of sub-tasks (of either run) placed in the same pool and market by both. */
  agreementPct: number;
  realToSimCost: number;
}

export interface TwinResult {
  scenarios: number;
  decisionAgreementPct: number;
  realDeadlineMetPct: number;
  realToSimCostRatio: number;
  results: TwinScenarioResult[];
}

/** How often the real instances checkpoint; the simulator is told the same. */
const CHECKPOINT_EVERY_SECONDS = 1;

const fleetOf = (s: TwinScenario) => ({
  maxInstances: s.instances,
  bootSeconds: 2,
  checkpointSeconds: 0.1,
  restartSeconds: 1,
  minCheckpointIntervalSeconds: 1,
});

function specOf(s: TwinScenario): JobSpecInput {
  return {
    ...workloadJobSpec(s.units, {
      chunks: s.chunks,
      instances: s.instances,
      input: { unitMs: s.unitMs, busy: false },
      estimateUnitMs: s.estimateUnitMs,
    }),
    name: `twin-${s.name}`,
    preferences: { objective: 'minimize-cost', deadline: `${s.deadlineSeconds}s` },
  };
}

function scenarioOf(s: TwinScenario): ReplayScenario {
  return handMadeScenario(s.pools, { priorHours: s.priorHours, recoveryHours: s.recoveryHours });
}

/**
 * The scenario in the simulator, with the controller the real job runs (or without its safety
 * net); `onDecision` sees each call.
 */
export function simulateTwin(
  s: TwinScenario,
  options: {
    safetyNet?: boolean;
    resplit?: boolean;
    onDecision?: (decision: Decision, state: ControllerState) => void;
  } = {},
): TwinRun {
  const { spec, dag } = prepareJob(specOf(s));
  const d = dagArrays(dag);
  const scenario = scenarioOf(s);
  const market = new ReplayMarket({ id: 'sim', scenario, fleet: fleetOf(s), timing: LOCAL_TIMING });
  const fleet = controllerFleetOf(market.fleetModel(spec.fleet), market.timing());
  const forecast = () =>
    marketAllocationForecast(replayView(scenario, 0, horizonSeconds(spec.preferences)), {
      model: InterruptionModel.fromJSON(modelAt(scenario.model, 0)),
      startMs: 0,
    });
  const preferences = preferencesSchema.parse(spec.preferences);
  let resplits = 0;
  let safetyNet = false;
  const notes: string[] = [];
  const policy = controllerPolicy(
    { d, dag, fleet, preferences },
    {
      forecast: forecast(),
      minTickSeconds: fleet.minTickSeconds,
      penaltySeconds: fleet.penaltySeconds,
      safetyNet: options.safetyNet,
      resplit: options.resplit,
      onDecision: (decision, state) => {
        resplits += decision.resplits.length;
        safetyNet ||= decision.guard.onDemandMode;
        for (const note of decision.notes)
          if (/safety net|re-split/.test(note)) notes.push(`${state.nowSeconds.toFixed(1)} s: ${note}`);
        options.onDecision?.(decision, state);
      },
    },
  );
  const r: SimResult = simulate({
    d,
    market: scenario.market,
    fleet,
    preferences,
    checkpointForecast: forecast(),
    // The real instances checkpoint every CHECKPOINT_EVERY_SECONDS (their stack's interval), and
    // `workload.spin` saves where it is when a spot notice aborts it.
    checkpointEverySeconds: CHECKPOINT_EVERY_SECONDS,
    durationFactor: s.unitMs / (s.estimateUnitMs ?? s.unitMs),
    finalCheckpointOnNotice: true,
    policy,
  });
  return {
    costUsd: r.costUsd,
    makespanSeconds: r.makespanSeconds,
    deadlineMet: r.deadlineMet,
    interruptions: r.interruptions,
    resplits,
    safetyNet,
    notes,
    placements: Object.fromEntries(
      Object.entries(r.placements).map(([id, p]) => [id, `${p.pool}/${p.market}`]),
    ),
  };
}

/** The scenario as a real job on local instances buying on the replayed market. */
export async function runTwinReal(
  s: TwinScenario,
  log: (line: string) => void,
): Promise<TwinRun & { correct: boolean }> {
  const stateDir = mkdtempSync(path.join(tmpdir(), `spotdag-twin-${s.name}-`));
  const market = new ReplayMarket({
    id: `twin-${s.name}-${Date.now().toString(36)}`,
    scenario: scenarioOf(s),
    fleet: fleetOf(s),
    timing: LOCAL_TIMING,
  });
  const stack = await startLocalStack({
    stateDir,
    market,
    checkpointIntervalMs: CHECKPOINT_EVERY_SECONDS * 1000,
    log,
  });
  const workflowId = `twin-${s.name}-${Date.now().toString(36)}`;
  try {
    const { result, ids } = await stack.runUntil(async () => {
      const handle = await stack.client.workflow.start(spotdagJob, {
        taskQueue: CONTROL_TASK_QUEUE,
        workflowId,
        args: [specOf(s), { subTaskPolicy: { heartbeatTimeoutSeconds: 3 } }],
      });
      const result: JobResult = await handle.result();
      const state = await handle.query(jobStateQuery);
      return { result, ids: Object.keys(state.subTasks) };
    });
    const where = new Map(
      stack.provisioner.billingEntries(workflowId).map((e) => [e.id, `${e.pool}/${e.market}`]),
    );
    const placements: Record<string, string> = {};
    for (const id of ids) {
      const outcome = (await stack.client.workflow
        .getHandle(`${workflowId}/${id}`)
        .result()) as SubTaskOutcome;
      placements[id] = where.get(outcome.instanceId) ?? 'unknown';
    }
    return {
      costUsd: result.costUsd,
      makespanSeconds: result.elapsedSeconds,
      deadlineMet: result.elapsedSeconds <= s.deadlineSeconds,
      interruptions: result.interruptions,
      resplits: result.controller?.resplits ?? 0,
      safetyNet: result.controller?.safetyNet ?? false,
      placements,
      correct: result.result === expectedWorkloadSum(1, s.units),
    };
  } finally {
    await Promise.all((await stack.provisioner.list()).map((i) => stack.provisioner.stop(i.id, 2_000)));
    await stack.close();
    await stopLocalServer(stateDir); // the dev server this scenario started, if it started one
  }
}

/** Share of the sub-tasks of either run placed in the same pool and market by both. */
export function agreementPct(a: Record<string, string>, b: Record<string, string>): number {
  const ids = new Set([...Object.keys(a), ...Object.keys(b)]);
  let same = 0;
  for (const id of ids) if (a[id] !== undefined && a[id] === b[id]) same++;
  return ids.size > 0 ? (100 * same) / ids.size : 100;
}

export async function runTwinBenchmark(options: {
  scenarios?: TwinScenario[];
  json?: string;
  log?: (line: string) => void;
}): Promise<TwinResult> {
  const log = options.log ?? (() => {});
  const results: TwinScenarioResult[] = [];
  for (const s of options.scenarios ?? TWIN_SCENARIOS) {
    log(`twin: ${s.name} (${s.purpose}): simulating`);
    const sim = simulateTwin(s);
    const withoutNet = simulateTwin(s, { safetyNet: false });
    const withoutCuts = simulateTwin(s, { resplit: false });
    log(`twin: ${s.name}: running the real job (about ${Math.round(sim.makespanSeconds)} s)`);
    const real = await runTwinReal(s, log);
    results.push({
      name: s.name,
      purpose: s.purpose,
      deadlineSeconds: s.deadlineSeconds,
      sim,
      real,
      simWithoutNet: { deadlineMet: withoutNet.deadlineMet, makespanSeconds: withoutNet.makespanSeconds },
      simWithoutCuts: {
        deadlineMet: withoutCuts.deadlineMet,
        makespanSeconds: withoutCuts.makespanSeconds,
        costUsd: withoutCuts.costUsd,
      },
      agreementPct: agreementPct(sim.placements, real.placements),
      realToSimCost: sim.costUsd > 0 ? real.costUsd / sim.costUsd : NaN,
    });
  }
  const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length);
  const result: TwinResult = {
    scenarios: results.length,
    decisionAgreementPct: mean(results.map((r) => r.agreementPct)),
    realDeadlineMetPct:
      (100 * results.filter((r) => r.real.deadlineMet).length) / Math.max(1, results.length),
    realToSimCostRatio: mean(results.map((r) => r.realToSimCost).filter(Number.isFinite)),
    results,
  };
  if (options.json) writeFileSync(options.json, `${JSON.stringify(result, null, 1)}\n`);
  return result;
}

export function formatTwinBenchmark(r: TwinResult): string {
  const rows = [
    [
      'scenario',
      'deadline s',
      'sim $',
      'real $',
      'real÷sim',
      'sim s',
      'real s',
      'met',
      'agree %',
      'interrupt. sim/real',
      'cuts sim/real',
      'net sim/real',
      'sim w/o net',
      'sim w/o cuts',
      'exact',
    ],
    ...r.results.map((x) => [
      x.name,
      String(x.deadlineSeconds),
      x.sim.costUsd.toFixed(5),
      x.real.costUsd.toFixed(5),
      x.realToSimCost.toFixed(3),
      x.sim.makespanSeconds.toFixed(1),
      x.real.makespanSeconds.toFixed(1),
      x.real.deadlineMet ? 'yes' : 'NO',
      x.agreementPct.toFixed(0),
      `${x.sim.interruptions}/${x.real.interruptions}`,
      `${x.sim.resplits}/${x.real.resplits}`,
      `${x.sim.safetyNet ? 'yes' : 'no'}/${x.real.safetyNet ? 'yes' : 'no'}`,
      `${x.simWithoutNet.makespanSeconds.toFixed(1)} s ${x.simWithoutNet.deadlineMet ? 'met' : 'MISSED'}`,
      `${x.simWithoutCuts.costUsd.toFixed(5)} $ ${x.simWithoutCuts.makespanSeconds.toFixed(1)} s${x.simWithoutCuts.deadlineMet ? '' : ' MISSED'}`,
      x.real.correct ? 'yes' : 'NO',
    ]),
  ];
  const widths = rows[0]!.map((_, c) => rows.reduce((w, row) => Math.max(w, row[c]!.length), 0));
  const lines = rows.map((row) =>
    row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  '),
  );
  return (
    `${lines.join('\n')}\n` +
    `scenarios ${r.scenarios}; decisions agreeing ${r.decisionAgreementPct.toFixed(1)} % (sub-task → pool and market); ` +
    `real deadlines met ${r.realDeadlineMetPct.toFixed(0)} %; real ÷ simulated cost ${r.realToSimCostRatio.toFixed(3)} (mean)\n`
  );
}
