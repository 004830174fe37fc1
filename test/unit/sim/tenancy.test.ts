import { simulateTenancy, type TenancySimJob } from '../../../src/sim/tenancy';
import type { TenancyConfig } from '../../../src/tenancy/types';

const CONFIG: TenancyConfig = {
  tenants: [
    { name: 'alpha', priority: 5, weight: 1, quotas: {}, onQuota: 'queue' },
    { name: 'beta', priority: 5, weight: 1, quotas: {}, onQuota: 'queue' },
    { name: 'gamma', priority: 5, weight: 2, quotas: {}, onQuota: 'queue' },
  ],
  fleet: { maxInstances: 4 },
};

/** `chunks` independent sub-tasks of `seconds` each, then one that depends on them all. */
function job(
  id: string,
  tenant: string,
  options: Partial<TenancySimJob> & { chunks?: number; seconds?: number } = {},
) {
  const chunks = options.chunks ?? 4;
  const seconds = options.seconds ?? 100;
  return {
    id,
    tenant,
    priority: 5,
    arrivalSeconds: 0,
    instances: 1,
    durations: [...Array<number>(chunks).fill(seconds), 1],
    deps: [...Array.from({ length: chunks }, () => []), Array.from({ length: chunks }, (_, k) => k)],
    ...options,
  };
}

const SIM = { bootSeconds: 30, pricePerHour: 3.6, checkpointSeconds: 10, drainSeconds: 5 };

describe('the tenancy simulator (the fleet ledger over time)', () => {
  const backlog = ['alpha', 'beta', 'gamma'].flatMap((tenant) =>
    [0, 1, 2, 3].map((i) => job(`${tenant}-${i}`, tenant, { arrivalSeconds: i })),
  );

  it('runs every job, never exceeds a quota, and shares the fleet by weight while all wait', () => {
    const r = simulateTenancy({ ...SIM, config: CONFIG, jobs: backlog });
    expect(Object.keys(r.makespanSeconds).sort()).toEqual(backlog.map((j) => j.id).sort());
    expect(r.quotaViolations).toEqual([]);
    expect(r.backloggedSeconds).toBeGreaterThan(0);
    expect(r.meanInstancesWhileBacklogged.alpha).toBeCloseTo(1, 0);
    expect(r.meanInstancesWhileBacklogged.beta).toBeCloseTo(1, 0);
    expect(r.meanInstancesWhileBacklogged.gamma).toBeCloseTo(2, 0);
    // 12 jobs × (4 × 100 s + 1 s) of work plus a boot each, at $1 per 1,000 s.
    expect(r.costUsd).toBeCloseTo((12 * (401 + 30)) / 1000, 6);
  });

  it('a priority-1 job behind the backlog takes instances at a checkpoint: little slower than alone', () => {
    const urgent = job('urgent', 'beta', { priority: 1, instances: 2, arrivalSeconds: 50 });
    const alone = simulateTenancy({ ...SIM, config: CONFIG, jobs: [{ ...urgent, arrivalSeconds: 0 }] });
    const busy = simulateTenancy({ ...SIM, config: CONFIG, jobs: [...backlog, urgent] });
    expect(busy.quotaViolations).toEqual([]);
    expect(busy.yields).toBe(2);
    // Each stopped sub-task loses less than a checkpoint interval.
    expect(busy.lostWorkSeconds).toBeLessThan(2 * SIM.checkpointSeconds);
    // The wait is the yielded instances' drain: nothing else is ahead of it.
    expect(busy.makespanSeconds.urgent! - alone.makespanSeconds.urgent!).toBeCloseTo(SIM.drainSeconds, 6);
    expect(Object.keys(busy.makespanSeconds)).toHaveLength(13);
  });

  it("keeps a tenant's instance quota", () => {
    const config: TenancyConfig = {
      ...CONFIG,
      tenants: CONFIG.tenants.map((t) => (t.name === 'gamma' ? { ...t, quotas: { maxInstances: 1 } } : t)),
    };
    const r = simulateTenancy({ ...SIM, config, jobs: backlog });
    expect(r.quotaViolations).toEqual([]);
    expect(r.meanInstancesWhileBacklogged.gamma).toBeLessThanOrEqual(1);
  });
});
