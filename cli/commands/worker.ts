import type { Command } from 'commander';
import { CONTROL_TASK_QUEUE } from '../../src/names';
import { describeTarget, temporalTargetFromEnv } from '../../workers/connection';
import { startCliLogs, VERBOSE_HELP, type LogFlags } from '../logs';
import { addProviderOptions, chooseProvider, startStack, type ProviderFlags } from '../provider';
import { stateDir } from '../state';

export function registerWorker(program: Command): void {
  const command = program
    .command('worker')
    .description(
      'run the spotdag control worker (job and sub-task workflows, planning activities) until stopped',
    )
    .option('--steps <module...>', 'modules that define steps (also SPOTDAG_STEPS)', [])
    .option('--json', 'print one JSON line when the worker is ready')
    .option('--verbose', VERBOSE_HELP);
  addProviderOptions(command, 'default local; jobs must ask for the same fleet.provider')
    .addHelpText(
      'after',
      '\nExamples:\n  TEMPORAL_ADDRESS=temporal.internal:7233 spotdag worker --steps ./dist/my-steps.js\n' +
        '  TEMPORAL_ADDRESS=temporal.internal:7233 spotdag worker --provider ec2 --ec2-settings ec2.json',
    )
    .action(async (opts: ProviderFlags & LogFlags & { steps: string[]; json?: boolean }) => {
      const choice = chooseProvider(opts.provider ?? 'local', opts);
      startCliLogs(opts);
      const stack = await startStack(choice, { stateDir: stateDir(), stepModules: opts.steps }, opts);
      const target = temporalTargetFromEnv();
      const where = target.address ? describeTarget(target) : stack.address;
      const worker = await stack.createWorker(); // bundles the workflows: ready after this
      if (opts.json) {
        console.log(
          JSON.stringify({
            ready: true,
            taskQueue: CONTROL_TASK_QUEUE,
            address: stack.address,
            namespace: stack.namespace,
            provider: choice.provider,
          }),
        );
      } else {
        console.log(`spotdag control worker (${choice.provider} instances) on ${where}; Ctrl+C stops it`);
      }
      try {
        await worker.run();
      } finally {
        await stack.close();
      }
    });
}
