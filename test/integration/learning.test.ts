import path from 'node:path';
import { trainPolicy, updateFromEpisodes } from '../../bench/learn';
import { openCheckpointStore } from '../../src/checkpoint';
import { isSimulated, listEpisodes, readEpisode } from '../../src/learn/episodes';
import { addVersion, currentModel, pinVersion, readIndex } from '../../src/learn/registry';
import { CONTROL_TASK_QUEUE } from '../../src/names';
import { expectedWorkloadSum, workloadJobSpec } from '../../src/steps';
import { spotdagJob } from '../../workflows';
import { recordHistory, startTestStack, stopAllInstances, uniqueId } from './helpers';

const DATA = path.resolve(__dirname, '../../../shared/data');
const prices = path.join(DATA, 'spot-prices', 'spotlake-2024-01-01-to-24.csv');
const workflow = (name: string) => path.join(DATA, 'workflows', `${name}.json`);

/** `learn update`: a small search on the episodes, compared on blast on the held-out trace group. */
const updateOptions = {
  workflows: [workflow('blast-chameleon-small-001')],
  traces: path.join(DATA, 'spot-traces'),
  prices,
  seed: 1,
  generations: 1,
  population: 2,
  windows: 1,
  seeds: 1,
  progress: false,
};

describe('the learned policy on a real local job', () => {
  it('runs the current learned version, records the episode, and `learn update` consumes it', async () => {
    const stack = await startTestStack();
    const store = await openCheckpointStore(stack.checkpointStore);
    try {
      // A model trained in the simulator (small, but trained), made current.
      const model = trainPolicy({
        workflows: [workflow('helloworld-forkjoin-10-chameleon')],
        traces: [path.join(DATA, 'spot-traces', 'availability', '1-node', 'aws-02-15-2023')],
        prices,
        windows: 1,
        seeds: 1,
        seed: 3,
        generations: 1,
        population: 2,
        progress: false,
      });
      const version = await addVersion(store, model, undefined);
      await pinVersion(store, version);

      const workflowId = uniqueId('learned');
      const spec = {
        ...workloadJobSpec(30, { chunks: 3, instances: 2, input: { unitMs: 100, busy: false } }),
        preferences: { objective: 'minimize-cost' as const, deadline: '300s', policy: 'learned' as const },
      };
      const result = await stack.runUntil(() =>
        stack.client.workflow.execute(spotdagJob, {
          taskQueue: CONTROL_TASK_QUEUE,
          workflowId,
          args: [spec, {}],
        }),
      );
      expect(result.result).toBe(expectedWorkloadSum(1, 30));
      await recordHistory(stack.client, 'spotdagJob-learned-episode', workflowId);

      // The episode: the version the controller ran, the job's DAG, the outcome.
      const episode = await readEpisode(store, workflowId);
      expect(episode).toMatchObject({
        jobId: workflowId,
        policyVersion: version,
        deadlineSeconds: 300,
        market: 'local',
        outcome: { deadlineMet: true, interruptions: 0, failedSubTasks: 0 },
      });
      if (!episode || isSimulated(episode)) throw new Error('a real job records a real episode');
      expect(episode.decisions.count).toBeGreaterThan(0);
      expect(episode!.outcome.costUsd).toBeCloseTo(result.costUsd, 9);
      expect((await listEpisodes(store)).find((e) => e.jobId === workflowId)?.consumedBy).toBeUndefined();

      // The update trains on the episode's DAG and compares on a held-out trace group.
      const update = await updateFromEpisodes(store, updateOptions);
      expect(update.episodes).toContain(workflowId);
      expect(update.incumbentVersion).toBe(version);
      const consumed = (await listEpisodes(store)).find((e) => e.jobId === workflowId);
      expect(consumed?.consumedBy).toBe(update.version);
      const index = await readIndex(store);
      expect(index.versions.map((v) => v.version)).toContain(update.version);
      // The pinned version stays current: the update's candidate is refused, with its figures.
      expect(update.promoted).toBe(false);
      expect((await currentModel(store))?.version).toBe(version);
      expect(index.log.at(-1)).toMatchObject({
        action: 'refuse',
        version: update.version,
        reason: `version ${version} is pinned`,
      });

      // Nothing new: a second update learns nothing.
      const again = await updateFromEpisodes(store, updateOptions);
      expect(again).toMatchObject({ episodes: [], promoted: false, reason: 'no new episodes' });
    } finally {
      await store.close();
      await stopAllInstances(stack);
      await stack.close();
    }
  }, 300_000);
});
