import type { Command } from 'commander';
import { KNOWN_PRIME_COUNTS, primesJobSpec } from '../../src/steps';
import { describeTarget, temporalTargetFromEnv } from '../../workers/connection';
import { startLocalStack } from '../../workers/local-stack';
import { installCliRuntime } from '../../workers/runtime';
import { EXIT } from '../errors';
import { runJob } from '../job-runner';
import { stateDir, workflowUiUrl } from '../state';
import { positiveInt } from '../args';

interface DemoOptions {
  n: number;
  chunks: number;
  instances: number;
  json?: boolean;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('count the primes in [1, N] as a spotdag job on local instance processes')
    .option('--n <n>', 'upper end of the range', positiveInt, 1_000_000_000)
    .option('--chunks <k>', 'sub-tasks of the counting stage', positiveInt, 12)
    .option('--instances <k>', 'local instance worker processes', positiveInt, 3)
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  spotdag demo\n  spotdag demo --n 100000000 --chunks 8 --instances 2',
    )
    .action(async (opts: DemoOptions) => {
      const say = (line: string) => {
        if (!opts.json) console.log(line);
      };
      installCliRuntime();
      const target = temporalTargetFromEnv();
      const stack = await startLocalStack({
        stateDir: stateDir(),
        log: (l) => process.stderr.write(`${l}\n`),
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
        const result = await runJob({
          stack,
          spec,
          workflowId,
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
