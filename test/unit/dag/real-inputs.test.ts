/**
 * `spotdag plan` on workflow files from outside the project: every WfCommons instance in
 * ../shared/data/workflows, nf-core pipelines recorded by Nextflow (test/fixtures/wfinstances,
 * which report 0 for memory they did not measure) and a generated 100,000-task instance.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { DEFAULT_TASK_CORES, DEFAULT_TASK_MEMORY_MIB, DEFAULT_TASK_SECONDS } from '../../../src/dag';
import { repoRoot, workflowsDir } from './helpers';
import { runPlan } from './run-plan';

interface RawSpecTask {
  id: string;
  name?: string;
  parents?: string[];
  children?: string[];
}
interface RawExecTask {
  id: string;
  runtimeInSeconds?: number;
  memoryInBytes?: number;
  coreCount?: number;
}
interface RawInstance {
  workflow: {
    specification: { tasks: RawSpecTask[]; files?: Array<{ id: string; sizeInBytes: number }> };
    execution: { tasks: RawExecTask[] };
  };
}
interface PlannedSubTask {
  id: string;
  stage: string;
  cpu: number;
  memoryMiB: number;
  durationSeconds: number;
  durationUncertainty: number;
}
interface PlanJson {
  kind: string;
  nodes: number;
  edges: number;
  totalWorkSeconds: number;
  criticalPathSeconds: number;
  maxParallelism: number;
  subTasks: PlannedSubTask[];
}

const MIB = 2 ** 20;
const FIELDS = ['runtimeInSeconds', 'memoryInBytes', 'coreCount'] as const;
const WARNING_RE = /^spotdag: warning: workflow\.execution\.tasks\[\*\]\.([\w.]+): (\d+) of (\d+) tasks /;

/** The warning lines on stderr, by field: count and total; fails on a repeated field or another line. */
function warningsByField(stderr: string): Map<string, { count: number; of: number }> {
  const out = new Map<string, { count: number; of: number }>();
  for (const line of stderr.split('\n').filter(Boolean)) {
    const m = WARNING_RE.exec(line);
    expect(m).not.toBeNull();
    expect(out.has(m![1]!)).toBe(false);
    out.set(m![1]!, { count: Number(m![2]), of: Number(m![3]) });
  }
  return out;
}

/** Checks the plan against the raw instance: every task, its values or the documented defaults, the warnings. */
function expectFaithfulImport(raw: RawInstance, plan: PlanJson, stderr: string): void {
  const tasks = raw.workflow.specification.tasks;
  const runs = new Map(raw.workflow.execution.tasks.map((t) => [t.id, t]));
  const edges = new Set<string>();
  for (const t of tasks) {
    for (const p of t.parents ?? []) edges.add(`${p} ${t.id}`);
    for (const c of t.children ?? []) edges.add(`${t.id} ${c}`);
  }
  expect(plan.kind).toBe('wfformat');
  expect(plan.nodes).toBe(tasks.length);
  expect(plan.edges).toBe(edges.size);

  // Each task's values, or the documented default where the trace has 0 or nothing.
  const unknown = { runtimeInSeconds: 0, memoryInBytes: 0, coreCount: 0 };
  let work = 0;
  const wrong: string[] = []; // one expect at the end: 100,000 expects take a minute
  const planned = new Map(plan.subTasks.map((s) => [s.id, s]));
  for (const task of tasks) {
    const run = runs.get(task.id);
    const runtime = run?.runtimeInSeconds ?? 0;
    const memory = run?.memoryInBytes ?? 0;
    const cores = run?.coreCount ?? 0;
    if (!(runtime > 0)) unknown.runtimeInSeconds++;
    if (!(memory > 0)) unknown.memoryInBytes++;
    if (!(cores > 0)) unknown.coreCount++;
    const expected = {
      durationSeconds: runtime > 0 ? runtime : DEFAULT_TASK_SECONDS,
      durationUncertainty: runtime > 0 ? 0.1 : 1,
      memoryMiB: memory > 0 ? Math.max(1, Math.ceil(memory / MIB)) : DEFAULT_TASK_MEMORY_MIB,
      cpu: cores > 0 ? cores : DEFAULT_TASK_CORES,
    };
    work += expected.durationSeconds;
    const node = planned.get(task.id);
    const actual = node && {
      durationSeconds: node.durationSeconds,
      durationUncertainty: node.durationUncertainty,
      memoryMiB: node.memoryMiB,
      cpu: node.cpu,
    };
    if (JSON.stringify(actual) !== JSON.stringify(expected))
      wrong.push(`${task.id}: ${JSON.stringify(actual)} ≠ ${JSON.stringify(expected)}`);
  }
  expect(wrong.slice(0, 5)).toEqual([]);
  expect(plan.totalWorkSeconds).toBeCloseTo(work, 6);

  // One line per field with assumed values (not one per task), with the right count.
  const warnings = warningsByField(stderr);
  for (const field of FIELDS) {
    if (unknown[field] === 0) expect(warnings.has(field)).toBe(false);
    else expect(warnings.get(field)).toEqual({ count: unknown[field], of: tasks.length });
  }
}

async function planJson(file: string): Promise<{ plan: PlanJson; stderr: string }> {
  const { stdout, stderr } = await runPlan([file, '--json']);
  return { plan: JSON.parse(stdout) as PlanJson, stderr };
}

