import { DirectedGraph } from 'graphology';
import { StepFunction } from '../../../src/allocate/market-forecast';
import type { AllocationForecast, PoolOption } from '../../../src/allocate/types';
import type { DependencyAttributes, SubTaskAttributes, TaskDag } from '../../../src/dag';

export interface TestPool {
  key: string;
  zone?: string;
  region?: string;
  vcpu?: number;
  memoryMiB?: number;
  od: number;
  spot: number;
  /** Interruptions per hour. */
  hazard?: number;
  available?: boolean;
}

export function pools(list: TestPool[]): PoolOption[] {
  return list.map((p) => ({
    key: p.key,
    instanceType: p.key.split('@')[0]!,
    zone: p.zone ?? p.key.split('@')[1] ?? 'z1',
    region: p.region ?? 'r1',
    vcpu: p.vcpu ?? 2,
    memoryMiB: p.memoryMiB ?? 4096,
    onDemandPricePerHour: p.od,
  }));
}

/** A flat forecast: constant spot price (upper = +20 %), constant hazard. */
export function flatForecast(list: TestPool[]): AllocationForecast {
  const options = pools(list);
  const price = list.map((p) => new StepFunction(0, 3600, [p.spot]));
  return {
    pools: options,
    spotPrice: (i, a, b) => price[i]!.mean(a, b),
    spotPriceUpper: (i) => list[i]!.spot * 1.2,
    interruptionProbability: (i, a, b) => 1 - Math.exp((-(list[i]!.hazard ?? 0) * Math.max(0, b - a)) / 3600),
    hazardPerHour: (i) => list[i]!.hazard ?? 0,
    availability: (i) => (list[i]!.available === false ? 0 : 1),
  };
}

export function task(id: string, seconds: number, cpu = 1, memoryMiB = 512): SubTaskAttributes {
  return {
    id,
    stage: id,
    step: 'test',
    kind: 'task',
    cpu,
    memoryMiB,
    durationSeconds: seconds,
    durationUncertainty: 0.1,
    priority: 0,
    index: 0,
    count: 1,
  };
}

export function buildDag(nodes: SubTaskAttributes[], edges: Array<[string, string, number?]>): TaskDag {
  const dag: TaskDag = new DirectedGraph<SubTaskAttributes, DependencyAttributes>();
  for (const n of nodes) dag.addNode(n.id, n);
  for (const [a, b, bytes] of edges) dag.addDirectedEdge(a, b, { bytes: bytes ?? 0 });
  return dag;
}

export const chain = (seconds = 3600) =>
  buildDag(
    [task('a', seconds), task('b', seconds), task('c', seconds)],
    [
      ['a', 'b', 1e9],
      ['b', 'c', 1e9],
    ],
  );

export const forkJoin = (width = 4, seconds = 3600) =>
  buildDag(
    [task('src', 600), ...Array.from({ length: width }, (_, i) => task(`w${i}`, seconds)), task('join', 600)],
    [
      ...Array.from({ length: width }, (_, i): [string, string, number] => ['src', `w${i}`, 1e6]),
      ...Array.from({ length: width }, (_, i): [string, string, number] => [`w${i}`, 'join', 1e6]),
    ],
  );

export const diamond = (seconds = 3600) =>
  buildDag(
    [task('a', 600), task('b', seconds), task('c', seconds / 4), task('d', 600)],
    [
      ['a', 'b', 1e6],
      ['a', 'c', 1e6],
      ['b', 'd', 1e6],
      ['c', 'd', 1e6],
    ],
  );
