import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import {
  buildReportModel,
  formatSeconds,
  formatUsd,
  renderReportHtml,
  reportInputFromRuns,
  type ReportModel,
} from '../../src/report';
import type { History } from '@temporalio/common/lib/proto-utils';
import { openCheckpointStore, type DocumentRef } from '../../src/checkpoint';
import type { DecomposedJob, Schedule } from '../../src/job/types';
import { stateDir } from '../state';
import { connectClient } from '../client';
import { EXIT } from '../errors';

/** The input is not a spotdag job's workflow (exit code 2). */
export class NotAJobError extends Error {
  readonly exitCode = EXIT.badInput;
}

/** Chart.js's UMD build, inlined into the page. Its package does not export the file, so by path. */
export function chartJsSource(): string {
  return readFileSync(path.join(path.dirname(require.resolve('chart.js')), 'chart.umd.js'), 'utf8');
}

/** Every run of a workflow, oldest first: back from the latest along its continue-as-new chain. */
async function fetchRuns(client: Client, workflowId: string): Promise<History[]> {
  const runs: History[] = [];
  for (let runId: string | undefined; ;) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    runs.unshift(history);
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    runId = started?.continuedExecutionRunId || undefined;
    if (!runId) return runs;
  }
}

/** The default checkpoint store of `spotdag run` / `demo` on this machine. */
export function defaultCheckpointStore(): string {
  return process.env.SPOTDAG_CHECKPOINT_STORE ?? `sqlite:${path.join(stateDir(), 'checkpoints.db')}`;
}

/**
 * Reads a job's history from Temporal (every run of it) and builds its report model. A job planned
 * by reference has its decomposed job and schedule in the checkpoint store: they are read there.
 */
export async function fetchReportModel(
  client: Client,
  workflowId: string,
  checkpointStore: string = defaultCheckpointStore(),
): Promise<ReportModel> {
  await client.workflow.getHandle(workflowId).describe(); // WorkflowNotFoundError for an unknown id
  const runs = await fetchRuns(client, workflowId);
  const converter = client.options.loadedDataConverter.payloadConverter;
  const input = reportInputFromRuns(workflowId, runs, (payload) => converter.fromPayload(payload));
  if (input.workflowType !== 'spotdagJob') {
    throw new NotAJobError(
      `${workflowId} is a ${input.workflowType ?? 'unknown'} workflow, not a spotdagJob`,
    );
  }
  if ((!input.job && input.jobDocument) || (!input.schedule && input.scheduleDocument)) {
    const store = await openCheckpointStore(checkpointStore);
    try {
      const read = async <T>(ref: DocumentRef) =>
        JSON.parse((await store.readDocument(workflowId, ref)).toString('utf8')) as T;
      if (!input.job && input.jobDocument) input.job = await read<DecomposedJob>(input.jobDocument);
      if (!input.schedule && input.scheduleDocument)
        input.schedule = await read<Schedule>(input.scheduleDocument);
    } finally {
      await store.close();
    }
  }
  return buildReportModel(input);
}

/** The report of a job as an HTML file; returns its model. What `spotdag report --html` does. */
export async function writeReport(
  client: Client,
  workflowId: string,
  htmlPath: string,
  checkpointStore?: string,
): Promise<ReportModel> {
  const model = await fetchReportModel(client, workflowId, checkpointStore);
  const html = renderReportHtml(model, { chartJs: chartJsSource(), generatedAtMs: Date.now() });
  mkdirSync(path.dirname(path.resolve(htmlPath)), { recursive: true });
  writeFileSync(htmlPath, html);
  return model;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description("a job's report from its history: Gantt chart, cost over time, price forecasts")
    .argument('<workflowId>', 'the job (its workflow id)')
    .option('--html <file>', 'write a self-contained HTML page (charts inlined, no network access)')
    .option('--json', 'print the report model as JSON')
    .option(
      '--checkpoint-store <url>',
      'where the job kept its plan (default: SPOTDAG_CHECKPOINT_STORE or sqlite:.spotdag/checkpoints.db)',
    )
    .addHelpText(
      'after',
      [
        '',
        'Exit codes: 0 written, 1 no such job, 2 not a spotdag job or no output chosen, 3 no Temporal server.',
        '',
        'Examples:',
        '  spotdag report primes-1e9-mx0hntln --html report.html',
        '  spotdag report primes-1e9-mx0hntln --json',
      ].join('\n'),
    )
    .action(async (workflowId: string, opts: { html?: string; json?: boolean; checkpointStore?: string }) => {
      if (!opts.html && !opts.json) {
        console.error('spotdag: say where the report goes: --html <file> and/or --json');
        process.exitCode = EXIT.badInput;
        return;
      }
      const { client, close } = await connectClient();
      try {
        const model = opts.html
          ? await writeReport(client, workflowId, opts.html, opts.checkpointStore)
          : await fetchReportModel(client, workflowId, opts.checkpointStore);
        const htmlPath = opts.html ? path.resolve(opts.html) : undefined;
        if (opts.json) {
          console.log(JSON.stringify({ workflowId, html: htmlPath, report: model }));
          return;
        }
        const t = model.totals;
        console.log(`Report of ${workflowId} (${model.status}) written to ${htmlPath}`);
        console.log(
          `  ${t.subTasksDone}/${t.subTasks} sub-tasks on ${t.instancesProvisioned} instances, ${t.interruptions} interruptions, ${formatSeconds(t.workLostSeconds)} of work lost` +
            (t.workLostEstimatedSeconds > 0
              ? ` (${formatSeconds(t.workLostEstimatedSeconds)} of it counted to a heartbeat timeout: at most)`
              : ''),
        );
        console.log(
          `  run phase ${formatSeconds(t.actualMakespanSeconds)} (planned ${formatSeconds(t.plannedMakespanSeconds)}); cost ${formatUsd(t.actualCostUsd)} (planned ${formatUsd(t.plannedCostUsd)})`,
        );
        const tenancy = model.tenancy;
        if (tenancy)
          console.log(
            `  tenant ${tenancy.tenant} (priority ${tenancy.priority}, weight ${tenancy.weight}): ${formatUsd(t.reportedCostUsd ?? t.actualCostUsd)} attributed to it`,
          );
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) {
          console.error(`spotdag: no job ${workflowId}`);
          process.exitCode = EXIT.failed;
          return;
        }
        throw err;
      } finally {
        await close();
      }
    });
}
