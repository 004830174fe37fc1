/**
 * Benchmark of the dag module: time and memory to decompose (or import), validate and analyse
 *   - a JobSpec of 100,000 sub-tasks (a range split into 100,000 chunks, reduced by a tree of fan-in 32), and
 *   - WfFormat workflows (by default every file in ../shared/data/workflows; the largest is montage dss-15d).
 *
 *   npx tsc && node dist/bench/dag.js [--json out.json] [--repeat 5] [--sub-tasks 100000] [workflow.json …]
 *
 * Times are medians over the repeats after one warm-up run. Memory: the heap the result retains
 * (after a forced GC, when available) and the process's peak resident set size.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  analyseDag,
  decompose,
  importWfFormat,
  jobSpec,
  readJsonFile,
  validateDag,
  type TaskDag,
} from '../src/dag';
import { maxOf } from '../src/util/array';

export interface DagBenchmarkOptions {
  /** Sub-tasks of the synthetic job (default 100,000). */
  subTasks?: number;
  /** Workflow files; default: every *.json in ../shared/data/workflows beside the repository. */
  workflows?: string[];
  repeat?: number;
  /** Write the results as JSON to this path. */
  jsonOut?: string;
  /** Print the table (default true). */
  print?: boolean;
}

export interface DagBenchmarkRow {
  case: string;
  nodes: number;
  edges: number;
  buildMs: number;
  validateMs: number;
  analyseMs: number;
  totalMs: number;
  retainedHeapMiB: number;
  peakRssMiB: number;
  criticalPathSeconds: number;
}

