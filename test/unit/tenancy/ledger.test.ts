import fc from 'fast-check';
import { FleetLedger, type FleetMessage } from '../../../src/tenancy/ledger';
import type { FleetLimits, Tenant } from '../../../src/tenancy/types';

const HOUR = 3_600_000;

function tenant(name: string, over: Partial<Tenant> = {}): Tenant {
  return { name, priority: 3, weight: 1, quotas: {}, onQuota: 'queue', ...over };
}

function admitted(messages: FleetMessage[]): string[] {
  return messages.flatMap((m) => (m.kind === 'admission' && m.status === 'admitted' ? [m.to] : []));
}

function granted(messages: FleetMessage[], jobId: string): string[] {
  return messages.flatMap((m) => (m.kind === 'grant' && m.to === jobId ? m.planIds : []));
}

describe('FleetLedger: admission', () => {
  it('admits at once when no quota stands in the way', () => {
    const ledger = new FleetLedger();
    expect(
      ledger.admit({ jobId: 'a', tenant: tenant('t'), priority: 3, limits: {}, instances: 1 }, 0),
    ).toEqual([{ to: 'a', kind: 'admission', status: 'admitted' }]);
  });

  it("queues over a tenant's job quota, with the position and the quota named, and admits when one leaves", () => {
    const ledger = new FleetLedger();
    const t = tenant('t', { quotas: { maxConcurrentJobs: 1 } });
    ledger.admit({ jobId: 'a', tenant: t, priority: 3, limits: {}, instances: 1 }, 0);
    expect(ledger.admit({ jobId: 'b', tenant: t, priority: 3, limits: {}, instances: 1 }, 1)).toEqual([
      {
        to: 'b',
        kind: 'admission',
        status: 'queued',
        position: 1,
        reason: 'tenant t: quotas.maxConcurrentJobs (1) reached',
      },
    ]);
    expect(admitted(ledger.leave('a', 2))).toEqual(['b']);
  });

  it('rejects naming the quota when the tenant is set to reject', () => {
    const ledger = new FleetLedger();
    const t = tenant('interns', { quotas: { maxConcurrentJobs: 1 }, onQuota: 'reject' });
    ledger.admit({ jobId: 'a', tenant: t, priority: 3, limits: {}, instances: 1 }, 0);
    expect(ledger.admit({ jobId: 'b', tenant: t, priority: 3, limits: {}, instances: 1 }, 1)).toEqual([
      {
        to: 'b',
        kind: 'admission',
        status: 'rejected',
        reason: 'tenant interns: quotas.maxConcurrentJobs (1) reached',
      },
    ]);
    expect(ledger.usage(1).jobs.map((j) => j.jobId)).toEqual(['a']);
  });

  it('deadlines first, least laxity first, then priority; a deadline does not preempt', () => {
    const limits: FleetLimits = { maxConcurrentJobs: 1 };
    const t = tenant('t');
    const line = (withDeadlines: boolean) => {
      const ledger = new FleetLedger();
      const deadline = (ms: number) => (withDeadlines ? { latestStartMs: ms } : {});
      ledger.admit({ jobId: 'running', tenant: t, priority: 5, limits, instances: 1 }, 0);
      ledger.admit({ jobId: 'urgent', tenant: t, priority: 1, limits, instances: 1 }, 1);
      ledger.admit({ jobId: 'loose', tenant: t, priority: 5, limits, instances: 1, ...deadline(900_000) }, 2);
      ledger.admit({ jobId: 'tight', tenant: t, priority: 5, limits, instances: 1, ...deadline(600_000) }, 3);
      const queued = ledger.usage(4).jobs.filter((j) => j.status === 'queued');
      return { ledger, order: queued.sort((a, b) => a.position! - b.position!).map((j) => j.jobId) };
    };
    expect(line(false).order).toEqual(['urgent', 'loose', 'tight']);
    const { ledger, order } = line(true);
    expect(order).toEqual(['tight', 'loose', 'urgent']);
    // Nobody was asked to yield for them: the running job keeps its place until it leaves.
    expect(admitted(ledger.leave('running', 5))).toEqual(['tight']);
  });

  it('on a full fleet, a higher priority goes first, then the tenant with the smaller share per weight', () => {
    const ledger = new FleetLedger();
    const limits: FleetLimits = { maxConcurrentJobs: 2 };
    const light = tenant('light', { weight: 1 });
    const heavy = tenant('heavy', { weight: 2 });
    ledger.admit({ jobId: 'l1', tenant: light, priority: 5, limits, instances: 1 }, 0);
    ledger.admit({ jobId: 'l2', tenant: light, priority: 5, limits, instances: 1 }, 0);
    ledger.admit({ jobId: 'l3', tenant: light, priority: 5, limits, instances: 1 }, 1);
    ledger.admit({ jobId: 'h1', tenant: heavy, priority: 5, limits, instances: 1 }, 2);
    ledger.admit({ jobId: 'urgent', tenant: light, priority: 1, limits, instances: 1 }, 3);
    expect(ledger.usage(3).jobs.find((j) => j.jobId === 'urgent')!.position).toBe(1);
    expect(admitted(ledger.leave('l1', 4))).toEqual(['urgent']);
    // light holds one job (share 1 per weight), heavy none: heavy's job goes before l3, which came first.
    expect(admitted(ledger.leave('l2', 5))).toEqual(['h1']);
    expect(admitted(ledger.leave('h1', 6))).toEqual(['l3']);
  });

  it('a repeated request (a retried activity) changes nothing', () => {
    const ledger = new FleetLedger();
    const t = tenant('t', { quotas: { maxConcurrentJobs: 1 } });
    ledger.admit({ jobId: 'a', tenant: t, priority: 3, limits: {}, instances: 1 }, 0);
    ledger.admit({ jobId: 'b', tenant: t, priority: 3, limits: {}, instances: 1 }, 0);
    expect(ledger.admit({ jobId: 'a', tenant: t, priority: 3, limits: {}, instances: 1 }, 1)).toEqual([
      { to: 'a', kind: 'admission', status: 'admitted' },
    ]);
    expect(
      ledger.admit({ jobId: 'b', tenant: t, priority: 3, limits: {}, instances: 1 }, 1)[0],
    ).toMatchObject({
      status: 'queued',
      position: 1,
    });
    expect(ledger.usage(1).tenants[0]).toMatchObject({ admittedJobs: 1, queuedJobs: 1 });
  });
});

