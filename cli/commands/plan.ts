import type { Command } from 'commander';
import { formatScheduleTable, planSchedule } from '../../src/allocate';
import {
  analyseDag,
  costOptimalSubTaskSeconds,
  expectedWasteFraction,
  loadPlanFile,
  overheadModel,
  perSubTaskOverheadSeconds,
  splitLayout,
  validateDag,
  type DagAnalysis,
  type LoadedPlan,
  type TaskDag,
} from '../../src/dag';
import { formatDuration } from '../../src/util/duration';
import { controllerFleetOf } from '../../src/job/allocation-input';
import { EC2_TIMING } from '../../src/job/ec2-market-view';
import { firstDecision } from '../../src/planning/pipeline';
import { maxOf } from '../../src/util/array';

interface PlanOptions {
  explain?: boolean;
  json?: boolean;
}

interface StageSummary {
  stage: string;
  step: string;
  kind: string;
  subTasks: number;
  workSeconds: number;
  maxSubTaskSeconds: number;
  chunking?: string;
}

function stageSummaries(plan: LoadedPlan): StageSummary[] {
  const byStage = new Map<string, StageSummary>();
  plan.dag.forEachNode((_id, a) => {
    let s = byStage.get(a.stage);
    if (!s)
      byStage.set(
        a.stage,
        (s = {
          stage: a.stage,
          step: a.step,
          kind: a.kind ?? 'task',
          subTasks: 0,
          workSeconds: 0,
          maxSubTaskSeconds: 0,
        }),
      );
    s.subTasks++;
    s.workSeconds += a.durationSeconds;
    s.maxSubTaskSeconds = Math.max(s.maxSubTaskSeconds, a.durationSeconds);
  });
  if (plan.kind === 'jobspec') {
    for (const stage of plan.spec.stages) {
      if (stage.kind !== 'split') continue;
      const layout = splitLayout(plan.spec, stage);
      byStage.get(stage.id)!.chunking = `${layout.mode}: ${layout.units} units in ${layout.count} chunks`;
    }
  }
  return [...byStage.values()];
}

/** The plan as one JSON object (what `--json` prints). */
export function planJson(plan: LoadedPlan, analysis: DagAnalysis = analyseDag(plan.dag)) {
  const dag: TaskDag = plan.dag;
  return {
    kind: plan.kind,
    name: plan.kind === 'jobspec' ? plan.spec.name : String(dag.getAttribute('name') ?? ''),
    nodes: analysis.nodes,
    edges: analysis.edges,
    criticalPathSeconds: analysis.criticalPath.seconds,
    criticalPath: analysis.criticalPath.nodes,
    totalWorkSeconds: analysis.totalWorkSeconds,
    maxParallelism: analysis.maxParallelism,
    maxLevelWidth: analysis.maxLevelWidth,
    levelWidths: analysis.levels.map((level) => level.length),
    stages: stageSummaries(plan),
    subTasks: analysis.topologicalOrder.map((id) => ({
      ...dag.getNodeAttributes(id),
      dependsOn: dag.mapInEdges(id, (_e, attrs, source) => ({ id: source, bytes: attrs.bytes })),
    })),
  };
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => maxOf(rows.map((r) => r[c]!.length)));
  return rows.map((r) => `  ${r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ')}`.trimEnd());
}

function shortList(ids: string[], max = 12): string {
  return ids.length <= max
    ? ids.join(' → ')
    : `${ids.slice(0, max / 2).join(' → ')} → … (${ids.length - max} more) → ${ids.slice(-max / 2).join(' → ')}`;
}

