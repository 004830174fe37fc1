import { readFileSync } from 'node:fs';
import path from 'node:path';
import { COMMAND_STEP, decompose, JobSpecError, parseJobSpec } from '../../../src/dag';
import { wfFormatJob } from '../../../src/dag/wfformat-job';
import { dataDir, repoRoot } from './helpers';

function issuesOf(input: unknown, knownSteps?: ReadonlySet<string>): string[] {
  try {
    parseJobSpec(input, { knownSteps });
  } catch (err) {
    expect(err).toBeInstanceOf(JobSpecError);
    return (err as JobSpecError).issues.map((i) => `${i.path}: ${i.message}`);
  }
  throw new Error('expected the spec to be rejected');
}

describe('command stages', () => {
  it('run a program (argv or a shell line) with env, workdir, inputs and outputs', () => {
    const spec = parseJobSpec({
      name: 'train',
      stages: [
        {
          id: 'prepare',
          kind: 'step',
          shell: 'python3 prepare.py > "$SPOTDAG_OUTPUT_DIR/data.csv"',
          outputs: [{ path: 'data.csv', bytes: 5_000_000 }, 'stats/'],
        },
        {
          id: 'train',
          kind: 'split',
          command: ['python3', 'train.py', '--epochs', '10'],
          env: { CUDA_VISIBLE_DEVICES: '0' },
          workdir: '/opt/model',
          items: ['a', 'b'],
          chunking: { size: 1 },
          dependsOn: ['prepare'],
          inputs: ['data.csv'],
        },
      ],
    });
    const dag = decompose(spec);
    expect(dag.getNodeAttributes('prepare')).toMatchObject({
      step: COMMAND_STEP,
      command: {
        shell: 'python3 prepare.py > "$SPOTDAG_OUTPUT_DIR/data.csv"',
        outputs: [{ path: 'data.csv', bytes: 5_000_000 }, { path: 'stats/' }],
      },
    });
    expect(dag.getNodeAttributes('train/0001')).toMatchObject({
      step: COMMAND_STEP,
      input: ['b'],
      command: {
        argv: ['python3', 'train.py', '--epochs', '10'],
        env: { CUDA_VISIBLE_DEVICES: '0' },
        workdir: '/opt/model',
        inputs: ['data.csv'],
      },
    });
    // Not every output has a size: the edge falls back to outputBytes (none).
    expect(dag.getEdgeAttributes('prepare', 'train/0000').bytes).toBe(0);
  });

  it('count the bytes of the declared files each dependent reads on its edges', () => {
    const spec = parseJobSpec({
      name: 'sizes',
      stages: [
        {
          id: 'a',
          kind: 'step',
          command: ['gen'],
          outputs: [
            { path: 'big.bin', bytes: 1000 },
            { path: 'small/x', bytes: 10 },
          ],
        },
        { id: 'b', kind: 'step', command: ['use'], dependsOn: ['a'], inputs: ['small'] },
        { id: 'c', kind: 'step', command: ['use'], dependsOn: ['a'] },
        { id: 'd', kind: 'reduce', command: ['use'], dependsOn: ['a'], inputs: ['big.bin'] },
      ],
    });
    const dag = decompose(spec);
    expect(dag.getEdgeAttributes('a', 'b').bytes).toBe(10);
    expect(dag.getEdgeAttributes('a', 'c').bytes).toBe(1010);
    expect(dag.getEdgeAttributes('a', 'd').bytes).toBe(1000);
  });

  it('are rejected with the field named when they mix or lack what to run, or misuse command keys', () => {
    expect(
      issuesOf({
        name: 'bad',
        stages: [
          { id: 'both', kind: 'step', step: 'x.y', command: ['ls'] },
          { id: 'none', kind: 'step' },
          { id: 'keys', kind: 'step', step: 'x.y', env: { A: '1' }, outputs: ['o'] },
          {
            id: 'paths',
            kind: 'step',
            command: [],
            inputs: ['../etc/passwd'],
            outputs: ['/abs'],
            env: { 'BAD-NAME': 'x' },
          },
          { id: 'grouped', kind: 'step', shell: 'true', group: 'both' },
        ],
      }),
    ).toEqual([
      'stages[0]: give exactly one of step, command, shell (got step, command)',
      'stages[1]: give exactly one of step, command, shell',
      'stages[2].env: only command stages (command or shell) take this key',
      'stages[2].outputs: only command stages (command or shell) take this key',
      'stages[3].command: expected array to have >=1 items',
      'stages[3].inputs[0]: expected a relative path without ".." (files and folders below the sub-task\'s folders)',
      'stages[3].outputs[0]: expected a relative path without ".." (files and folders below the sub-task\'s folders)',
      'stages[3].env.BAD-NAME: expected an environment variable name',
      'stages[4].group: "both" is the id of stages[0]; a group needs a name of its own',
    ]);
  });

  it('need no registered step, and step stages grouped together are numbered within their group', () => {
    const spec = parseJobSpec(
      {
        name: 'groups',
        stages: [
          { id: 't1', kind: 'step', shell: 'true', group: 'align' },
          { id: 't2', kind: 'step', shell: 'true', group: 'align' },
          { id: 't3', kind: 'step', shell: 'true', dependsOn: ['t1', 't2'] },
        ],
      },
      { knownSteps: new Set(['primes.count']) },
    );
    const dag = decompose(spec);
    expect(dag.getNodeAttributes('t2')).toMatchObject({ stage: 'align', index: 1, count: 2 });
    expect(dag.getNodeAttributes('t3')).toMatchObject({ stage: 't3', index: 0, count: 1 });
  });

  it('include the example pipeline, which parses as it is', () => {
    const json = JSON.parse(
      readFileSync(path.join(repoRoot, 'examples', 'pipeline', 'job.json'), 'utf8'),
    ) as unknown;
    const dag = decompose(parseJobSpec(json));
    expect(dag.order).toBe(6);
    expect(dag.getNodeAttributes('process/0002').command?.argv).toEqual(['python3', 'process.py']);
  });
});

