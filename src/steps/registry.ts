/**
 * Step handlers, registered by name. Instance workers run them; the control worker checks job
 * specs against the names (an unknown step is rejected before any sub-task starts).
 */

/** What a handler knows about the sub-task it runs. */
export interface SubTaskRef {
  jobId: string;
  id: string;
  stage: string;
  step: string;
  /** Position within its stage and the stage's size. */
  index: number;
  count: number;
  /** Inclusive integer range, for split stages over a range. */
  range?: { start: number; end: number };
  /** JSON input: a step's `input`, or the chunk of items of a split over items. */
  input?: unknown;
}

export interface StepContext {
  readonly subTask: SubTaskRef;
  /** Outputs of the sub-tasks this one depends on, by sub-task id. */
  readonly inputs: Readonly<Record<string, unknown>>;
  /** Aborted when the sub-task is cancelled or its instance is being interrupted. */
  readonly signal: AbortSignal;
  /** Reports progress in [0, 1]; heartbeats (throttled). */
  progress(fraction: number): void;
  /** Proves liveness without progress news. */
  heartbeat(): void;
  /** Lets the event loop run (heartbeats, cancellation) during long synchronous work. */
  yield(): Promise<void>;
  /**
   * Saves the step's state (JSON) so that another attempt resumes from it. Cheap to call often:
   * it is written at most once per checkpoint interval, unless `final` (e.g. on a spot notice).
   * `position`: for sub-tasks over a range, the next number not done yet (for items, the index of
   * the next item); the state must resume from exactly there. With it, the controller may cut the
   * rest of a running sub-task into pieces that other instances run (docs/architecture.md).
   */
  checkpoint(state: unknown, options?: { final?: boolean; position?: number }): Promise<void>;
  /** The state of the last good checkpoint of this sub-task, if any. */
  restore<T = unknown>(): Promise<T | undefined>;
  log(message: string): void;
}

export type StepHandler = (ctx: StepContext) => unknown;

export interface StepDefinition {
  name: string;
  handler: StepHandler;
  description?: string;
}

const STEP_NAME_RE = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/i;
const registry = new Map<string, StepDefinition>();

/** Registers a step handler under a dotted name such as `primes.count`. */
export function defineStep(
  name: string,
  handler: StepHandler,
  options: { description?: string } = {},
): StepDefinition {
  if (!STEP_NAME_RE.test(name))
    throw new TypeError(`invalid step name "${name}": use letters, digits, "_", "-", "."`);
  const existing = registry.get(name);
  if (existing && existing.handler !== handler) throw new Error(`step "${name}" is already defined`);
  const definition: StepDefinition = { name, handler, description: options.description };
  registry.set(name, definition);
  return definition;
}

export class UnknownStepError extends Error {
  readonly exitCode = 2;
  constructor(readonly step: string) {
    super(`unknown step "${step}" (known: ${[...registry.keys()].sort().join(', ') || 'none'})`);
  }
}

export function getStep(name: string): StepDefinition {
  const definition = registry.get(name);
  if (!definition) throw new UnknownStepError(name);
  return definition;
}

export function knownSteps(): ReadonlySet<string> {
  return new Set(registry.keys());
}
