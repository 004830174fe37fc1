import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { hasCycle } from 'graphology-dag';
import {
  analyseDag,
  CycleError,
  DanglingReferenceError,
  DEFAULT_TASK_CORES,
  DEFAULT_TASK_MEMORY_MIB,
  DEFAULT_TASK_SECONDS,
  DuplicateIdError,
  importWfFormat,
  isWfFormat,
  loadWorkflowFile,
  parseWfFormat,
  planFromJson,
  validateDag,
  WfFormatError,
} from '../../../src/dag';
import { demoJob, workflowsDir } from './helpers';

interface RawTask {
  id: string;
  parents: string[];
  children: string[];
  inputFiles: string[];
  outputFiles: string[];
}
interface RawWorkflow {
  workflow: {
    specification: { tasks: RawTask[]; files: Array<{ id: string; sizeInBytes: number }> };
    execution: {
      tasks: Array<{ id: string; runtimeInSeconds: number; coreCount?: number; memoryInBytes?: number }>;
    };
  };
}

const files = readdirSync(workflowsDir)
  .filter((f) => f.endsWith('.json'))
  .sort();
const read = (file: string) => JSON.parse(readFileSync(path.join(workflowsDir, file), 'utf8')) as RawWorkflow;

/** Longest source-to-sink path by runtime, by enumerating every path (small workflows only). */
function bruteForceCriticalPath(raw: RawWorkflow): number {
  const runtime = new Map(raw.workflow.execution.tasks.map((t) => [t.id, t.runtimeInSeconds]));
  const children = new Map(raw.workflow.specification.tasks.map((t) => [t.id, new Set(t.children)]));
  for (const t of raw.workflow.specification.tasks) for (const p of t.parents) children.get(p)!.add(t.id);
  let best = 0;
  let paths = 0;
  const walk = (id: string, sum: number) => {
    const total = sum + runtime.get(id)!;
    const next = children.get(id)!;
    if (next.size === 0) {
      paths++;
      best = Math.max(best, total);
    }
    for (const c of next) walk(c, total);
  };
  for (const t of raw.workflow.specification.tasks) if (t.parents.length === 0) walk(t.id, 0);
  expect(paths).toBeGreaterThan(0);
  return best;
}

describe('importWfFormat on the shared WfCommons instances', () => {
  expect(files.length).toBeGreaterThanOrEqual(12);

  it.each(files)('%s imports with the file’s nodes, edges, runtimes and bytes', (file) => {
    const raw = read(file);
    expect(isWfFormat(raw)).toBe(true);
    const dag = loadWorkflowFile(path.join(workflowsDir, file));
    const tasks = raw.workflow.specification.tasks;
    const pairs = new Set<string>();
    for (const t of tasks) {
      for (const p of t.parents) pairs.add(`${p} ${t.id}`);
      for (const c of t.children) pairs.add(`${t.id} ${c}`);
    }
    expect(dag.order).toBe(tasks.length);
    expect(dag.size).toBe(pairs.size);
    expect(hasCycle(dag)).toBe(false);
    validateDag(dag);

    const execution = raw.workflow.execution.tasks;
    const totalRuntime = execution.reduce((a, t) => a + t.runtimeInSeconds, 0);
    expect(analyseDag(dag).totalWorkSeconds).toBeCloseTo(totalRuntime, 6);
    const sample = execution[Math.floor(execution.length / 2)]!;
    const node = dag.getNodeAttributes(sample.id);
    expect(node.durationSeconds).toBe(sample.runtimeInSeconds);
    expect(node.cpu).toBe(sample.coreCount ?? 1);
    if (sample.memoryInBytes) expect(node.memoryMiB).toBe(Math.ceil(sample.memoryInBytes / 2 ** 20));

    // Bytes on one edge: the sizes of the files the parent writes and the child reads.
    const child = tasks.find((t) => t.parents.length > 0)!;
    const parent = tasks.find((t) => t.id === child.parents[0])!;
    const size = new Map(raw.workflow.specification.files.map((f) => [f.id, f.sizeInBytes]));
    const shared = child.inputFiles.filter((f) => parent.outputFiles.includes(f));
    const bytes = shared.reduce((a, f) => a + size.get(f)!, 0);
    expect(dag.getEdgeAttribute(dag.edge(parent.id, child.id)!, 'bytes')).toBe(bytes);
  });

  it.each(files.filter((f) => read(f).workflow.specification.tasks.length <= 110))(
    '%s: critical path equals a brute-force search over all paths',
    (file) => {
      const raw = read(file);
      const analysis = analyseDag(importWfFormat(raw));
      expect(analysis.criticalPath.seconds).toBeCloseTo(bruteForceCriticalPath(raw), 6);
      // The reported nodes form a chain whose runtimes add up to the length.
      const runtime = new Map(raw.workflow.execution.tasks.map((t) => [t.id, t.runtimeInSeconds]));
      const dag = importWfFormat(raw);
      const nodes = analysis.criticalPath.nodes;
      for (let i = 1; i < nodes.length; i++) expect(dag.hasDirectedEdge(nodes[i - 1]!, nodes[i]!)).toBe(true);
      expect(dag.inDegree(nodes[0]!)).toBe(0);
      expect(dag.outDegree(nodes[nodes.length - 1]!)).toBe(0);
      expect(nodes.reduce((a, n) => a + runtime.get(n)!, 0)).toBeCloseTo(analysis.criticalPath.seconds, 6);
    },
  );

  it('groups tasks into stages by program', () => {
    const dag = importWfFormat(read('blast-chameleon-small-001.json'));
    expect(dag.getNodeAttributes('blastall_ID000002')).toMatchObject({
      step: 'blastall',
      stage: 'blastall',
      count: 40,
    });
  });
});

