import type { AllocationForecast } from '../../../src/allocate/types';
import { prepareJob } from '../../../src/planning/pipeline';
import { workloadJobSpec } from '../../../src/steps';
import { controllerStateOf, currentDag } from '../../../src/job/decide';
import type { DecideRequest } from '../../../src/job/decisions';

/** A request at `nowSeconds` with nothing running and nothing done (`n` sub-tasks). */
function request(n: number, nowSeconds: number): DecideRequest {
  return {
    jobId: 'job',
    job: { inline: {} } as DecideRequest['job'],
    resplits: [],
    startedAtMs: 0,
    nowSeconds,
    event: { kind: 'tick', lostPools: [], refusedPools: [] },
    done: '0'.repeat(n),
    running: [],
    checkpointed: [],
    instances: [],
    observations: [],
    spentUsd: 0,
  };
}

const noPools = { pools: [] } as unknown as AllocationForecast;

/** `bench twin`'s rising-hazard job: one sub-task `spin` over units 1..60 (1 s each), then `total`. */
const plannedDag = () =>
  prepareJob(workloadJobSpec(60, { chunks: 1, instances: 6, input: { unitMs: 1_000, busy: false } })).dag;

describe('controllerStateOf: checkpointed work of a cut sub-task', () => {
  it('counts the units a checkpoint covers in the range the sub-task has now', () => {
    // One sub-task over units 1..60 (1 s each). A spot notice stopped it at unit position 4
    // (units 1..3 done, 3/60 of it), then the controller cut it from there: the sub-task keeps
    // units 1..3 (3 s), all of which its checkpoint covers.
    const planned = plannedDag();
    const dag = currentDag(planned, [
      { subTaskId: 'spin', remainder: { start: 4, end: 60 }, parts: 3, running: false, reason: 'hazard' },
    ]);
    const ids = dag.nodes();
    const spin = ids.indexOf('spin');
    expect(dag.getNodeAttributes('spin')).toMatchObject({ range: { start: 1, end: 3 }, durationSeconds: 3 });
    const state = controllerStateOf(
      request(ids.length, 5),
      ids,
      (i) => dag.getNodeAttributes(ids[i]!),
      new Map([[spin, { progress: 3 / 60, position: 4 }]]),
      noPools,
    );
    expect(state.positions).toEqual({ spin: 4 });
    expect(state.progress).toEqual({ spin: 3 });
  });

  it('a checkpoint without a unit position keeps the share it reported', () => {
    const planned = plannedDag();
    const ids = planned.nodes();
    const spin = ids.indexOf('spin');
    const state = controllerStateOf(
      request(ids.length, 5),
      ids,
      (i) => planned.getNodeAttributes(ids[i]!),
      new Map([[spin, { progress: 0.25 }]]),
      noPools,
    );
    expect(state.progress).toEqual({ spin: 15 });
    expect(state.positions).toEqual({});
  });
});
