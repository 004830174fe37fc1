/**
 * Allocator speed: time to `allocate` synthetic layered DAGs (default 2,000 and 10,000 sub-tasks)
 * over synthetic pools (default 200, each offered on spot and on-demand, 48 hourly forecast steps).
 *
 *   npx tsc && node dist/cli/main.js bench allocate [--sizes 2000,10000] [--pools 200] [--repeat 3] [--json out.json]
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { DirectedGraph } from 'graphology';
import { allocate } from '../src/allocate/allocate';
import { StepFunction } from '../src/allocate/market-forecast';
import type { AllocationForecast, PoolOption } from '../src/allocate/types';
import type { DependencyAttributes, SubTaskAttributes, TaskDag } from '../src/dag';
import { rng } from '../src/sim/market';
import { maxOf } from '../src/util/array';

export interface AllocateBenchmarkOptions {
  sizes?: number[];
  pools?: number;
  repeat?: number;
  json?: string;
  print?: boolean;
}

export interface AllocateBenchmarkRow {
  subTasks: number;
  edges: number;
  pools: number;
  medianMs: number;
  minMs: number;
  instances: number;
  predictedCostUsd: number;
  predictedMakespanSeconds: number;
  targetMs: number;
  ok: boolean;
}

/** A layered random DAG: ~√n layers, each node depends on 1–3 nodes of the previous layer. */
export function syntheticDag(n: number, seed = 1): TaskDag {
  const r = rng(seed);
  const dag: TaskDag = new DirectedGraph<SubTaskAttributes, DependencyAttributes>();
  const width = Math.max(1, Math.round(Math.sqrt(n) * 2));
  let prev: string[] = [];
  let layer: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `t${i}`;
    dag.addNode(id, {
      id,
      stage: 's',
      step: 's',
      cpu: 1,
      memoryMiB: 512 + Math.floor(r() * 1024),
      durationSeconds: 300 + r() * 3300,
      durationUncertainty: 0.1,
      priority: 0,
      index: i,
      count: n,
    });
    for (let k = 0; k < 1 + Math.floor(r() * 3) && prev.length; k++) {
      const from = prev[Math.floor(r() * prev.length)]!;
      if (!dag.hasEdge(from, id)) dag.addDirectedEdge(from, id, { bytes: Math.floor(r() * 5e8) });
    }
    layer.push(id);
    if (layer.length >= width) {
      prev = layer;
      layer = [];
    }
  }
  return dag;
}

export function syntheticForecast(pools: number, seed = 2): AllocationForecast {
  const r = rng(seed);
  const options: PoolOption[] = [];
  const price: StepFunction[] = [];
  const hazard: number[] = [];
  const types = [
    { t: 'c5.large', vcpu: 2, mem: 4096, od: 0.085 },
    { t: 'm5.large', vcpu: 2, mem: 8192, od: 0.096 },
    { t: 'r5.large', vcpu: 2, mem: 16384, od: 0.126 },
    { t: 't3.medium', vcpu: 2, mem: 4096, od: 0.0416 },
  ];
  for (let i = 0; i < pools; i++) {
    const type = types[i % types.length]!;
    const zone = `zone${Math.floor(i / types.length)}`;
    options.push({
      key: `${type.t}@${zone}`,
      instanceType: type.t,
      region: `region${Math.floor(i / 12)}`,
      zone,
      vcpu: type.vcpu,
      memoryMiB: type.mem,
      onDemandPricePerHour: type.od,
    });
    const base = type.od * (0.25 + 0.5 * r());
    price.push(
      new StepFunction(
        0,
        3600,
        Array.from({ length: 48 }, () => base * (0.9 + 0.2 * r())),
      ),
    );
    hazard.push(0.02 + r() * 0.5);
  }
  return {
    pools: options,
    spotPrice: (i, a, b) => price[i]!.mean(a, b),
    spotPriceUpper: (i, a, b) => price[i]!.max(a, b) * 1.1,
    interruptionProbability: (i, a, b) => 1 - Math.exp((-hazard[i]! * Math.max(0, b - a)) / 3600),
    hazardPerHour: (i) => hazard[i]!,
    availability: (i) => (i % 7 === 3 ? 0 : 1),
  };
}

export function runAllocateBenchmark(options: AllocateBenchmarkOptions = {}): AllocateBenchmarkRow[] {
  const sizes = options.sizes ?? [2000, 10000];
  const pools = options.pools ?? 200;
  const repeat = options.repeat ?? 3;
  const forecast = syntheticForecast(pools);
  const rows: AllocateBenchmarkRow[] = [];
  for (const n of sizes) {
    const dag = syntheticDag(n);
    const times: number[] = [];
    let schedule: ReturnType<typeof allocate> | undefined;
    for (let k = 0; k < repeat; k++) {
      const t = performance.now();
      schedule = allocate(dag, forecast, { maxInstances: 64 }, { objective: 'balanced' });
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    const targetMs = n <= 2000 ? 2000 : (10000 * n) / 10000;
    rows.push({
      subTasks: n,
      edges: dag.size,
      pools,
      medianMs: times[Math.floor(times.length / 2)]!,
      minMs: times[0]!,
      instances: schedule!.instances.length,
      predictedCostUsd: schedule!.predictedCostUsd,
      predictedMakespanSeconds: schedule!.predictedMakespanSeconds,
      targetMs,
      ok: times[Math.floor(times.length / 2)]! < targetMs,
    });
  }
  if (options.json)
    writeFileSync(options.json, `${JSON.stringify({ node: process.version, rows }, null, 1)}\n`);
  if (options.print !== false) {
    const table = [
      [
        'sub-tasks',
        'edges',
        'pools',
        'median ms',
        'min ms',
        'target ms',
        'ok',
        'instances',
        'pred. cost $',
        'pred. makespan s',
      ],
      ...rows.map((r) => [
        String(r.subTasks),
        String(r.edges),
        String(r.pools),
        r.medianMs.toFixed(0),
        r.minMs.toFixed(0),
        String(r.targetMs),
        r.ok ? 'yes' : 'NO',
        String(r.instances),
        r.predictedCostUsd.toFixed(2),
        r.predictedMakespanSeconds.toFixed(0),
      ]),
    ];
    const widths = table[0]!.map((_, c) => maxOf(table.map((row) => row[c]!.length)));
    process.stdout.write(
      `${table.map((row) => row.map((x, c) => x.padStart(widths[c]!)).join('  ')).join('\n')}\n`,
    );
  }
  return rows;
}
