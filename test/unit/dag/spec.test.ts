import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  JobSpecError,
  jobSpec,
  jobSpecJsonSchema,
  parseJobSpec,
  parseJobSpecText,
  type JobSpecInput,
} from '../../../src/dag';
import { demoJob, repoRoot } from './helpers';

function issuesOf(input: unknown, options?: Parameters<typeof parseJobSpec>[1]): string[] {
  try {
    parseJobSpec(input, options);
  } catch (err) {
    expect(err).toBeInstanceOf(JobSpecError);
    expect((err as JobSpecError).exitCode).toBe(2);
    return (err as JobSpecError).issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message));
  }
  throw new Error('expected the spec to be rejected');
}

function withStages(stages: unknown[]): unknown {
  return { name: 'job', stages };
}

const count = { id: 'count', kind: 'split', step: 'primes.count', range: { start: 1, end: 100 } };

describe('parseJobSpec', () => {
  it('parses the demo job and fills in defaults', () => {
    const spec = parseJobSpec(demoJob());
    expect(spec.name).toBe('primes-1e9');
    expect(spec.stages).toHaveLength(2);
    expect(spec.fleet).toEqual({ provider: 'local', instances: 3, slotsPerInstance: 1 });
    expect(spec.preferences.objective).toBe('balanced');
    expect(spec.limits.maxSubTasks).toBe(100_000);
    expect(spec.overhead).toEqual({ startup: 10, scheduling: 2, checkpoint: 3, interruptionsPerHour: 0.05 });
  });

  it('accepts a $schema key for editors and durations as text', () => {
    const spec = parseJobSpec({
      $schema: '../schema/jobspec.schema.json',
      name: 'j',
      stages: [{ ...count, chunking: { targetSubTaskDuration: '10m' } }],
    });
    const stage = spec.stages[0]!;
    expect(stage.kind === 'split' && stage.chunking?.targetSubTaskDuration).toBe(600);
  });

  it('names a dangling reference with its path and a suggestion', () => {
    const issues = issuesOf(
      withStages([
        count,
        { id: 'merge', kind: 'reduce', step: 'primes.sum', dependsOn: ['count'] },
        {
          id: 'report',
          kind: 'step',
          step: 'report.write',
          dependsOn: ['mergee'],
        },
      ]),
    );
    expect(issues).toEqual(['stages[2].dependsOn[0]: unknown stage "mergee" (did you mean "merge"?)']);
  });

  it('names the stages of a cycle', () => {
    const issues = issuesOf(
      withStages([
        { id: 'a', kind: 'step', step: 's.a', dependsOn: ['c'] },
        { id: 'b', kind: 'step', step: 's.b', dependsOn: ['a'] },
        { id: 'c', kind: 'step', step: 's.c', dependsOn: ['b'] },
      ]),
    );
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^stages\[\d\]\.dependsOn: dependency cycle: /);
    for (const id of ['a', 'b', 'c']) expect(issues[0]).toContain(id);
    // In dependency order: each stage is followed by one that depends on it.
    expect(issues[0]).toMatch(/a → b → c → a|b → c → a → b|c → a → b → c/);
  });

  it('rejects NaN, negative memory and an unknown stage kind, each at its place', () => {
    expect(issuesOf(withStages([{ ...count, estimate: { secondsPerUnit: NaN } }]))).toEqual([
      'stages[0].estimate.secondsPerUnit: expected number, got NaN',
    ]);
    expect(issuesOf(withStages([{ ...count, resources: { cpu: 1, memoryMiB: -5 } }]))).toEqual([
      'stages[0].resources.memoryMiB: expected number to be >0',
    ]);
    expect(issuesOf(withStages([{ ...count, kind: 'mapx' }]))).toEqual([
      'stages[0].kind: unknown stage kind "mapx" (expected one of step, split, reduce)',
    ]);
  });

  it('reports every problem at once, in path order', () => {
    const issues = issuesOf({
      name: 'job',
      colour: 'blue',
      stages: [
        { ...count, resources: { cpu: 0 } },
        { id: 'total', kind: 'reduce', step: 'primes.sum', dependsOn: ['cuont'] },
        { id: 'x', kind: 'split', step: 'x.y', chunking: { size: 2, maxSubTasks: 3 } },
      ],
    });
    expect(issues).toEqual([
      'colour: unknown key',
      'stages[0].resources.cpu: expected number to be >0',
      'stages[1].dependsOn[0]: unknown stage "cuont" (did you mean "count"?)',
      'stages[2]: a split stage needs range or items',
      'stages[2].chunking: give exactly one of size, maxSubTasks, targetSubTaskDuration (got size, maxSubTasks)',
    ]);
  });

  it('checks step names against the known steps', () => {
    expect(issuesOf(demoJob(), { knownSteps: new Set(['primes.count', 'other.step']) })).toEqual([
      'stages[1].step: unknown step "primes.sum" (known: other.step, primes.count)',
    ]);
    expect(() =>
      parseJobSpec(demoJob(), { knownSteps: new Set(['primes.count', 'primes.sum']) }),
    ).not.toThrow();
  });

  it('rejects duplicate ids, reversed ranges, missing fields and jobs over the sub-task limit', () => {
    expect(issuesOf(withStages([count, { ...count }]))).toEqual([
      'stages[1].id: duplicate stage id "count" (also stages[0])',
    ]);
    expect(issuesOf(withStages([{ ...count, range: { start: 5, end: 4 } }]))).toEqual([
      'stages[0].range: start 5 is after end 4',
    ]);
    expect(issuesOf({ stages: [] })).toEqual([
      'name: required (expected string)',
      'stages: expected array to have >=1 items',
    ]);
    expect(
      issuesOf({
        name: 'big',
        stages: [{ ...count, range: { start: 1, end: 1e6 }, chunking: { size: 1 } }],
        limits: { maxSubTasks: 1000 },
      }),
    ).toEqual([
      'stages[0]: the job would have 1000000 sub-tasks (1000000 in stage "count"), more than limits.maxSubTasks = 1000; use larger chunks or raise the limit',
    ]);
  });

  it('lists all problems in the error message, one per line', () => {
    try {
      parseJobSpec({ name: 1, stages: 'none' });
      throw new Error('not rejected');
    } catch (err) {
      expect((err as Error).message).toBe(
        'invalid job spec (2 problems):\n  name: expected string, got 1\n  stages: expected array, got string "none"',
      );
    }
  });
});

