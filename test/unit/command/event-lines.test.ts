import { moveLine } from '../../../cli/job-runner';
import { logLine } from '../../../workers/runtime';

describe('what a person sees while a job runs', () => {
  it('one line per move: the sub-task, the lost instance, why, where it went', () => {
    expect(moveLine({ subTaskId: 'count/0003', from: 'ab-i0', reason: 'exited', atMs: 1, to: 'ab-i1' })).toBe(
      '⚡ count/0003: instance ab-i0 lost (its process exited) → moved to ab-i1, resuming from its last checkpoint',
    );
    expect(moveLine({ subTaskId: 'total', from: 'ab-i1', reason: 'heartbeat-timeout', atMs: 2 })).toBe(
      '⚡ total: instance ab-i1 lost (no heartbeat) → waiting for an instance',
    );
  });

  it('SDK log lines are JSON, and never carry a task token', () => {
    const line = logLine({
      level: 'WARN',
      message: 'Activity failed',
      timestampNanos: 1_796_000_000_000_000_000n,
      meta: { taskToken: 'c2VjcmV0', activityType: 'runSubTask', workflowId: 'job-1' },
    });
    expect(line.endsWith('\n')).toBe(true);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(parsed).toEqual({
      at: new Date(1_796_000_000_000).toISOString(),
      level: 'WARN',
      message: 'Activity failed',
      activityType: 'runSubTask',
      workflowId: 'job-1',
    });
    expect(line).not.toContain('c2VjcmV0');
  });
});
