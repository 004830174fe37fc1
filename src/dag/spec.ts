/**
 * The JobSpec: a long-running task described as stages (steps, splits, reduces), validated with
 * zod. Structural problems come from the schema; references, cycles and step names are checked
 * on the raw input as well, so that every problem is reported at once.
 */
import { z } from 'zod';
import { preferencesSchema } from '../allocate/preferences';
import { fleetSchema } from '../provision/fleet';
import { prioritySchema, tenantNameSchema } from '../tenancy/config';
import { pushAll } from '../util/array';
import { durationSchema } from '../util/duration';
import { DEFAULT_OVERHEAD, layoutChunks, reduceLevels } from './chunking';
import { JobSpecError, type SpecIssue } from './errors';

export const STAGE_KINDS = ['step', 'split', 'reduce'] as const;
export const DEFAULT_MAX_SUB_TASKS = 100_000;
export const DEFAULT_MAX_DEPENDENCIES = 2_000_000;
export const DEFAULT_RESOURCES = { cpu: 1, memoryMiB: 512 } as const;
/** Relative standard deviation used when an estimate gives none, and when there is no estimate. */
export const DEFAULT_UNCERTAINTY = 0.25;
export const UNKNOWN_UNCERTAINTY = 1;
export const DEFAULT_STEP_SECONDS = 60;

const STAGE_ID_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const STEP_NAME_RE = /^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)*$/i;

const stageIdSchema = z
  .string()
  .regex(STAGE_ID_RE, { error: 'expected a stage id: a letter or "_", then letters, digits, "_" or "-"' });
const stepNameSchema = z
  .string()
  .regex(STEP_NAME_RE, { error: 'expected a step name such as "primes.count"' })
  .meta({ description: 'Name of a registered step handler, e.g. "primes.count".' });
const durationInput = durationSchema.meta({
  description: 'A duration: seconds as a number, or text such as "90s", "15m", "1.5h", "7d".',
});
const nonNegative = z.number().min(0);
const uncertaintySchema = z
  .number()
  .min(0)
  .meta({ description: 'Relative standard deviation of the estimate (0.2 = ±20 %).' });
const bytesSchema = z.number().min(0);

/** A path below one of a command's folders: relative, without `..`. */
const relativePathSchema = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.split('/').includes('..'), {
    message: 'expected a relative path without ".." (files and folders below the sub-task\'s folders)',
  });
const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A command step: a program run on the instance, instead of a registered `step`
 * (docs/commands.md). Its folders and sub-task come in SPOTDAG_* environment variables.
 */
const commandFields = {
  command: z
    .array(z.string().min(1))
    .min(1)
    .optional()
    .meta({ description: 'Program and arguments (argv) run on the instance, instead of step.' }),
  shell: z
    .string()
    .min(1)
    .optional()
    .meta({ description: 'A shell line run with /bin/sh -c on the instance, instead of step.' }),
  env: z
    .record(z.string().regex(ENV_NAME_RE, { error: 'expected an environment variable name' }), z.string())
    .optional()
    .meta({ description: 'Extra environment variables of the command.' }),
  workdir: z.string().min(1).optional().meta({
    description:
      "The command's working directory on the instance (default: the instance worker's); `spotdag run` resolves a relative one against the job file's folder.",
  }),
  inputs: z.array(relativePathSchema).optional().meta({
    description:
      "Files or folders of the dependencies' outputs the command reads (default: all of them), placed in SPOTDAG_INPUT_DIR.",
  }),
  outputs: z
    .array(z.union([relativePathSchema, z.strictObject({ path: relativePathSchema, bytes: bytesSchema })]))
    .optional()
    .meta({
      description:
        'Files or folders the command must write in SPOTDAG_OUTPUT_DIR (default: whatever it writes there), optionally with their expected size in bytes.',
    }),
};
/** Keys only command stages take. */
export const COMMAND_ONLY_KEYS = ['env', 'workdir', 'inputs', 'outputs'] as const;

const resourcesSchema = z
  .strictObject({
    cpu: z.number().positive().default(DEFAULT_RESOURCES.cpu).meta({ description: 'Cores per sub-task.' }),
    memoryMiB: z.number().positive().default(DEFAULT_RESOURCES.memoryMiB),
  })
  .meta({ description: 'What each sub-task of the stage needs on the reference instance.' });

