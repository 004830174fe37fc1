/** Exit codes: 0 ok, 1 job/operation failed, 2 bad input (usage, spec, files), 3 environment. */
export const EXIT = { ok: 0, failed: 1, badInput: 2, environment: 3 } as const;

/** Errors whose cause is the user's input carry `exitCode = 2` (e.g. JobSpecError). */
export function exitCodeFor(err: unknown): number {
  const code = (err as { exitCode?: unknown } | null)?.exitCode;
  return typeof code === 'number' ? code : EXIT.failed;
}

/** Prints an error with its causes (a failed job's message is in its innermost cause). */
export function printError(err: unknown): void {
  const messages: string[] = [];
  for (let e: unknown = err; e instanceof Error; e = e.cause) messages.push(e.message);
  if (messages.length === 0) messages.push(String(err));
  process.stderr.write(`spotdag: ${messages.join('\n  caused by: ')}\n`);
}
