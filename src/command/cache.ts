import { constants } from 'node:fs';
import { copyFile, mkdir, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ArtifactRef, ArtifactScope, ArtifactStore } from '../artifacts/types';

/** One transfer: bytes moved from the artifact store to this instance and how long it took. */
export interface Transfer {
  digest: string;
  bytes: number;
  /** 0 when the file was already in the cache (prefetched, or used before). */
  fetchedBytes: number;
  seconds: number;
}

interface Entry {
  bytes: number;
  lastUsedMs: number;
}

/**
 * An instance's local copies of artifacts, by digest: inputs fetched ahead of time (prefetch) or
 * for an earlier sub-task are not fetched again. Concurrent requests for one artifact share one
 * download. Least recently used files go when the cache grows past its limit.
 */
export class ArtifactCache {
  private readonly entries = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<void>>();
  /** Stagings using an artifact right now: it is not evicted meanwhile. */
  private readonly pins = new Map<string, number>();
  private totalBytes = 0;
  private scanned?: Promise<void>;

  constructor(
    readonly dir: string,
    private readonly artifacts: ArtifactStore,
    private readonly limitBytes = 20 * 1024 ** 3,
    /**
     * Emulates a network link for benchmarks on one machine: a download of n bytes takes at least
     * n / this many seconds. Absent: as fast as the store answers.
     */
    private readonly bytesPerSecond?: number,
  ) {}

  private file(digest: string): string {
    return path.join(this.dir, digest);
  }

  /** Files left by an earlier worker in the same folder count as cached. */
  private scan(): Promise<void> {
    this.scanned ??= (async () => {
      await mkdir(this.dir, { recursive: true });
      for (const name of await readdir(this.dir)) {
        if (!/^[0-9a-f]{64}$/.test(name)) continue;
        const { size } = await stat(this.file(name));
        this.remember(name, size);
      }
    })();
    return this.scanned;
  }

  private remember(digest: string, bytes: number): Entry {
    let entry = this.entries.get(digest);
    if (!entry) {
      entry = { bytes, lastUsedMs: Date.now() };
      this.entries.set(digest, entry);
      this.totalBytes += bytes;
    }
    entry.lastUsedMs = Date.now();
    return entry;
  }

  /** Makes sure the artifact is in the cache; says how many bytes that moved and how long it took. */
  async fetch(scope: ArtifactScope, ref: ArtifactRef): Promise<Transfer> {
    await this.scan();
    const started = performance.now();
    const cached = this.entries.get(ref.digest);
    if (cached && !this.inFlight.has(ref.digest)) {
      cached.lastUsedMs = Date.now();
      return { digest: ref.digest, bytes: ref.bytes, fetchedBytes: 0, seconds: 0 };
    }
    let download = this.inFlight.get(ref.digest);
    const mine = !download;
    if (!download) {
      download = this.artifacts.getFile(scope, ref, this.file(ref.digest)).then(async () => {
        if (this.bytesPerSecond) {
          const left = (ref.bytes / this.bytesPerSecond) * 1000 - (performance.now() - started);
          if (left > 0) await new Promise((resolve) => setTimeout(resolve, left));
        }
        this.remember(ref.digest, ref.bytes);
      });
      this.inFlight.set(ref.digest, download);
      download.then(
        () => this.inFlight.delete(ref.digest),
        () => this.inFlight.delete(ref.digest),
      );
    }
    await download;
    await this.evict();
    const seconds = (performance.now() - started) / 1000;
    // A request that joined another's download moved nothing itself, but waited for it.
    return { digest: ref.digest, bytes: ref.bytes, fetchedBytes: mine ? ref.bytes : 0, seconds };
  }

  /**
   * Puts an artifact at `dest`, from the cache (fetched first if need be): a copy-on-write clone
   * where the file system can, a copy otherwise, since the program may change its inputs and the
   * cache's copy must not change.
   */
  async stage(scope: ArtifactScope, ref: ArtifactRef, dest: string): Promise<Transfer> {
    this.pins.set(ref.digest, (this.pins.get(ref.digest) ?? 0) + 1);
    try {
      const transfer = await this.fetch(scope, ref);
      await mkdir(path.dirname(dest), { recursive: true });
      await copyFile(this.file(ref.digest), dest, constants.COPYFILE_FICLONE);
      return transfer;
    } finally {
      const left = this.pins.get(ref.digest)! - 1;
      if (left > 0) this.pins.set(ref.digest, left);
      else this.pins.delete(ref.digest);
    }
  }

  private async evict(): Promise<void> {
    if (this.totalBytes <= this.limitBytes) return;
    const candidates = [...this.entries.entries()]
      .filter(([digest]) => !this.pins.has(digest) && !this.inFlight.has(digest))
      .sort((a, b) => a[1].lastUsedMs - b[1].lastUsedMs);
    for (const [digest, entry] of candidates) {
      if (this.totalBytes <= this.limitBytes) break;
      this.entries.delete(digest);
      this.totalBytes -= entry.bytes;
      await rm(this.file(digest), { force: true });
    }
  }
}