describe('spotdag plan on every WfCommons instance in ../shared/data/workflows', () => {
  const files = readdirSync(workflowsDir).filter((f) => f.endsWith('.json'));

  it('finds the shared instances', () => expect(files.length).toBeGreaterThanOrEqual(12));

  it.each(files)('%s', async (file) => {
    const full = path.join(workflowsDir, file);
    const { plan, stderr } = await planJson(full);
    expectFaithfulImport(JSON.parse(readFileSync(full, 'utf8')) as RawInstance, plan, stderr);
  });
});

describe('spotdag plan on nf-core instances (WfInstances, Nextflow)', () => {
  const fixtures = path.join(repoRoot, 'test', 'fixtures', 'wfinstances');
  const notice = readFileSync(path.join(fixtures, 'NOTICE'), 'utf8');
  const dir = mkdtempSync(path.join(tmpdir(), 'spotdag-nfcore-'));
  const pipelines = ['sarek', 'rnaseq', 'mag', 'chipseq'];

  /** The instance, unpacked into a temporary file, after checking it is the upstream file. */
  function unpack(pipeline: string): { file: string; raw: RawInstance } {
    const name = `${pipeline}-dirt02-001.json`;
    const bytes = gunzipSync(readFileSync(path.join(fixtures, `${name}.gz`)));
    const blob = createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
    expect(notice).toMatch(new RegExp(`nextflow/${name}\\s+${blob}`));
    const file = path.join(dir, name);
    writeFileSync(file, bytes);
    return { file, raw: JSON.parse(bytes.toString('utf8')) as RawInstance };
  }

  it.each(pipelines)(
    '%s: imports with 0 memory and 0 runtime defaulted, one warning per field',
    async (p) => {
      const { file, raw } = unpack(p);
      const zeroMemory = raw.workflow.execution.tasks.filter((t) => t.memoryInBytes === 0).length;
      expect(zeroMemory).toBeGreaterThan(0); // the reason these files were rejected
      const { plan, stderr } = await planJson(file);
      expectFaithfulImport(raw, plan, stderr);
      expect(warningsByField(stderr).get('memoryInBytes')?.count).toBe(zeroMemory);
      expect(stderr).toMatch(
        /memoryInBytes: \d+ of \d+ tasks have 0 or no memory \(unknown in real traces\); using 512 MiB\n/,
      );

      // Stages are the Nextflow processes (task names), not the shell scripts in command.program.
      const names = new Map(raw.workflow.specification.tasks.map((t) => [t.id, t.name]));
      expect(plan.subTasks.filter((s) => s.stage !== names.get(s.id))).toEqual([]);
    },
  );

  it('explains an nf-core plan', async () => {
    const { stdout, stderr } = await runPlan([unpack('sarek').file, '--explain']);
    expect(stdout).toMatch(/^sarek \(WfFormat workflow\)/);
    expect(stdout).toMatch(/sub-tasks\s+26 in 26 stage\(s\)/);
    expect(stdout).toMatch(/NFCORE_SAREK\.SAREK\.BAM_MARKDUPLICATES\.GATK4_MARKDUPLICATES\s+task/);
    expect(stderr.split('\n').filter(Boolean)).toHaveLength(3); // runtime, memory, cores
  });
});

describe('spotdag plan on a generated 100,000-task WfFormat instance', () => {
  const TASKS = 100_000;
  const maps = TASKS - 2;

  /** split → 99,998 map tasks → merge; every 10th map has memory 0, every 7th runtime 0, none a core count. */
  function instance(): RawInstance & Record<string, unknown> {
    const id = (step: string, i: number) => `${step}_ID${String(i).padStart(7, '0')}`;
    const mapIds = Array.from({ length: maps }, (_, i) => id('map', i + 1));
    const split = id('split', 0);
    const merge = id('merge', TASKS - 1);
    const specTask = (taskId: string, parents: string[], children: string[]) => ({
      name: taskId,
      id: taskId,
      parents,
      children,
      inputFiles: parents.length === 1 ? [`${parents[0]}.out`] : [],
      outputFiles: [`${taskId}.out`],
    });
    const execTask = (taskId: string, i: number) => ({
      id: taskId,
      runtimeInSeconds: i % 7 === 3 ? 0 : 10 + (i % 50),
      memoryInBytes: i % 10 === 4 ? 0 : (100 + (i % 5)) * MIB,
      command: { program: taskId.replace(/_ID\d+$/, ''), arguments: [] },
    });
    return {
      name: 'generated-100k',
      schemaVersion: '1.5',
      workflow: {
        specification: {
          tasks: [
            specTask(split, [], mapIds),
            ...mapIds.map((m) => specTask(m, [split], [merge])),
            specTask(merge, mapIds, []),
          ],
          files: [split, ...mapIds, merge].map((f) => ({ id: `${f}.out`, sizeInBytes: 1000 })),
        },
        execution: { tasks: [split, ...mapIds, merge].map((t, i) => execTask(t, i)) },
      },
    };
  }

  it('plans it: every task, both edges of every map task, one warning line per field', async () => {
    const raw = instance();
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'spotdag-100k-')), 'generated-100k.json');
    writeFileSync(file, JSON.stringify(raw));
    const { plan, stderr } = await planJson(file);
    expect(plan.nodes).toBe(TASKS);
    expect(plan.edges).toBe(2 * maps);
    expect(plan.maxParallelism).toBe(maps);
    expectFaithfulImport(raw, plan, stderr);
    const warnings = warningsByField(stderr);
    expect([...warnings.keys()].sort()).toEqual(['coreCount', 'memoryInBytes', 'runtimeInSeconds']);
    expect(warnings.get('coreCount')).toEqual({ count: TASKS, of: TASKS });
  });
});