const common = {
  id: stageIdSchema,
  step: stepNameSchema.optional(),
  ...commandFields,
  description: z.string().optional(),
  dependsOn: z
    .array(stageIdSchema)
    .optional()
    .meta({ description: 'Stages whose sub-tasks must finish first.' }),
  resources: resourcesSchema.optional(),
  outputBytes: bytesSchema
    .optional()
    .meta({ description: 'Bytes each sub-task of this stage sends to each sub-task that depends on it.' }),
};

export const stepStageSchema = z.strictObject({
  ...common,
  kind: z.literal('step'),
  group: z.string().min(1).optional().meta({
    description:
      'Counts the sub-task with the other stages of this group in progress and reports (e.g. the task category of an imported workflow); default: the stage id.',
  }),
  input: z.json().optional().meta({ description: 'JSON input passed to the step.' }),
  estimate: z
    .strictObject({ seconds: nonNegative, uncertainty: uncertaintySchema.optional() })
    .optional()
    .meta({ description: 'Run time on the reference instance.' }),
});

export const chunkingSchema = z
  .strictObject({
    size: z.int().positive().optional().meta({ description: 'Units (range values or items) per sub-task.' }),
    maxSubTasks: z
      .int()
      .positive()
      .optional()
      .meta({ description: 'Cut into this many sub-tasks (or fewer units).' }),
    targetSubTaskDuration: durationInput.optional(),
  })
  .meta({
    description:
      'Exactly one of size, maxSubTasks, targetSubTaskDuration. Omit for the automatic choice of the overhead model.',
  });

export const rangeSchema = z
  .strictObject({ start: z.int(), end: z.int() })
  .meta({ description: 'Integer range, inclusive at both ends.' });

export const splitStageSchema = z.strictObject({
  ...common,
  kind: z.literal('split'),
  range: rangeSchema.optional(),
  items: z
    .array(z.json())
    .min(1)
    .optional()
    .meta({ description: 'Items to fan out over (instead of range).' }),
  input: z
    .json()
    .optional()
    .meta({ description: 'JSON input passed to the step of every sub-task of a range split.' }),
  chunking: chunkingSchema.optional(),
  estimate: z
    .strictObject({ secondsPerUnit: nonNegative, uncertainty: uncertaintySchema.optional() })
    .optional()
    .meta({ description: 'Run time per range value or item on the reference instance.' }),
  outputBytesPerUnit: bytesSchema
    .optional()
    .meta({ description: 'Output bytes per unit, added to outputBytes.' }),
});

export const reduceStageSchema = z.strictObject({
  ...common,
  kind: z.literal('reduce'),
  dependsOn: z
    .array(stageIdSchema)
    .min(1)
    .meta({ description: 'Stages whose sub-tasks this stage reduces.' }),
  fanIn: z
    .int()
    .min(2)
    .optional()
    .meta({ description: 'Reduce as a tree in which no sub-task has more than fanIn inputs.' }),
  estimate: z
    .strictObject({
      seconds: nonNegative.default(1),
      secondsPerInput: nonNegative.default(0),
      uncertainty: uncertaintySchema.optional(),
    })
    .optional(),
});

export const stageSchema = z.discriminatedUnion('kind', [
  stepStageSchema,
  splitStageSchema,
  reduceStageSchema,
]);

export const overheadSchema = z
  .strictObject({
    startup: durationInput.default(DEFAULT_OVERHEAD.startupSeconds),
    scheduling: durationInput.default(DEFAULT_OVERHEAD.schedulingSeconds),
    checkpoint: durationInput.default(DEFAULT_OVERHEAD.checkpointSeconds),
    interruptionsPerHour: nonNegative.default(DEFAULT_OVERHEAD.interruptionsPerHour),
  })
  .meta({ description: 'Per-sub-task overhead and interruption rate used by automatic chunking.' });

export const limitsSchema = z.strictObject({
  maxSubTasks: z.int().positive().default(DEFAULT_MAX_SUB_TASKS),
  maxDependencies: z.int().positive().default(DEFAULT_MAX_DEPENDENCIES),
});

