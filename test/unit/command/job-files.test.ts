import { readFileSync } from 'node:fs';
import path from 'node:path';
import { outputLines, jobFileSpec, withResolvedWorkdirs } from '../../../cli/job-files';
import { dataDir } from '../dag/helpers';

describe('job files for spotdag run', () => {
  it('say which WfFormat tasks run their program and which the stand-in', () => {
    const file = path.join(dataDir, 'workflows', 'helloworld-chain-5-chameleon.json');
    const json = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    const own = jobFileSpec(file, json, { standIn: 'no-command', runtimeScale: 1, sizeScale: 1 });
    expect(own.lines).toEqual([
      'WfFormat workflow helloworld-chain-5-chameleon.json: 5 tasks',
      '  programs:  5 task(s) run their own command (cpuhog ×5); each must be installed on the instances',
      '  stand-ins: none',
    ]);
    const all = jobFileSpec(file, json, { standIn: 'all', runtimeScale: 0.1, sizeScale: 0.01, instances: 2 });
    expect(all.lines.slice(1)).toEqual([
      '  programs:  none (no task runs its own command)',
      '  stand-ins: 5 task(s), every task (--stand-in all): `spotdag stand-in` burns CPU for runtimeInSeconds × 0.1 and writes the declared outputs at their sizes × 0.01',
    ]);
    expect(all.spec).toMatchObject({ fleet: { provider: 'local', instances: 2 } });
  });

  it('resolve relative working directories against the job file (local instances)', () => {
    const spec = {
      name: 'x',
      stages: [{ id: 'a', workdir: '.' }, { id: 'b', workdir: '/abs' }, { id: 'c' }],
    };
    expect(withResolvedWorkdirs(spec, '/jobs/pipeline/job.json')).toEqual({
      name: 'x',
      stages: [{ id: 'a', workdir: '/jobs/pipeline' }, { id: 'b', workdir: '/abs' }, { id: 'c' }],
    });
  });

  it('list the output files of the last sub-tasks', () => {
    const ref = { digest: 'ab'.repeat(32), bytes: 2048 };
    const output = { type: 'command', files: { 'result.txt': ref }, logs: { stdout: ref, stderr: ref } };
    expect(outputLines(output)).toEqual([`  result.txt  2.0 KiB  sha256 ${ref.digest}`]);
    expect(outputLines({ a: output, b: 42 })).toEqual([`  a: result.txt  2.0 KiB  sha256 ${ref.digest}`]);
    expect(outputLines(42)).toEqual([]);
  });
});
