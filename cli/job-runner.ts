import { SingleBar, MultiBar, Presets } from 'cli-progress';
import type { WorkflowHandle } from '@temporalio/client';
import type { JobSpecInput } from '../src/dag';
import type { JobProgress } from '../src/job/summary';
import type { JobResult } from '../src/job/types';
import { CONTROL_TASK_QUEUE } from '../src/names';
import type { ControlStack } from '../workers/control-stack';
import { progressQuery, type JobRunOptions, type spotdagJob } from '../workflows';
import { workflowUiUrl } from './state';

export interface RunJobOptions {
  /** Its provider's sub-task policy defaults apply under `runOptions.subTaskPolicy`. */
  stack: ControlStack;
  /** The JobSpec (validated by the caller); the workflow's first activity validates it again. */
  spec: JobSpecInput;
  workflowId: string;
  runOptions?: JobRunOptions;
  /** Draw progress bars and interruption lines on stderr (off for --json or without a TTY). */
  showProgress: boolean;
  say: (line: string) => void;
}

/** Polls the job's progress query and draws one bar per stage plus an overall bar. */
async function watchProgress(handle: WorkflowHandle, done: Promise<unknown>): Promise<void> {
  const bars = new MultiBar(
    {
      format: ' {name} |{bar}| {value}/{total} {info}',
      hideCursor: true,
      clearOnComplete: false,
      stream: process.stderr,
    },
    Presets.shades_classic,
  );
  const stageBars = new Map<string, SingleBar>();
  let overall: SingleBar | undefined;
  let interruptions = 0;
  let finished = false;
  void done.finally(() => (finished = true));
  try {
    while (!finished) {
      let progress: JobProgress | undefined;
      try {
        progress = await handle.query(progressQuery);
      } catch {
        // Not queryable yet (first workflow task pending) or already closed.
      }
      if (progress && progress.total > 0) {
        overall ??= bars.create(progress.total, 0, { name: 'overall'.padEnd(12), info: '' });
        overall.update(progress.done, { info: `${progress.phase} · ${progress.running} running` });
        for (const stage of progress.stages) {
          let bar = stageBars.get(stage.stage);
          if (!bar) {
            bar = bars.create(stage.total, 0, { name: stage.stage.slice(0, 12).padEnd(12), info: '' });
            stageBars.set(stage.stage, bar);
          }
          bar.update(stage.done);
        }
        if (progress.interruptions > interruptions) {
          bars.log(`⚡ ${progress.interruptions - interruptions} sub-task(s) moved off a lost instance\n`);
          interruptions = progress.interruptions;
        }
      }
      await Promise.race([done.catch(() => undefined), new Promise((r) => setTimeout(r, 500))]);
    }
  } finally {
    bars.stop();
  }
}

/** The run options with the provider's policy defaults (e.g. EC2's schedule-to-start) under the caller's. */
function withPolicyDefaults(
  runOptions: JobRunOptions,
  defaults: ControlStack['subTaskPolicy'],
): JobRunOptions {
  if (Object.keys(defaults).length === 0) return runOptions;
  return { ...runOptions, subTaskPolicy: { ...defaults, ...runOptions.subTaskPolicy } };
}

/** Starts a job on the stack's control worker, shows its progress, and returns its result. */
export async function runJob(options: RunJobOptions): Promise<JobResult> {
  const { stack, spec, workflowId, say } = options;
  const uiLink = stack.uiUrl ? workflowUiUrl(stack.uiUrl, stack.namespace, workflowId) : undefined;
  const runOptions = withPolicyDefaults(options.runOptions ?? {}, stack.subTaskPolicy);
  return stack.runUntil(async () => {
    const handle = await stack.client.workflow.start<typeof spotdagJob>('spotdagJob', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId,
      args: [spec, runOptions],
    });
    say(`Job ${workflowId} started${uiLink ? `: ${uiLink}` : ''}`);
    const result = handle.result();
    if (options.showProgress) await watchProgress(handle, result);
    return result;
  });
}

/** The job's interruptions and what they cost, for the CLI's closing lines. */
export function interruptionLine(result: JobResult): string {
  if (result.interruptions === 0) return 'No sub-task lost its instance.';
  return (
    `${result.interruptions} sub-task move(s) off lost instances: work lost ${result.workLostSeconds.toFixed(1)} s, ` +
    `saved by checkpoints ${result.workSavedSeconds.toFixed(1)} s`
  );
}