export const jobSpecSchema = z
  .strictObject({
    $schema: z.string().optional(),
    name: z.string().min(1),
    description: z.string().optional(),
    stages: z.array(stageSchema).min(1),
    fleet: fleetSchema.prefault({}),
    preferences: preferencesSchema.prefault({}),
    tenant: tenantNameSchema.optional().meta({
      description: 'The tenant the job runs as (docs/tenants.md); default `default`.',
    }),
    priority: prioritySchema.optional().meta({
      description: "Temporal priority key of the job's work: 1 runs first, 5 last; default the tenant's.",
    }),
    limits: limitsSchema.prefault({}),
    overhead: overheadSchema.prefault({}),
  })
  .meta({ title: 'spotdag JobSpec', description: 'A long-running task, decomposed by spotdag into a DAG.' });

export type JobSpec = z.output<typeof jobSpecSchema>;
export type JobSpecInput = z.input<typeof jobSpecSchema>;
export type Stage = JobSpec['stages'][number];
export type StageInput = JobSpecInput['stages'][number];
export type StepStage = z.output<typeof stepStageSchema>;
export type SplitStage = z.output<typeof splitStageSchema>;
export type ReduceStage = z.output<typeof reduceStageSchema>;

export interface ParseJobSpecOptions {
  /** Registered step names; a stage naming another step is an error. */
  knownSteps?: ReadonlySet<string>;
}

/** Parses and validates a JobSpec; throws a JobSpecError listing every problem found. */
export function parseJobSpec(input: unknown, options: ParseJobSpecOptions = {}): JobSpec {
  const result = jobSpecSchema.safeParse(input);
  const issues = result.success ? [] : result.error.issues.flatMap((issue) => describeZodIssue(issue, input));
  pushAll(issues, referenceIssues(input, options));
  if (issues.length === 0 && result.success) pushAll(issues, sizeIssues(result.data));
  if (issues.length > 0 || !result.success) throw new JobSpecError(sortIssues(dedupe(issues), input));
  return result.data;
}

/** Parses JSON text, then the JobSpec; a syntax error names its line and column. */
export function parseJobSpecText(text: string, options: ParseJobSpecOptions = {}): JobSpec {
  return parseJobSpec(parseJsonText(text), options);
}

/** JSON.parse with an error that names the line and column of the first syntax error. */
export function parseJsonText(text: string, what = 'input'): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const reported = /at position (\d+)/.exec((err as Error).message);
    const position = reported ? Number(reported[1]) : jsonErrorPosition(text);
    const found =
      position >= text.length ? 'unexpected end of input' : `unexpected ${JSON.stringify(text[position])}`;
    throw new JobSpecError(
      [{ path: '', message: `${what} is not valid JSON at ${lineColumn(text, position)}: ${found}` }],
      'invalid JSON',
    );
  }
}

/**
 * Position of the first syntax error in `text` (Node's messages do not always carry one): a
 * small recursive-descent scan that accepts exactly the JSON grammar.
 */
function jsonErrorPosition(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (at = i): never => {
    throw at;
  };
  const literal = (word: string) => {
    for (const ch of word) {
      if (text[i] !== ch) fail();
      i++;
    }
  };
  const string = () => {
    i++;
    while (i < text.length && text[i] !== '"') {
      const ch = text.charCodeAt(i);
      if (ch < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          for (let k = 1; k <= 4; k++) if (!/[0-9a-fA-F]/.test(text[i + k] ?? '')) fail(i + k);
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const number = () => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!match) fail();
    i += match![0].length;
  };
  const value = (): void => {
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === '}') return void i++;
        else fail();
      }
    } else if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ',') i++;
        else if (text[i] === ']') return void i++;
        else fail();
      }
    } else if (ch === '"') string();
    else if (ch === 't') literal('true');
    else if (ch === 'f') literal('false');
    else if (ch === 'n') literal('null');
    else if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) number();
    else fail();
  };
  try {
    value();
    ws();
    return i < text.length ? i : text.length;
  } catch (position) {
    return Math.min(position as number, text.length);
  }
}

function lineColumn(text: string, position: number): string {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < position && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return `line ${line}, column ${position - lineStart + 1}`;
}

