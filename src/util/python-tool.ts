import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runQuietly } from './executables';
import { toolsDir } from './state-dir';

/** A program from PyPI, installed into a virtualenv of its own under the tools folder. */
export interface PythonTool {
  /** Folder under the tools folder, named with the version (`moto-5.2.1`). */
  name: string;
  /** pip requirements, pinned (`moto[server]==5.2.1`). */
  packages: string[];
  /** pip constraints, which also bind the packages pip builds with (e.g. `cython<3`). */
  constraints?: string[];
}

const MARKER = 'spotdag-tool.json';

function venvDir(tool: PythonTool): string {
  return path.join(toolsDir(), tool.name);
}

/** Where the tool's venv keeps the script `script` (e.g. `moto_server`). */
export function pythonToolScript(tool: PythonTool, script: string): string {
  return path.join(venvDir(tool), 'bin', script);
}

/**
 * Installs `tool` with pip into `<tools>/<name>` (a virtualenv, so neither root nor the system's
 * Python is touched), once: a venv whose marker lists the same packages is kept as it is. Returns
 * the venv folder. Needs `python3` with its `venv` module (Debian: python3-venv).
 */
export async function installPythonTool(
  tool: PythonTool,
  log: (line: string) => void = () => {},
): Promise<string> {
  const dir = venvDir(tool);
  const marker = path.join(dir, MARKER);
  const wanted = JSON.stringify({ packages: tool.packages, constraints: tool.constraints ?? [] });
  if (existsSync(marker) && readFileSync(marker, 'utf8') === wanted) return dir;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.dirname(dir), { recursive: true });
  log(`installing ${tool.packages.join(' ')} with pip into ${dir} (first run only)…`);
  try {
    await runQuietly('python3', ['-m', 'venv', dir]);
    const env: NodeJS.ProcessEnv = { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: '1' };
    if (tool.constraints?.length) {
      const file = path.join(dir, 'constraints.txt');
      writeFileSync(file, `${tool.constraints.join('\n')}\n`);
      env.PIP_CONSTRAINT = file;
    }
    await runQuietly(path.join(dir, 'bin', 'python'), ['-m', 'pip', 'install', '--quiet', ...tool.packages], {
      env,
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  writeFileSync(marker, wanted);
  return dir;
}
