import { sha256Hex } from '../../../src/artifacts';
import {
  declaredFiles,
  inputFiles,
  isCommandOutput,
  missingOutputs,
  tail,
  type CommandOutput,
} from '../../../src/command/outputs';

const ref = (text: string) => ({ digest: sha256Hex(Buffer.from(text)), bytes: text.length });
const output = (files: Record<string, string>): CommandOutput => ({
  type: 'command',
  files: Object.fromEntries(Object.entries(files).map(([p, t]) => [p, ref(t)])),
  logs: { stdout: ref(''), stderr: ref('') },
});

describe('a command’s input folder', () => {
  it('holds its dependencies’ files by the paths they were written at, and JSON outputs as <id>.json', () => {
    const files = inputFiles('merge', [
      { id: 'process/0000', output: output({ 'processed-00.txt': 'a', 'logs/x.txt': 'x' }) },
      { id: 'process/0001', output: output({ 'processed-01.txt': 'b' }) },
      { id: 'count', output: 42 },
    ]);
    expect(files.map((f) => [f.path, f.from])).toEqual([
      ['count.json', 'count'],
      ['logs/x.txt', 'process/0000'],
      ['processed-00.txt', 'process/0000'],
      ['processed-01.txt', 'process/0001'],
    ]);
    expect(files[0]).toMatchObject({ json: 42 });
  });

  it('takes the same file from two dependencies once, and refuses different contents at one path', () => {
    const same = inputFiles('t', [
      { id: 'a', output: output({ 'common.txt': 'same' }) },
      { id: 'b', output: output({ 'common.txt': 'same' }) },
    ]);
    expect(same).toHaveLength(1);
    expect(() =>
      inputFiles('t', [
        { id: 'a', output: output({ 'part.txt': 'one' }) },
        { id: 'b', output: output({ 'part.txt': 'two' }) },
      ]),
    ).toThrow('sub-task t: input part.txt comes from both a and b with different contents');
  });

  it('keeps only the declared inputs (files or folders), and names a declared input nobody wrote', () => {
    const deps = [
      { id: 'split', output: output({ 'pieces/piece-00': '0', 'pieces/piece-01': '1', 'data.txt': 'd' }) },
    ];
    expect(inputFiles('p', deps, ['pieces']).map((f) => f.path)).toEqual([
      'pieces/piece-00',
      'pieces/piece-01',
    ]);
    expect(inputFiles('p', deps, ['data.txt', 'pieces/piece-01']).map((f) => f.path)).toEqual([
      'data.txt',
      'pieces/piece-01',
    ]);
    expect(inputFiles('p', deps, [])).toEqual([]);
    expect(() => inputFiles('p', deps, ['pieces', 'model.bin', 'piece'])).toThrow(
      'sub-task p: declared inputs model.bin, piece are not among the outputs of its dependencies (split)',
    );
  });
});

describe('a command’s outputs', () => {
  it('are the declared files and folders, or everything written; missing declared ones are named', () => {
    const written = ['result.txt', 'model/a.bin', 'model/b.bin', 'scratch.tmp'];
    expect(declaredFiles(undefined, written)).toEqual(written);
    expect(declaredFiles([{ path: 'model/' }, { path: 'result.txt' }], written)).toEqual([
      'result.txt',
      'model/a.bin',
      'model/b.bin',
    ]);
    expect(missingOutputs([{ path: 'model' }, { path: 'report.html' }, { path: 'mod' }], written)).toEqual([
      'report.html',
      'mod',
    ]);
  });

  it('are recognised by their shape', () => {
    expect(isCommandOutput(output({}))).toBe(true);
    expect(isCommandOutput({ files: {} })).toBe(false);
    expect(isCommandOutput(7)).toBe(false);
  });

  it('end with the last 4 KB of stderr, without a broken character at the cut', () => {
    expect(tail(Buffer.from('short'))).toBe('short');
    const long = Buffer.from(`${'é'.repeat(3000)}END`);
    const cut = tail(long);
    expect(cut.endsWith('END')).toBe(true);
    expect(Buffer.byteLength(cut)).toBeLessThanOrEqual(4096);
    expect(cut.startsWith('\uFFFD')).toBe(false);
  });
});
