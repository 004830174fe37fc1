import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { startDevServer, type DevServer } from '../../workers/dev-server';

declare global {
  var spotdagTestServer: DevServer | undefined;
}

/**
 * One real Temporal dev server for the whole integration run, plus one workflow bundle that every
 * test's control worker reuses (bundling takes seconds). Missing tools are installed, never skipped.
 */
export default async function globalSetup(): Promise<void> {
  const artifacts = path.resolve(__dirname, '../../artifacts');
  mkdirSync(artifacts, { recursive: true });
  const server = await startDevServer({
    logFile: path.join(artifacts, 'temporal-dev-server.log'),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  globalThis.spotdagTestServer = server;
  process.env.TEMPORAL_ADDRESS = server.address;
  process.env.TEMPORAL_NAMESPACE = server.namespace;
  if (server.uiUrl) process.env.TEMPORAL_UI_URL = server.uiUrl;

  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('../../workflows'),
    logger: new DefaultLogger('WARN'),
  });
  const bundlePath = path.join(artifacts, 'workflow-bundle.js');
  writeFileSync(bundlePath, code);
  process.env.SPOTDAG_TEST_WORKFLOW_BUNDLE = bundlePath;
}
