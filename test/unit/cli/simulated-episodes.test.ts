/**
 * Simulated jobs' episodes: `spotdag bench schedule --record-episodes` keeps each run of the
 * heuristic as an episode (once), and `learn update` trains on their DAG and consumes them.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { updateFromEpisodes } from '../../../bench/learn';
import { registerBench } from '../../../cli/commands/bench';
import { openCheckpointStore } from '../../../src/checkpoint';
import { isSimulated, listEpisodes, readEpisode } from '../../../src/learn/episodes';
import { loadDocument } from '../../../activities/documents';
import { runCommand } from './run-command';

const DATA = path.resolve(__dirname, '../../../../shared/data');
const prices = path.join(DATA, 'spot-prices', 'spotlake-2024-01-01-to-24.csv');
const workflow = path.join(DATA, 'workflows', 'helloworld-forkjoin-10-chameleon.json');

const bench = (args: string[]) => runCommand(registerBench, 'bench', args);

describe('simulated episodes', () => {
  it('records each simulated run of the heuristic once, and learn update consumes them', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spotdag-sim-episodes-'));
    const url = `sqlite:${path.join(dir, 'checkpoints.db')}`;
    const args = [
      'schedule',
      '--workflows',
      workflow,
      '--traces',
      path.join(DATA, 'spot-traces', 'preemption/1-node/aws-04-19-2023'),
      '--prices',
      prices,
      '--windows',
      '2',
      '--seeds',
      '1',
      '--policies',
      'on-demand-heft,spotdag',
      '--no-progress',
      '--record-episodes',
      '--checkpoint-store',
      url,
    ];
    expect(await bench(args)).toContain('episodes: 2 new of 2 runs of spotdag');
    // The same runs again are the same episodes.
    expect(await bench(args)).toContain('episodes: 0 new of 2 runs of spotdag');

    const store = await openCheckpointStore(url);
    try {
      const listed = await listEpisodes(store);
      expect(listed).toHaveLength(2);
      const episode = await readEpisode(store, listed[0]!.jobId);
      if (!episode || !isSimulated(episode)) throw new Error('a simulated episode');
      expect(episode).toMatchObject({
        policyVersion: 0,
        simulated: { workflow: 'helloworld-forkjoin-10-chameleon', policy: 'spotdag' },
        market: path.basename(prices),
      });
      expect(episode.outcome.costUsd).toBeGreaterThan(0);
      const dag = await loadDocument(store, episode.dagOwner, episode.dag);
      expect(dag.ids).toHaveLength(episode.subTasks);

      const update = await updateFromEpisodes(store, {
        workflows: [path.join(DATA, 'workflows', 'blast-chameleon-small-001.json')],
        traces: path.join(DATA, 'spot-traces'),
        prices,
        seed: 1,
        generations: 0,
        population: 1,
        windows: 1,
        seeds: 1,
        progress: false,
      });
      expect(update.episodes).toHaveLength(2);
      expect(update.version).toBe(1);
      expect((await listEpisodes(store)).every((e) => e.consumedBy === 1)).toBe(true);
    } finally {
      await store.close();
    }
  }, 180_000);
});
