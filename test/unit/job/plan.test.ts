import { asJobPlan, asSchedulePlan, jobPlanOf, subTaskDefinition } from '../../../src/job/plan';
import type { DecomposedJob, PlannedSubTask, Schedule } from '../../../src/job/types';

const subTask = (id: string, stage: string, index: number, dependsOn: string[] = []): PlannedSubTask =>
  ({
    id,
    stage,
    step: 'workload.spin',
    index,
    count: stage === 'spin' ? 2 : 1,
    durationSeconds: index + 1,
    dependsOn: dependsOn.map((d) => ({ id: d, bytes: 8 })),
  }) as unknown as PlannedSubTask;

const job = {
  jobId: 'j',
  name: 'n',
  fleet: { provider: 'local', instances: 2, slotsPerInstance: 1 },
  preferences: {},
  subTasks: [
    subTask('spin/0', 'spin', 0),
    subTask('spin/1', 'spin', 1),
    subTask('total', 'total', 0, ['spin/0', 'spin/1']),
  ],
  criticalPathSeconds: 3,
  totalWorkSeconds: 4,
  maxParallelism: 2,
} as unknown as DecomposedJob;

const schedule: Schedule = {
  instances: [
    { id: 'i0', pool: 'p', slots: 1 },
    { id: 'i1', pool: 'p', slots: 1 },
  ],
  placements: [
    { subTaskId: 'spin/1', instanceId: 'i1', start: 0, finish: 2 },
    { subTaskId: 'spin/0', instanceId: 'i0', start: 0, finish: 1 },
    { subTaskId: 'total', instanceId: 'i0', start: 2, finish: 3 },
  ],
  transfers: [],
  predictedMakespanSeconds: 3,
  predictedCostUsd: 0,
};

describe('compact job plans', () => {
  it('index sub-tasks, dependencies, stages and placements', () => {
    const plan = jobPlanOf(job, { stored: { blob: 'd.1', chunks: 1, bytes: 10, digest: 'x' } });
    expect(plan.ids).toEqual(['spin/0', 'spin/1', 'total']);
    expect(plan.deps).toEqual([[], [], [0, 1]]);
    expect(plan.stages).toEqual([
      { stage: 'spin', count: 2, step: 'workload.spin' },
      { stage: 'total', count: 1, step: 'workload.spin' },
    ]);
    expect(plan.stageOf).toEqual([0, 0, 1]);
    expect(plan.indexInStage).toEqual([0, 1, 0]);
    expect(subTaskDefinition(plan, 2)).toEqual({
      subTask: { id: 'total', stage: 'total', durationSeconds: 1 },
      job: { blob: 'd.1', chunks: 1, bytes: 10, digest: 'x' },
    });
    const scheduled = asSchedulePlan(schedule, plan);
    expect(scheduled.order).toEqual([1, 0, 2]);
    expect(scheduled.placedOn).toEqual([0, 1, 0]);
    expect(scheduled.schedule).toEqual({ inline: schedule });
  });

  it('are derived from the full job that histories of older versions carry', () => {
    const plan = asJobPlan(job);
    expect(plan.job).toEqual({ inline: job });
    expect(asJobPlan(plan)).toBe(plan);
    // Inline: the child gets the full definition, as before references.
    expect(subTaskDefinition(plan, 0)).toEqual({ subTask: job.subTasks[0] });
  });
});