/** JSON Schema (draft 2020-12) of the JobSpec input, for editors: schema/jobspec.schema.json. */
export function jobSpecJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(jobSpecSchema, { io: 'input', unrepresentable: 'any' });
  return { ...schema, $id: 'https://github.com/spotdag/spotdag/schema/jobspec.schema.json' };
}

// ---------------------------------------------------------------------------------------------
// Issue formatting

/** `['stages', 2, 'dependsOn', 0]` → `stages[2].dependsOn[0]`. */
export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

function valueAt(root: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let value = root;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

function describeZodIssue(issue: z.core.$ZodIssue, input: unknown): SpecIssue[] {
  const path = formatPath(issue.path);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: 'unknown key' }));
    case 'invalid_union': {
      if ('note' in issue && issue.note === 'No matching discriminator') {
        const value = valueAt(input, issue.path);
        const expected = ('options' in issue ? (issue.options as unknown[]) : []).map(String).join(', ');
        return [
          {
            path,
            message:
              value === undefined
                ? `missing ${issue.discriminator ?? 'kind'} (expected one of ${expected})`
                : `unknown stage kind ${JSON.stringify(value)} (expected one of ${expected})`,
          },
        ];
      }
      return [{ path, message: 'does not match any allowed shape' }];
    }
    case 'invalid_key':
      // A record key (an env variable's name): say what is wrong with it.
      return [{ path, message: issue.issues[0]?.message ?? issue.message }];
    case 'invalid_type': {
      const value = valueAt(input, issue.path);
      if (value === undefined) return [{ path, message: `required (expected ${issue.expected})` }];
      return [{ path, message: `expected ${issue.expected}, got ${describeValue(value)}` }];
    }
    default:
      return [{ path, message: issue.message.replace(/^(Invalid input|Too small|Too big): /, '') }];
  }
}

function describeValue(value: unknown): string {
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string')
    return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return typeof value;
}

