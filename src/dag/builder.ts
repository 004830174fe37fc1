/**
 * A typed builder for JobSpecs:
 *
 *   jobSpec('primes-1e9')
 *     .split('count', 'primes.count', { range: { start: 1, end: 1e9 }, chunking: { maxSubTasks: 12 } })
 *     .reduce('total', 'primes.sum', { fanIn: 8 })          // dependsOn defaults to the previous stage
 *     .fleet({ instances: 3 })
 *     .build();                                             // validated JobSpec (throws JobSpecError)
 */
import type { PreferencesInput } from '../allocate/preferences';
import type { FleetSpecInput } from '../provision/fleet';
import {
  parseJobSpec,
  type JobSpec,
  type JobSpecInput,
  type ParseJobSpecOptions,
  type StageInput,
} from './spec';

type StageOf<K extends StageInput['kind']> = Extract<StageInput, { kind: K }>;
export type StepOptions = Omit<StageOf<'step'>, 'id' | 'kind' | 'step'>;
export type SplitOptions = Omit<StageOf<'split'>, 'id' | 'kind' | 'step'>;
export type ReduceOptions = Omit<StageOf<'reduce'>, 'id' | 'kind' | 'step' | 'dependsOn'> & {
  dependsOn?: string[];
};

export class JobSpecBuilder {
  private readonly spec: { name: string; stages: StageInput[] } & Partial<
    Omit<JobSpecInput, 'name' | 'stages'>
  >;

  constructor(name: string) {
    this.spec = { name, stages: [] };
  }

  /** A single sub-task. */
  step(id: string, step: string, options: StepOptions = {}): this {
    this.spec.stages.push({ id, kind: 'step', step, ...options });
    return this;
  }

  /** Fan out over `range` or `items` in chunks. */
  split(id: string, step: string, options: SplitOptions): this {
    this.spec.stages.push({ id, kind: 'split', step, ...options });
    return this;
  }

  /** Fan in; reduces the previous stage unless `dependsOn` is given. */
  reduce(id: string, step: string, options: ReduceOptions = {}): this {
    const previous = this.spec.stages[this.spec.stages.length - 1]?.id;
    const dependsOn = options.dependsOn ?? (previous !== undefined ? [previous] : []);
    this.spec.stages.push({ id, kind: 'reduce', step, ...options, dependsOn });
    return this;
  }

  fleet(fleet: FleetSpecInput): this {
    this.spec.fleet = fleet;
    return this;
  }

  preferences(preferences: PreferencesInput): this {
    this.spec.preferences = preferences;
    return this;
  }

  limits(limits: NonNullable<JobSpecInput['limits']>): this {
    this.spec.limits = limits;
    return this;
  }

  overhead(overhead: NonNullable<JobSpecInput['overhead']>): this {
    this.spec.overhead = overhead;
    return this;
  }

  /** The spec as JSON input, not validated (e.g. to write a job.json). */
  toJSON(): JobSpecInput {
    return structuredClone(this.spec) as JobSpecInput;
  }

  /** Validates and returns the parsed spec; throws JobSpecError listing every problem. */
  build(options?: ParseJobSpecOptions): JobSpec {
    return parseJobSpec(this.toJSON(), options);
  }
}

export function jobSpec(name: string): JobSpecBuilder {
  return new JobSpecBuilder(name);
}