function gcFunction(): (() => void) | undefined {
  try {
    setFlagsFromString('--expose-gc');
    return runInNewContext('gc') as () => void;
  } catch {
    return undefined;
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function measure(
  name: string,
  build: () => TaskDag,
  maxNodes: number,
  repeat: number,
  gc?: () => void,
): DagBenchmarkRow {
  const times = {
    build: [] as number[],
    validate: [] as number[],
    analyse: [] as number[],
    total: [] as number[],
  };
  const holder: { last?: { dag: TaskDag; analysis: ReturnType<typeof analyseDag> } } = {};
  for (let run = 0; run <= repeat; run++) {
    holder.last = undefined;
    gc?.();
    const t0 = performance.now();
    const dag = build();
    const t1 = performance.now();
    validateDag(dag, { maxNodes });
    const t2 = performance.now();
    const analysis = analyseDag(dag);
    const t3 = performance.now();
    holder.last = { dag, analysis };
    if (run === 0) continue; // warm-up
    times.build.push(t1 - t0);
    times.validate.push(t2 - t1);
    times.analyse.push(t3 - t2);
    times.total.push(t3 - t0);
  }
  const nodes = holder.last!.dag.order;
  const edges = holder.last!.dag.size;
  const criticalPathSeconds = holder.last!.analysis.criticalPath.seconds;
  holder.last = undefined;
  const retained = retainedBytes(build, maxNodes, gc);
  return {
    case: name,
    nodes,
    edges,
    buildMs: median(times.build),
    validateMs: median(times.validate),
    analyseMs: median(times.analyse),
    totalMs: median(times.total),
    retainedHeapMiB: retained / 2 ** 20,
    peakRssMiB: process.resourceUsage().maxRSS / 1024,
    criticalPathSeconds,
  };
}

/** Heap held by one DAG and its analysis: after GC with it alive, minus after GC before building it. */
function retainedBytes(build: () => TaskDag, maxNodes: number, gc?: () => void): number {
  if (!gc) return Number.NaN;
  gc();
  const before = process.memoryUsage().heapUsed;
  const dag = validateDag(build(), { maxNodes });
  const analysis = analyseDag(dag);
  gc();
  const after = process.memoryUsage().heapUsed;
  return dag.order + analysis.nodes >= 0 ? after - before : Number.NaN; // keeps both alive until here
}

function defaultWorkflows(): string[] {
  const dir = path.resolve(__dirname, '..', '..', 'shared', 'data', 'workflows');
  const fromDist = path.resolve(__dirname, '..', '..', '..', 'shared', 'data', 'workflows');
  for (const candidate of [dir, fromDist]) {
    try {
      return readdirSync(candidate)
        .filter((f) => f.endsWith('.json'))
        .sort()
        .map((f) => path.join(candidate, f));
    } catch {
      // try the next location
    }
  }
  return [];
}

export function runDagBenchmark(options: DagBenchmarkOptions = {}): DagBenchmarkRow[] {
  const subTasks = options.subTasks ?? 100_000;
  const repeat = options.repeat ?? 5;
  const gc = gcFunction();
  const rows: DagBenchmarkRow[] = [];

  // The spec is parsed inside the timed build: parse + decompose.
  const fanIn = 32;
  const spec = () =>
    jobSpec(`bench-${subTasks}`)
      .split('work', 'bench.work', {
        range: { start: 1, end: subTasks * 1000 },
        chunking: { maxSubTasks: subTasks },
        resources: { cpu: 1, memoryMiB: 256 },
        estimate: { secondsPerUnit: 0.6, uncertainty: 0.2 },
        outputBytes: 64,
      })
      .reduce('sum', 'bench.sum', { fanIn, estimate: { seconds: 1 } })
      .limits({ maxSubTasks: subTasks * 2 })
      .build();
  rows.push(
    measure(
      `JobSpec: ${subTasks} chunks + reduce tree (fan-in ${fanIn})`,
      () => decompose(spec()),
      subTasks * 2,
      repeat,
      gc,
    ),
  );

  for (const file of options.workflows ?? defaultWorkflows()) {
    const json = readJsonFile(file);
    rows.push(measure(`WfFormat: ${path.basename(file)}`, () => importWfFormat(json), Infinity, repeat, gc));
  }

  if (options.print ?? true) {
    const header = [
      'case',
      'nodes',
      'edges',
      'build ms',
      'validate ms',
      'analyse ms',
      'total ms',
      'heap MiB',
      'peak RSS MiB',
    ];
    const cells = rows.map((r) => [
      r.case,
      String(r.nodes),
      String(r.edges),
      r.buildMs.toFixed(1),
      r.validateMs.toFixed(1),
      r.analyseMs.toFixed(1),
      r.totalMs.toFixed(1),
      r.retainedHeapMiB.toFixed(1),
      r.peakRssMiB.toFixed(0),
    ]);
    const widths = header.map((h, c) => Math.max(h.length, maxOf(cells.map((row) => row[c]!.length))));
    const line = (row: string[]) =>
      row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
    console.log(line(header));
    console.log(widths.map((w) => '-'.repeat(w)).join('  '));
    for (const row of cells) console.log(line(row));
    console.log(
      `\nmedian of ${repeat} runs after a warm-up; node ${process.version}; heap retained ${gc ? 'after GC' : '(no GC available)'}`,
    );
  }
  if (options.jsonOut) {
    writeFileSync(
      options.jsonOut,
      `${JSON.stringify({ benchmark: 'dag', node: process.version, repeat, createdAt: new Date().toISOString(), rows }, null, 2)}\n`,
    );
  }
  return rows;
}

function parseArgs(argv: string[]): DagBenchmarkOptions {
  const options: DagBenchmarkOptions = {};
  const workflows: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--json') options.jsonOut = value();
    else if (arg === '--repeat') options.repeat = Number(value());
    else if (arg === '--sub-tasks') options.subTasks = Number(value());
    else if (arg.startsWith('--')) throw new Error(`unknown option ${arg}`);
    else workflows.push(arg);
  }
  if (workflows.length > 0) options.workflows = workflows;
  return options;
}

if (require.main === module) {
  try {
    runDagBenchmark(parseArgs(process.argv.slice(2)));
  } catch (err) {
    console.error(`bench dag: ${(err as Error).message}`);
    process.exit(2);
  }
}