describe('FleetLedger: instance leases', () => {
  it("reserves a job's instances at admission within the quota; leases are granted within the reservation", () => {
    const ledger = new FleetLedger();
    const t = tenant('t', { quotas: { maxInstances: 2 } });
    ledger.admit({ jobId: 'a', tenant: t, priority: 3, limits: {}, instances: 2 }, 0);
    expect(
      ledger.admit({ jobId: 'b', tenant: t, priority: 3, limits: {}, instances: 1 }, 0)[0],
    ).toMatchObject({
      status: 'queued',
      reason: 'tenant t: quotas.maxInstances (2): 2 reserved, the job needs 1',
    });
    const wants = ['i0', 'i1', 'i2'].map((planId) => ({ planId, pricePerHour: 1 }));
    expect(granted(ledger.requestLeases('a', wants, 0), 'a')).toEqual(['i0', 'i1']);
    // A third (a replacement asked before the lost one went back) waits for one to go back.
    expect(granted(ledger.returnLeases('a', ['i0'], HOUR), 'a')).toEqual(['i2']);
    expect(ledger.usage(HOUR).tenants[0]).toMatchObject({ instances: 2, reservedInstances: 2, spendUsd: 2 });
    expect(admitted(ledger.leave('a', HOUR))).toEqual(['b']);
    expect(ledger.usage(HOUR).tenants[0]).toMatchObject({ instances: 0, reservedInstances: 1, spendUsd: 2 });
  });

  it('a job that reached its spend quota gets no new instance; the day quota holds until midnight UTC', () => {
    const ledger = new FleetLedger();
    const day0 = Date.UTC(2026, 10, 30);
    const t = tenant('t', { quotas: { maxSpendPerJobUsd: 1, maxSpendPerDayUsd: 1.5 } });
    ledger.admit({ jobId: 'a', tenant: t, priority: 3, limits: {}, instances: 1 }, day0);
    ledger.requestLeases('a', [{ planId: 'i0', pricePerHour: 1 }], day0);
    ledger.returnLeases('a', ['i0'], day0 + HOUR); // $1 spent
    expect(granted(ledger.requestLeases('a', [{ planId: 'i1', pricePerHour: 1 }], day0 + HOUR), 'a')).toEqual(
      [],
    );
    ledger.returnLeases('a', ['i1'], day0 + HOUR);
    ledger.admit({ jobId: 'b', tenant: t, priority: 3, limits: {}, instances: 1 }, day0 + HOUR);
    ledger.requestLeases('b', [{ planId: 'i0', pricePerHour: 1 }], day0 + HOUR);
    ledger.returnLeases('b', ['i0'], day0 + 1.5 * HOUR); // $1.50 today: the day's quota
    const late = ledger.admit(
      { jobId: 'c', tenant: t, priority: 3, limits: {}, instances: 1 },
      day0 + 2 * HOUR,
    );
    expect(late[0]).toMatchObject({
      status: 'queued',
      reason: 'tenant t: quotas.maxSpendPerDayUsd ($1.5) reached today (UTC)',
    });
    expect(ledger.nextWakeMs(day0 + 2 * HOUR)).toBe(day0 + 24 * HOUR);
    expect(admitted(ledger.configure([], {}, day0 + 24 * HOUR))).toContain('c');
  });

  it('a higher priority takes instances from a lower one, which yields them at a checkpoint and gets them back', () => {
    const ledger = new FleetLedger();
    const limits: FleetLimits = { maxInstances: 2 };
    const t = tenant('t');
    ledger.admit({ jobId: 'low', tenant: t, priority: 5, limits, instances: 2 }, 0);
    ledger.requestLeases(
      'low',
      ['i0', 'i1'].map((planId) => ({ planId, pricePerHour: 1 })),
      0,
    );
    // Admitted at once: the low-priority job is told to give one back.
    expect(ledger.admit({ jobId: 'urgent', tenant: t, priority: 1, limits, instances: 1 }, 1)).toEqual([
      { to: 'low', kind: 'yield', count: 1 },
      { to: 'urgent', kind: 'admission', status: 'admitted' },
    ]);
    // Its lease waits for the yield; the fleet never holds more than 2.
    expect(granted(ledger.requestLeases('urgent', [{ planId: 'i0', pricePerHour: 1 }], 2), 'urgent')).toEqual(
      [],
    );
    expect(granted(ledger.returnLeases('low', ['i1'], 3), 'urgent')).toEqual(['i0']);
    // The low job asks again for its second instance: it waits until the urgent job is done.
    expect(granted(ledger.requestLeases('low', [{ planId: 'i2', pricePerHour: 1 }], 4), 'low')).toEqual([]);
    expect(granted(ledger.leave('urgent', 5), 'low')).toEqual(['i2']);
    expect(ledger.usage(5).jobs).toMatchObject([{ jobId: 'low', instances: 2, reservedInstances: 2 }]);
  });

  it('takes nothing from the same or a higher priority: the job waits', () => {
    const ledger = new FleetLedger();
    const limits: FleetLimits = { maxInstances: 2 };
    ledger.admit({ jobId: 'a', tenant: tenant('t'), priority: 2, limits, instances: 2 }, 0);
    expect(ledger.admit({ jobId: 'b', tenant: tenant('t'), priority: 2, limits, instances: 1 }, 1)).toEqual([
      {
        to: 'b',
        kind: 'admission',
        status: 'queued',
        position: 1,
        reason: 'fleet.maxInstances (2): 2 reserved, the job needs 1',
      },
    ]);
  });

  it('stops a job a drain time before its spend quota, so that what it spends never passes it', () => {
    const ledger = new FleetLedger();
    const t = tenant('t', { quotas: { maxSpendPerJobUsd: 1 } });
    const limits: FleetLimits = { drainSeconds: 60 };
    ledger.admit({ jobId: 'a', tenant: t, priority: 3, limits, instances: 1 }, 0);
    ledger.requestLeases('a', [{ planId: 'i0', pricePerHour: 3.6 }], 0); // $0.001 a second
    expect(ledger.tick(900_000)).toEqual([]); // $0.90 spent, $0.96 if it ran a drain time more
    // The fleet wakes when $0.94 is spent: 60 s of drain at $0.001/s later, $1.00.
    expect(ledger.nextWakeMs(900_000)).toBe(940_000);
    expect(ledger.tick(940_000)).toEqual([
      { to: 'a', kind: 'stop', reason: 'tenant t: quotas.maxSpendPerJobUsd ($1) reached by job a' },
    ]);
    expect(granted(ledger.requestLeases('a', [{ planId: 'i1', pricePerHour: 3.6 }], 950_000), 'a')).toEqual(
      [],
    );
    ledger.leave('a', 1_000_000); // its instance gone within the drain time
    expect(ledger.usage(1_000_000).tenants[0]!.spendUsd).toBeCloseTo(1, 9);
  });

  it("yields every instance of a tenant at its day's spend quota, and gives them back the next UTC day", () => {
    const ledger = new FleetLedger();
    const day0 = Date.UTC(2026, 10, 30);
    const t = tenant('t', { quotas: { maxSpendPerDayUsd: 1 } });
    const limits: FleetLimits = { drainSeconds: 60 };
    for (const jobId of ['a', 'b']) {
      ledger.admit({ jobId, tenant: t, priority: 3, limits, instances: 1 }, day0);
      ledger.requestLeases(jobId, [{ planId: 'i0', pricePerHour: 1.8 }], day0); // together $0.001 a second
    }
    const at = ledger.nextWakeMs(day0)!;
    expect(at).toBe(day0 + 940_000);
    expect(ledger.tick(at)).toEqual([
      { to: 'a', kind: 'yield', count: 1 },
      { to: 'b', kind: 'yield', count: 1 },
    ]);
    ledger.returnLeases('a', ['i0'], at + 30_000);
    ledger.returnLeases('b', ['i0'], at + 60_000);
    expect(ledger.usage(at + 60_000).tenants[0]!.spendTodayUsd).toBeLessThanOrEqual(1 + 1e-9);
    // Both ask again: nothing until midnight UTC, when their reservations come back.
    for (const jobId of ['a', 'b'])
      ledger.requestLeases(jobId, [{ planId: 'i1', pricePerHour: 1.8 }], at + 60_000);
    expect(ledger.nextWakeMs(at + 60_000)).toBe(day0 + 86_400_000);
    const next = ledger.tick(day0 + 86_400_000);
    expect(granted(next, 'a')).toEqual(['i1']);
    expect(granted(next, 'b')).toEqual(['i1']);
  });

  it('quotas are never exceeded, whatever jobs do in whatever order (property)', () => {
    const tenants = [
      tenant('a', { quotas: { maxInstances: 1, maxConcurrentJobs: 2 } }),
      tenant('b', { weight: 2, quotas: { maxInstances: 3 } }),
      tenant('c', { quotas: { maxConcurrentJobs: 1 } }),
    ];
    const limits: FleetLimits = { maxInstances: 4, maxConcurrentJobs: 4 };
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('admit' as const),
        job: fc.nat(7),
        tenant: fc.nat(2),
        priority: fc.integer({ min: 1, max: 5 }),
        instances: fc.integer({ min: 1, max: 3 }),
      }),
      fc.record({ kind: fc.constant('lease' as const), job: fc.nat(7), planId: fc.nat(4) }),
      fc.record({ kind: fc.constant('return' as const), job: fc.nat(7), planId: fc.nat(4) }),
      fc.record({ kind: fc.constant('leave' as const), job: fc.nat(7) }),
    );
    fc.assert(
      fc.property(fc.array(op, { minLength: 30, maxLength: 80 }), (ops) => {
        const ledger = new FleetLedger();
        let now = 0;
        /** What each job was last told to yield. */
        const owed = new Map<string, number>();
        for (const o of ops) {
          now += 1000;
          const jobId = `j${o.job}`;
          let messages: FleetMessage[];
          if (o.kind === 'admit')
            messages = ledger.admit(
              { jobId, tenant: tenants[o.tenant]!, priority: o.priority, limits, instances: o.instances },
              now,
            );
          else if (o.kind === 'lease')
            messages = ledger.requestLeases(jobId, [{ planId: `i${o.planId}`, pricePerHour: 1 }], now);
          else if (o.kind === 'return') messages = ledger.returnLeases(jobId, [`i${o.planId}`], now);
          else messages = ledger.leave(jobId, now);
          for (const m of messages) if (m.kind === 'yield') owed.set(m.to, m.count);
          const usage = ledger.usage(now);
          const instances = usage.tenants.reduce((n, t) => n + t.instances, 0);
          const jobs = usage.tenants.reduce((n, t) => n + t.admittedJobs, 0);
          if (instances > 4 || jobs > 4) return false;
          for (const t of usage.tenants) {
            if (t.instances > (t.quotas.maxInstances ?? Infinity)) return false;
            if (t.admittedJobs > (t.quotas.maxConcurrentJobs ?? Infinity)) return false;
          }
          // A job holds no more than is reserved for it, but what it was told to yield.
          if (usage.jobs.some((j) => j.instances - j.reservedInstances > (owed.get(j.jobId) ?? 0)))
            return false;
          // A queued job holds nothing.
          if (usage.jobs.some((j) => j.status === 'queued' && j.instances > 0)) return false;
        }
        return true;
      }),
      { seed: 17, numRuns: 300 },
    );
  });
});
