import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import type { JobResult } from '../../src/job/types';
import { loadSkyPilotTraces, MarketDataError } from '../../src/market';
import type { LocalInterruption } from '../../src/provision/local';
import type { TraceInterruptions } from '../../src/provision/trace-interruptions';
import { KNOWN_PRIME_COUNTS, primesJobSpec } from '../../src/steps';
import { describeTarget, temporalTargetFromEnv } from '../../workers/connection';
import { startLocalStack } from '../../workers/local-stack';
import { installCliRuntime } from '../../workers/runtime';
import { EXIT } from '../errors';
import { interruptionLine, runJob } from '../job-runner';
import { stateDir, workflowUiUrl } from '../state';
import { positiveInt, positiveNumber } from '../args';

interface DemoOptions {
  n: number;
  chunks: number;
  instances: number;
  /** false with --no-interruptions */
  interruptions: boolean;
  traces: string;
  timeScale: number;
  notice: number;
  seed: number;
  json?: boolean;
}

/** Where the demo finds spot traces unless told: the shared data of this workspace. */
const DEFAULT_TRACES = '../shared/data/spot-traces/preemption';

/**
 * The spot traces to replay, or undefined (with the reason said) when the default folder is not
 * there; a folder given with --traces must exist.
 */
function demoInterruptions(opts: DemoOptions, say: (line: string) => void): TraceInterruptions | undefined {
  if (!opts.interruptions) return undefined;
  if (opts.traces === DEFAULT_TRACES && !existsSync(opts.traces)) {
    say(
      `No spot traces at ${DEFAULT_TRACES}: running without interruptions (--traces <dir> to replay some).`,
    );
    return undefined;
  }
  const traces = loadSkyPilotTraces(opts.traces);
  if (traces.length === 0)
    throw new MarketDataError(opts.traces, '--traces', 'no .json spot traces in this folder');
  return { traces, timeScale: opts.timeScale, noticeMs: opts.notice * 1000, seed: opts.seed };
}

/** Lost instances take seconds to notice here, not the production default of 30 s. */
const DEMO_POLICY = { heartbeatTimeoutSeconds: 5, scheduleToStartTimeoutSeconds: 10, maxRelocations: 50 };

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('count the primes in [1, N] as a spotdag job on local instance processes')
    .option('--n <n>', 'upper end of the range', positiveInt, 10_000_000_000)
    .option('--chunks <k>', 'sub-tasks of the counting stage', positiveInt, 12)
    .option('--instances <k>', 'local instance worker processes', positiveInt, 3)
    .option('--traces <dir>', 'spot traces (SkyPilot format) replayed against the instances', DEFAULT_TRACES)
    .option('--time-scale <x>', 'trace seconds per real second', positiveNumber, 120)
    .option('--notice <s>', 'seconds between the spot notice and the kill (AWS: 120)', positiveNumber, 3)
    .option('--seed <n>', 'picks each instance’s trace and window', positiveInt, 1)
    .option('--no-interruptions', 'do not replay spot traces')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  spotdag demo\n  spotdag demo --n 100000000 --chunks 8 --instances 2\n  spotdag demo --traces ../shared/data/spot-traces/preemption --time-scale 300 --seed 7',
    )
    .action(async (opts: DemoOptions) => {
      const say = (line: string) => {
        if (!opts.json) console.log(line);
      };
      installCliRuntime();
      const target = temporalTargetFromEnv();
      const interruptions = demoInterruptions(opts, say);
      const stack = await startLocalStack({
        stateDir: stateDir(),
        log: (l) => process.stderr.write(`${l}\n`),
        interruptions,
      });
      say(
        `Temporal: ${target.address ? describeTarget(target) : `local dev server at ${stack.address} (history in .spotdag/temporal.db)`}`,
      );
      try {
        const spec = primesJobSpec(opts.n, { chunks: opts.chunks, instances: opts.instances });
        const workflowId = `${spec.name}-${Date.now().toString(36)}`;
        const uiLink = stack.uiUrl ? workflowUiUrl(stack.uiUrl, stack.namespace, workflowId) : undefined;
        say(
          `Counting the primes in [1, ${opts.n.toLocaleString('en-US')}]: ${opts.chunks} ranges on ${opts.instances} local instances`,
        );
        if (interruptions)
          say(
            `Replaying ${interruptions.traces.length} spot traces from ${opts.traces}, ${opts.timeScale} trace seconds per second: a preempted instance gets a ${opts.notice} s notice, then SIGKILL`,
          );
        const result = await runJob({
          stack,
          spec,
          workflowId,
          runOptions: { subTaskPolicy: DEMO_POLICY },
          showProgress: !opts.json && process.stderr.isTTY === true,
          say,
        });
        const expected = KNOWN_PRIME_COUNTS[opts.n];
        const correct = expected === undefined ? undefined : result.result === expected;
        if (opts.json) {
          console.log(
            JSON.stringify({
              workflowId,
              result: result.result,
              expected,
              correct,
              uiUrl: uiLink,
              job: result,
              interruptions: stack.provisioner.interruptions,
            }),
          );
        } else {
          const check =
            expected === undefined
              ? ''
              : correct
                ? ' ✓ (matches the known count)'
                : ` ✗ expected ${expected}`;
          say(
            `π(${opts.n.toLocaleString('en-US')}) = ${Number(result.result).toLocaleString('en-US')}${check}`,
          );
          say(
            `${result.subTasks} sub-tasks on ${result.instances} instances in ${result.elapsedSeconds.toFixed(1)} s`,
          );
          for (const line of interruptionSummary(result, stack.provisioner.interruptions)) say(line);
          say(`Workflow id: ${workflowId}`);
          say(
            uiLink ? `Temporal UI: ${uiLink}` : `Temporal: ${stack.address} (namespace ${stack.namespace})`,
          );
          if (!target.address)
            say('The dev server keeps running for the UI; stop it with `npx spotdag server stop`.');
        }
        if (correct === false) process.exitCode = EXIT.failed;
      } finally {
        await stack.close();
      }
    });
}

/** Which instances the replayed traces took, and what the job lost and kept. */
function interruptionSummary(result: JobResult, interrupted: LocalInterruption[]): string[] {
  const taken = interrupted.length
    ? [
        `Spot interruptions replayed: ${interrupted.length} (${interrupted.map((i) => i.instanceId).join(', ')})`,
      ]
    : [];
  return [...taken, interruptionLine(result)];
}
