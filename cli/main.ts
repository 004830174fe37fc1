#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { exitCodeFor, printError } from './errors';

async function main(argv: string[]): Promise<void> {
  const program = new Command('spotdag')
    .description('Run long jobs cheaply and safely on spot capacity, on Temporal.')
    .showHelpAfterError()
    .exitOverride();
  // `spotdag stand-in` runs once per task of an imported workflow: it starts without loading the
  // other commands (Temporal, AWS), which take most of a second.
  const registrations =
    argv[2] === 'stand-in'
      ? [(await import('./commands/stand-in')).registerStandIn]
      : (await import('./commands')).commandRegistrations;
  for (const register of registrations) register(program);
  await program.parseAsync(argv);
}

main(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  printError(err);
  process.exit(exitCodeFor(err));
});
