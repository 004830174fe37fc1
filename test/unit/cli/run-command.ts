import { Command } from 'commander';

/**
 * Runs `spotdag NAME …` as the CLI does, with the commands `register` adds; returns what it
 * printed (console.log and stdout). Progress on stderr is dropped.
 */
export async function runCommand(
  register: (program: Command) => void,
  name: string,
  args: string[],
): Promise<string> {
  const program = new Command('spotdag').exitOverride();
  register(program);
  let printed = '';
  const out = jest.spyOn(process.stdout, 'write').mockImplementation((s) => ((printed += String(s)), true));
  const log = jest.spyOn(console, 'log').mockImplementation((s: string) => void (printed += `${s}\n`));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await program.parseAsync(['node', 'spotdag', name, ...args]);
  } finally {
    out.mockRestore();
    log.mockRestore();
    err.mockRestore();
  }
  return printed;
}
