import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileRef } from '../../../src/artifacts';
import { archiveFolder, extractArchive, listFiles, readTail } from '../../../src/command/folders';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'spotdag-folders-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('command folders', () => {
  it('list regular files below a folder, sorted, skipping symlinks', async () => {
    const out = path.join(dir, 'out');
    mkdirSync(path.join(out, 'model'), { recursive: true });
    writeFileSync(path.join(out, 'result.txt'), 'r');
    writeFileSync(path.join(out, 'model', 'b.bin'), 'b');
    writeFileSync(path.join(out, 'model', 'a.bin'), 'a');
    symlinkSync('/etc/hostname', path.join(out, 'link'));
    expect(await listFiles(out)).toEqual({
      files: ['model/a.bin', 'model/b.bin', 'result.txt'],
      skipped: ['link'],
    });
  });

  it('archive a checkpoint folder to the same bytes while it is unchanged, and unpack it', async () => {
    const ck = path.join(dir, 'ck');
    mkdirSync(path.join(ck, 'state'), { recursive: true });
    expect(await archiveFolder(ck, path.join(dir, 'empty.tar'))).toBe('empty'); // a folder, no file
    writeFileSync(path.join(ck, 'state', 'step.json'), '{"step": 41}');
    writeFileSync(path.join(ck, 'weights.bin'), Buffer.alloc(100_000, 7));
    await archiveFolder(ck, path.join(dir, 'one.tar'));
    await archiveFolder(ck, path.join(dir, 'two.tar'));
    expect((await fileRef(path.join(dir, 'one.tar'))).digest).toBe(
      (await fileRef(path.join(dir, 'two.tar'))).digest,
    );
    const restored = path.join(dir, 'restored');
    mkdirSync(restored);
    await extractArchive(path.join(dir, 'one.tar'), restored);
    expect(readFileSync(path.join(restored, 'state', 'step.json'), 'utf8')).toBe('{"step": 41}');
    expect(readFileSync(path.join(restored, 'weights.bin')).equals(Buffer.alloc(100_000, 7))).toBe(true);
    const nothing = path.join(dir, 'nothing');
    mkdirSync(nothing);
    expect(await archiveFolder(nothing, path.join(dir, 'nothing.tar'))).toBe('empty');
  });

  it('archive files as they were when it started, while the program renames new ones into place', async () => {
    const busy = path.join(dir, 'busy');
    mkdirSync(busy);
    for (let i = 0; i < 200; i++) writeFileSync(path.join(busy, `chunk-${i}`), `chunk ${i}`);
    // A program saving its state over and over: each save is a temporary file renamed into place.
    let stop = false;
    const writer = (async () => {
      for (let i = 0; !stop; i++) {
        writeFileSync(path.join(busy, 'state.json.tmp'), `{"step": ${i}}`);
        renameSync(path.join(busy, 'state.json.tmp'), path.join(busy, 'state.json'));
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    for (let n = 0; n < 5; n++)
      expect(await archiveFolder(busy, path.join(dir, `busy-${n}.tar`))).toBe('archived');
    stop = true;
    await writer;
    const restored = path.join(dir, 'busy-restored');
    mkdirSync(restored);
    await extractArchive(path.join(dir, 'busy-4.tar'), restored);
    expect(readFileSync(path.join(restored, 'chunk-199'), 'utf8')).toBe('chunk 199');
    expect(readFileSync(path.join(restored, 'state.json'), 'utf8')).toMatch(/^\{"step": \d+\}$/);
  });

  it('read the tail of a log', async () => {
    writeFileSync(path.join(dir, 'log'), 'abcdefghij');
    expect((await readTail(path.join(dir, 'log'), 4)).toString()).toBe('ghij');
    expect((await readTail(path.join(dir, 'missing'), 4)).length).toBe(0);
  });
});
