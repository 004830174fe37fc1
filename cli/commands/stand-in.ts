import type { Command } from 'commander';
import { parseOutputArg, runStandIn } from '../../src/command/stand-in';
import { nonNegativeNumber } from '../args';

/** Exit code of a stand-in stopped by SIGTERM, as a shell reports a process ended by it. */
const STOPPED = 143;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerStandIn(program: Command): void {
  program
    .command('stand-in')
    .description(
      'stand in for a workflow task with no program: burn CPU, write outputs of given sizes (runs as a command step on an instance)',
    )
    .option('--seconds <s>', 'CPU seconds to burn', nonNegativeNumber, 0)
    .option(
      '--output <path=bytes>',
      'an output file to write in $SPOTDAG_OUTPUT_DIR (repeatable)',
      collect,
      [],
    )
    .option('--input <path>', 'an input file that must be in $SPOTDAG_INPUT_DIR (repeatable)', collect, [])
    .addHelpText(
      'after',
      '\nIt saves how far it got in $SPOTDAG_CHECKPOINT_DIR and resumes from there; SIGTERM makes it save and exit 143.\n\n' +
        'Example (in a job spec):\n  "command": ["spotdag", "stand-in", "--seconds", "53.6", "--output", "chr21n-1-1001.tar.gz=28281"]',
    )
    .action(async (opts: { seconds: number; output: string[]; input: string[] }) => {
      const env = process.env;
      let stopping = false;
      process.on('SIGTERM', () => (stopping = true));
      const result = await runStandIn(
        { seconds: opts.seconds, outputs: opts.output.map(parseOutputArg), inputs: opts.input },
        {
          input: env.SPOTDAG_INPUT_DIR ?? '.',
          output: env.SPOTDAG_OUTPUT_DIR ?? '.',
          checkpoint: env.SPOTDAG_CHECKPOINT_DIR,
          progressFile: env.SPOTDAG_PROGRESS_FILE,
        },
        () => stopping,
      );
      if (result === 'stopped') process.exitCode = STOPPED;
    });
}