describe('importWfFormat on broken documents', () => {
  const doc = (tasks: unknown[]) => ({ workflow: { specification: { tasks, files: [] } } });
  const task = (id: string, parents: string[] = [], children: string[] = []) => ({ id, parents, children });

  it('names a dangling parent', () => {
    expect(() => importWfFormat(doc([task('a'), task('b', ['zz'])]))).toThrow(DanglingReferenceError);
    expect(() => importWfFormat(doc([task('a'), task('b', ['zz'])]))).toThrow(
      'workflow.specification.tasks[1].parents[0]: "b" refers to unknown "zz"',
    );
  });

  it('names duplicate ids and cycles', () => {
    expect(() => importWfFormat(doc([task('a'), task('a')]))).toThrow(DuplicateIdError);
    const cyclic = () => importWfFormat(doc([task('a', ['c']), task('b', ['a']), task('c', ['b'])]));
    expect(cyclic).toThrow(CycleError);
    expect(cyclic).toThrow(/a → b → c → a|b → c → a → b|c → a → b → c/);
  });

  it('explains a wrong shape with the path', () => {
    expect(() => importWfFormat({ workflow: { specification: { tasks: [{ id: 3 }] } } })).toThrow(
      WfFormatError,
    );
    expect(() => importWfFormat({ workflow: { specification: { tasks: [{ id: 3 }] } } })).toThrow(
      /workflow\.specification\.tasks\[0\]\.id/,
    );
  });
});

