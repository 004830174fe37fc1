import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable called `name` in a PATH folder, or undefined. */
export function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/**
 * Runs a command to completion with its output discarded; rejects naming the command, with the
 * last lines of what it wrote to stderr.
 */
export function runQuietly(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-8_000);
    });
    const fail = (reason: string) => {
      const tail = stderr.trim().split('\n').slice(-15).join('\n');
      reject(new Error(`\`${command} ${args.join(' ')}\` failed (${reason})${tail ? `:\n${tail}` : ''}`));
    };
    child.once('error', (err) => fail(err.message));
    child.once('close', (code, signal) => (code === 0 ? resolve() : fail(`exit ${code ?? signal}`)));
  });
}
