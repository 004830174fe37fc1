import type { TaskDag } from '../src/dag';
import { plannedDag } from '../src/job/allocation-input';
import type { DecomposedJob, PlanDocument } from '../src/job/types';
import { loadDocument } from './documents';
import type { CheckpointStore } from '../src/checkpoint';

/**
 * The DAGs of the jobs a control worker plans, as the decompose activity built them: the decide
 * activity of the same worker starts from them instead of rebuilding each job's graph from its
 * stored list on every call. After a restart (or on another worker) a DAG is rebuilt once from the
 * stored job. Callers copy before changing one (cuts apply to a copy).
 */
export class JobDags {
  private readonly entries = new Map<string, { job: DecomposedJob; dag: TaskDag }>();

  constructor(private readonly capacity = 8) {}

  static key(jobId: string, document: PlanDocument<DecomposedJob>): string {
    return `${jobId} ${'stored' in document ? document.stored.digest : 'inline'}`;
  }

  remember(key: string, job: DecomposedJob, dag: TaskDag): void {
    this.entries.delete(key);
    this.entries.set(key, { job, dag });
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  /** The job and its DAG (shared: copy it before a change). */
  async get(
    store: CheckpointStore | undefined,
    jobId: string,
    document: PlanDocument<DecomposedJob>,
  ): Promise<{ job: DecomposedJob; dag: TaskDag }> {
    const key = JobDags.key(jobId, document);
    const found = this.entries.get(key);
    if (found) return found;
    const job = await loadDocument(store, jobId, document);
    const entry = { job, dag: plannedDag(job) };
    this.remember(key, entry.job, entry.dag);
    return entry;
  }
}
