import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { openCheckpointStore, type KvCheckpointStore } from '../../src/checkpoint';
import type { CommandOutput } from '../../src/command/outputs';
import type { JobResult, SubTaskOutcome } from '../../src/job/types';
import { CONTROL_TASK_QUEUE } from '../../src/names';
import { spotdagJob } from '../../workflows';
import { jobStateQuery } from '../../workflows/job-controlled';
import { startTestStack, stopAllInstances, uniqueId, waitFor } from './helpers';
import type { JobSpecInput } from '../../src/dag';
import { maxOf } from '../../src/util/array';

/**
 * Command steps on the local fleet, with real processes: a program killed with its instance
 * resumes elsewhere from its archived checkpoint folder, a spot notice gives it SIGTERM and keeps
 * its final checkpoint, failures roll back and carry stderr, a missing program fails at once, a
 * cancel leaves no process behind.
 */
const COUNTER = path.resolve(__dirname, '../fixtures/commands/counter.py');
const POLICY = { heartbeatTimeoutSeconds: 3, scheduleToStartTimeoutSeconds: 20 };

/** The result.txt counter.py writes after `units` units. */
function expectedChain(units: number): string {
  let chain = '';
  for (let i = 1; i <= units; i++) chain = createHash('sha256').update(`${chain}:${i}`).digest('hex');
  return `${chain}\n`;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** The ledger counter.py keeps: `<attempt> <unit>` lines and `<attempt> sigterm <next>`. */
function readLedger(file: string): { units: Array<{ attempt: number; unit: number }>; sigterms: number[] } {
  const units: Array<{ attempt: number; unit: number }> = [];
  const sigterms: number[] = [];
  if (!existsSync(file)) return { units, sigterms };
  for (const line of readFileSync(file, 'utf8').trim().split('\n')) {
    const [attempt, what, next] = line.split(' ');
    if (what === 'sigterm') sigterms.push(Number(next));
    else units.push({ attempt: Number(attempt), unit: Number(what) });
  }
  return { units, sigterms };
}

/** Processes whose command line holds `marker`. */
function processesWith(marker: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(marker) && !line.includes('ps -eo'));
}

function counterJob(name: string, units: number, ledger: string, extra: Record<string, string> = {}) {
  return {
    name,
    stages: [
      {
        id: 'count',
        kind: 'step',
        command: ['python3', COUNTER],
        env: { UNITS: String(units), UNIT_MS: '100', LEDGER: ledger, ...extra },
        outputs: ['result.txt'],
        estimate: { seconds: units / 10 },
      },
    ],
    fleet: { provider: 'local', instances: 1 },
  };
}

