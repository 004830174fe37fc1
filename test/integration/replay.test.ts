import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Worker } from '@temporalio/worker';

const FIXTURES = path.resolve(__dirname, '../fixtures/histories');

/**
 * Recorded histories of real runs must replay against the current workflow code: a change that
 * would break running jobs fails here. Re-record with `SPOTDAG_RECORD_HISTORIES=1 npm test` only
 * when a change is meant to be incompatible (and version the workflow).
 */
describe('workflow replay', () => {
  const files = readdirSync(FIXTURES).filter((f) => f.endsWith('.json'));

  it('has recorded histories to replay', () => {
    expect(files.length).toBeGreaterThanOrEqual(2);
  });

  it.each(files)('%s replays deterministically', async (file) => {
    const history = JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8'));
    await Worker.runReplayHistory(
      { workflowBundle: { codePath: process.env.SPOTDAG_TEST_WORKFLOW_BUNDLE! } },
      history,
    );
  });
});
