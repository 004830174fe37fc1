#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { commandRegistrations } from './commands';
import { exitCodeFor, printError } from './errors';

async function main(argv: string[]): Promise<void> {
  const program = new Command('spotdag')
    .description('Run long jobs cheaply and safely on spot capacity, on Temporal.')
    .showHelpAfterError()
    .exitOverride();
  for (const register of commandRegistrations) register(program);
  await program.parseAsync(argv);
}

main(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  printError(err);
  process.exit(exitCodeFor(err));
});
