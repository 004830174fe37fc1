import { ApplicationFailure } from '@temporalio/activity';
import type { CheckpointStore, DocumentRef } from '../src/checkpoint';
import type { PlanDocument } from '../src/job/types';

/** Error type of a job whose plan is in a checkpoint store this worker cannot read. */
export const NO_CHECKPOINT_STORE = 'NoCheckpointStore';

/** Stores a job-wide document by reference when there is a store, inline otherwise. */
export async function saveDocument<T>(
  store: CheckpointStore | undefined,
  jobId: string,
  value: T,
): Promise<PlanDocument<T>> {
  if (!store) return { inline: value };
  return { stored: await store.putDocument(jobId, Buffer.from(JSON.stringify(value))) };
}

export function storeOrFail(store: CheckpointStore | undefined, what: string): CheckpointStore {
  if (store) return store;
  throw ApplicationFailure.nonRetryable(
    `${what} is in the checkpoint store, but this worker has none (set SPOTDAG_CHECKPOINT_STORE)`,
    NO_CHECKPOINT_STORE,
  );
}

export async function readDocument<T>(
  store: CheckpointStore | undefined,
  jobId: string,
  ref: DocumentRef,
): Promise<T> {
  const bytes = await storeOrFail(store, `job ${jobId}'s plan`).readDocument(jobId, ref);
  return JSON.parse(bytes.toString('utf8')) as T;
}

export async function loadDocument<T>(
  store: CheckpointStore | undefined,
  jobId: string,
  document: PlanDocument<T>,
): Promise<T> {
  return 'inline' in document ? document.inline : readDocument<T>(store, jobId, document.stored);
}

/**
 * Documents are immutable (a reference names its blob and digest), so a process keeps the few it
 * used last: every sub-task of a job an instance runs reads its definition from the same one.
 */
export class DocumentCache<T> {
  private readonly entries = new Map<string, Promise<T>>();

  constructor(private readonly capacity = 4) {}

  get(key: string, load: () => Promise<T>): Promise<T> {
    let entry = this.entries.get(key);
    if (entry) {
      this.entries.delete(key);
      this.entries.set(key, entry); // most recently used last
      return entry;
    }
    entry = load();
    entry.catch(() => this.entries.delete(key));
    this.entries.set(key, entry);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
    return entry;
  }
}
