import { NativeConnection, Worker } from '@temporalio/worker';
import { Command } from 'commander';
import { createInstanceActivities } from '../activities/instance';
import { PREFETCH_SLOTS } from '../src/job/prefetch';
import { openCheckpointStore, type CheckpointStore } from '../src/checkpoint';
import { InterruptionWatcher } from '../src/provision/interruption-watcher';
import { temporalTargetFromEnv } from './connection';
import { loadStepModules, stepModulesFromEnv } from './steps-loader';
import { positiveInt } from '../cli/args';

export interface InstanceWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  instanceId: string;
  taskQueue: string;
  /** Sub-tasks run at once. */
  slots: number;
  /** Watch this instance metadata endpoint for spot notices (EC2's, or a local one). */
  metadataEndpoint?: string;
  /** How often to poll it. */
  metadataPollMs?: number;
  /** Where checkpoints and results go (see `openCheckpointStore`). */
  store?: CheckpointStore;
  checkpointIntervalMs?: number;
  /** Command sub-tasks' folders, the input cache and process-group markers (see InstanceActivityOptions). */
  workDir?: string;
  /** Seconds a command gets between SIGTERM and SIGKILL on a notice or a cancel. */
  commandGraceMs?: number;
  /** Benchmarks: emulate a link of this many bytes per second for artifact downloads. */
  transferBytesPerSecond?: number;
}

/**
 * An instance's worker: polls only the instance's own task queue and runs sub-task steps. With a
 * metadata endpoint, a spot interruption notice aborts the running steps (they checkpoint and
 * stop), fails them fast as "instance interrupted" and shuts the worker down, so that the
 * sub-tasks move to another instance before this one is reclaimed.
 */
export async function createInstanceWorker(options: InstanceWorkerOptions): Promise<Worker> {
  const interruption = new AbortController();
  let reclaimAtMs: number | undefined;
  const worker = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    activities: createInstanceActivities({
      instanceId: options.instanceId,
      interruption: interruption.signal,
      store: options.store,
      checkpointIntervalMs: options.checkpointIntervalMs,
      slots: options.slots,
      workDir: options.workDir,
      commandGraceMs: options.commandGraceMs,
      reclaimAtMs: () => reclaimAtMs,
      transferBytesPerSecond: options.transferBytesPerSecond,
    }),
    // Sub-tasks take `slots` of them (the activities keep to that); input prefetches run beside.
    maxConcurrentActivityTaskExecutions: options.slots + PREFETCH_SLOTS,
  });
  if (options.metadataEndpoint) {
    const watcher = new InterruptionWatcher({
      endpoint: options.metadataEndpoint,
      intervalMs: options.metadataPollMs,
    });
    watcher.on('notice', (notice) => {
      if (notice.kind !== 'interruption') return;
      reclaimAtMs = notice.time.getTime();
      interruption.abort(`spot ${notice.action} notice for ${notice.time.toISOString()}`);
      watcher.stop();
      worker.shutdown();
    });
    watcher.on('error', () => {}); // no metadata service right now: keep polling
    watcher.start();
  }
  return worker;
}

async function main(): Promise<void> {
  const program = new Command('spotdag-instance-worker')
    .requiredOption('--instance-id <id>', 'this instance')
    .requiredOption('--task-queue <queue>', 'the task queue only this instance polls')
    .option('--slots <n>', 'sub-tasks run at once', positiveInt, 1)
    .option('--steps <module...>', 'modules that define steps (also SPOTDAG_STEPS)', [])
    .option(
      '--metadata-endpoint <url>',
      'watch this instance metadata service for spot notices (also SPOTDAG_METADATA_ENDPOINT; EC2: http://169.254.169.254)',
    )
    .option('--metadata-poll-ms <ms>', 'how often to poll it', positiveInt, 5_000)
    .option(
      '--checkpoint-store <url>',
      'sqlite:<path>, etcd://host:port or consul://host:port (also SPOTDAG_CHECKPOINT_STORE); none: no checkpoints',
    )
    .option(
      '--artifact-store <url>',
      'file:///dir or s3://bucket/prefix: files of command steps and large values (also SPOTDAG_ARTIFACT_STORE; default with sqlite: a folder beside it)',
    )
    .option(
      '--checkpoint-interval-ms <ms>',
      'minimum time between checkpoint writes (also SPOTDAG_CHECKPOINT_INTERVAL_MS)',
      positiveInt,
      Number(process.env.SPOTDAG_CHECKPOINT_INTERVAL_MS ?? 10_000),
    )
    .option(
      '--work-dir <dir>',
      "command sub-tasks' folders and the input cache (also SPOTDAG_WORK_DIR; default: in the temp folder)",
    )
    .option(
      '--command-grace-ms <ms>',
      'time a command gets between SIGTERM and SIGKILL (also SPOTDAG_COMMAND_GRACE_MS)',
      positiveInt,
      Number(process.env.SPOTDAG_COMMAND_GRACE_MS ?? 20_000),
    )
    .parse();
  const opts = program.opts<{
    instanceId: string;
    taskQueue: string;
    slots: number;
    steps: string[];
    metadataEndpoint?: string;
    metadataPollMs: number;
    checkpointStore?: string;
    artifactStore?: string;
    checkpointIntervalMs: number;
    workDir?: string;
    commandGraceMs: number;
  }>();
  const storeUrl = opts.checkpointStore ?? process.env.SPOTDAG_CHECKPOINT_STORE;
  const store = storeUrl
    ? await openCheckpointStore(storeUrl, opts.artifactStore ? { artifactStore: opts.artifactStore } : {})
    : undefined;
  loadStepModules([...stepModulesFromEnv(), ...opts.steps]);
  const target = temporalTargetFromEnv();
  const connection = await NativeConnection.connect(target.connectionOptions);
  const worker = await createInstanceWorker({
    connection,
    namespace: target.namespace,
    ...opts,
    metadataEndpoint: opts.metadataEndpoint ?? process.env.SPOTDAG_METADATA_ENDPOINT,
    store,
    checkpointIntervalMs: opts.checkpointIntervalMs,
    workDir: opts.workDir ?? process.env.SPOTDAG_WORK_DIR,
    commandGraceMs: opts.commandGraceMs,
    // Benchmarks only (`spotdag bench transfers --bandwidth`): a slower link on one machine.
    ...(process.env.SPOTDAG_TRANSFER_BANDWIDTH
      ? { transferBytesPerSecond: Number(process.env.SPOTDAG_TRANSFER_BANDWIDTH) }
      : {}),
  });
  // Temporal's runtime shuts the worker down gracefully on SIGTERM/SIGINT.
  await worker.run();
  await store?.close();
  await connection.close();
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
