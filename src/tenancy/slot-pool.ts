/**
 * A shared fleet's instances, packed with the sub-tasks of several jobs (Karpenter-style): a slot
 * granted to a job goes on the fullest instance of its pool that has one free (ready instances
 * before booting ones), and a new instance launches only when none has. An instance whose slots
 * are all free stays warm for `warmSeconds`, so the next job's sub-task starts without a boot,
 * and is released after that.
 *
 * Because an instance launches only when every instance of its pool is full, a pool never holds
 * more instances than ceil(slots taken ÷ slots per instance) at a launch: slot quotas of
 * `instances × slotsPerInstance` keep the instance quotas. Pure and deterministic; its state is
 * plain data, so the fleet workflow carries it when it continues as new.
 */

export interface PooledInstance {
  id: string;
  pool: string;
  slots: number;
  launchedAtMs: number;
  readyAtMs: number;
  /** Slots taken, per job. */
  taken: Record<string, number>;
  /** Since when no slot is taken (undefined while one is). */
  idleSinceMs?: number;
}

export interface SlotPoolOptions {
  slotsPerInstance: number;
  warmSeconds: number;
  bootSeconds: number;
}

/** What a pool is, as plain data (`state`, and the constructor's second argument). */
export interface SlotPoolState {
  instances: PooledInstance[];
  launches: number;
}

export interface PlaceOptions {
  /** Slots taken on one instance (default 1). A new instance has at least this many. */
  count?: number;
  /** Instances the placement may not go on (the fleet keeps a job's leases on separate instances). */
  excludes?: (instance: PooledInstance) => boolean;
}

export interface Placement {
  instance: PooledInstance;
  /** A new instance: the caller launches it. */
  launched: boolean;
}

export function takenSlots(instance: PooledInstance): number {
  let n = 0;
  for (const v of Object.values(instance.taken)) n += v;
  return n;
}

export class SlotPool {
  private readonly instances = new Map<string, PooledInstance>();
  private launches = 0;

  constructor(
    private readonly options: SlotPoolOptions,
    state?: SlotPoolState,
  ) {
    if (!(options.slotsPerInstance >= 1)) throw new RangeError('slotsPerInstance: must be ≥ 1');
    if (!(options.warmSeconds >= 0)) throw new RangeError('warmSeconds: must be ≥ 0');
    for (const inst of state?.instances ?? []) this.instances.set(inst.id, inst);
    this.launches = state?.launches ?? 0;
  }

  get state(): SlotPoolState {
    return { instances: [...this.instances.values()], launches: this.launches };
  }

  /**
   * `count` slots (default one) of `pool` for `jobId` on one instance: the fullest with room (ready
   * ones before booting ones), else a new one.
   */
  place(jobId: string, pool: string, nowMs: number, options: PlaceOptions = {}): Placement {
    const count = options.count ?? 1;
    let best: PooledInstance | undefined;
    let bestKey: [number, number] | undefined;
    for (const inst of this.instances.values()) {
      if (inst.pool !== pool || options.excludes?.(inst)) continue;
      const free = inst.slots - takenSlots(inst);
      if (free < count) continue;
      const key: [number, number] = [inst.readyAtMs <= nowMs ? 0 : 1, free];
      if (!bestKey || key[0] < bestKey[0] || (key[0] === bestKey[0] && key[1] < bestKey[1])) {
        best = inst;
        bestKey = key;
      }
    }
    const launched = !best;
    if (!best) {
      best = {
        id: `i${this.launches++}`,
        pool,
        slots: Math.max(count, this.options.slotsPerInstance),
        launchedAtMs: nowMs,
        readyAtMs: nowMs + this.options.bootSeconds * 1000,
        taken: {},
      };
      this.instances.set(best.id, best);
    }
    best.taken[jobId] = (best.taken[jobId] ?? 0) + count;
    best.idleSinceMs = undefined;
    return { instance: best, launched };
  }

  /** `count` slots (default one) of `jobId` on `instanceId` are free again. */
  free(jobId: string, instanceId: string, nowMs: number, count = 1): void {
    const inst = this.instances.get(instanceId);
    const held = inst?.taken[jobId] ?? 0;
    if (!inst || held < count) throw new Error(`job ${jobId} holds no slot on ${instanceId}`);
    if (held === count) delete inst.taken[jobId];
    else inst.taken[jobId] = held - count;
    if (takenSlots(inst) === 0) inst.idleSinceMs = nowMs;
  }

  /** An instance gone (lost): out of the pool with whatever it held. */
  remove(instanceId: string): PooledInstance | undefined {
    const inst = this.instances.get(instanceId);
    this.instances.delete(instanceId);
    return inst;
  }

  /** Instances idle for the warm time by `nowMs`: removed from the pool, for the caller to release. */
  expire(nowMs: number): PooledInstance[] {
    const gone: PooledInstance[] = [];
    for (const inst of this.instances.values())
      if (inst.idleSinceMs !== undefined && inst.idleSinceMs + this.options.warmSeconds * 1000 <= nowMs)
        gone.push(inst);
    for (const inst of gone) this.instances.delete(inst.id);
    return gone;
  }

  /** When the next idle instance's warm time ends. */
  nextExpiryMs(): number | undefined {
    let next: number | undefined;
    for (const inst of this.instances.values())
      if (inst.idleSinceMs !== undefined) {
        const at = inst.idleSinceMs + this.options.warmSeconds * 1000;
        if (next === undefined || at < next) next = at;
      }
    return next;
  }

  get(instanceId: string): PooledInstance | undefined {
    return this.instances.get(instanceId);
  }

  list(): PooledInstance[] {
    return [...this.instances.values()];
  }
}
