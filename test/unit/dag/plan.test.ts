import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { demoJob, workflowsDir } from './helpers';
import { runPlan } from './run-plan';

describe('spotdag plan', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'spotdag-plan-'));
  const job = path.join(dir, 'job.json');
  writeFileSync(job, JSON.stringify(demoJob()));

  it('prints one JSON object for a JobSpec', async () => {
    const json = JSON.parse((await runPlan([job, '--json'])).stdout) as Record<string, unknown>;
    expect(json).toMatchObject({
      kind: 'jobspec',
      name: 'primes-1e9',
      nodes: 15,
      edges: 14,
      maxParallelism: 12,
    });
    expect(json.criticalPathSeconds).toBeCloseTo(5 / 12 + 0.2, 6);
    expect(json.totalWorkSeconds).toBeCloseTo(5.3, 6);
    expect((json.subTasks as unknown[]).length).toBe(15);
  });

  it('detects a WfFormat file and explains it', async () => {
    const { stdout: text, stderr } = await runPlan([
      path.join(workflowsDir, 'helloworld-forkjoin-10-chameleon.json'),
      '--explain',
    ]);
    // The instance records no core counts: one warning line for that field, on stderr.
    expect(stderr).toBe(
      'spotdag: warning: workflow.execution.tasks[*].coreCount: 10 of 10 tasks have 0 or no core count; using 1 core\n',
    );
    expect(text).toMatch(/WfFormat workflow/);
    expect(text).toMatch(/sub-tasks\s+10 /);
    expect(text).toMatch(/dependencies\s+16/);
    expect(text).toMatch(/critical path/);
    expect(text).toMatch(/max parallelism\s+8 at once/);
  });

  it('explains the overhead model of a JobSpec, and fails with exit code 2 on a bad file', async () => {
    expect((await runPlan([job, '--explain'])).stdout).toMatch(/cost-optimal sub-task length/);
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, '{"name": "x", "stages": [}');
    await expect(runPlan([bad])).rejects.toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/line 1, column 26/),
    });
  });
});
