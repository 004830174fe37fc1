import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseOutputArg, runStandIn } from '../../../src/command/stand-in';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'spotdag-stand-in-'));
  for (const d of ['in', 'out', 'ck']) mkdirSync(path.join(dir, d));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));
const folders = () => ({
  input: path.join(dir, 'in'),
  output: path.join(dir, 'out'),
  checkpoint: path.join(dir, 'ck'),
  progressFile: path.join(dir, 'progress'),
});

describe('the stand-in', () => {
  it('burns its seconds, then writes its outputs at their sizes, the same bytes every time', async () => {
    const plan = {
      seconds: 0.3,
      outputs: [
        { path: 'a.dat', bytes: 3_000_000 },
        { path: 'sub/b.dat', bytes: 10 },
      ],
      inputs: [],
    };
    const started = performance.now();
    expect(await runStandIn(plan, folders(), () => false)).toBe('done');
    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
    expect(statSync(path.join(dir, 'out', 'a.dat')).size).toBe(3_000_000);
    expect(statSync(path.join(dir, 'out', 'sub', 'b.dat')).size).toBe(10);
    const first = readFileSync(path.join(dir, 'out', 'a.dat'));
    rmSync(path.join(dir, 'ck'), { recursive: true });
    mkdirSync(path.join(dir, 'ck'));
    await runStandIn(plan, folders(), () => false);
    expect(readFileSync(path.join(dir, 'out', 'a.dat')).equals(first)).toBe(true);
    expect(readFileSync(path.join(dir, 'progress'), 'utf8')).toBe('1');
  });

  it('saves how far it got when stopped, and resumes from there', async () => {
    const plan = { seconds: 1, outputs: [], inputs: [] };
    let calls = 0;
    expect(await runStandIn(plan, folders(), () => ++calls > 2)).toBe('stopped');
    const saved = JSON.parse(readFileSync(path.join(dir, 'ck', 'stand-in.json'), 'utf8')) as { done: number };
    expect(saved.done).toBeCloseTo(0.5, 5);
    expect(Number(readFileSync(path.join(dir, 'progress'), 'utf8'))).toBeCloseTo(0.5, 5);
    const started = performance.now();
    expect(await runStandIn(plan, folders(), () => false)).toBe('done');
    expect(performance.now() - started).toBeLessThan(900); // only the half that was left
  });

  it('needs its inputs, and parses outputs as path=bytes', async () => {
    await expect(
      runStandIn({ seconds: 0, outputs: [], inputs: ['x.vcf'] }, folders(), () => false),
    ).rejects.toThrow(/input x.vcf is not in/);
    writeFileSync(path.join(dir, 'in', 'x.vcf'), 'x');
    expect(await runStandIn({ seconds: 0, outputs: [], inputs: ['x.vcf'] }, folders(), () => false)).toBe(
      'done',
    );
    expect(parseOutputArg('dir/f=a=12')).toEqual({ path: 'dir/f=a', bytes: 12 });
    expect(() => parseOutputArg('f=-1')).toThrow('--output f=-1: expected <path>=<bytes>');
    expect(() => parseOutputArg('nosize')).toThrow(/expected <path>=<bytes>/);
  });
});