function dedupe(issues: SpecIssue[]): SpecIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.path}\u0000${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Orders issues as their places appear in the document: object keys in the input's key order,
 * array indices numerically; issues at the same place keep their order.
 */
function sortIssues(issues: SpecIssue[], input: unknown): SpecIssue[] {
  const keyOf = (path: string) => path.split(/[.[\]]+/).filter(Boolean);
  const rank = (prefix: string[], key: string): number => {
    const container = valueAt(input, prefix);
    if (Array.isArray(container)) return Number(key);
    if (!isRecord(container)) return Number.MAX_SAFE_INTEGER;
    const position = Object.keys(container).indexOf(key);
    return position; // missing keys (required ones) come first
  };
  return issues
    .map((issue, order) => ({ issue, order, key: keyOf(issue.path) }))
    .sort((a, b) => {
      const n = Math.min(a.key.length, b.key.length);
      for (let i = 0; i < n; i++) {
        if (a.key[i] === b.key[i]) continue;
        const prefix = a.key.slice(0, i);
        return rank(prefix, a.key[i]!) - rank(prefix, b.key[i]!) || a.order - b.order;
      }
      return a.key.length - b.key.length || a.order - b.order;
    })
    .map((entry) => entry.issue);
}

// ---------------------------------------------------------------------------------------------
// Checks on the raw input: references, cycles, step names, split shape. They run even when the
// schema found other problems (zod skips refinements then), so all problems surface together.

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function referenceIssues(input: unknown, options: ParseJobSpecOptions): SpecIssue[] {
  if (!isRecord(input) || !Array.isArray(input.stages)) return [];
  const stages = input.stages as unknown[];
  const issues: SpecIssue[] = [];
  const firstIndex = new Map<string, number>();
  stages.forEach((stage, i) => {
    if (!isRecord(stage) || typeof stage.id !== 'string') return;
    const previous = firstIndex.get(stage.id);
    if (previous !== undefined) {
      issues.push({
        path: `stages[${i}].id`,
        message: `duplicate stage id "${stage.id}" (also stages[${previous}])`,
      });
    } else firstIndex.set(stage.id, i);
  });

  let dangling = false;
  const deps: number[][] = stages.map(() => []);
  stages.forEach((stage, i) => {
    if (!isRecord(stage)) return;
    if (Array.isArray(stage.dependsOn)) {
      stage.dependsOn.forEach((dep: unknown, k) => {
        if (typeof dep !== 'string') return;
        const target = firstIndex.get(dep);
        const path = `stages[${i}].dependsOn[${k}]`;
        if (target === undefined) {
          dangling = true;
          issues.push({ path, message: `unknown stage "${dep}"${suggest(dep, [...firstIndex.keys()])}` });
        } else if (target === i) {
          dangling = true;
          issues.push({ path, message: `stage "${dep}" depends on itself` });
        } else deps[i]!.push(target);
      });
    }
    pushAll(issues, workIssues(stage, i));
    const owner = typeof stage.group === 'string' ? firstIndex.get(stage.group) : undefined;
    if (owner !== undefined && owner !== i)
      issues.push({
        path: `stages[${i}].group`,
        message: `"${String(stage.group)}" is the id of stages[${owner}]; a group needs a name of its own`,
      });
    if (options.knownSteps && typeof stage.step === 'string' && !options.knownSteps.has(stage.step)) {
      const known = [...options.knownSteps].sort().join(', ') || 'none';
      issues.push({ path: `stages[${i}].step`, message: `unknown step "${stage.step}" (known: ${known})` });
    }
    if (stage.kind === 'split') pushAll(issues, splitShapeIssues(stage, i));
  });

  if (!dangling) {
    const cycle = findStageCycle(deps);
    if (cycle) {
      const names = cycle.map((i) => String((stages[i] as Record<string, unknown>).id));
      issues.push({
        path: `stages[${cycle[0]}].dependsOn`,
        message: `dependency cycle: ${[...names, names[0]].join(' → ')}`,
      });
    }
  }
  return issues;
}

/** A stage runs either a registered step or a command, and only commands take command keys. */
function workIssues(stage: Record<string, unknown>, i: number): SpecIssue[] {
  const given = (['step', 'command', 'shell'] as const).filter((k) => stage[k] !== undefined);
  if (given.length !== 1)
    return [
      {
        path: `stages[${i}]`,
        message: `give exactly one of step, command, shell${given.length ? ` (got ${given.join(', ')})` : ''}`,
      },
    ];
  if (given[0] !== 'step') return [];
  return COMMAND_ONLY_KEYS.filter((k) => stage[k] !== undefined).map((k) => ({
    path: `stages[${i}].${k}`,
    message: 'only command stages (command or shell) take this key',
  }));
}

function splitShapeIssues(stage: Record<string, unknown>, i: number): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const path = `stages[${i}]`;
  if (stage.range !== undefined && stage.items !== undefined) {
    issues.push({ path, message: 'a split stage takes either range or items, not both' });
  } else if (stage.range === undefined && stage.items === undefined) {
    issues.push({ path, message: 'a split stage needs range or items' });
  }
  if (stage.items !== undefined && stage.input !== undefined) {
    issues.push({
      path: `${path}.input`,
      message: 'a split over items passes each sub-task its items as input',
    });
  }
  const range = stage.range;
  if (
    isRecord(range) &&
    typeof range.start === 'number' &&
    typeof range.end === 'number' &&
    range.start > range.end
  ) {
    issues.push({ path: `${path}.range`, message: `start ${range.start} is after end ${range.end}` });
  }
  const chunking = stage.chunking;
  if (isRecord(chunking)) {
    const given = ['size', 'maxSubTasks', 'targetSubTaskDuration'].filter((k) => chunking[k] !== undefined);
    if (given.length !== 1) {
      issues.push({
        path: `${path}.chunking`,
        message: `give exactly one of size, maxSubTasks, targetSubTaskDuration${given.length ? ` (got ${given.join(', ')})` : ''}`,
      });
    }
  }
  return issues;
}

/** One cycle of the stage graph (indices in dependency order), or undefined. */
function findStageCycle(deps: number[][]): number[] | undefined {
  const state = new Uint8Array(deps.length); // 0 new, 1 on the stack, 2 done
  const stack: number[] = [];
  const visit = (v: number): number[] | undefined => {
    state[v] = 1;
    stack.push(v);
    for (const w of deps[v]!) {
      if (state[w] === 1) return stack.slice(stack.indexOf(w)).reverse();
      if (state[w] === 0) {
        const found = visit(w);
        if (found) return found;
      }
    }
    stack.pop();
    state[v] = 2;
    return undefined;
  };
  for (let v = 0; v < deps.length; v++) {
    if (state[v] === 0) {
      const found = visit(v);
      if (found) return found;
    }
  }
  return undefined;
}

