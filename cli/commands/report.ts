import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import {
  buildReportModel,
  formatSeconds,
  formatUsd,
  renderReportHtml,
  reportInputFromHistory,
  type ReportModel,
} from '../../src/report';
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

/** Reads a job's history from Temporal and builds its report model. */
export async function fetchReportModel(client: Client, workflowId: string): Promise<ReportModel> {
  const handle = client.workflow.getHandle(workflowId);
  await handle.describe(); // WorkflowNotFoundError for an unknown id (fetchHistory throws a bare gRPC error)
  const history = await handle.fetchHistory();
  const converter = client.options.loadedDataConverter.payloadConverter;
  const input = reportInputFromHistory(workflowId, history, (payload) => converter.fromPayload(payload));
  if (input.workflowType !== 'spotdagJob') {
    throw new NotAJobError(
      `${workflowId} is a ${input.workflowType ?? 'unknown'} workflow, not a spotdagJob`,
    );
  }
  return buildReportModel(input);
}

/** The report of a job as an HTML file; returns its model. What `spotdag report --html` does. */
export async function writeReport(
  client: Client,
  workflowId: string,
  htmlPath: string,
): Promise<ReportModel> {
  const model = await fetchReportModel(client, workflowId);
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
    .action(async (workflowId: string, opts: { html?: string; json?: boolean }) => {
      if (!opts.html && !opts.json) {
        console.error('spotdag: say where the report goes: --html <file> and/or --json');
        process.exitCode = EXIT.badInput;
        return;
      }
      const { client, close } = await connectClient();
      try {
        const model = opts.html
          ? await writeReport(client, workflowId, opts.html)
          : await fetchReportModel(client, workflowId);
        const htmlPath = opts.html ? path.resolve(opts.html) : undefined;
        if (opts.json) {
          console.log(JSON.stringify({ workflowId, html: htmlPath, report: model }));
          return;
        }
        const t = model.totals;
        console.log(`Report of ${workflowId} (${model.status}) written to ${htmlPath}`);
        console.log(
          `  ${t.subTasksDone}/${t.subTasks} sub-tasks on ${t.instancesProvisioned} instances, ${t.interruptions} interruptions`,
        );
        console.log(
          `  run phase ${formatSeconds(t.actualMakespanSeconds)} (planned ${formatSeconds(t.plannedMakespanSeconds)}); cost ${formatUsd(t.actualCostUsd)} (planned ${formatUsd(t.plannedCostUsd)})`,
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
