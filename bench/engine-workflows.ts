// Workflows of `spotdag bench engine`: spotdag's own, plus two plain Temporal fan-outs of the same
// no-op work, so that one control worker (one bundle, one task queue) runs all three. Bundled only
// by the benchmark; production's workflows/ stays as it is.
import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';

export * from '../workflows';

/** The activity the benchmark's worker processes serve (bench/engine-worker.ts). */
export interface NoopActivities {
  benchNoop(i: number): Promise<number>;
}

export interface FanOutInput {
  /** No-op tasks in all. */
  n: number;
  /** One task queue per worker process; each gets `slotsPerQueue` tasks at a time. */
  taskQueues: string[];
  slotsPerQueue: number;
  /** The same activity timeouts a spotdag sub-task's `runSubTask` gets. */
  heartbeatTimeoutSeconds: number;
  scheduleToStartTimeoutSeconds: number;
  startToCloseTimeoutSeconds: number;
}

function noopOn(queue: string, input: FanOutInput, i: number) {
  return proxyActivities<NoopActivities>({
    taskQueue: queue,
    summary: `${i} on ${queue}`,
    startToCloseTimeout: `${input.startToCloseTimeoutSeconds} seconds`,
    heartbeatTimeout: `${input.heartbeatTimeoutSeconds} seconds`,
    scheduleToStartTimeout: `${input.scheduleToStartTimeoutSeconds} seconds`,
    retry: { maximumAttempts: 1 },
  }).benchNoop(i);
}

/**
 * `slotsPerQueue` lanes per queue, each taking the next task as soon as its previous one is done:
 * the same concurrency as a spotdag job whose instances have that many slots.
 */
async function lanes(
  input: FanOutInput,
  run: (queue: string, i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const lane = async (queue: string) => {
    while (next < input.n) await run(queue, next++);
  };
  const all: Promise<void>[] = [];
  for (let s = 0; s < input.slotsPerQueue; s++) for (const queue of input.taskQueues) all.push(lane(queue));
  await Promise.all(all);
  return input.n;
}

/** Plain fan-out: the parent runs the N no-op activities itself. */
export async function benchActivityFanOut(input: FanOutInput): Promise<number> {
  return lanes(input, (queue, i) => noopOn(queue, input, i));
}

/** Child-workflow fan-out: one child per task, each running one no-op activity. */
export async function benchChildFanOut(input: FanOutInput): Promise<number> {
  const parent = workflowInfo().workflowId;
  return lanes(input, (queue, i) =>
    executeChild(benchNoopChild, { workflowId: `${parent}/${i}`, args: [queue, input, i] }),
  );
}

export async function benchNoopChild(queue: string, input: FanOutInput, i: number): Promise<number> {
  return noopOn(queue, input, i);
}