function suggest(name: string, candidates: string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const d = editDistance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best ? ` (did you mean "${best}"?)` : '';
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

// ---------------------------------------------------------------------------------------------
// Sizes: how many sub-tasks and dependencies the spec will produce, before building anything.

export interface StageSize {
  stage: string;
  /** Position in spec.stages. */
  position: number;
  subTasks: number;
  /** Dependency edges into this stage's sub-tasks. */
  dependencies: number;
}

/** Sub-tasks and dependencies per stage, in the order of spec.stages. Cheap: builds nothing. */
export function stageSizes(spec: JobSpec): StageSize[] {
  const byId = new Map(spec.stages.map((stage, position) => [stage.id, position]));
  const counts = new Map<string, number>();
  const sizes: StageSize[] = new Array<StageSize>(spec.stages.length);
  const slots = spec.fleet.instances * spec.fleet.slotsPerInstance;
  const visit = (position: number): number => {
    const stage = spec.stages[position]!;
    const known = counts.get(stage.id);
    if (known !== undefined) return known;
    const depCounts = (stage.dependsOn ?? []).map((dep) => visit(byId.get(dep)!));
    const upstream = depCounts.reduce((a, b) => a + b, 0);
    let subTasks = 1;
    let dependencies = upstream;
    if (stage.kind === 'split') {
      subTasks = splitLayout(spec, stage, slots).count;
      dependencies = upstream * subTasks;
    } else if (stage.kind === 'reduce') {
      const levels = reduceLevels(upstream, stage.fanIn);
      subTasks = levels.reduce((a, b) => a + b, 0);
      dependencies = upstream + subTasks - 1;
    }
    counts.set(stage.id, subTasks);
    sizes[position] = { stage: stage.id, position, subTasks, dependencies };
    return subTasks;
  };
  spec.stages.forEach((_, position) => visit(position));
  return sizes;
}

/** Units of a split stage (range values or items). */
export function splitUnits(stage: SplitStage): number {
  return stage.range ? stage.range.end - stage.range.start + 1 : (stage.items?.length ?? 0);
}

export function overheadModel(spec: JobSpec) {
  return {
    startupSeconds: spec.overhead.startup,
    schedulingSeconds: spec.overhead.scheduling,
    checkpointSeconds: spec.overhead.checkpoint,
    interruptionsPerHour: spec.overhead.interruptionsPerHour,
  };
}

export function splitLayout(
  spec: JobSpec,
  stage: SplitStage,
  slots = spec.fleet.instances * spec.fleet.slotsPerInstance,
) {
  return layoutChunks(splitUnits(stage), stage.estimate?.secondsPerUnit ?? 1, stage.chunking, {
    overhead: overheadModel(spec),
    slots,
    objective: spec.preferences.objective,
  });
}

function sizeIssues(spec: JobSpec): SpecIssue[] {
  const sizes = stageSizes(spec);
  const issues: SpecIssue[] = [];
  const subTasks = sizes.reduce((a, s) => a + s.subTasks, 0);
  const dependencies = sizes.reduce((a, s) => a + s.dependencies, 0);
  const largest = (key: 'subTasks' | 'dependencies') =>
    sizes.reduce((best, s) => (s[key] > best[key] ? s : best), sizes[0]!);
  if (subTasks > spec.limits.maxSubTasks) {
    const stage = largest('subTasks');
    issues.push({
      path: `stages[${stage.position}]`,
      message:
        `the job would have ${subTasks} sub-tasks (${stage.subTasks} in stage "${stage.stage}"), ` +
        `more than limits.maxSubTasks = ${spec.limits.maxSubTasks}; use larger chunks or raise the limit`,
    });
  }
  if (dependencies > spec.limits.maxDependencies) {
    const stage = largest('dependencies');
    issues.push({
      path: `stages[${stage.position}].dependsOn`,
      message:
        `the job would have ${dependencies} dependencies (${stage.dependencies} into stage "${stage.stage}"), ` +
        `more than limits.maxDependencies = ${spec.limits.maxDependencies}; put a reduce stage in between`,
    });
  }
  return issues;
}
