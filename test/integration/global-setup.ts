import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { startDevServer, type DevServer } from '../../workers/dev-server';
import { CHROMIUM_MISSING, provideTestTools } from '../support/tools';
import { TEST_LONG_POLL_SECONDS } from './helpers';

declare global {
  var spotdagTestServer: DevServer | undefined;
}

const ARTIFACTS = path.resolve(__dirname, '../../artifacts');

/** One workflow bundle that every test's control worker reuses (bundling takes seconds). */
async function bundleWorkflows(): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: new DefaultLogger('WARN'),
  });
  const bundlePath = path.join(ARTIFACTS, 'workflow-bundle.js');
  writeFileSync(bundlePath, code);
  return bundlePath;
}

/**
 * The servers' programs (found, or installed into .spotdag/tools on the first run), one real
 * Temporal dev server for the whole integration run, and the workflow bundle, side by side.
 * Missing tools are installed, never skipped.
 */
export default async function globalSetup(): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  mkdirSync(ARTIFACTS, { recursive: true });
  const [tools, server, bundle] = await Promise.allSettled([
    provideTestTools(log),
    // Polls held 1 s instead of a minute: the liveness tests can use a poller bound of seconds.
    startDevServer({
      logFile: path.join(ARTIFACTS, 'temporal-dev-server.log'),
      longPollSeconds: TEST_LONG_POLL_SECONDS,
      log,
    }),
    bundleWorkflows(),
  ]);
  if (tools.status === 'rejected' || server.status === 'rejected' || bundle.status === 'rejected') {
    if (server.status === 'fulfilled') await server.value.stop();
    throw [tools, server, bundle].find((r): r is PromiseRejectedResult => r.status === 'rejected')!.reason;
  }

  process.env.ETCD_BINARY = tools.value.etcd;
  process.env.MOTO_SERVER = tools.value.motoServer;
  process.env.DOCKER_COMPOSE = tools.value.dockerCompose;
  if (tools.value.chromium) process.env.CHROMIUM_PATH = tools.value.chromium;
  else log(`the browser tests will fail: ${CHROMIUM_MISSING}`);

  globalThis.spotdagTestServer = server.value;
  process.env.TEMPORAL_ADDRESS = server.value.address;
  process.env.TEMPORAL_NAMESPACE = server.value.namespace;
  if (server.value.uiUrl) process.env.TEMPORAL_UI_URL = server.value.uiUrl;
  process.env.SPOTDAG_TEST_WORKFLOW_BUNDLE = bundle.value;
}
