import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { defineStep, type StepContext } from './registry';
import { sumOfInputs } from './sum';

/**
 * `workload.spin`: synthetic work of a known size, for recovery tests, benchmarks and trying a
 * deployment out. Each number of the sub-task's range is one unit of `unitMs` busy CPU work; the
 * output is the sum of the units, so a job's result is checkable (Σ start..end).
 *
 * - `busy: false`: each unit sleeps instead of spinning (timed work for many local instances on a
 *   few cores, as `spotdag bench twin` runs).
 * - `ledger`: a file that gets one line per unit finished (`<job> <sub-task> <unit> <epoch ms>`), so
 *   that work done twice (lost to an interruption and redone) can be counted exactly afterwards.
 * - `failOnceAt` + `failMarker`: throw once when the sub-task reaches that fraction of its range
 *   (the marker file records that it did), to exercise rollback to the previous good checkpoint.
 */
export const workloadInputSchema = z
  .object({
    unitMs: z.number().min(0).max(60_000).default(100),
    /** Spin the CPU for each unit (default), or sleep: wall time without load, for many instances on few cores. */
    busy: z.boolean().default(true),
    ledger: z.string().min(1).optional(),
    failOnceAt: z.number().gt(0).lt(1).optional(),
    failMarker: z.string().min(1).optional(),
  })
  .strict()
  .refine((v) => (v.failOnceAt === undefined) === (v.failMarker === undefined), {
    message: 'failOnceAt and failMarker go together',
    path: ['failMarker'],
  });

export type WorkloadInput = z.input<typeof workloadInputSchema>;

/** What `workload.spin` checkpoints: units below `next` are done and add up to `sum`. */
interface SpinState {
  next: number;
  sum: number;
}

/** Σ start..end, the output of a `workload.spin` sub-task over that range. */
export function expectedWorkloadSum(start: number, end: number): number {
  return ((start + end) * (end - start + 1)) / 2;
}

function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // Spinning on purpose: the unit is CPU work, as a real step's would be.
  }
}

async function spinStep(ctx: StepContext): Promise<number> {
  const { subTask } = ctx;
  const range = subTask.range;
  if (!range) throw new TypeError(`sub-task ${subTask.id}: workload.spin needs a range`);
  const parsed = workloadInputSchema.safeParse(subTask.input ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new TypeError(`sub-task ${subTask.id}: input.${issue.path.join('.')}: ${issue.message}`);
  }
  const input = parsed.data;
  const saved = await ctx.restore<SpinState>();
  const state: SpinState = saved ?? { next: range.start, sum: 0 };
  const size = range.end - range.start + 1;
  const failAt =
    input.failOnceAt === undefined ? undefined : range.start + Math.floor(input.failOnceAt * size);
  while (state.next <= range.end) {
    if (ctx.signal.aborted) {
      await ctx.checkpoint(state, { final: true, position: state.next });
      ctx.signal.throwIfAborted();
    }
    if (state.next === failAt && !existsSync(input.failMarker!)) {
      writeFileSync(input.failMarker!, `${subTask.jobId} ${subTask.id} ${state.next}\n`);
      throw new Error(`workload.spin: injected failure at unit ${state.next} of ${subTask.id}`);
    }
    if (input.busy) busyWait(input.unitMs);
    else await new Promise((resolve) => setTimeout(resolve, input.unitMs));
    if (input.ledger)
      appendFileSync(input.ledger, `${subTask.jobId} ${subTask.id} ${state.next} ${Date.now()}\n`);
    state.sum += state.next;
    state.next++;
    ctx.progress((state.next - range.start) / size);
    await ctx.checkpoint(state, { position: state.next });
    await ctx.yield();
  }
  return state.sum;
}

export const workloadSpinStep = defineStep('workload.spin', spinStep, {
  description: 'Synthetic CPU work: unitMs per number of the range; output Σ range (tests, benchmarks).',
});
export const workloadSumStep = defineStep('workload.sum', sumOfInputs('workload.sum'), {
  description: 'Sums the outputs of its inputs.',
});

/** One unit a `workload.spin` sub-task finished, as its ledger recorded it. */
export interface LedgerEntry {
  unit: number;
  atMs: number;
}

/** A job's ledger lines by sub-task, in the order they were written. */
export function readWorkloadLedger(file: string, jobId: string): Map<string, LedgerEntry[]> {
  const bySubTask = new Map<string, LedgerEntry[]>();
  if (!existsSync(file)) return bySubTask;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [job, subTask, unit, atMs] = line.split(' ');
    if (job !== jobId || !subTask || unit === undefined) continue;
    const entries = bySubTask.get(subTask) ?? [];
    entries.push({ unit: Number(unit), atMs: Number(atMs) });
    bySubTask.set(subTask, entries);
  }
  return bySubTask;
}

/** Units finished more than once (work lost to an interruption and redone), ascending. */
export function redoneUnits(entries: LedgerEntry[]): number[] {
  const times = new Map<number, number>();
  for (const { unit } of entries) times.set(unit, (times.get(unit) ?? 0) + 1);
  return [...times.entries()]
    .filter(([, n]) => n > 1)
    .map(([unit]) => unit)
    .sort((a, b) => a - b);
}

/**
 * A job of `units` units of synthetic work in `chunks` sub-tasks, summed at the end. Its estimate
 * is the true time per unit unless `estimateUnitMs` declares another (a job that runs longer, or
 * shorter, than its spec says).
 */
export function workloadJobSpec(
  units: number,
  options: {
    chunks: number;
    instances?: number;
    slotsPerInstance?: number;
    input?: WorkloadInput;
    estimateUnitMs?: number;
  },
) {
  const unitSeconds = (options.estimateUnitMs ?? options.input?.unitMs ?? 100) / 1000;
  return {
    name: `workload-${units}`,
    stages: [
      {
        id: 'spin',
        kind: 'split' as const,
        step: 'workload.spin',
        range: { start: 1, end: units },
        chunking: { maxSubTasks: options.chunks },
        input: options.input ?? {},
        resources: { cpu: 1, memoryMiB: 128 },
        estimate: { secondsPerUnit: Math.max(unitSeconds, 1e-6), uncertainty: 0.1 },
      },
      {
        id: 'total',
        kind: 'reduce' as const,
        step: 'workload.sum',
        dependsOn: ['spin'],
        resources: { cpu: 1, memoryMiB: 64 },
        estimate: { seconds: 0.01 },
      },
    ],
    fleet: {
      provider: 'local' as const,
      instances: options.instances ?? 2,
      slotsPerInstance: options.slotsPerInstance ?? 1,
    },
    preferences: { objective: 'balanced' as const },
  };
}
