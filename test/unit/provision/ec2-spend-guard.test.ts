import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { InstanceCapExceededError, SpendCapExceededError } from '../../../src/provision/ec2-errors';
import { FileSpendLedger, SpendGuard } from '../../../src/provision/spend-guard';

describe('SpendGuard: hard caps per job', () => {
  it('refuses a batch over the instance cap, counting what runs already', () => {
    const guard = new SpendGuard({ maxInstances: 3, maxSpendUsd: 100 });
    guard.admit('j', 1, [
      { key: 'i0#0', usd: 1 },
      { key: 'i1#0', usd: 1 },
    ]);
    expect(() => guard.admit('j', 3, [{ key: 'i2#0', usd: 1 }])).toThrow(InstanceCapExceededError);
    expect(guard.committedUsd('j')).toBe(2);
  });

  it('refuses the launch that could take spend past the cap, reserving nothing of a refused batch', () => {
    const guard = new SpendGuard({ maxInstances: 10, maxSpendUsd: 1 });
    guard.admit('j', 0, [{ key: 'a', usd: 0.6 }]);
    const err = (() => {
      try {
        guard.admit('j', 1, [
          { key: 'b', usd: 0.3 },
          { key: 'c', usd: 0.3 },
        ]);
      } catch (e) {
        return e as SpendCapExceededError;
      }
    })();
    expect(err).toBeInstanceOf(SpendCapExceededError);
    expect(err).toMatchObject({ committedUsd: 0.6, requestedUsd: 0.6, maxSpendUsd: 1, nonRetryable: true });
    expect(guard.committedUsd('j')).toBe(0.6);
    guard.admit('j', 1, [{ key: 'b', usd: 0.4 }]); // exactly at the cap is fine
    expect(guard.committedUsd('j')).toBeCloseTo(1, 12);
    expect(guard.committedUsd('other')).toBe(0);
  });

  it('does not count a retried launch twice', () => {
    const guard = new SpendGuard({ maxInstances: 10, maxSpendUsd: 1 });
    guard.admit('j', 0, [{ key: 'i0#0', usd: 0.8 }]);
    guard.admit('j', 0, [{ key: 'i0#0', usd: 0.8 }]);
    expect(guard.committedUsd('j')).toBe(0.8);
  });

  it('keeps reservations on disk across restarts of the control worker', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'spotdag-ledger-'));
    new SpendGuard({ maxInstances: 10, maxSpendUsd: 1 }, new FileSpendLedger(dir)).admit('job/1', 0, [
      { key: 'i0#0', usd: 0.7 },
    ]);
    const restarted = new SpendGuard({ maxInstances: 10, maxSpendUsd: 1 }, new FileSpendLedger(dir));
    expect(restarted.committedUsd('job/1')).toBe(0.7);
    expect(() => restarted.admit('job/1', 0, [{ key: 'i1#0', usd: 0.7 }])).toThrow(SpendCapExceededError);
  });

  it('runs check-and-launch sections of one job one at a time, even after a failure', async () => {
    const guard = new SpendGuard({ maxInstances: 10, maxSpendUsd: 1 });
    const events: string[] = [];
    const section = (name: string, fail = false) =>
      guard.serialize('j', async () => {
        events.push(`${name}:start`);
        await new Promise((r) => setTimeout(r, 10));
        events.push(`${name}:end`);
        if (fail) throw new Error(name);
      });
    await Promise.allSettled([section('a', true), section('b'), section('c')]);
    expect(events).toEqual(['a:start', 'a:end', 'b:start', 'b:end', 'c:start', 'c:end']);
  });
});
