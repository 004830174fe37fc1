import { Context } from '@temporalio/activity';
import type { CheckpointStore } from '../src/checkpoint';
import { horizonSeconds } from '../src/allocate/preferences';
import { Controller, type ControllerState, type Decision } from '../src/controller';
import { applyObservations } from '../src/controller/learning';
import { alreadyApplied, readLearnedModel, updateLearnedModel } from '../src/controller/model-store';
import { episodeOf, recordEpisode, type EpisodeRequest } from '../src/learn/episodes';
import { jobPolicy } from '../src/learn/job-policy';
import { InterruptionModel } from '../src/forecast/interruption';
import { regionOfZone, type Pool } from '../src/market';
import {
  controllerFleetOf,
  localFleetModel,
  localMarketView,
  LOCAL_TIMING,
  marketAllocationForecast,
} from '../src/job/allocation-input';
import {
  controllerEventOf,
  controllerStateOf,
  currentDag,
  decideResponseOf,
  stageIndexOf,
  type CheckpointInfo,
} from '../src/job/decide';
import type { DecideRequest, DecideResponse } from '../src/job/decisions';
import type { InstanceMarket } from '../src/job/instance-market';
import type { MarketView } from '../src/job/types';
import type { FleetSpec } from '../src/provision/fleet';
import { loadDocument, saveDocument } from './documents';
import { JobDags } from './job-dags';
import type { SavedState } from './instance';

export interface DecideActivityDeps {
  store?: CheckpointStore;
  /** The market of the provisioner (EC2, or a replayed spot market for local instances). */
  market?: InstanceMarket;
  /** The DAGs the same worker's decompose activity built (one is created when not given). */
  dags?: JobDags;
}

/** The market a job's fleet buys from: the worker's, or the local free pool. */
function marketFor(deps: DecideActivityDeps, fleet: FleetSpec): InstanceMarket | undefined {
  return deps.market && deps.market.provider === fleet.provider ? deps.market : undefined;
}

function poolsOf(view: MarketView): Map<string, Pool> {
  return new Map(
    view.pools.map((p) => [
      p.key,
      { instanceType: p.instanceType, region: p.region ?? regionOfZone(p.zone) ?? '', zone: p.zone },
    ]),
  );
}

