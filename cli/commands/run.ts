import { Option, type Command } from 'commander';
import { readJsonFile, parseJobSpec, type JobSpecInput } from '../../src/dag';
import type { FleetProvider } from '../../src/provision/provider';
import { knownSteps } from '../../src/steps';
import { prepareJob } from '../../src/planning/pipeline';
import { describeTarget, temporalTargetFromEnv } from '../../workers/connection';
import { startCliLogs, VERBOSE_HELP, type LogFlags } from '../logs';
import { loadStepModules, stepModulesFromEnv } from '../../workers/steps-loader';
import { formatEc2JobPlan, planEc2Job } from '../ec2-plan';
import { interruptionLine, runJob } from '../job-runner';
import { openCheckpointStore } from '../../src/checkpoint';
import { readTenancyConfig, resolveTenancy } from '../../src/tenancy/config';
import { addProviderOptions, chooseProvider, startStack, type ProviderFlags } from '../provider';
import { stateDir, workflowUiUrl } from '../state';
import { positiveInt, positiveNumber } from '../args';
import { EXIT } from '../errors';
import {
  downloadOutputs,
  outputLines,
  jobFileSpec,
  withResolvedWorkdirs,
  type WfFormatFlags,
} from '../job-files';

interface RunOptions extends ProviderFlags, WfFormatFlags, LogFlags {
  id?: string;
  outputs?: string;
  steps: string[];
  heartbeatTimeout?: number;
  finishRest?: boolean;
  dryRun?: boolean;
  json?: boolean;
  progress: boolean;
  tenant?: string;
  priority?: number;
}

/** The spec with `fleet.provider` set (`--provider` overrides the spec's). */
function withProvider(raw: unknown, provider: FleetProvider): unknown {
  const spec = raw as { fleet?: Record<string, unknown> };
  return { ...spec, fleet: { ...spec.fleet, provider } };
}

/**
 * The job's tenant against the tenant settings its control worker will read (an unknown tenant
 * fails here, exit 2, rather than in the job's first activity).
 */
async function checkTenancy(
  stack: object,
  tenant: string | undefined,
  priority: number | undefined,
): Promise<void> {
  const url = (stack as { checkpointStore?: string }).checkpointStore;
  if (!url) return;
  const store = await openCheckpointStore(url);
  try {
    resolveTenancy(await readTenancyConfig(store), tenant, priority);
  } finally {
    await store.close();
  }
}

