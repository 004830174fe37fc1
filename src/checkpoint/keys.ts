import { CheckpointStoreConfigError } from './errors';

/**
 * The key layout (docs/checkpoints.md). Ids are user data, so each id becomes one key segment
 * that contains only [A-Za-z0-9_-] and `~XX` escapes: no `/` (prefix listings stay exact), no `%`
 * (Consul's HTTP API would decode it), no `.`/`..` segments.
 */
export function encodeSegment(id: string): string {
  if (id.length === 0) throw new CheckpointStoreConfigError('job and sub-task ids must not be empty');
  let out = '';
  for (const byte of Buffer.from(id, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(c) ? c : `~${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function decodeSegment(segment: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < segment.length; i++) {
    if (segment[i] === '~') {
      bytes.push(parseInt(segment.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(segment.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Keys of one sub-task. Prefixes end with `/`. */
export interface SubTaskKeys {
  /** Latest claimed fencing token, decimal. */
  token: string;
  /** The head record: kept checkpoints and the next seq. Written last, by compare-and-swap. */
  head: string;
  /** The result record, written once. */
  result: string;
  /** All chunk data of the sub-task, one sub-prefix per blob. */
  blobs: string;
  blob(blobId: string): string;
  chunk(blobId: string, index: number): string;
}

export class KeyLayout {
  readonly prefix: string;

  constructor(prefix = 'spotdag/checkpoints') {
    this.prefix = prefix.replace(/\/+$/, '');
    if (!this.prefix) throw new CheckpointStoreConfigError('the key prefix must not be empty');
  }

  /** Everything of one job. */
  job(jobId: string): string {
    return `${this.prefix}/jobs/${encodeSegment(jobId)}/`;
  }

  subTasksOf(jobId: string): string {
    return `${this.job(jobId)}t/`;
  }

  subTask(jobId: string, subTaskId: string): SubTaskKeys {
    const root = `${this.subTasksOf(jobId)}${encodeSegment(subTaskId)}/`;
    const blobs = `${root}blobs/`;
    return {
      token: `${root}token`,
      head: `${root}head`,
      result: `${root}result`,
      blobs,
      blob: (blobId) => `${blobs}${blobId}/`,
      chunk: (blobId, index) => `${blobs}${blobId}/${String(index).padStart(6, '0')}`,
    };
  }

  /**
   * Job-wide documents (the decomposed job, the schedule): immutable blobs beside the sub-tasks,
   * under `jobs/<job>/d/<blob>/`. Only `blob`, `blobs` and `chunk` are meaningful here.
   */
  documents(jobId: string): Pick<SubTaskKeys, 'blobs' | 'blob' | 'chunk'> {
    const blobs = `${this.job(jobId)}d/`;
    return {
      blobs,
      blob: (blobId) => `${blobs}${blobId}/`,
      chunk: (blobId, index) => `${blobs}${blobId}/${String(index).padStart(6, '0')}`,
    };
  }

  /** The sub-task id a key below `subTasksOf(jobId)` belongs to. */
  subTaskIdOf(jobId: string, key: string): string | undefined {
    const base = this.subTasksOf(jobId);
    if (!key.startsWith(base)) return undefined;
    const segment = key.slice(base.length).split('/')[0];
    return segment ? decodeSegment(segment) : undefined;
  }

  /** Named records shared by jobs (learned market models), outside every job's keys. */
  record(name: string): string {
    return `${this.prefix}/records/${encodeSegment(name)}`;
  }

  /** Finished-job markers live outside the jobs' own keys so retention can list them cheaply. */
  get finishedPrefix(): string {
    return `${this.prefix}/finished/`;
  }

  finished(jobId: string): string {
    return `${this.finishedPrefix}${encodeSegment(jobId)}`;
  }

  jobIdOfFinished(key: string): string | undefined {
    return key.startsWith(this.finishedPrefix)
      ? decodeSegment(key.slice(this.finishedPrefix.length))
      : undefined;
  }
}

/** The blob id `<token>.<random>`: unique per write, so two writers never share chunk keys. */
export function blobTokenOf(blobId: string): number {
  return Number(blobId.split('.')[0]);
}

/** The blob id of a chunk key below `keys.blobs`. */
export function blobIdOf(keys: SubTaskKeys, chunkKey: string): string | undefined {
  return chunkKey.startsWith(keys.blobs) ? chunkKey.slice(keys.blobs.length).split('/')[0] : undefined;
}
