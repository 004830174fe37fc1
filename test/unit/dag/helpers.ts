import path from 'node:path';
import type { JobSpecInput } from '../../../src/dag';

export const repoRoot = path.resolve(__dirname, '../../..');
/** ../shared/data beside the repository (read-only test data). */
export const dataDir = path.resolve(repoRoot, '..', 'shared', 'data');
export const workflowsDir = path.join(dataDir, 'workflows');

export function demoJob(): JobSpecInput {
  return {
    name: 'primes-1e9',
    stages: [
      {
        id: 'count',
        kind: 'split',
        step: 'primes.count',
        range: { start: 1, end: 1000000000 },
        chunking: { maxSubTasks: 12 },
        resources: { cpu: 1, memoryMiB: 256 },
        estimate: { secondsPerUnit: 5e-9, uncertainty: 0.2 },
      },
      {
        id: 'total',
        kind: 'reduce',
        step: 'primes.sum',
        dependsOn: ['count'],
        fanIn: 8,
        resources: { cpu: 1, memoryMiB: 64 },
        estimate: { seconds: 0.1 },
      },
    ],
    fleet: { provider: 'local', instances: 3 },
    preferences: { objective: 'balanced' },
  };
}
