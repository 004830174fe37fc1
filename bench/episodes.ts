/**
 * Simulated jobs' episodes (`spotdag bench schedule --record-episodes`): each run of the
 * heuristic `spotdag` policy becomes an episode in the checkpoint store, as a real job's end
 * does, so that `spotdag learn update` learns from the simulator's jobs too. A workflow's DAG is
 * stored once and shared by its episodes.
 */
import path from 'node:path';
import { saveDocument } from '../activities/documents';
import { plainDagArrays, type DagArrays, type PlainDagArrays } from '../src/allocate/rank';
import type { CheckpointStore } from '../src/checkpoint/types';
import type { PlanDocument } from '../src/job/types';
import { recordEpisode, type SimulatedEpisode } from '../src/learn/episodes';
import { shortHash } from '../src/util/hash';
import type { ScheduleRun } from './schedule';

/** The policies whose runs are episodes, and the model version each stands for. */
const RECORDED: Record<string, number> = { spotdag: 0 };

export function recordsEpisode(run: ScheduleRun): boolean {
  return run.policy in RECORDED && run.error === undefined && run.makespanSeconds !== null;
}

/** The episode id of a run: the same run (workflow, start, seed, policy) is the same episode. */
export function simulatedJobId(run: ScheduleRun): string {
  return `sim-${shortHash(`${run.workflow}|${run.startIso}|${run.seed}|${run.policy}`)}`;
}

/** Records the runs' episodes; returns how many were new. */
export async function recordSimulatedEpisodes(
  store: CheckpointStore,
  runs: Array<{ run: ScheduleRun; d: DagArrays }>,
  pricesFile: string,
): Promise<number> {
  const dags = new Map<string, { owner: string; document: PlanDocument<PlainDagArrays> }>();
  let fresh = 0;
  for (const { run, d } of runs) {
    if (!recordsEpisode(run)) continue;
    let dag = dags.get(run.workflow);
    if (!dag) {
      const owner = `sim-dag-${shortHash(run.workflow)}`;
      dag = { owner, document: await saveDocument(store, owner, plainDagArrays(d)) };
      dags.set(run.workflow, dag);
    }
    const episode: SimulatedEpisode = {
      jobId: simulatedJobId(run),
      simulated: {
        workflow: run.workflow,
        policy: run.policy,
        startIso: run.startIso,
        window: run.window,
        seed: run.seed,
        replans: run.replans,
        onDemandTaskFraction: run.onDemandTaskFraction,
      },
      finishedAtMs: Date.now(),
      policyVersion: RECORDED[run.policy]!,
      dag: dag.document,
      dagOwner: dag.owner,
      subTasks: run.subTasks,
      deadlineSeconds: run.deadlineSeconds,
      market: path.basename(pricesFile),
      outcome: {
        costUsd: run.costUsd,
        elapsedSeconds: run.makespanSeconds!,
        deadlineMet: run.deadlineMet,
        interruptions: run.interruptions,
        workLostSeconds: run.lostWorkHours * 3600,
        failedSubTasks: 0,
      },
    };
    if (await recordEpisode(store, episode)) fresh++;
  }
  return fresh;
}
