import { openCheckpointStore } from '../src/checkpoint';
import type { CheckpointStore } from '../src/checkpoint/types';

/** Opens the checkpoint store at `url` for one command's work, and closes it after. */
export async function withStore<T>(url: string, fn: (store: CheckpointStore) => Promise<T>): Promise<T> {
  const store = await openCheckpointStore(url);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
