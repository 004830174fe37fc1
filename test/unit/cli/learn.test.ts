import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { registerLearn } from '../../../cli/commands/learn';
import { scoreBatch, trainingScore, trainPolicy, unseenData } from '../../../bench/learn';
import { runScheduleBenchmark } from '../../../bench/schedule';
import { HEURISTIC_PARAMS } from '../../../src/learn/policy-space';
import { readPolicyModelFile } from '../../../src/learn/model';
import { runCommand } from './run-command';

const DATA = path.resolve(__dirname, '../../../../shared/data');
const workflows = (...names: string[]) => names.map((n) => path.join(DATA, 'workflows', `${n}.json`));
const group = (name: string) => path.join(DATA, 'spot-traces', name);
const prices = path.join(DATA, 'spot-prices', 'spotlake-2024-01-01-to-24.csv');

/** Runs `spotdag learn …` as the CLI does; returns what it printed. */
const learn = (args: string[]) => runCommand(registerLearn, 'learn', args);

describe('spotdag learn', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'spotdag-learn-'));
  const store = ['--checkpoint-store', `sqlite:${path.join(dir, 'checkpoints.db')}`];
  const trainData = {
    workflows: workflows('helloworld-forkjoin-10-chameleon', 'srasearch-chameleon-10a-001'),
    traces: [group('availability/1-node/aws-02-15-2023')],
    prices,
    windows: 1,
    seeds: 1,
  };

  it('trains deterministically for a seed, never worse than the heuristic on its training data', () => {
    const a = trainPolicy({ ...trainData, seed: 5, generations: 1, population: 2, progress: false });
    const b = trainPolicy({ ...trainData, seed: 5, generations: 1, population: 2, progress: false });
    expect(b.params).toEqual(a.params);
    expect(b.training.curve).toEqual(a.training.curve);
    expect(a.training.curve).toHaveLength(1);
    expect(a.training.score).toBeLessThanOrEqual(a.training.heuristicScore);
    expect(a.training.traceGroups).toEqual(['aws-02-15-2023']);
  }, 120_000);

  it('records the trace groups under a root it trained on, so that no evaluation counts them as unseen', () => {
    const model = trainPolicy({
      ...trainData,
      workflows: workflows('blast-chameleon-small-001'),
      traces: [path.join(DATA, 'spot-traces')],
      seed: 1,
      generations: 0,
      population: 1,
      progress: false,
    });
    expect(model.training.traceGroups).toEqual([
      'aws-02-15-2023',
      'aws-04-19-2023',
      'aws-04-22-2023',
      'aws-10-26-2022',
    ]);
    expect(() =>
      unseenData(model, workflows('montage-chameleon-2mass-005d-001'), path.join(DATA, 'spot-traces')),
    ).toThrow('every trace group under');
  });

  it('trains a model file, evaluates it only on what it did not train on, stores and manages its versions', async () => {
    const model = path.join(dir, 'model.json');
    const trained = await learn([
      'train',
      '--workflows',
      ...trainData.workflows,
      '--traces',
      ...trainData.traces,
      '--prices',
      prices,
      '--out',
      model,
      '--generations',
      '1',
      '--population',
      '2',
      '--windows',
      '1',
      '--no-progress',
    ]);
    expect(trained).toContain('this is in sample');
    expect(readPolicyModelFile(model).training.workflows).toEqual([
      'helloworld-forkjoin-10-chameleon',
      'srasearch-chameleon-10a-001',
    ]);

    // Evaluating on its own families and trace group is refused.
    await expect(
      learn([
        'eval',
        '--model',
        model,
        '--workflows',
        ...trainData.workflows,
        '--traces',
        path.join(DATA, 'spot-traces'),
        '--prices',
        prices,
      ]),
    ).rejects.toThrow('every workflow family given was used to train the model');

    const json = path.join(dir, 'eval.json');
    const evaluated = await learn([
      'eval',
      '--model',
      model,
      '--workflows',
      ...workflows('helloworld-chain-5-chameleon', 'blast-chameleon-small-001'),
      '--traces',
      path.join(DATA, 'spot-traces'),
      '--prices',
      prices,
      '--windows',
      '1',
      '--seeds',
      '1',
      '--promote',
      ...store,
      '--json',
      json,
      '--no-progress',
    ]);
    expect(evaluated).toContain('spotdag-learned');
    expect(evaluated).toMatch(/stored as version 1: (promoted|not promoted)/);
    const result = JSON.parse(readFileSync(json, 'utf8')) as {
      unseen: { workflows: string[]; traces: string[] };
      runs: Array<{ workflow: string; policy: string }>;
    };
    // helloworld is a family it trained on: only blast is out of sample, on the three other groups.
    expect(new Set(result.runs.map((r) => r.workflow))).toEqual(new Set(['blast-chameleon-small-001']));
    expect(result.unseen.traces.map((t) => path.basename(t))).toEqual([
      'aws-10-26-2022',
      'aws-04-19-2023',
      'aws-04-22-2023',
    ]);

    const shown = JSON.parse(await learn(['show', '--json', ...store])) as {
      versions: unknown[];
      log: unknown[];
    };
    expect(shown.versions).toHaveLength(1);
    expect(await learn(['pin', '1', ...store])).toContain('pinned version 1');
    expect(await learn(['show', ...store])).toContain('current: version 1 (pinned)');
    expect(await learn(['rollback', ...store])).toMatch(/rolled back to (the heuristic|version)/);
  }, 180_000);
});

describe('the learning environment', () => {
  it('is the simulator: the heuristic point scores what `bench schedule` measures for spotdag', () => {
    const data = {
      workflows: workflows('helloworld-forkjoin-10-chameleon', 'blast-chameleon-small-001'),
      traces: [group('preemption/1-node/aws-04-19-2023')],
      prices,
      windows: 2,
      seeds: 1,
    };
    const [heuristic, learnedHeuristic] = scoreBatch(data, [HEURISTIC_PARAMS, HEURISTIC_PARAMS], 'same');
    const bench = runScheduleBenchmark({
      ...data,
      policies: ['on-demand-heft', 'spotdag'],
      progress: false,
      print: false,
    });
    expect(heuristic).toBeCloseTo(trainingScore(bench.runs, 'spotdag'), 12);
    expect(learnedHeuristic).toBe(heuristic);
    // The score is the mean cost ÷ on-demand (+1 per missed deadline) over every scenario.
    const spotdag = bench.runs.filter((r) => r.policy === 'spotdag');
    expect(spotdag).toHaveLength(4);
    const missed = spotdag.filter((r) => r.deadlineMet === false).length;
    expect(heuristic).toBeCloseTo(
      (spotdag.reduce((a, r) => a + r.costVsOnDemand, 0) + missed) / spotdag.length,
      12,
    );
  }, 60_000);
});
