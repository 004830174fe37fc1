/**
 * Episodes: what each finished job saw and how it ended, kept in the checkpoint store for
 * `spotdag learn update`. A real job records its own when it ends; a simulated one is recorded by
 * `spotdag bench schedule --record-episodes`. One record per job (`episodes/<jobId>`, written once: a retried activity
 * does not add it twice), and an index record (`episodes`, compare-and-swap) listing them and which
 * model version consumed each.
 */
import type { PlainDagArrays } from '../allocate/rank';
import type { CheckpointStore } from '../checkpoint/types';
import type { DecomposedJob, PlanDocument } from '../job/types';

export interface Episode {
  jobId: string;
  finishedAtMs: number;
  startedAtMs: number;
  /** The learned version the job ran (0: the heuristic). */
  policyVersion: number;
  /** The job as decomposed (its DAG with the estimates it was planned with), in the store. */
  job: PlanDocument<DecomposedJob>;
  subTasks: number;
  deadlineSeconds?: number;
  /** The market the job bought from (`local` for the local free pool). */
  market: string;
  /** The controller's decisions, as the job workflow counted them. */
  decisions: {
    count: number;
    resplits: number;
    safetyNet: boolean;
    spotInstances: number;
    onDemandInstances: number;
    refusedLaunches: number;
  };
  outcome: {
    costUsd: number;
    elapsedSeconds: number;
    /** Null without a deadline. */
    deadlineMet: boolean | null;
    interruptions: number;
    workLostSeconds: number;
    failedSubTasks: number;
  };
}

/** A simulated job (`bench schedule --record-episodes`): the simulator's run of one scenario. */
export interface SimulatedEpisode {
  /** `sim-…`, the same for the same run: recording it again changes nothing. */
  jobId: string;
  simulated: {
    workflow: string;
    /** The policy the simulator ran (its runs of the heuristic are version 0's). */
    policy: string;
    startIso: string;
    window: number;
    seed: number;
    replans: number;
    onDemandTaskFraction: number;
  };
  finishedAtMs: number;
  policyVersion: number;
  /** The DAG as the simulator ran it, stored once per workflow (under `dagOwner`). */
  dag: PlanDocument<PlainDagArrays>;
  dagOwner: string;
  subTasks: number;
  deadlineSeconds: number;
  /** The replayed spot market's price file. */
  market: string;
  outcome: Episode['outcome'];
}

export type AnyEpisode = Episode | SimulatedEpisode;

export function isSimulated(episode: AnyEpisode): episode is SimulatedEpisode {
  return 'simulated' in episode;
}

/** What the job workflow sends when it ends; the activity adds the deadline and the market. */
export type EpisodeRequest = Omit<Episode, 'deadlineSeconds' | 'market' | 'outcome'> & {
  outcome: Omit<Episode['outcome'], 'deadlineMet'>;
};

/** The episode of a request, given the job's deadline (seconds from its start) and market. */
export function episodeOf(
  request: EpisodeRequest,
  deadlineSeconds: number | undefined,
  market: string,
): Episode {
  return {
    ...request,
    ...(deadlineSeconds !== undefined ? { deadlineSeconds } : {}),
    market,
    outcome: {
      ...request.outcome,
      deadlineMet: deadlineSeconds === undefined ? null : request.outcome.elapsedSeconds <= deadlineSeconds,
    },
  };
}

export interface EpisodeIndex {
  episodes: Array<{ jobId: string; finishedAtMs: number; consumedBy?: number }>;
}

export const EPISODE_INDEX = 'episodes';
const episodeRecord = (jobId: string) => `episodes/${jobId}`;
/** Episodes listed in the index; the oldest are dropped beyond this (their records stay). */
const MAX_LISTED = 2000;

async function readEpisodeIndex(store: CheckpointStore): Promise<{ index: EpisodeIndex; version?: string }> {
  const entry = await store.readRecord(EPISODE_INDEX);
  return entry
    ? { index: JSON.parse(entry.bytes.toString('utf8')) as EpisodeIndex, version: entry.version }
    : { index: { episodes: [] } };
}

async function changeEpisodeIndex(
  store: CheckpointStore,
  change: (index: EpisodeIndex) => void,
): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const { index, version } = await readEpisodeIndex(store);
    change(index);
    if (index.episodes.length > MAX_LISTED) index.episodes.splice(0, index.episodes.length - MAX_LISTED);
    if (await store.writeRecord(EPISODE_INDEX, Buffer.from(JSON.stringify(index)), version)) return;
  }
  throw new Error('could not update the episode index: too many concurrent writers');
}

/** Records a finished job's episode once (a retry, or a second call, changes nothing). */
export async function recordEpisode(store: CheckpointStore, episode: AnyEpisode): Promise<boolean> {
  const fresh = await store.writeRecord(
    episodeRecord(episode.jobId),
    Buffer.from(JSON.stringify(episode)),
    undefined,
  );
  // Listed even when the record was there: the first attempt may have died between the two writes.
  await changeEpisodeIndex(store, (index) => {
    if (!index.episodes.some((e) => e.jobId === episode.jobId))
      index.episodes.push({ jobId: episode.jobId, finishedAtMs: episode.finishedAtMs });
  });
  return fresh;
}

export async function readEpisode(store: CheckpointStore, jobId: string): Promise<AnyEpisode | undefined> {
  const entry = await store.readRecord(episodeRecord(jobId));
  return entry && (JSON.parse(entry.bytes.toString('utf8')) as AnyEpisode);
}

/** Every listed episode, and whether a model version has consumed it. */
export async function listEpisodes(store: CheckpointStore): Promise<EpisodeIndex['episodes']> {
  return (await readEpisodeIndex(store)).index.episodes;
}

/** Marks episodes as consumed by a model version (`learn update`). */
export async function markConsumed(store: CheckpointStore, jobIds: string[], version: number): Promise<void> {
  const ids = new Set(jobIds);
  await changeEpisodeIndex(store, (index) => {
    for (const e of index.episodes) if (ids.has(e.jobId)) e.consumedBy = version;
  });
}