export function registerRun(program: Command): void {
  const command = program
    .command('run')
    .description(
      'run a job: plan it, provision instances (local processes, or EC2), and run its sub-tasks on Temporal',
    )
    .argument('<job.json>', 'a JobSpec file, or a WfFormat workflow (WfCommons)')
    .option('--id <workflowId>', 'workflow id (default: <name>-<time>)')
    .option('--steps <module...>', 'modules that define steps (also SPOTDAG_STEPS)', [])
    .option(
      '--heartbeat-timeout <seconds>',
      'presume an instance lost after this long without a heartbeat',
      positiveNumber,
    )
    .option(
      '--finish-rest',
      'a sub-task that fails after its retries does not fail the job: the rest runs, failures are reported',
    )
    .option(
      '--dry-run',
      'with --provider ec2: plan on the EC2 market and print the EC2 requests; launch nothing',
    )
    .option(
      '--outputs <dir>',
      'fetch the output files of the last sub-tasks (command steps) into this folder',
    )
    .addOption(
      new Option('--stand-in <tasks>', 'WfFormat: which tasks run the stand-in instead of their command')
        .choices(['no-command', 'all'])
        .default('no-command'),
    )
    .option('--runtime-scale <x>', 'WfFormat: stand-ins burn runtimeInSeconds × this', positiveNumber, 1)
    .option('--size-scale <x>', 'WfFormat: declared file sizes × this', positiveNumber, 1)
    .option('--instances <n>', 'WfFormat: local instances', positiveInt)
    .option('--slots <n>', 'WfFormat: sub-tasks per instance at once', positiveInt)
    .option('--tenant <name>', "run as this tenant (docs/tenants.md); overrides the spec's tenant")
    .option('--priority <1-5>', "priority key of the job's work (1 first); overrides the spec's", positiveInt)
    .option('--no-progress', 'no progress bars')
    .option('--json', 'print the result as JSON (no progress bars)')
    .option('--verbose', VERBOSE_HELP);
  addProviderOptions(command, "default: the spec's fleet.provider, which it overrides")
    .addHelpText(
      'after',
      '\nExit codes: 0 done, 1 the job failed, 2 bad input, 3 no Temporal server.\n\nExamples:\n  spotdag run examples/pipeline/job.json --outputs out/\n  spotdag run examples/primes.json\n' +
        '  spotdag run ../shared/data/workflows/1000genome-chameleon-2ch-100k-001.json --stand-in all --size-scale 0.01\n  TEMPORAL_ADDRESS=temporal:7233 spotdag run job.json --steps ./dist/my-steps.js --json\n' +
        '  spotdag run job.json --provider ec2 --ec2-settings ec2.json --dry-run\n' +
        '  TEMPORAL_ADDRESS=temporal.internal:7233 spotdag run job.json --provider ec2 --ec2-settings ec2.json',
    )
    .action(async (file: string, opts: RunOptions) => {
      const say = (line: string) => {
        if (!opts.json) console.log(line);
      };
      // Validate before anything starts: bad specs and unknown steps exit with code 2.
      const modules = [...stepModulesFromEnv(), ...opts.steps];
      loadStepModules(modules);
      const jobFile = jobFileSpec(file, readJsonFile(file), opts);
      const fromFile = jobFile.spec;
      const provider = opts.provider ?? parseJobSpec(fromFile).fleet.provider;
      const withFleet = opts.provider ? withProvider(fromFile, provider) : fromFile;
      const withTenant = {
        ...(withFleet as object),
        ...(opts.tenant !== undefined ? { tenant: opts.tenant } : {}),
        ...(opts.priority !== undefined ? { priority: opts.priority } : {}),
      };
      const raw = provider === 'local' ? withResolvedWorkdirs(withTenant, file) : withTenant;
      // The job's own first step (parse, decompose, check the DAG): what it would reject fails here.
      const prepared = prepareJob(raw, { knownSteps: knownSteps() });
      const { spec } = prepared;
      const choice = chooseProvider(provider, opts);
      const workflowId = opts.id ?? `${spec.name}-${Date.now().toString(36)}`;
      if (opts.dryRun) {
        if (choice.provider !== 'ec2')
          throw Object.assign(new Error('--dry-run prints EC2 requests: use it with --provider ec2'), {
            exitCode: 2,
          });
        const plan = await planEc2Job(prepared, workflowId, choice.settings);
        process.stdout.write(opts.json ? `${JSON.stringify(plan)}\n` : formatEc2JobPlan(plan));
        return;
      }
      for (const line of jobFile.lines) say(line);
      startCliLogs(opts);
      const target = temporalTargetFromEnv();
      const stack = await startStack(choice, { stateDir: stateDir(), stepModules: opts.steps }, opts);
      try {
        await checkTenancy(stack, spec.tenant, spec.priority);
        say(`Temporal: ${target.address ? describeTarget(target) : `local dev server at ${stack.address}`}`);
        if (choice.provider === 'ec2')
          say(`Instances: EC2 in ${choice.settings.region} (${choice.settingsFile})`);
        const result = await runJob({
          stack,
          spec: raw as JobSpecInput, // validated above
          workflowId,
          runOptions: {
            ...(opts.heartbeatTimeout
              ? { subTaskPolicy: { heartbeatTimeoutSeconds: opts.heartbeatTimeout } }
              : {}),
            ...(opts.finishRest ? { onSubTaskFailure: 'finish-rest' as const } : {}),
          },
          showProgress: opts.progress && !opts.json && process.stderr.isTTY === true,
          events: !opts.json,
          say,
        });
        const fetched =
          opts.outputs && stack.artifactStore
            ? await downloadOutputs(result.result, workflowId, stack.artifactStore, opts.outputs)
            : [];
        if (opts.json) {
          console.log(JSON.stringify(result));
          if (result.failedSubTasks?.length) process.exitCode = EXIT.failed;
          return;
        }
        const files = outputLines(result.result);
        if (files.length > 0) say(['Output files:', ...files].join('\n'));
        else say(`Result: ${JSON.stringify(result.result)}`);
        if (opts.outputs) say(`Fetched ${fetched.length} output file(s) into ${opts.outputs}`);
        say(
          `${result.subTasks} sub-tasks on ${result.instances} instances in ${result.elapsedSeconds.toFixed(1)} s ` +
            `(planned ${result.predictedMakespanSeconds.toFixed(1)} s); ${result.interruptions} interruption(s); ` +
            `cost $${result.costUsd.toFixed(4)} (planned $${result.predictedCostUsd.toFixed(4)})`,
        );
        say(interruptionLine(result));
        for (const failure of result.failedSubTasks ?? [])
          say(`✗ sub-task ${failure.subTaskId} failed: ${failure.error}`);
        if (result.failedSubTasks?.length) {
          say(`${result.skippedSubTasks?.length ?? 0} sub-task(s) skipped: they depend on a failed one`);
          process.exitCode = EXIT.failed;
        }
        if (stack.uiUrl) say(`Temporal UI: ${workflowUiUrl(stack.uiUrl, stack.namespace, workflowId)}`);
      } finally {
        await stack.close();
      }
    });
}
