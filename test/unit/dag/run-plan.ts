import { Command } from 'commander';
import { registerPlan } from '../../../cli/commands/plan';

/** What `spotdag plan …` printed. */
export interface PlanOutput {
  stdout: string;
  stderr: string;
}

/** Runs `spotdag plan <args>` through the real command (commander and all), capturing its output. */
export async function runPlan(args: string[]): Promise<PlanOutput> {
  const program = new Command('spotdag').exitOverride();
  registerPlan(program);
  const out: PlanOutput = { stdout: '', stderr: '' };
  const capture = (stream: 'stdout' | 'stderr') =>
    jest.spyOn(process[stream], 'write').mockImplementation((chunk: string | Uint8Array) => {
      out[stream] += String(chunk);
      return true;
    });
  const spies = [capture('stdout'), capture('stderr')];
  try {
    await program.parseAsync(['node', 'spotdag', 'plan', ...args]);
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  return out;
}
