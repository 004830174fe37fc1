import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  ProgramNotStartedError,
  signalRecordedGroups,
  startProcess,
} from '../../../src/command/process-group';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'spotdag-process-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Processes whose command line holds `marker`. */
function running(marker: string): string[] {
  return execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(marker) && !line.includes('ps -eo'));
}

async function waitFor(predicate: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const files = (name: string, marker = '') => ({
  stdoutFile: path.join(dir, `${name}.out`),
  stderrFile: path.join(dir, `${name}.err`),
  cwd: dir,
  env: { PATH: process.env.PATH ?? '/usr/bin:/bin', MARKER: marker },
});
/** A shell loop whose command line carries $MARKER (the leader's own command line does not). */
const LOOP = `/bin/sh -c 'while :; do sleep 0.2; done' "$MARKER"`;

describe('a command’s process group', () => {
  it('reports the exit code and keeps stdout and stderr in files', async () => {
    const child = await startProcess({
      file: '/bin/sh',
      args: ['-c', 'echo out; echo err >&2; exit 3'],
      ...files('codes'),
    });
    expect(await child.exited).toEqual({ code: 3, signal: null });
    expect(readFileSync(path.join(dir, 'codes.out'), 'utf8')).toBe('out\n');
    expect(readFileSync(path.join(dir, 'codes.err'), 'utf8')).toBe('err\n');
  });

  it('gives the program SIGTERM and its grace period, then kills what is left of the group', async () => {
    const marker = `spotdag-test-${process.pid}-grace`;
    // The leader saves on SIGTERM and exits; a background child ignores SIGTERM and must be killed.
    const script = `trap 'echo saved > "${dir}/saved"; exit 143' TERM; (trap '' TERM; exec ${LOOP}) & while :; do sleep 0.1; done`;
    const child = await startProcess({
      file: '/bin/sh',
      args: ['-c', script],
      ...files('grace', marker),
      groupsDir: path.join(dir, 'groups'),
    });
    await waitFor(() => running(marker).length === 1);
    expect(readdirSync(path.join(dir, 'groups'))).toEqual([String(child.pid)]);
    await child.terminate(2_000);
    expect(readFileSync(path.join(dir, 'saved'), 'utf8')).toBe('saved\n');
    expect((await child.exited).code).toBe(143);
    await waitFor(() => running(marker).length === 0);
    expect(readdirSync(path.join(dir, 'groups'))).toEqual([]);
  });

  it('SIGKILLs a program that ignores SIGTERM once the grace period is over', async () => {
    const ready = path.join(dir, 'stubborn.ready');
    const child = await startProcess({
      file: '/bin/sh',
      args: ['-c', `trap '' TERM; touch "${ready}"; while :; do sleep 0.1; done`],
      ...files('stubborn'),
    });
    await waitFor(() => existsSync(ready)); // its trap is set
    const started = Date.now();
    await child.terminate(500);
    expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
  });

  it('can be killed from its marker by whoever manages the machine', async () => {
    const marker = `spotdag-test-${process.pid}-marker`;
    const groups = path.join(dir, 'machine-groups');
    const child = await startProcess({
      file: '/bin/sh',
      args: ['-c', `${LOOP} & wait`],
      ...files('machine', marker),
      groupsDir: groups,
    });
    await waitFor(() => running(marker).length === 1);
    expect(signalRecordedGroups(groups, 'SIGKILL')).toEqual([child.pid]);
    expect((await child.exited).signal).toBe('SIGKILL');
    await waitFor(() => running(marker).length === 0);
  });

  it('says which program could not be started', async () => {
    const started = startProcess({ file: 'spotdag-no-such-program', args: [], ...files('missing') });
    await expect(started).rejects.toBeInstanceOf(ProgramNotStartedError);
    await expect(started).rejects.toMatchObject({ program: 'spotdag-no-such-program', code: 'ENOENT' });
  });
});
