import type { Command } from 'commander';
import { readJsonFile, parseJobSpec } from '../../src/dag';
import { knownSteps } from '../../src/steps';
import { describeTarget, temporalTargetFromEnv } from '../../workers/connection';
import { startLocalStack } from '../../workers/local-stack';
import { installCliRuntime } from '../../workers/runtime';
import { loadStepModules, stepModulesFromEnv } from '../../workers/steps-loader';
import { runJob } from '../job-runner';
import { stateDir, workflowUiUrl } from '../state';
import { positiveNumber } from '../args';

interface RunOptions {
  id?: string;
  steps: string[];
  heartbeatTimeout?: number;
  json?: boolean;
  progress: boolean;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run a job: plan it, provision local instances, and run its sub-tasks on Temporal')
    .argument('<job.json>', 'a JobSpec file')
    .option('--id <workflowId>', 'workflow id (default: <name>-<time>)')
    .option('--steps <module...>', 'modules that define steps (also SPOTDAG_STEPS)', [])
    .option(
      '--heartbeat-timeout <seconds>',
      'presume an instance lost after this long without a heartbeat',
      positiveNumber,
    )
    .option('--no-progress', 'no progress bars')
    .option('--json', 'print the result as JSON (no progress bars)')
    .addHelpText(
      'after',
      '\nExit codes: 0 done, 1 the job failed, 2 bad input, 3 no Temporal server.\n\nExamples:\n  spotdag run examples/primes.json\n  TEMPORAL_ADDRESS=temporal:7233 spotdag run job.json --steps ./dist/my-steps.js --json',
    )
    .action(async (file: string, opts: RunOptions) => {
      const say = (line: string) => {
        if (!opts.json) console.log(line);
      };
      // Validate before anything starts: bad specs and unknown steps exit with code 2.
      const modules = [...stepModulesFromEnv(), ...opts.steps];
      loadStepModules(modules);
      const raw = readJsonFile(file);
      const spec = parseJobSpec(raw, { knownSteps: knownSteps() });
      installCliRuntime();
      const target = temporalTargetFromEnv();
      const stack = await startLocalStack({ stateDir: stateDir(), stepModules: opts.steps });
      try {
        say(`Temporal: ${target.address ? describeTarget(target) : `local dev server at ${stack.address}`}`);
        const workflowId = opts.id ?? `${spec.name}-${Date.now().toString(36)}`;
        const result = await runJob({
          stack,
          spec: raw,
          workflowId,
          runOptions: opts.heartbeatTimeout
            ? { subTaskPolicy: { heartbeatTimeoutSeconds: opts.heartbeatTimeout } }
            : {},
          showProgress: opts.progress && !opts.json && process.stderr.isTTY === true,
          say,
        });
        if (opts.json) {
          console.log(JSON.stringify(result));
          return;
        }
        say(`Result: ${JSON.stringify(result.result)}`);
        say(
          `${result.subTasks} sub-tasks on ${result.instances} instances in ${result.elapsedSeconds.toFixed(1)} s ` +
            `(planned ${result.predictedMakespanSeconds.toFixed(1)} s); ${result.interruptions} interruption(s); ` +
            `cost $${result.costUsd.toFixed(4)} (planned $${result.predictedCostUsd.toFixed(4)})`,
        );
        if (stack.uiUrl) say(`Temporal UI: ${workflowUiUrl(stack.uiUrl, stack.namespace, workflowId)}`);
      } finally {
        await stack.close();
      }
    });
}
