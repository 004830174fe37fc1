import type { Command } from 'commander';
import { CONTROL_TASK_QUEUE } from '../../src/names';
import { describeTarget, temporalTargetFromEnv } from '../../workers/connection';
import { startLocalStack } from '../../workers/local-stack';
import { installCliRuntime } from '../../workers/runtime';
import { stateDir } from '../state';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description(
      'run the spotdag control worker (job and sub-task workflows, planning activities) until stopped',
    )
    .option('--steps <module...>', 'modules that define steps (also SPOTDAG_STEPS)', [])
    .option('--json', 'print one JSON line when the worker is ready')
    .addHelpText(
      'after',
      '\nExample:\n  TEMPORAL_ADDRESS=temporal.internal:7233 spotdag worker --steps ./dist/my-steps.js',
    )
    .action(async (opts: { steps: string[]; json?: boolean }) => {
      installCliRuntime();
      const stack = await startLocalStack({ stateDir: stateDir(), stepModules: opts.steps });
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
          }),
        );
      } else {
        console.log(`spotdag control worker on ${where}; Ctrl+C stops it`);
      }
      try {
        await worker.run();
      } finally {
        await stack.close();
      }
    });
}
