import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { isCommandOutput } from '../../src/command/outputs';
import { packageRoot } from '../../src/util/package-root';
import type { JobResult } from '../../src/job/types';
import type { JobSpecInput } from '../../src/dag';
import { loadSkyPilotTraces, MarketDataError } from '../../src/market';
import type { LocalInterruption } from '../../src/provision/local';
import type { TraceInterruptions } from '../../src/provision/trace-interruptions';
import { KNOWN_PRIME_COUNTS, primesJobSpec } from '../../src/steps';
import { describeTarget, temporalTargetFromEnv } from '../../workers/connection';
import { startLocalStack } from '../../workers/local-stack';
import { startCliLogs, VERBOSE_HELP, type LogFlags } from '../logs';
import { EXIT } from '../errors';
import { interruptionLine, runJob } from '../job-runner';
import { withResolvedWorkdirs } from '../job-files';
import { stateDir, workflowUiUrl } from '../state';
import { positiveInt, positiveNumber } from '../args';

interface DemoOptions extends LogFlags {
  example: 'primes' | 'pipeline';
  n: number;
  chunks: number;
  /** Default: 3 for primes, the example's own fleet for pipeline. */
  instances?: number;
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
    .description(
      'count the primes in [1, N] as a spotdag job on local instance processes (or run examples/pipeline, real programs)',
    )
    .addOption(
      new Option('--example <name>', 'primes: a registered step; pipeline: examples/pipeline, command steps')
        .choices(['primes', 'pipeline'])
        .default('primes'),
    )
    .option('--n <n>', 'upper end of the range', positiveInt, 10_000_000_000)
    .option('--chunks <k>', 'sub-tasks of the counting stage', positiveInt, 12)
    .option(
      '--instances <k>',
      'local instance worker processes (primes: 3; pipeline: its job.json)',
      positiveInt,
    )
    .option('--traces <dir>', 'spot traces (SkyPilot format) replayed against the instances', DEFAULT_TRACES)
    .option('--time-scale <x>', 'trace seconds per real second', positiveNumber, 120)
    .option('--notice <s>', 'seconds between the spot notice and the kill (AWS: 120)', positiveNumber, 3)
    .option('--seed <n>', 'picks each instance’s trace and window', positiveInt, 1)
    .option('--no-interruptions', 'do not replay spot traces')
    .option('--json', 'print the result as JSON')
    .option('--verbose', VERBOSE_HELP)
    .addHelpText(
      'after',
      '\nExamples:\n  spotdag demo\n  spotdag demo --example pipeline\n  spotdag demo --n 100000000 --chunks 8 --instances 2\n  spotdag demo --traces ../shared/data/spot-traces/preemption --time-scale 300 --seed 7',
    )
    .action(async (opts: DemoOptions) => {
      const say = (line: string) => {
        if (!opts.json) console.log(line);
      };
      startCliLogs(opts);
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
        if (opts.example === 'pipeline') {
          await runPipeline(stack, opts, interruptions, say, uiLinkFor(stack));
          return;
        }
        const instances = opts.instances ?? 3;
        const spec = primesJobSpec(opts.n, { chunks: opts.chunks, instances });
        const workflowId = `${spec.name}-${Date.now().toString(36)}`;
        const uiLink = stack.uiUrl ? workflowUiUrl(stack.uiUrl, stack.namespace, workflowId) : undefined;
        say(
          `Counting the primes in [1, ${opts.n.toLocaleString('en-US')}]: ${opts.chunks} ranges on ${instances} local instances`,
        );
        const result = await runDemoJob(stack, spec, workflowId, opts, interruptions, say);
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

type Stack = Awaited<ReturnType<typeof startLocalStack>>;

/** Says which spot traces are replayed, and runs the demo's job with the demo's sub-task policy. */
function runDemoJob(
  stack: Stack,
  spec: JobSpecInput,
  workflowId: string,
  opts: DemoOptions,
  interruptions: TraceInterruptions | undefined,
  say: (line: string) => void,
  onNotice = '',
): Promise<JobResult> {
  if (interruptions)
    say(
      `Replaying ${interruptions.traces.length} spot traces from ${opts.traces}, ${opts.timeScale} trace seconds per second: a preempted instance gets a ${opts.notice} s notice${onNotice}, then SIGKILL`,
    );
  return runJob({
    stack,
    spec,
    workflowId,
    runOptions: { subTaskPolicy: DEMO_POLICY },
    showProgress: !opts.json && process.stderr.isTTY === true,
    events: !opts.json,
    say,
  });
}

function uiLinkFor(stack: Stack) {
  return (workflowId: string) =>
    stack.uiUrl ? workflowUiUrl(stack.uiUrl, stack.namespace, workflowId) : undefined;
}

/**
 * examples/pipeline with replayed interruptions: real programs split, process (checkpointing to
 * their folders) and merge; the result must be the one examples/pipeline/reference.sh computes
 * without spotdag.
 */
async function runPipeline(
  stack: Stack,
  opts: DemoOptions,
  interruptions: TraceInterruptions | undefined,
  say: (line: string) => void,
  uiLink: (workflowId: string) => string | undefined,
): Promise<void> {
  const folder = path.join(packageRoot(), 'examples', 'pipeline');
  const file = path.join(folder, 'job.json');
  const spec = withResolvedWorkdirs(JSON.parse(readFileSync(file, 'utf8')), file) as JobSpecInput;
  const fleet = (spec as { fleet: { instances: number } }).fleet;
  if (opts.instances) fleet.instances = opts.instances;
  const workflowId = `pipeline-${Date.now().toString(36)}`;
  say(
    `Running examples/pipeline (python3 and coreutils: split a generated data set, process the pieces in parallel, merge) on ${fleet.instances} local instances`,
  );
  const result = await runDemoJob(
    stack,
    spec,
    workflowId,
    opts,
    interruptions,
    say,
    ' (its programs get SIGTERM)',
  );
  say('Computing the result without spotdag (examples/pipeline/reference.sh) …');
  const expected = execFileSync(path.join(folder, 'reference.sh'), { encoding: 'utf8' }).trim();
  const output = isCommandOutput(result.result) ? result.result.files['result.txt'] : undefined;
  const correct = output?.digest === expected;
  if (opts.json) {
    console.log(
      JSON.stringify({
        workflowId,
        result: output,
        expectedSha256: expected,
        correct,
        uiUrl: uiLink(workflowId),
        job: result,
        interruptions: stack.provisioner.interruptions,
      }),
    );
  } else {
    say(
      `result.txt sha256 ${output?.digest ?? '(missing)'} ${correct ? '✓ identical to the result computed without spotdag' : `✗ expected ${expected}`}`,
    );
    say(
      `${result.subTasks} sub-tasks on ${result.instances} instances in ${result.elapsedSeconds.toFixed(1)} s`,
    );
    for (const line of interruptionSummary(result, stack.provisioner.interruptions)) say(line);
    say(`Workflow id: ${workflowId}`);
    const link = uiLink(workflowId);
    say(link ? `Temporal UI: ${link}` : `Temporal: ${stack.address} (namespace ${stack.namespace})`);
  }
  if (!correct) process.exitCode = EXIT.failed;
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
