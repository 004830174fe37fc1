/**
 * The environment a command sub-task runs with (docs/commands.md): its folders, which part of the
 * work it is, and how long it gets after SIGTERM. Pure.
 */

export interface CommandFolders {
  input: string;
  output: string;
  checkpoint: string;
  progressFile: string;
}

/** What the command is: the parts of a sub-task its environment describes. */
export interface CommandSubTask {
  jobId: string;
  id: string;
  stage: string;
  index: number;
  count: number;
  range?: { start: number; end: number };
  input?: unknown;
  /** True when `input` is the chunk of items of a split over items. */
  itemSplit: boolean;
}

/**
 * Variables of the worker's own environment a command does not get: spotdag's configuration and
 * the credentials of its control plane (Temporal, etcd, Consul). AWS credentials stay, for
 * programs that read their own data.
 */
const WITHHELD = [/^SPOTDAG_/, /^TEMPORAL_/, /^ETCD_/, /^CONSUL_HTTP_TOKEN$/];

export function commandEnvironment(
  subTask: CommandSubTask,
  folders: CommandFolders,
  options: {
    /** Seconds between SIGTERM and SIGKILL on a spot notice or a cancel. */
    noticeSeconds: number;
    /** The attempt's fencing token: it increases with every attempt of the sub-task. */
    attempt: number;
    /** The worker's environment, less what is withheld. */
    base: Record<string, string | undefined>;
    /** The command's own variables (the spec's `env`); spotdag's win over them. */
    extra?: Record<string, string>;
  },
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.base))
    if (value !== undefined && !WITHHELD.some((re) => re.test(name))) env[name] = value;
  Object.assign(env, options.extra ?? {});
  Object.assign(env, {
    SPOTDAG_JOB_ID: subTask.jobId,
    SPOTDAG_SUBTASK_ID: subTask.id,
    SPOTDAG_STAGE: subTask.stage,
    SPOTDAG_INDEX: String(subTask.index),
    SPOTDAG_COUNT: String(subTask.count),
    SPOTDAG_ATTEMPT: String(options.attempt),
    SPOTDAG_INPUT_DIR: folders.input,
    SPOTDAG_OUTPUT_DIR: folders.output,
    SPOTDAG_CHECKPOINT_DIR: folders.checkpoint,
    SPOTDAG_PROGRESS_FILE: folders.progressFile,
    SPOTDAG_NOTICE_SECONDS: String(Math.max(0, Math.floor(options.noticeSeconds))),
  });
  if (subTask.range) {
    env.SPOTDAG_RANGE_START = String(subTask.range.start);
    env.SPOTDAG_RANGE_END = String(subTask.range.end);
  }
  if (subTask.itemSplit && Array.isArray(subTask.input)) {
    const items = subTask.input as unknown[];
    env.SPOTDAG_ITEMS = JSON.stringify(items);
    if (items.length === 1) {
      const item = items[0];
      env.SPOTDAG_ITEM = typeof item === 'string' ? item : JSON.stringify(item);
    }
  } else if (subTask.input !== undefined) env.SPOTDAG_INPUT = JSON.stringify(subTask.input);
  return env;
}

/** A progress file's fraction in [0, 1], or undefined when it holds none (yet). */
export function parseProgress(text: string): number | undefined {
  const value = Number.parseFloat(text.trim());
  if (!Number.isFinite(value)) return undefined;
  return Math.min(1, Math.max(0, value));
}
