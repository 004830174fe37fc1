import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { isExecutable, onPath, runQuietly } from '../../src/util/executables';
import { installPythonTool, pythonToolScript, type PythonTool } from '../../src/util/python-tool';
import { toolsDir } from '../../src/util/state-dir';

/**
 * The programs the integration tests run besides the Temporal CLI (workers/temporal-cli.ts), each
 * found or installed the same way: the variable that names it, then PATH, then spotdag's tools
 * folder (`.spotdag/tools`); when none works, it is installed there, pinned, without root — once:
 * a second run finds it there and installs nothing.
 */
export interface TestTools {
  etcd: string;
  motoServer: string;
  dockerCompose: string;
  /** Undefined when there is none and it cannot be installed (it needs root): the browser tests fail. */
  chromium?: string;
}

type Log = (line: string) => void;

interface Tool {
  what: string;
  /** Names an existing binary; when set, it must work. */
  variable: string;
  namesOnPath: string[];
  /** Where the tools folder keeps it. */
  installed: string;
  works(binary: string): boolean;
  install(log: Log): Promise<unknown>;
}

const TOOLS_SOURCES = path.resolve(__dirname, '../tools');

const MOTO: PythonTool = { name: 'moto-5.2.1', packages: ['moto[server]==5.2.1'] };
/**
 * docker-compose 1.29.2 (Debian's version) validates temporal-compose.yml; no Docker engine is needed.
 * It needs PyYAML < 6, which builds only with Cython < 3; setuptools brings distutils back on
 * Python 3.12+.
 */
const DOCKER_COMPOSE: PythonTool = {
  name: 'docker-compose-1.29.2',
  packages: ['docker-compose==1.29.2', 'setuptools==80.9.0'],
  constraints: ['cython<3'],
};

/** The etcd release test/tools/etcd/go.mod pins. */
function etcdVersion(): string {
  const goMod = readFileSync(path.join(TOOLS_SOURCES, 'etcd', 'go.mod'), 'utf8');
  const version = /^require go\.etcd\.io\/etcd\/server\/v3 (v\S+)$/m.exec(goMod)?.[1];
  if (!version) throw new Error('test/tools/etcd/go.mod does not pin go.etcd.io/etcd/server/v3');
  return version;
}

function answers(binary: string, args: string[], output?: RegExp): boolean {
  if (!isExecutable(binary)) return false;
  const result = spawnSync(binary, args, { encoding: 'utf8', timeout: 30_000 });
  return result.status === 0 && (!output || output.test(result.stdout));
}

/**
 * Builds etcd's server with the Go toolchain from the Go module proxy. Go's module and build caches
 * (GOMODCACHE, GOCACHE: in HOME by default) make a rebuild in a fresh clone take seconds.
 */
async function buildEtcd(output: string, log: Log): Promise<void> {
  if (!onPath('go'))
    throw new Error(
      'etcd is not installed and there is no Go toolchain to build it: install Go 1.23 or later, ' +
        'or etcd itself (Debian: apt-get install etcd-server), or set ETCD_BINARY to an etcd binary',
    );
  log(
    `building etcd ${etcdVersion()} with Go from the Go module proxy into ${output} (first run only, minutes)…`,
  );
  mkdirSync(path.dirname(output), { recursive: true });
  const partial = `${output}.partial`;
  await runQuietly('go', ['build', '-trimpath', '-buildvcs=false', '-o', partial, '.'], {
    cwd: path.join(TOOLS_SOURCES, 'etcd'),
    // go.sum pins every module; a go.work or GOFLAGS of the caller must not change the build.
    env: { ...process.env, GOFLAGS: '-mod=readonly', GOWORK: 'off' },
  });
  renameSync(partial, output);
}

async function findOrInstall(tool: Tool, log: Log): Promise<string> {
  const explicit = process.env[tool.variable];
  if (explicit) {
    if (tool.works(explicit)) return explicit;
    throw new Error(`${tool.variable}=${explicit} is not a working ${tool.what}`);
  }
  const found = [...tool.namesOnPath.flatMap((name) => onPath(name) ?? []), tool.installed].find((b) =>
    tool.works(b),
  );
  if (found) return found;
  await tool.install(log);
  if (!tool.works(tool.installed))
    throw new Error(`${tool.what} was installed at ${tool.installed} but does not run`);
  return tool.installed;
}

export const CHROMIUM_MISSING =
  'Chromium is missing: install it with `sudo apt-get install -y chromium`, or set CHROMIUM_PATH to a Chromium binary';

/** Debian's Chromium: CHROMIUM_PATH, PATH, or — as root only — `apt-get install chromium`. */
async function findChromium(log: Log): Promise<string | undefined> {
  const explicit = process.env.CHROMIUM_PATH;
  if (explicit) {
    if (isExecutable(explicit)) return explicit;
    throw new Error(`CHROMIUM_PATH=${explicit} is not an executable`);
  }
  const found = onPath('chromium') ?? onPath('chromium-browser');
  if (found || process.getuid?.() !== 0 || !onPath('apt-get')) return found;
  log('installing Debian’s chromium with apt-get (running as root; first run only)…');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await runQuietly('apt-get', ['update', '-qq'], { env });
  await runQuietly('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { env });
  return onPath('chromium');
}

/**
 * Finds or installs every tool, the installs side by side; the integration tests' global setup
 * calls this once per run.
 */
export async function provideTestTools(log: Log = () => {}): Promise<TestTools> {
  const etcdBinary = path.join(toolsDir(), `etcd-${etcdVersion()}`, 'etcd');
  const [etcd, motoServer, dockerCompose, chromium] = await Promise.all([
    findOrInstall(
      {
        what: 'etcd',
        variable: 'ETCD_BINARY',
        namesOnPath: ['etcd'],
        installed: etcdBinary,
        works: (b) => answers(b, ['--version'], /etcd Version: 3\./),
        install: (l) => buildEtcd(etcdBinary, l),
      },
      log,
    ),
    findOrInstall(
      {
        what: 'moto_server',
        variable: 'MOTO_SERVER',
        namesOnPath: ['moto_server'],
        installed: pythonToolScript(MOTO, 'moto_server'),
        works: (b) => answers(b, ['--help'], /moto_server/),
        install: (l) => installPythonTool(MOTO, l),
      },
      log,
    ),
    findOrInstall(
      {
        what: 'docker-compose',
        variable: 'DOCKER_COMPOSE',
        namesOnPath: ['docker-compose'],
        installed: pythonToolScript(DOCKER_COMPOSE, 'docker-compose'),
        works: (b) => answers(b, ['version', '--short']),
        install: (l) => installPythonTool(DOCKER_COMPOSE, l),
      },
      log,
    ),
    findChromium(log),
  ]);
  return { etcd, motoServer, dockerCompose, chromium };
}
