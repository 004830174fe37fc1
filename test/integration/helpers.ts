import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { withStore } from '../../cli/checkpoint-store';
import { updateTenancyConfig } from '../../src/tenancy/config';
import { DEFAULT_FLEET_NAME, fleetWorkflowId, type TenancyConfig } from '../../src/tenancy/types';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../workers/local-stack';

/** How long the test server holds a worker's poll (a liveness test's poller bound is above it). */
export const TEST_LONG_POLL_SECONDS = 1;

/** A control worker in this process against the run's shared dev server, with its own state dir. */
export async function startTestStack(
  options: Omit<LocalStackOptions, 'stateDir' | 'workflowBundle'> & { stateDir?: string } = {},
): Promise<LocalStack & { stateDir: string }> {
  const stateDir = options.stateDir ?? mkdtempSync(path.join(tmpdir(), 'spotdag-test-'));
  const bundlePath = process.env.SPOTDAG_TEST_WORKFLOW_BUNDLE;
  if (!bundlePath)
    throw new Error('integration tests need the global setup (jest --selectProjects integration)');
  const stack = await startLocalStack({ ...options, stateDir, workflowBundle: { codePath: bundlePath } });
  return { ...stack, stateDir };
}

/** Kills whatever instances a test left behind (a failed job may not have released them). */
export async function stopAllInstances(stack: LocalStack): Promise<void> {
  const instances = await stack.provisioner.list();
  await Promise.all(instances.map((i) => stack.provisioner.stop(i.id, 2_000)));
}

/** Stores tenant settings in the stack's checkpoint store: jobs read them when they are decomposed. */
export async function setTenancy(stack: LocalStack, config: TenancyConfig): Promise<void> {
  await withStore(stack.checkpointStore, (store) => updateTenancyConfig(store, () => config));
}

/** Ends the default fleet's workflow, if one runs: the next tenant job starts a fresh one. */
export async function endDefaultFleet(stack: LocalStack, reason: string): Promise<void> {
  await stack.client.workflow
    .getHandle(fleetWorkflowId(DEFAULT_FLEET_NAME))
    .terminate(reason)
    .catch(() => undefined); // none runs
}

export function uniqueId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

/** Polls `predicate` every `everyMs` until it holds, or fails naming `what` after `timeoutMs`. */
export async function waitFor(
  predicate: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const FIXTURES = path.resolve(__dirname, '../fixtures/histories');

/**
 * With SPOTDAG_RECORD_HISTORIES=1, writes a workflow run's history as a replay fixture
 * (test/fixtures/histories/<name>.json, replayed by replay.test.ts). Record only with a test file
 * that makes new fixtures: fixtures of older versions must stay as they were recorded.
 */
export async function recordHistory(client: Client, name: string, workflowId: string, runId?: string) {
  if (!process.env.SPOTDAG_RECORD_HISTORIES) return;
  mkdirSync(FIXTURES, { recursive: true });
  const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  writeFileSync(path.join(FIXTURES, `${name}.json`), historyToJSON(history));
}