/** The human explanation printed by `--explain`. */
export function explainPlan(plan: LoadedPlan, analysis: DagAnalysis = analyseDag(plan.dag)): string {
  const json = planJson(plan, analysis);
  const lines = [
    `${json.name} (${plan.kind === 'jobspec' ? 'JobSpec' : 'WfFormat workflow'})`,
    `  sub-tasks        ${json.nodes} in ${json.stages.length} stage(s)`,
    `  dependencies     ${json.edges}`,
    `  total work       ${formatDuration(json.totalWorkSeconds)} (${json.totalWorkSeconds.toFixed(3)} s)`,
    `  critical path    ${formatDuration(json.criticalPathSeconds)} (${json.criticalPathSeconds.toFixed(3)} s) over ${json.criticalPath.length} sub-tasks`,
    `                   ${shortList(json.criticalPath)}`,
    `  max parallelism  ${json.maxParallelism} at once (earliest-start schedule); widest level ${json.maxLevelWidth}`,
    `  levels           ${json.levelWidths.length}: ${json.levelWidths.length <= 20 ? json.levelWidths.join(', ') : `${json.levelWidths.slice(0, 20).join(', ')}, …`}`,
    '',
    'stages',
    ...table([
      ['stage', 'kind', 'step', 'sub-tasks', 'work', 'longest', 'chunking'],
      ...json.stages.map((s) => [
        s.stage,
        s.kind,
        s.step,
        String(s.subTasks),
        formatDuration(s.workSeconds),
        formatDuration(s.maxSubTaskSeconds),
        s.chunking ?? '',
      ]),
    ]),
  ];
  if (plan.kind === 'jobspec') {
    const model = overheadModel(plan.spec);
    const longest = maxOf(json.stages.map((s) => s.maxSubTaskSeconds));
    lines.push(
      '',
      'overhead model',
      `  per sub-task ${formatDuration(perSubTaskOverheadSeconds(model))} (start-up + scheduling + checkpoint), ` +
        `${model.interruptionsPerHour} interruptions per instance-hour`,
      `  cost-optimal sub-task length √(2o/λ) = ${formatDuration(costOptimalSubTaskSeconds(model))}; ` +
        `expected waste of the longest sub-task (${formatDuration(longest)}): ${(100 * expectedWasteFraction(Math.max(longest, 1e-9), model)).toFixed(1)} %`,
    );
  }
  const order = analysis.topologicalOrder;
  lines.push(
    '',
    `topological order${order.length > 30 ? ' (first 30)' : ''}`,
    `  ${order.slice(0, 30).join(' ')}`,
  );
  return `${lines.join('\n')}\n`;
}

/** Assumed input values, one line per field, on stderr (stdout stays the plan, e.g. JSON). */
function printWarnings(warnings: string[]): void {
  for (const warning of warnings) process.stderr.write(`spotdag: warning: ${warning}\n`);
}

export function registerPlan(program: Command): void {
  program
    .command('plan')
    .description('decompose a JobSpec or import a WfFormat workflow, validate the DAG and summarise it')
    .argument('<file>', 'job.json (JobSpec) or a WfFormat 1.5 instance')
    .option('--explain', 'print levels, critical path, stages and the overhead model')
    .option(
      '--json',
      'print one JSON object (nodes, edges, criticalPathSeconds, totalWorkSeconds, maxParallelism, subTasks, …)',
    )
    .option(
      '--prices <file>',
      "spot price history: the schedule a job would start from on its pools (the runtime controller's first decision)",
    )
    .option('--advisor <file>', 'Spot Advisor JSON, a prior for interruption rates (with --prices)')
    .option('--runtime-scale <k>', 'multiply WfFormat runtimes by k (with --prices)', Number, 1)
    .addHelpText(
      'after',
      '\nExamples:\n  spotdag plan job.json --explain\n  spotdag plan ../shared/data/workflows/montage-chameleon-2mass-005d-001.json --json' +
        '\n  spotdag plan ../shared/data/workflows/blast-chameleon-small-001.json --prices ../shared/data/spot-prices/spotlake-2024-01-01-to-24.csv --runtime-scale 30',
    )
    .action(
      (file: string, opts: PlanOptions & { prices?: string; advisor?: string; runtimeScale: number }) => {
        if (opts.prices) {
          const { schedule, warnings } = planSchedule({
            file,
            prices: opts.prices,
            advisor: opts.advisor,
            runtimeScale: opts.runtimeScale,
            // What a job on these pools starts from: the runtime controller's first decision.
            planner: (dag, forecast, fleet, preferences) =>
              firstDecision(dag, preferences, forecast, controllerFleetOf(fleet ?? {}, EC2_TIMING)).schedule,
          });
          printWarnings(warnings);
          process.stdout.write(opts.json ? `${JSON.stringify(schedule)}\n` : formatScheduleTable(schedule));
          return;
        }
        const plan = loadPlanFile(file);
        printWarnings(plan.warnings);
        validateDag(plan.dag, {
          maxNodes: plan.kind === 'jobspec' ? plan.spec.limits.maxSubTasks : undefined,
        });
        const analysis = analyseDag(plan.dag);
        if (opts.json) {
          process.stdout.write(`${JSON.stringify(planJson(plan, analysis))}\n`);
        } else if (opts.explain) {
          process.stdout.write(explainPlan(plan, analysis));
        } else {
          const name =
            plan.kind === 'jobspec' ? plan.spec.name : String(plan.dag.getAttribute('name') ?? file);
          process.stdout.write(
            `${name}: ${analysis.nodes} sub-tasks, ${analysis.edges} dependencies, ` +
              `critical path ${formatDuration(analysis.criticalPath.seconds)}, total work ${formatDuration(analysis.totalWorkSeconds)}, ` +
              `max parallelism ${analysis.maxParallelism}\n`,
          );
        }
      },
    );
}
