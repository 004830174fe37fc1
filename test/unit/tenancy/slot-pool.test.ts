import fc from 'fast-check';
import { SlotPool, takenSlots } from '../../../src/tenancy/slot-pool';

const S = 1000; // ms per second

describe('the shared fleet slot pool', () => {
  it('packs slots of several jobs onto the fullest ready instance, and launches only when all are full', () => {
    const pool = new SlotPool({ slotsPerInstance: 2, warmSeconds: 60, bootSeconds: 30 });
    const a = pool.place('job-a', 'm5@a', 0);
    expect(a.launched).toBe(true);
    const b = pool.place('job-b', 'm5@a', 1 * S);
    expect(b).toMatchObject({ launched: false, instance: { id: a.instance.id } });
    expect(a.instance.taken).toEqual({ 'job-a': 1, 'job-b': 1 });
    // Full: the next slot needs a new instance; another pool never shares.
    expect(pool.place('job-a', 'm5@a', 40 * S).launched).toBe(true);
    expect(pool.place('job-a', 'c5@a', 40 * S).launched).toBe(true);
    // A ready instance with room comes before a booting one, the fullest first.
    pool.free('job-a', a.instance.id, 41 * S);
    const next = pool.place('job-c', 'm5@a', 42 * S);
    expect(next.instance.id).toBe(a.instance.id);
  });

  it('keeps an empty instance warm for warmSeconds, then gives it up', () => {
    const pool = new SlotPool({ slotsPerInstance: 4, warmSeconds: 60, bootSeconds: 30 });
    const { instance } = pool.place('job-a', 'p', 0);
    pool.free('job-a', instance.id, 100 * S);
    expect(pool.nextExpiryMs()).toBe(160 * S);
    expect(pool.expire(159 * S)).toEqual([]);
    // A job that comes while it is warm takes it: no launch, no boot.
    expect(pool.place('job-b', 'p', 150 * S)).toMatchObject({
      launched: false,
      instance: { id: instance.id },
    });
    expect(pool.nextExpiryMs()).toBeUndefined();
    pool.free('job-b', instance.id, 200 * S);
    expect(pool.expire(260 * S).map((i) => i.id)).toEqual([instance.id]);
    expect(pool.list()).toEqual([]);
  });

  it('refuses to free a slot the job does not hold, and bad settings', () => {
    const pool = new SlotPool({ slotsPerInstance: 1, warmSeconds: 0, bootSeconds: 0 });
    const { instance } = pool.place('job-a', 'p', 0);
    expect(() => pool.free('job-b', instance.id, 0)).toThrow('job job-b holds no slot');
    expect(() => new SlotPool({ slotsPerInstance: 0, warmSeconds: 0, bootSeconds: 0 })).toThrow(
      'slotsPerInstance',
    );
  });

  it('never holds more instances than ceil(slots taken ÷ slots per instance) when it launches', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3 })), { maxLength: 80 }),
        (slots, ops) => {
          const pool = new SlotPool({ slotsPerInstance: slots, warmSeconds: 5, bootSeconds: 1 });
          const held: Array<{ job: string; instance: string }> = [];
          let now = 0;
          for (const [take, who] of ops) {
            now += 1000;
            pool.expire(now);
            const job = `j${who}`;
            const mine = held.findIndex((h) => h.job === job);
            if (!take && mine >= 0) {
              pool.free(job, held[mine]!.instance, now);
              held.splice(mine, 1);
              continue;
            }
            const { instance, launched } = pool.place(job, 'p', now);
            held.push({ job, instance: instance.id });
            const taken = pool.list().reduce((n, i) => n + takenSlots(i), 0);
            expect(taken).toBe(held.length);
            if (launched) expect(pool.list().length).toBeLessThanOrEqual(Math.ceil(taken / slots));
            for (const i of pool.list()) expect(takenSlots(i)).toBeLessThanOrEqual(slots);
          }
        },
      ),
    );
  });

  it('places several slots on one instance, never where the caller excludes, and a bigger lease gets a bigger instance', () => {
    const pool = new SlotPool({ slotsPerInstance: 4, warmSeconds: 0, bootSeconds: 0 });
    const a = pool.place('job-a', 'p', 0, { count: 2 });
    // Another job's two slots fit beside it; the same job's next lease does not go there.
    const b = pool.place('job-b', 'p', 0, { count: 2 });
    expect(b.instance.id).toBe(a.instance.id);
    const mine = (job: string) => (i: { taken: Record<string, number> }) => (i.taken[job] ?? 0) > 0;
    const a2 = pool.place('job-a', 'p', 0, { count: 1, excludes: mine('job-a') });
    expect(a2.launched).toBe(true);
    expect(a2.instance.id).not.toBe(a.instance.id);
    const big = pool.place('job-c', 'p', 0, { count: 6 });
    expect(big).toMatchObject({ launched: true, instance: { slots: 6 } });
    pool.free('job-b', b.instance.id, 5, 2);
    expect(pool.get(a.instance.id)!.taken).toEqual({ 'job-a': 2 });
    expect(() => pool.free('job-a', a.instance.id, 5, 3)).toThrow('job job-a holds no slot');
  });

  it('carries its state as plain data, and forgets a removed instance', () => {
    const pool = new SlotPool({ slotsPerInstance: 2, warmSeconds: 60, bootSeconds: 0 });
    const a = pool.place('job-a', 'p', 0);
    pool.place('job-b', 'p', 0);
    const c = pool.place('job-c', 'p', 0);
    const copy = new SlotPool(
      { slotsPerInstance: 2, warmSeconds: 60, bootSeconds: 0 },
      JSON.parse(JSON.stringify(pool.state)),
    );
    expect(copy.list()).toEqual(pool.list());
    // New ids continue where the carried pool stopped.
    expect(copy.place('job-d', 'q', 0).instance.id).not.toBe(c.instance.id);
    expect(copy.remove(a.instance.id)?.taken).toEqual({ 'job-a': 1, 'job-b': 1 });
    expect(copy.get(a.instance.id)).toBeUndefined();
    expect(copy.remove('nothing')).toBeUndefined();
  });
});