describe('parseJobSpecText', () => {
  it('parses JSON text', () => {
    expect(parseJobSpecText(JSON.stringify(demoJob())).name).toBe('primes-1e9');
  });

  it('names the line and column of a syntax error', () => {
    const text = '{\n  "name": "j",\n  "stages" []\n}';
    expect(() => parseJobSpecText(text)).toThrow(JobSpecError);
    expect(() => parseJobSpecText(text)).toThrow(/not valid JSON at line 3, column 12: unexpected "\["/);
    expect(() => parseJobSpecText('{"name": ')).toThrow(/not valid JSON at line 1, column 10/);
    expect(() => parseJobSpecText('hello')).toThrow(/not valid JSON/);
  });
});

describe('jobSpec builder', () => {
  it('builds the demo job', () => {
    const built = jobSpec('primes-1e9')
      .split('count', 'primes.count', {
        range: { start: 1, end: 1_000_000_000 },
        chunking: { maxSubTasks: 12 },
        resources: { cpu: 1, memoryMiB: 256 },
        estimate: { secondsPerUnit: 5e-9, uncertainty: 0.2 },
      })
      .reduce('total', 'primes.sum', {
        fanIn: 8,
        resources: { cpu: 1, memoryMiB: 64 },
        estimate: { seconds: 0.1 },
      })
      .fleet({ provider: 'local', instances: 3 })
      .preferences({ objective: 'balanced' });
    expect(built.toJSON()).toEqual(demoJob());
    expect(built.build()).toEqual(parseJobSpec(demoJob()));
  });

  it('validates on build', () => {
    expect(() =>
      jobSpec('x')
        .step('a', 'a.b', { dependsOn: ['nope'] })
        .build(),
    ).toThrow('stages[0].dependsOn[0]: unknown stage "nope"');
  });
});

describe('JSON Schema', () => {
  const file = path.join(repoRoot, 'schema', 'jobspec.schema.json');

  it('is committed and up to date (SPOTDAG_WRITE_SCHEMA=1 regenerates it)', () => {
    const generated = `${JSON.stringify(jobSpecJsonSchema(), null, 2)}\n`;
    if (process.env.SPOTDAG_WRITE_SCHEMA === '1') writeFileSync(file, generated);
    expect(readFileSync(file, 'utf8')).toBe(generated);
  });

  it('describes the stage kinds, forbids unknown keys and requires name and stages', () => {
    const schema = jobSpecJsonSchema() as {
      required: string[];
      additionalProperties: boolean;
      properties: Record<string, { items?: { oneOf?: Array<{ properties: { kind: { const: string } } }> } }>;
    };
    expect(schema.required).toEqual(expect.arrayContaining(['name', 'stages']));
    expect(schema.additionalProperties).toBe(false);
    const kinds = schema.properties.stages!.items!.oneOf!.map((s) => s.properties.kind.const);
    expect(kinds).toEqual(['step', 'split', 'reduce']);
  });

  it('round-trips the demo job through JSON input types', () => {
    const input: JobSpecInput = demoJob();
    expect(parseJobSpec(JSON.parse(JSON.stringify(input)))).toEqual(parseJobSpec(input));
  });
});