describe('WfFormat jobs', () => {
  const load = (file: string) =>
    JSON.parse(readFileSync(path.join(dataDir, 'workflows', file), 'utf8')) as unknown;

  it('turn tasks with a command into shell lines in the input folder, and say so', () => {
    const job = wfFormatJob(load('helloworld-chain-5-chameleon.json'));
    expect(job).toMatchObject({ commandTasks: 5, standInTasks: 0, programs: { cpuhog: 5 } });
    const second = job.spec.stages[1]!;
    expect(second).toMatchObject({
      id: 'cpuhog_chain_00000002',
      kind: 'step',
      group: 'cpuhog',
      dependsOn: ['cpuhog_chain_00000001'],
      inputs: ['chain_00000001_output.txt'],
      outputs: [{ path: 'chain_00000002_output.txt', bytes: 16666667 }],
    });
    expect((second as { shell: string }).shell).toMatch(
      /^cd "\$SPOTDAG_INPUT_DIR" && cpuhog chain_00000002 --percent-cpu 0.6 .* && mv -- chain_00000002_output.txt "\$SPOTDAG_OUTPUT_DIR"\/$/,
    );
  });

  it('run every task as the stand-in when asked, with scaled runtimes and sizes, and keep the DAG', () => {
    const json = load('1000genome-chameleon-2ch-100k-001.json');
    const job = wfFormatJob(json, {
      standIn: 'all',
      runtimeScale: 0.01,
      sizeScale: 0.5,
      fleet: { instances: 3 },
    });
    expect(job).toMatchObject({ commandTasks: 0, standInTasks: 52, programs: {} });
    const dag = decompose(parseJobSpec(job.spec));
    expect(dag.order).toBe(52);
    const first = job.spec.stages[0] as { command: string[]; estimate: { seconds: number } };
    expect(first.command.slice(0, 4)).toEqual(['spotdag', 'stand-in', '--seconds', '0.536']);
    expect(first.command).toContain('chr21n-1-1001.tar.gz=14141');
    expect(first.estimate.seconds).toBeCloseTo(0.536, 6);
    // Edges carry the (scaled) sizes of the files the child reads from the parent.
    let bytes = 0;
    dag.forEachEdge((_e, a) => (bytes += a.bytes));
    expect(bytes).toBeGreaterThan(0);
    expect(new Set(dag.mapNodes((_n, a) => a.stage))).toEqual(
      new Set(['individuals', 'individuals_merge', 'sifting', 'mutation_overlap', 'frequency']),
    );
  });
});