describe('parseWfFormat on values real traces leave out', () => {
  const spec = (id: string, extra: Record<string, unknown> = {}) => ({
    id,
    parents: [],
    children: [],
    ...extra,
  });
  const doc = (execution: unknown[], tasks = [spec('a'), spec('b'), spec('c')]) => ({
    workflow: { specification: { tasks, files: [] }, execution: { tasks: execution } },
  });

  it('defaults 0 or missing runtime, memory and cores, with one warning line per field', () => {
    const { dag, warnings } = parseWfFormat(
      doc([
        { id: 'a', runtimeInSeconds: 0, memoryInBytes: 0, coreCount: 0 },
        { id: 'b', runtimeInSeconds: 5, memoryInBytes: 3 * 2 ** 20, coreCount: 2 },
        { id: 'zz', runtimeInSeconds: 1 },
      ]),
      { runtimeScale: 10 },
    );
    expect(dag.getNodeAttributes('a')).toMatchObject({
      durationSeconds: DEFAULT_TASK_SECONDS * 10,
      durationUncertainty: 1,
      memoryMiB: DEFAULT_TASK_MEMORY_MIB,
      cpu: DEFAULT_TASK_CORES,
    });
    expect(dag.getNodeAttributes('b')).toMatchObject({
      durationSeconds: 50,
      durationUncertainty: 0.1,
      memoryMiB: 3,
      cpu: 2,
    });
    // c has no execution record: every value is assumed.
    expect(dag.getNodeAttributes('c')).toMatchObject({ durationSeconds: 10, memoryMiB: 512, cpu: 1 });
    expect(warnings).toEqual([
      "workflow.execution.tasks[*].runtimeInSeconds: 2 of 3 tasks have 0 or no runtime (not measured, or below the trace's resolution); using 1 s with uncertainty 1",
      'workflow.execution.tasks[*].memoryInBytes: 2 of 3 tasks have 0 or no memory (unknown in real traces); using 512 MiB',
      'workflow.execution.tasks[*].coreCount: 2 of 3 tasks have 0 or no core count; using 1 core',
      'workflow.execution.tasks[*].id: 1 execution records name no task of workflow.specification.tasks; ignored',
    ]);
  });

  it('warns about nothing when every value is measured', () => {
    const run = (id: string) => ({ id, runtimeInSeconds: 1, memoryInBytes: 1, coreCount: 1 });
    expect(parseWfFormat(doc([run('a'), run('b'), run('c')])).warnings).toEqual([]);
  });

  it('names steps after the category, a distinct task name, a one-word program, else the id', () => {
    const script = { program: 'check.py in.csv \\\n  out.csv\n cat <<-END > versions.yml' };
    const { dag, warnings } = parseWfFormat(
      doc(
        [
          { id: 'NF.FASTQC_2', runtimeInSeconds: 1, command: script },
          { id: 'mProject_ID0000007', runtimeInSeconds: 1, command: { program: '/usr/bin/mProject' } },
          { id: 'BUILD_4', runtimeInSeconds: 1, command: script },
          { id: 'x', runtimeInSeconds: 1, command: script },
        ],
        [
          spec('NF.FASTQC_2', { name: 'NF.FASTQC' }),
          spec('mProject_ID0000007', { name: 'mProject_ID0000007' }),
          spec('BUILD_4'),
          spec('x', { category: 'align', name: 'ALIGN' }),
        ],
      ),
    );
    expect(dag.mapNodes((_id, a) => a.step)).toEqual(['NF.FASTQC', 'mProject', 'BUILD', 'align']);
    expect(warnings).toContain(
      'workflow.execution.tasks[*].command.program: 1 of 4 tasks give a shell script, not a program name, and no name of their own; their step is the task id without its numeric suffix',
    );
  });

  it('still rejects negative values, naming the field', () => {
    expect(() => parseWfFormat(doc([{ id: 'a', memoryInBytes: -1 }]))).toThrow(WfFormatError);
    expect(() => parseWfFormat(doc([{ id: 'a', memoryInBytes: -1 }]))).toThrow(
      /workflow\.execution\.tasks\[0\]\.memoryInBytes: Too small: expected number to be >=0/,
    );
  });

  it('says that WfFormat before 1.5 is not supported', () => {
    const old = { name: 'w', schemaVersion: '1.4', workflow: { tasks: [{ name: 't', runtime: 1 }] } };
    expect(isWfFormat(old)).toBe(true);
    expect(() => planFromJson(old)).toThrow(WfFormatError);
    expect(() => planFromJson(old)).toThrow(
      'invalid WfFormat instance: schemaVersion: WfFormat 1.4 is not supported: spotdag reads WfFormat 1.5',
    );
  });

  it('returns the warnings from the loader, none for a JobSpec', () => {
    expect(planFromJson(doc([{ id: 'a', runtimeInSeconds: 1 }])).warnings).toHaveLength(3);
    expect(planFromJson(demoJob()).warnings).toEqual([]);
  });
});
