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

  it('puts a job with a deadline first in line: it meets its deadline behind a backlog, and misses it without', () => {
    const late = (deadline: boolean) =>
      job('report', 'alpha', { arrivalSeconds: 10, ...(deadline ? { deadlineSeconds: 1_000 } : {}) });
    const withDeadline = simulateTenancy({ ...SIM, config: CONFIG, jobs: [...backlog, late(true)] });
    expect(withDeadline.deadlineMet).toEqual({ report: true });
    expect(withDeadline.makespanSeconds.report).toBeLessThanOrEqual(1_000);
    expect(withDeadline.quotaViolations).toEqual([]);
    const without = simulateTenancy({ ...SIM, config: CONFIG, jobs: [...backlog, late(false)] });
    expect(without.deadlineMet).toEqual({});
    expect(without.makespanSeconds.report).toBeGreaterThan(1_000);
  });

  it('converges to the weights as the backlog deepens (the first jobs are admitted by arrival)', () => {
    const deep = ['alpha', 'beta', 'gamma'].flatMap((tenant) =>
      Array.from({ length: 16 }, (_, i) => job(`${tenant}-${i}`, tenant, { arrivalSeconds: i })),
    );
    const r = simulateTenancy({ ...SIM, config: CONFIG, jobs: deep });
    const { alpha, beta, gamma } = r.meanInstancesWhileBacklogged;
    expect(gamma! / beta!).toBeGreaterThan(1.8);
    expect(alpha! / beta!).toBeLessThan(1.15);
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

  describe('on a shared fleet (one packed pool)', () => {
    const shared = { ...SIM, fleet: 'shared' as const, slotsPerInstance: 4 };

    it('runs every job within the quotas, shared among tenants as own instances are', () => {
      const r = simulateTenancy({
        ...shared,
        slotsPerInstance: 1,
        warmSeconds: 60,
        config: CONFIG,
        jobs: backlog,
      });
      const own = simulateTenancy({ ...SIM, config: CONFIG, jobs: backlog });
      expect(Object.keys(r.makespanSeconds).sort()).toEqual(backlog.map((j) => j.id).sort());
      expect(r.quotaViolations).toEqual([]);
      expect(r.backloggedSeconds).toBeGreaterThan(0);
      // The same ledger admits them: each tenant holds what it holds on its own instances.
      for (const t of ['alpha', 'beta', 'gamma'])
        expect(r.meanInstancesWhileBacklogged[t]).toBeCloseTo(own.meanInstancesWhileBacklogged[t]!, 1);
      // Every dollar is a slot's or an idle instance's.
      const attributed = Object.values(r.costByTenantUsd).reduce((a, b) => a + b, 0);
      expect(attributed).toBeCloseTo(r.costUsd, 9);
    });

    it("packs a job's idle slots with another's work: cheaper than each on its own instance", () => {
      // Each job: one long chain of 4 sub-tasks on a 4-slot instance (3 slots idle on its own).
      const chain = (id: string, tenant: string, arrivalSeconds: number) => ({
        id,
        tenant,
        priority: 5,
        arrivalSeconds,
        instances: 1,
        durations: [100, 100, 100, 100],
        deps: [[], [0], [1], [2]],
      });
      const jobs = [chain('a', 'alpha', 0), chain('b', 'beta', 0), chain('c', 'gamma', 0)];
      const own = simulateTenancy({ ...SIM, slotsPerInstance: 4, config: CONFIG, jobs });
      const pooled = simulateTenancy({ ...shared, config: CONFIG, jobs });
      expect(own.launches).toBe(3);
      expect(pooled.launches).toBe(1);
      expect(pooled.costUsd).toBeCloseTo(own.costUsd / 3, 6);
      expect(pooled.makespanSeconds).toEqual(own.makespanSeconds);
    });

    it('a job that comes while an instance is warm starts without a boot', () => {
      const first = job('first', 'alpha', { chunks: 1 });
      const second = job('second', 'beta', { chunks: 1, arrivalSeconds: 150 });
      const warm = simulateTenancy({ ...shared, warmSeconds: 60, config: CONFIG, jobs: [first, second] });
      const cold = simulateTenancy({ ...shared, warmSeconds: 0, config: CONFIG, jobs: [first, second] });
      // first: boot 30 s, then 100 s and 1 s of work, done at 131 s; second comes at 150 s.
      expect(warm.launches).toBe(1);
      expect(warm.makespanSeconds.second).toBe(101);
      expect(cold.launches).toBe(2);
      expect(cold.makespanSeconds.second).toBe(131);
    });

    it('a priority-1 job takes free slots at once and yields running ones at a checkpoint', () => {
      const urgent = job('urgent', 'beta', { priority: 1, instances: 2, arrivalSeconds: 50 });
      const alone = simulateTenancy({ ...shared, config: CONFIG, jobs: [{ ...urgent, arrivalSeconds: 0 }] });
      const busy = simulateTenancy({ ...shared, config: CONFIG, jobs: [...backlog, urgent] });
      expect(busy.quotaViolations).toEqual([]);
      expect(busy.yields).toBeGreaterThan(0);
      expect(busy.lostWorkSeconds).toBeLessThan(busy.yields * SIM.checkpointSeconds);
      // No boot to wait for: the pool's instances are up, only a drain stands in its way.
      expect(busy.makespanSeconds.urgent!).toBeLessThanOrEqual(
        alone.makespanSeconds.urgent! - SIM.bootSeconds + SIM.drainSeconds,
      );
    });
  });
});