/** The runtime controller behind the job workflow (`decide`), with the store and the market as I/O. */
export function createDecideActivity(deps: DecideActivityDeps) {
  const dags = deps.dags ?? new JobDags();

  /** Progress and unit position of the last good checkpoint of each sub-task that may have one. */
  async function readCheckpoints(jobId: string, ids: readonly string[], indices: number[]) {
    const out = new Map<number, CheckpointInfo>();
    if (!deps.store) return out;
    const store = deps.store;
    await Promise.all(
      indices.map(async (i) => {
        const latest = await store.latestGood(jobId, ids[i]!);
        if (!latest) return;
        const saved = JSON.parse(latest.state.toString('utf8')) as SavedState;
        out.set(i, {
          progress: saved.progress,
          position: saved.position,
          atMs: latest.descriptor.createdAtMs,
        });
      }),
    );
    return out;
  }

  /**
   * Fences the running sub-tasks a decision stops (their attempts can write nothing more), then
   * reads where they really are. True when any finished meanwhile or checkpointed past what the
   * decision assumed: it must be made again on what is now certain.
   */
  async function fenceStopped(
    jobId: string,
    decision: Decision,
    state: ControllerState,
    checkpoints: Map<number, CheckpointInfo>,
    indexOf: Map<string, number>,
    finished: Set<string>,
  ): Promise<boolean> {
    const store = deps.store;
    if (!store || decision.stopRunning.length === 0) return false;
    let changed = false;
    for (const id of decision.stopRunning) {
      await store.claimToken(jobId, id);
      if (await store.readResult(jobId, id)) {
        finished.add(id);
        changed = true;
        continue;
      }
      const latest = await store.latestGood(jobId, id);
      const saved = latest && (JSON.parse(latest.state.toString('utf8')) as SavedState);
      const i = indexOf.get(id)!;
      if (saved?.position !== state.positions?.[id]) changed = true;
      if (saved)
        checkpoints.set(i, {
          progress: saved.progress,
          position: saved.position,
          atMs: latest.descriptor.createdAtMs,
        });
    }
    return changed;
  }

  return {
    /**
     * The runtime controller's decision for a job (docs/architecture.md, "The runtime controller"):
     * re-split long work, apply the deadline safety net, re-plan the remaining DAG, learn from what
     * the job saw. The learned interruption model is kept per market in the checkpoint store.
     */
    async decide(request: DecideRequest): Promise<DecideResponse> {
      const { jobId } = request;
      const { job, dag: planned } = await dags.get(deps.store, jobId, request.job);
      const market = marketFor(deps, job.fleet);
      const horizon = horizonSeconds(job.preferences);
      const context = { jobId, jobStartMs: request.startedAtMs };
      const view = market
        ? await market.forecast(job.fleet, horizon, context)
        : localMarketView(job.fleet, horizon, Date.now());
      const fleet = controllerFleetOf(
        market ? market.fleetModel(job.fleet) : localFleetModel(job.fleet),
        market ? market.timing() : LOCAL_TIMING,
      );
      const store = deps.store;
      const record = store && market ? await readLearnedModel(store, market.id) : undefined;
      const learned = alreadyApplied(record, jobId, (request.memory?.calls ?? 0) + 1);
      const seed = () => market?.seedModel?.(view, context) ?? new InterruptionModel();
      const modelJson = (record ? InterruptionModel.fromJSON(record.model) : seed()).toJSON();
      const event = controllerEventOf(request, learned);
      const previous = request.previous && (await loadDocument(deps.store, jobId, request.previous));
      const memory = request.memory ?? {
        onDemandMode: false,
        penalties: {},
        resplitAt: {},
        startHazard: {},
        calls: 0,
      };

      const policy = await jobPolicy(store, job.preferences, memory);

      const baseDag = currentDag(planned, request.resplits);
      const ids = baseDag.nodes();
      const indexOf = new Map(ids.map((id, i) => [id, i]));
      const mayHaveCheckpoints = [
        ...new Set([...request.checkpointed, ...request.running.map((r) => r.index)]),
      ];
      const checkpoints = await readCheckpoints(jobId, ids, mayHaveCheckpoints);
      const finished = new Set<string>();
      const attempt = () => {
        const dag = currentDag(planned, request.resplits);
        const forecast = marketAllocationForecast(view, {
          model: InterruptionModel.fromJSON(modelJson),
          startMs: request.startedAtMs,
        });
        const state = controllerStateOf(
          { ...request, running: request.running.filter((r) => !finished.has(ids[r.index]!)) },
          ids,
          (i) => baseDag.getNodeAttributes(ids[i]!),
          checkpoints,
          forecast,
        );
        // Finished while we looked: still running for the plan, about to complete.
        for (const id of finished) {
          const r = request.running.find((x) => ids[x.index] === id)!;
          state.running.push({
            subTaskId: id,
            instanceId: r.instance,
            expectedFinish: request.nowSeconds + 1,
          });
        }
        const controller = new Controller({
          forecast,
          fleet,
          preferences: job.preferences,
          options: policy.options,
        });
        return { dag, forecast, state, decision: controller.decide(dag, state, event, memory, previous) };
      };
      let made = attempt();
      if (await fenceStopped(jobId, made.decision, made.state, checkpoints, indexOf, finished))
        made = attempt();
      Context.current().heartbeat();

      if (store && market && !learned) {
        // The model the decision learned into; if another job wrote first, learn again on theirs.
        const call = made.decision.memory.calls;
        const pools = poolsOf(view);
        const atMs = request.startedAtMs + request.nowSeconds * 1000;
        await updateLearnedModel(
          store,
          market.id,
          seed,
          jobId,
          call,
          (model) => applyObservations(model, pools, event, atMs),
          Date.now(),
        );
      }
      made.decision.memory.policyVersion = policy.version;
      if (policy.note) made.decision.notes.unshift(policy.note);
      const scheduleDoc = await saveDocument(deps.store, jobId, made.decision.schedule);
      const response = decideResponseOf(made.decision, made.dag, stageIndexOf(job), scheduleDoc);
      return request.event.kind === 'start' ? { ...response, market: view } : response;
    },

    /**
     * Keeps a finished job's episode for `spotdag learn update` (src/learn/episodes.ts): once per
     * job, nothing without a checkpoint store. Returns whether it was recorded now.
     */
    async recordEpisode(request: EpisodeRequest): Promise<boolean> {
      if (!deps.store) return false;
      const { job } = await dags.get(deps.store, request.jobId, request.job);
      const market = marketFor(deps, job.fleet);
      const episode = episodeOf(request, job.preferences.deadline, market?.id ?? 'local');
      return recordEpisode(deps.store, episode);
    },
  };
}

export type DecideActivity = ReturnType<typeof createDecideActivity>;
