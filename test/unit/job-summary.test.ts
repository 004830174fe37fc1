import { jobDetailsMarkdown, subTaskSummary } from '../../src/job/summary';
import type { PlannedSubTask } from '../../src/job/types';

const subTask: PlannedSubTask = {
  id: 'primes/0011',
  stage: 'primes',
  step: 'primes.count',
  index: 11,
  count: 64,
  cpu: 1,
  memoryMiB: 256,
  durationSeconds: 10,
  durationUncertainty: 0.2,
  priority: 10,
  dependsOn: [],
};

describe('Temporal UI text', () => {
  it('summarises a sub-task with its stage position and pool', () => {
    expect(subTaskSummary(subTask, { instanceType: 'c5.large', zone: 'us-east-1a', market: 'spot' })).toBe(
      'primes 12/64 · c5.large · us-east-1a · spot',
    );
    expect(subTaskSummary(subTask)).toBe('primes 12/64');
  });

  it('publishes progress as one markdown table', () => {
    const table = jobDetailsMarkdown({
      phase: 'run',
      total: 64,
      done: 10,
      stages: [{ stage: 'primes', done: 10, total: 64 }],
      running: 4,
      interruptions: 1,
      workLostSeconds: 2.46,
      workSavedSeconds: 31.7,
      costSoFarUsd: 0.0123,
      plannedCostUsd: 1.5,
      plannedMakespanSeconds: 3600,
      elapsedSeconds: 120.4,
    });
    const rows = table.split('\n');
    expect(rows).toHaveLength(3);
    expect(rows[0]).toContain('| phase | done | running | waiting |');
    expect(rows[2]).toBe('| run | 10/64 | 4 | 50 | 1 | 2.5 s / 32 s | $0.0123 | $1.50 | 120 s | 3600 s |');
  });
});
