import { SingleBar, MultiBar, Presets } from 'cli-progress';
import type { WorkflowHandle } from '@temporalio/client';
import type { JobSpecInput } from '../src/dag';
import type { JobProgress } from '../src/job/summary';
import type { JobResult } from '../src/job/types';
import { CONTROL_TASK_QUEUE } from '../src/names';
import type { ControlStack } from '../workers/control-stack';
import { progressQuery, type JobRunOptions, type spotdagJob } from '../workflows';
import { jobStateQuery, type MoveEvent } from '../workflows/job-controlled';
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
  /** Print one line per move of work off a lost instance (also without progress bars). */
  events?: boolean;
  say: (line: string) => void;
}

const WHY: Record<string, string> = {
  exited: 'its process exited',
  suspended: 'its process was suspended',
  impaired: 'its machine failed its EC2 status checks',
  'no-poller': 'no poller on its queue',
  interrupted: 'spot notice',
  'heartbeat-timeout': 'no heartbeat',
  'schedule-to-start-timeout': 'never picked up its work',
};

/** One line per move of work off a lost instance: what, from where, why, to where. */
export function moveLine(move: MoveEvent): string {
  const to = move.to ? `moved to ${move.to}, resuming from its last checkpoint` : 'waiting for an instance';
  return `⚡ ${move.subTaskId}: instance ${move.from} lost (${WHY[move.reason] ?? move.reason}) → ${to}`;
}

/**
 * Prints each move of the job's work off a lost instance once the controller placed it (jobs from
 * before the runtime controller have no such query: nothing is printed for them).
 */
async function watchMoves(
  handle: WorkflowHandle,
  done: Promise<unknown>,
  print: (line: string) => void,
): Promise<void> {
  const printed = new Set<string>();
  let finished = false;
  done.finally(() => (finished = true)).catch(() => undefined); // the caller reports a failure
  const poll = async (final: boolean) => {
    let moves: MoveEvent[];
    try {
      moves = (await handle.query(jobStateQuery)).moves ?? [];
    } catch {
      return; // not queryable yet, closed, or a job without the query
    }
    for (const move of moves) {
      const key = `${move.atMs}|${move.subTaskId}|${move.from}`;
      if (printed.has(key) || (!move.to && !final)) continue;
      printed.add(key);
      print(moveLine(move));
    }
  };
  while (!finished) {
    await poll(false);
    await Promise.race([done.catch(() => undefined), new Promise((r) => setTimeout(r, 500))]);
  }
  await poll(true);
}

/** Polls the job's progress query and draws one bar per stage plus an overall bar. */
async function watchProgress(
  handle: WorkflowHandle,
  done: Promise<unknown>,
  printer: { print: (line: string) => void },
): Promise<void> {
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
  // Lines printed while the bars are drawn go above them.
  const plain = printer.print;
  printer.print = (line) => bars.log(`${line}\n`);
  let overall: SingleBar | undefined;
  let finished = false;
  done.finally(() => (finished = true)).catch(() => undefined); // the caller reports a failure
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
      }
      await Promise.race([done.catch(() => undefined), new Promise((r) => setTimeout(r, 500))]);
    }
  } finally {
    bars.stop();
    printer.print = plain;
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
    const watching: Promise<void>[] = [];
    const printer = { print: say };
    if (options.showProgress) watching.push(watchProgress(handle, result, printer));
    // One line per event, above the bars while they are drawn.
    if (options.showProgress || options.events)
      watching.push(watchMoves(handle, result, (line) => printer.print(line)));
    await Promise.all(watching);
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
