import type { Command } from 'commander';
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
    .addHelpText(
      'after',
      '\nExample:\n  TEMPORAL_ADDRESS=temporal.internal:7233 spotdag worker --steps ./dist/my-steps.js',
    )
    .action(async (opts: { steps: string[] }) => {
      installCliRuntime();
      const stack = await startLocalStack({ stateDir: stateDir(), stepModules: opts.steps });
      const target = temporalTargetFromEnv();
      console.log(
        `spotdag control worker on ${target.address ? describeTarget(target) : stack.address}; Ctrl+C stops it`,
      );
      try {
        await (await stack.createWorker()).run();
      } finally {
        await stack.close();
      }
    });
}