describe('command steps on local instances', () => {
  let stack: Awaited<ReturnType<typeof startTestStack>>;
  let store: KvCheckpointStore;

  beforeAll(async () => {
    stack = await startTestStack({ checkpointIntervalMs: 300 });
    store = await openCheckpointStore(stack.checkpointStore);
  });
  afterAll(async () => {
    await store?.close();
    await stopAllInstances(stack);
    await stack.close();
  });

  const start = (workflowId: string, spec: unknown, policy: object = POLICY) =>
    stack.client.workflow.start(spotdagJob, {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId,
      args: [spec as JobSpecInput, { subTaskPolicy: { ...POLICY, ...policy } }],
    });
  const outcomeOf = async (workflowId: string, subTaskId: string) =>
    (await stack.client.workflow.getHandle(`${workflowId}/${subTaskId}`).result()) as SubTaskOutcome;
  /** The innermost cause of a failed job: the sub-task's own error. */
  const failureOf = async (result: Promise<JobResult>): Promise<string> => {
    const err = await result.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    let cause: unknown = err;
    while (cause instanceof Error && cause.cause) cause = cause.cause;
    return (cause as Error).message;
  };

  it('a command killed with its instance resumes from its archived checkpoint folder elsewhere, with identical output', async () => {
    const workflowId = uniqueId('cmd-kill');
    const ledger = path.join(stack.stateDir, `${workflowId}.ledger`);
    const units = 80;
    const result = await stack.runUntil(async () => {
      const handle = await start(workflowId, counterJob(workflowId, units, ledger));
      await waitFor(
        async () => (await store.listCheckpoints(workflowId, 'count')).length >= 3,
        60_000,
        'archived checkpoints',
      );
      const [instance] = await stack.provisioner.list(workflowId);
      // The end of a machine: its worker and the command's process group, with no warning.
      expect(stack.provisioner.kill(instance!.id, 'SIGKILL')).toBe(true);
      // Its program went with it; the provider saw its worker exit and the job moved the work.
      await waitFor(
        async () => processesWith(COUNTER).length === 0,
        2_000,
        'the program to go with its instance',
      );
      const done = await handle.result();
      // The job's event log (what `spotdag run` prints, one line per move): why, and where to.
      const { moves } = await handle.query(jobStateQuery);
      expect(moves).toEqual([
        expect.objectContaining({
          subTaskId: 'count',
          from: instance!.id,
          reason: 'exited',
          to: expect.any(String),
        }),
      ]);
      expect(moves[0]!.to).not.toBe(instance!.id);
      return done;
    });
    const output = result.result as CommandOutput;
    expect(output.files['result.txt']).toEqual({
      digest: sha256(expectedChain(units)),
      bytes: expectedChain(units).length,
    });
    const { units: done } = readLedger(ledger);
    const tokens = [...new Set(done.map((u) => u.attempt))];
    expect(tokens).toEqual([1, 2]);
    const resumedAt = done.find((u) => u.attempt === 2)!.unit;
    const reachedBefore = maxOf(done.filter((u) => u.attempt === 1).map((u) => u.unit));
    expect(resumedAt).toBeGreaterThan(1); // from the archived checkpoint, not from scratch
    expect(resumedAt).toBeLessThanOrEqual(reachedBefore + 1);
    // Every unit was done, and only units past the last archive were done twice.
    expect(new Set(done.map((u) => u.unit)).size).toBe(units);
    // The job's own count of the work lost agrees with the ledger's: from the last checkpoint to
    // the death the provider saw (within a checkpoint interval, 0.3 s, and a unit, 0.1 s).
    const redoneSeconds = (done.length - units) * 0.1;
    expect(result.workLostSeconds).toBeGreaterThan(0);
    expect(Math.abs(result.workLostSeconds - redoneSeconds)).toBeLessThanOrEqual(0.4);
    const outcome = await outcomeOf(workflowId, 'count');
    expect(outcome.relocations).toEqual([expect.objectContaining({ reason: 'instance-lost' })]);
    // The progress recorded with the archive was read just before it was made: at most what it holds.
    expect(outcome.resumedFromProgress).toBeLessThanOrEqual((resumedAt - 1) / units);
    expect(outcome.resumedFromProgress).toBeGreaterThan((resumedAt - 1) / units - 0.1);
    expect(outcome.transfers).toMatchObject({ outputFiles: 1, checkpoints: expect.any(Number) });
    expect(processesWith(COUNTER)).toEqual([]);
  });

  it('a spot notice gives the program SIGTERM, and its final checkpoint is archived before the kill', async () => {
    const workflowId = uniqueId('cmd-notice');
    const ledger = path.join(stack.stateDir, `${workflowId}.ledger`);
    const units = 60;
    const result = await stack.runUntil(async () => {
      const handle = await start(workflowId, counterJob(workflowId, units, ledger));
      await waitFor(async () => readLedger(ledger).units.length >= 15, 60_000, 'work under way');
      const [instance] = await stack.provisioner.list(workflowId);
      // A notice, and the instance is gone 4 s later (AWS gives 120 s).
      await stack.provisioner.interrupt(instance!.id, 4_000);
      return handle.result();
    });
    expect((result.result as CommandOutput).files['result.txt']!.digest).toBe(sha256(expectedChain(units)));
    const { units: done, sigterms } = readLedger(ledger);
    expect(sigterms).toHaveLength(1);
    // The replacement went on exactly where SIGTERM stopped the program: no unit done twice.
    expect(done.find((u) => u.attempt === 2)!.unit).toBe(sigterms[0]);
    expect(done.map((u) => u.unit)).toEqual(Array.from({ length: units }, (_, i) => i + 1));
    const outcome = await outcomeOf(workflowId, 'count');
    expect(outcome.relocations).toEqual([
      expect.objectContaining({ reason: 'interrupted', checkpointProgress: (sigterms[0]! - 1) / units }),
    ]);
    expect(outcome.resumedFromProgress).toBeCloseTo((sigterms[0]! - 1) / units, 5);
  });

  it('a non-zero exit rolls back past the checkpoint it ran from and retries, then fails with the stderr tail', async () => {
    const workflowId = uniqueId('cmd-fail');
    const spec = {
      name: workflowId,
      stages: [
        {
          id: 'flaky',
          kind: 'step',
          // Saves a checkpoint, waits until it is archived, then fails.
          shell:
            'echo "attempt $SPOTDAG_ATTEMPT restored: $(cat "$SPOTDAG_CHECKPOINT_DIR/saved" 2>/dev/null || echo nothing)" >&2; ' +
            'echo "$SPOTDAG_ATTEMPT" > "$SPOTDAG_CHECKPOINT_DIR/saved"; sleep 3; ' +
            'echo "bad record at line 7 of attempt $SPOTDAG_ATTEMPT" >&2; exit 3',
        },
      ],
      fleet: { provider: 'local', instances: 1 },
    };
    const message = await stack.runUntil(async () =>
      failureOf((await start(workflowId, spec, { maxAttempts: 2 })).result()),
    );
    expect(message).toMatch(
      /^sub-task flaky failed: sub-task flaky: command \/bin\/sh exited with code 3; last 4 KB of stderr:\nattempt 2 restored: nothing\nbad record at line 7 of attempt 2\n/,
    );
    expect(message).toMatch(/full logs in the artifact store: stderr sha256 [0-9a-f]{64}/);
    // Each attempt's checkpoint was marked bad: the second did not resume from the first's.
    const kept = await store.listCheckpoints(workflowId, 'flaky');
    expect(kept.map((c) => [c.token, c.good])).toEqual([
      [1, false],
      [2, false],
    ]);
  });

  it('a missing program fails at once, naming the sub-task and the program', async () => {
    const workflowId = uniqueId('cmd-missing');
    const spec = {
      name: workflowId,
      stages: [{ id: 'align', kind: 'step', command: ['spotdag-no-such-aligner', '--fast'] }],
      fleet: { provider: 'local', instances: 1 },
    };
    const started = Date.now();
    const message = await stack.runUntil(async () => failureOf((await start(workflowId, spec)).result()));
    expect(message).toMatch(
      /^sub-task align failed: sub-task align: program "spotdag-no-such-aligner" not found on instance \S+: spawn spotdag-no-such-aligner ENOENT$/,
    );
    expect(await store.currentToken(workflowId, 'align')).toBe(1); // one attempt, no retries
    expect(Date.now() - started).toBeLessThan(60_000);

    // In a shell line, the shell reports it (exit 127) and says which.
    const shellId = uniqueId('cmd-missing-shell');
    const inShell = {
      ...spec,
      name: shellId,
      stages: [{ id: 'align', kind: 'step', shell: 'echo aligning; spotdag-no-such-aligner --fast' }],
    };
    const shellMessage = await stack.runUntil(async () =>
      failureOf((await start(shellId, inShell)).result()),
    );
    expect(shellMessage).toMatch(
      /^sub-task align failed: sub-task align: a program of its shell line was not found on instance \S+ \(exit 127\); last 4 KB of stderr:\n.*spotdag-no-such-aligner: not found/,
    );
    expect(await store.currentToken(shellId, 'align')).toBe(1);
  });

  it('cancelling the job leaves none of its processes running', async () => {
    const workflowId = uniqueId('cmd-cancel');
    const marker = `spotdag-cancel-${workflowId}`;
    const loop = `/bin/sh -c 'while :; do sleep 0.2; done' "$MARKER"`;
    const spec = {
      name: workflowId,
      stages: [
        {
          id: 'tree',
          kind: 'split',
          // A process tree: the shell, two children and a grandchild, all carrying the marker.
          shell: `${loop} & (${loop} & wait) & wait`,
          env: { MARKER: marker },
          range: { start: 1, end: 2 },
          chunking: { size: 1 },
        },
      ],
      fleet: { provider: 'local', instances: 1, slotsPerInstance: 2 },
    };
    await stack.runUntil(async () => {
      const handle = await start(workflowId, spec);
      await waitFor(async () => processesWith(marker).length >= 4, 60_000, 'both process trees');
      await handle.cancel();
      await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    });
    await waitFor(async () => processesWith(marker).length === 0, 30_000, 'no process left');
    expect(await stack.provisioner.list(workflowId)).toEqual([]);
  });
});
