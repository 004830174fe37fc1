import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LocalProvisioner } from '../../../src/provision/local';
import type { InstanceLostEvent } from '../../../src/provision/provisioner';
import { waitForExit } from '../../../src/util/process';

/**
 * Open TCP servers of this process (the instances' metadata endpoints among them) once closes are
 * done: a closed server's handle is freed in a later turn of the event loop (on a busy machine,
 * several), so this waits up to a second for the count to reach `expected`.
 */
async function openServers(expected?: number): Promise<number> {
  const count = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
  await new Promise((resolve) => setTimeout(resolve, 0));
  for (let waited = 0; waited < 1_000 && expected !== undefined && count() !== expected; waited += 10)
    await new Promise((resolve) => setTimeout(resolve, 10));
  return count();
}

describe('LocalProvisioner', () => {
  let stateDir: string;
  let provisioner: LocalProvisioner;

  beforeEach(() => {
    stateDir = mkdtempSync(path.join(tmpdir(), 'spotdag-local-'));
    // An instance that only idles: the provisioner's bookkeeping is under test, not the worker.
    provisioner = new LocalProvisioner({
      stateDir,
      // `--`: the provisioner's flags (--instance-id, …) go to the script, not to node.
      command: { file: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)', '--'] },
    });
  });
  afterEach(async () => {
    await Promise.all((await provisioner.list()).map((i) => provisioner.stop(i.id, 1_000)));
    await provisioner.close();
    rmSync(stateDir, { recursive: true, force: true });
  });

  async function killed(id: string): Promise<void> {
    const pid = provisioner.pidOf(id)!;
    provisioner.kill(id, 'SIGKILL');
    await waitForExit(pid, 5_000);
  }

  it('starts one replacement when several sub-tasks of a lost instance ask at once', async () => {
    const before = await openServers();
    const [lost] = await provisioner.provision('job', [{ id: 'i0', pool: 'local@test', slots: 3 }]);
    await killed(lost!.id);
    const replacements = await Promise.all([1, 2, 3].map(() => provisioner.replace('job', lost!.id)));
    expect(new Set(replacements.map((r) => r.handle)).size).toBe(1); // one process
    expect((await provisioner.list('job')).map((i) => i.id)).toEqual([`${lost!.id}-r1`]);
    // Its endpoint and the lost instance's: nothing else stays open after close().
    expect(await openServers(before + 2)).toBe(before + 2);
    await provisioner.release('job', replacements.slice(0, 1));
    await provisioner.close();
    expect(await openServers(before)).toBe(before);
  });

  it('closes the endpoint of a replacement that died before it is started again', async () => {
    const before = await openServers();
    const [lost] = await provisioner.provision('job', [{ id: 'i0', pool: 'local@test', slots: 1 }]);
    await killed(lost!.id);
    const first = await provisioner.replace('job', lost!.id);
    await killed(first.id);
    // A retried relocation asks again for the lost instance's replacement, which died meanwhile.
    const second = await provisioner.replace('job', lost!.id);
    expect(second.id).toBe(first.id);
    expect(second.handle).not.toBe(first.handle);
    await provisioner.close();
    expect(await openServers(before)).toBe(before);
  });

  /** Lost-instance events of the provisioner for `ms`, or until `count` of them came. */
  async function lostEvents(p: LocalProvisioner, ms: number, count = Infinity): Promise<InstanceLostEvent[]> {
    const events: InstanceLostEvent[] = [];
    p.watchLost((e) => events.push(e));
    for (let waited = 0; waited < ms && events.length < count; waited += 50)
      await new Promise((resolve) => setTimeout(resolve, 50));
    return events;
  }

  it('reports an instance whose process is suspended (SIGSTOP) as lost, once, and not its neighbours', async () => {
    const [stopped, neighbour] = await provisioner.provision('job', [
      { id: 'i0', pool: 'local@test', slots: 1 },
      { id: 'i1', pool: 'local@test', slots: 1 },
    ]);
    expect(provisioner.kill(stopped!.id, 'SIGSTOP')).toBe(true);
    const events = await lostEvents(provisioner, 5_000, 1);
    expect(events).toEqual([
      { jobId: 'job', instanceId: stopped!.id, reason: 'suspended', atMs: expect.any(Number) as number },
    ]);
    // Woken, it is not reported again (its work has moved; fencing keeps what it writes out).
    provisioner.kill(stopped!.id, 'SIGCONT');
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(events).toHaveLength(1);
    expect((await provisioner.list('job')).map((i) => i.id).sort()).toEqual(
      [stopped!.id, neighbour!.id].sort(),
    );
  });

  it('with seeSuspended off, a suspended process is left to the other signals', async () => {
    const blind = new LocalProvisioner({
      stateDir: path.join(stateDir, 'blind'),
      command: { file: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)', '--'] },
      seeSuspended: false,
    });
    try {
      const [instance] = await blind.provision('job', [{ id: 'i0', pool: 'local@test', slots: 1 }]);
      expect(blind.kill(instance!.id, 'SIGSTOP')).toBe(true);
      expect(await lostEvents(blind, 2_500)).toEqual([]);
    } finally {
      await Promise.all((await blind.list()).map((i) => blind.stop(i.id, 1_000)));
      await blind.close();
    }
  });
});
