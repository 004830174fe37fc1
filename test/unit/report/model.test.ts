import { readFileSync } from 'node:fs';
import path from 'node:path';
import { defaultPayloadConverter } from '@temporalio/common';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import type { PoolView } from '../../../src/job/types';
import {
  buildReportModel,
  cumulativeCost,
  priceAt,
  renderReportHtml,
  reportInputFromHistory,
  type ReportInput,
} from '../../../src/report';
import { maxOf } from '../../../src/util/array';

// A real spotdagJob history: primes up to 10^8 in 9 chunks + a sum, 3 local instances.
const FIXTURE = path.resolve(__dirname, '../../fixtures/histories/spotdagJob-primes.json');
const JOB_ID = 'primes-mx0hn9du-2ze1';

function recordedInput(): ReportInput {
  const history = historyFromJSON(JSON.parse(readFileSync(FIXTURE, 'utf8')));
  return reportInputFromHistory(JOB_ID, history, (p) => defaultPayloadConverter.fromPayload(p));
}

const pool = (overrides: Partial<PoolView> = {}): PoolView => ({
  key: 'c5.large@us-east-1a/spot',
  instanceType: 'c5.large',
  zone: 'us-east-1a',
  market: 'spot',
  vcpu: 2,
  memoryMiB: 4096,
  pricePerHour: [0.036],
  stepSeconds: 3600,
  interruptionsPerHour: 0.01,
  ...overrides,
});

describe('reading a job history', () => {
  const input = recordedInput();

  it('finds the planning results, the instances, the outcomes and the end', () => {
    expect(input.workflowType).toBe('spotdagJob');
    expect(input.status).toBe('completed');
    expect(input.job?.subTasks).toHaveLength(10);
    expect(input.job?.name).toBe('primes-100000000');
    expect(input.market?.pools.map((p) => p.key)).toEqual(['local@localhost']);
    expect(input.schedule?.instances.map((i) => i.id)).toEqual(['i0', 'i1', 'i2']);
    expect(input.schedule?.placements).toHaveLength(10);
    expect(input.instances?.map((i) => i.planId)).toEqual(['i0', 'i1', 'i2']);
    expect(input.result?.result).toBe(5_761_455);
    expect(input.unfinished).toEqual([]);
  });

  it('takes every completed child’s outcome, relocations defaulting to none (older outcomes lack them)', () => {
    expect(input.outcomes.map((o) => o.subTaskId).sort()).toEqual([
      'count/0000',
      'count/0001',
      'count/0002',
      'count/0003',
      'count/0004',
      'count/0005',
      'count/0006',
      'count/0007',
      'count/0008',
      'total',
    ]);
    expect(input.outcomes.every((o) => Array.isArray(o.relocations) && o.relocations.length === 0)).toBe(
      true,
    );
    expect(input.outcomes.find((o) => o.subTaskId === 'total')?.output).toBe(5_761_455);
  });

  it('dates the run phase from the first child and the job from its first and last events', () => {
    expect(input.startedAtMs).toBeDefined();
    expect(input.runStartedAtMs).toBeGreaterThan(input.startedAtMs!);
    expect(input.closedAtMs).toBeGreaterThan(input.runStartedAtMs!);
    for (const o of input.outcomes) expect(o.startedAtMs).toBeGreaterThanOrEqual(input.runStartedAtMs!);
  });
});

describe('the report model of the recorded job', () => {
  const input = recordedInput();
  const model = buildReportModel(input);

  it('has one lane per provisioned instance, in plan order, labelled with its pool', () => {
    expect(model.lanes.map((l) => l.id)).toEqual(['17rk8bo-i0', '17rk8bo-i1', '17rk8bo-i2']);
    expect(model.lanes[0]!.label).toBe('17rk8bo-i0 · local · localhost · local');
  });

  it('puts the planned bars on the provisioned instance of their plan, and what ran where it ran', () => {
    expect(model.gantt.planned).toHaveLength(10);
    const plan = input.schedule!.placements.find((p) => p.subTaskId === 'count/0004')!;
    expect(model.gantt.planned.find((b) => b.subTaskId === 'count/0004')).toEqual({
      lane: `17rk8bo-${plan.instanceId}`,
      subTaskId: 'count/0004',
      start: plan.start,
      end: plan.finish,
    });
    expect(model.gantt.ran).toHaveLength(10);
    for (const o of input.outcomes) {
      const bar = model.gantt.ran.find((b) => b.subTaskId === o.subTaskId)!;
      expect(bar.lane).toBe(o.instanceId);
      expect(bar.start).toBeCloseTo((o.startedAtMs - input.runStartedAtMs!) / 1000, 9);
      expect(bar.end - bar.start).toBeCloseTo((o.finishedAtMs - o.startedAtMs) / 1000, 9);
    }
    expect(model.gantt.interrupted).toEqual([]);
    expect(model.gantt.interruptions).toEqual([]);
    expect(model.gantt.unfinished).toEqual([]);
  });

  it('costs nothing on the free local pool, and shows its forecast over the horizon', () => {
    expect(model.totals.plannedCostUsd).toBe(0);
    expect(model.totals.actualCostUsd).toBe(0);
    expect(model.totals.reportedCostUsd).toBe(input.result!.costUsd); // not in results of older versions
    expect(model.cost.actual.length).toBeGreaterThan(2);
    expect(model.prices.series).toHaveLength(1);
    expect(model.prices.series[0]!.points).toHaveLength(25); // 24 hourly steps and the horizon's end
    expect(model.prices.series[0]!.points.at(-1)).toEqual({ hour: 24, usdPerHour: 0 });
    const [from, to] = model.prices.runWindowHours!;
    expect(from).toBeGreaterThan(0);
    expect(to).toBeGreaterThan(from);
  });

  it('adds up the totals', () => {
    const last = maxOf(input.outcomes.map((o) => o.finishedAtMs));
    expect(model.totals).toMatchObject({
      subTasks: 10,
      subTasksDone: 10,
      subTasksUnfinished: 0,
      instancesPlanned: 3,
      instancesProvisioned: 3,
      replacements: 0,
      interruptions: 0,
      attempts: 10,
      plannedMakespanSeconds: input.schedule!.predictedMakespanSeconds,
    });
    expect(model.totals.actualMakespanSeconds).toBeCloseTo((last - input.runStartedAtMs!) / 1000, 9);
    expect(model.totals.jobElapsedSeconds).toBeCloseTo((input.closedAtMs! - input.startedAtMs!) / 1000, 9);
  });
});

describe('the report model of a job that moved files', () => {
  it('lists each sub-task’s inputs, fetches and uploads, most bytes first, and adds them up', () => {
    const input = structuredClone(recordedInput());
    const moved = (id: string, inputBytes: number, fetchedBytes: number, outputBytes: number) => {
      input.outcomes.find((o) => o.subTaskId === id)!.transfers = {
        inputFiles: 1,
        inputBytes,
        fetchedBytes,
        inputSeconds: fetchedBytes / 1e6,
        outputFiles: 1,
        outputBytes,
        outputSeconds: outputBytes / 2e6,
        checkpoints: 0,
        checkpointBytes: 0,
      };
    };
    moved('count/0001', 1_000_000, 0, 2_000_000);
    moved('count/0002', 4_000_000, 4_000_000, 0);
    const model = buildReportModel(input);
    expect(model.transfers.map((t) => t.subTaskId)).toEqual(['count/0002', 'count/0001']);
    expect(model.totals).toMatchObject({
      inputBytes: 5_000_000,
      fetchedBytes: 4_000_000,
      outputBytes: 2_000_000,
    });
    expect(model.totals.inputSeconds).toBeCloseTo(4, 9);
    expect(model.totals.outputSeconds).toBeCloseTo(1, 9);
    expect(model.totals.plannedTransferBytes).toBe(
      input.schedule!.transfers.reduce((total, t) => total + t.bytes, 0),
    );
  });
});

describe('the report model with spot prices and a lost instance', () => {
  // The recorded job, as if it had run on a priced spot pool and count/0004 had lost i1.
  function spotInput(): ReportInput {
    const input = structuredClone(recordedInput());
    const spot = pool({ pricePerHour: [0.1, 0.2], stepSeconds: 3600 });
    input.market!.pools = [spot];
    for (const i of input.schedule!.instances) i.pool = spot.key;
    for (const i of input.instances!) i.pool = spot.key;
    const moved = input.outcomes.find((o) => o.subTaskId === 'count/0004')!;
    moved.relocations = [
      { from: '17rk8bo-i1', to: '17rk8bo-i1-r1', reason: 'interrupted', atMs: moved.startedAtMs + 40 },
    ];
    moved.instanceId = '17rk8bo-i1-r1';
    moved.attempts = 2;
    // Later sub-tasks of that slot run on the replacement.
    const later = input.outcomes.find((o) => o.subTaskId === 'count/0007')!;
    later.instanceId = '17rk8bo-i1-r1';
    return input;
  }
  const input = spotInput();
  const model = buildReportModel(input);

  it('puts the replacement right below the instance it replaced', () => {
    expect(model.lanes.map((l) => l.id)).toEqual(['17rk8bo-i0', '17rk8bo-i1', '17rk8bo-i1-r1', '17rk8bo-i2']);
    expect(model.lanes[2]).toMatchObject({
      planId: 'i1',
      replaces: '17rk8bo-i1',
      pool: 'c5.large@us-east-1a/spot',
    });
    expect(model.lanes[2]!.label).toBe('17rk8bo-i1-r1 · c5.large · us-east-1a · spot');
  });

  it('marks the interruption and splits the sub-task’s bar at the move', () => {
    const moved = input.outcomes.find((o) => o.subTaskId === 'count/0004')!;
    const at = (moved.startedAtMs + 40 - input.runStartedAtMs!) / 1000;
    expect(model.gantt.interruptions).toEqual([
      { lane: '17rk8bo-i1', subTaskId: 'count/0004', at, to: '17rk8bo-i1-r1', reason: 'interrupted' },
    ]);
    expect(model.gantt.interrupted).toEqual([
      {
        lane: '17rk8bo-i1',
        subTaskId: 'count/0004',
        start: (moved.startedAtMs - input.runStartedAtMs!) / 1000,
        end: at,
      },
    ]);
    const ran = model.gantt.ran.find((b) => b.subTaskId === 'count/0004')!;
    expect(ran).toMatchObject({ lane: '17rk8bo-i1-r1', start: at });
    expect(model.totals).toMatchObject({ interruptions: 1, replacements: 1, attempts: 11 });
  });

  it('prices the actual and the planned work at the forecast of their time', () => {
    // Everything ran within the forecast's first hour: $0.10 per instance-hour, one slot each.
    const busyMs = input.outcomes.reduce((sum, o) => sum + o.finishedAtMs - o.startedAtMs, 0);
    expect(model.totals.actualCostUsd).toBeCloseTo((busyMs / 3_600_000) * 0.1, 12);
    const plannedS = input.schedule!.placements.reduce((sum, p) => sum + p.finish - p.start, 0);
    expect(model.totals.plannedCostUsd).toBeCloseTo((plannedS / 3600) * 0.1, 12);
    // Cumulative: never decreasing, ending at the total.
    const usd = model.cost.actual.map((p) => p.usd);
    expect(usd).toEqual([...usd].sort((a, b) => a - b));
    expect(model.cost.actual.at(-1)!.usd).toBe(model.totals.actualCostUsd);
    expect(model.prices.series[0]!.points).toEqual([
      { hour: 0, usdPerHour: 0.1 },
      { hour: 1, usdPerHour: 0.2 },
      { hour: 2, usdPerHour: 0.2 },
    ]);
  });
});

describe('cumulative cost', () => {
  const p = pool({ pricePerHour: [36, 72], stepSeconds: 10 }); // $0.01 then $0.02 per second

  it('looks up the step of the forecast, holding its ends outside the horizon', () => {
    expect(priceAt(p, -5, 0)).toBe(36);
    expect(priceAt(p, 9.999, 0)).toBe(36);
    expect(priceAt(p, 10, 0)).toBe(72);
    expect(priceAt(p, 12, 3)).toBe(36);
    expect(priceAt(p, 99, 0)).toBe(72);
    expect(priceAt(pool({ pricePerHour: [] }), 0, 0)).toBe(0);
  });

  it('integrates across a price step, with a point at the step', () => {
    const points = cumulativeCost([{ start: 5, end: 15, pool: p, share: 1 }], 0);
    expect(points.map((x) => x.t)).toEqual([5, 10, 15]);
    expect(points[1]!.usd).toBeCloseTo(0.05, 12);
    expect(points[2]!.usd).toBeCloseTo(0.05 + 0.1, 12);
  });

  it('charges a slot its share of the instance, and overlapping work adds up', () => {
    const points = cumulativeCost(
      [
        { start: -1, end: 3, pool: p, share: 0.5 },
        { start: 1, end: 3, pool: p, share: 0.5 },
      ],
      -1,
    );
    expect(points.map((x) => x.t)).toEqual([-1, 1, 3]);
    expect(points.at(-1)!.usd).toBeCloseTo(0.01 * (4 * 0.5 + 2 * 0.5), 12);
  });

  it('is empty without paid time, and free without a known pool', () => {
    expect(cumulativeCost([], 0)).toEqual([]);
    expect(cumulativeCost([{ start: 0, end: 1, share: 1 }], 0).at(-1)!.usd).toBe(0);
  });
});

describe('a job that is still running', () => {
  it('shows started children as unfinished bars on their planned instance', () => {
    const input = structuredClone(recordedInput());
    const last = input.outcomes.pop()!; // `total` has not finished yet
    delete input.result;
    delete input.closedAtMs;
    input.status = 'running';
    input.unfinished = [
      {
        subTaskId: last.subTaskId,
        workflowId: `${JOB_ID}/${last.subTaskId}`,
        state: 'running',
        startedAtMs: last.startedAtMs,
      },
    ];
    const model = buildReportModel(input);
    const planId = input.schedule!.placements.find((p) => p.subTaskId === 'total')!.instanceId;
    const lastFinish = maxOf(input.outcomes.map((o) => o.finishedAtMs));
    expect(model.gantt.unfinished).toEqual([
      {
        lane: `17rk8bo-${planId}`,
        subTaskId: 'total',
        start: (last.startedAtMs - input.runStartedAtMs!) / 1000,
        end: (lastFinish - input.runStartedAtMs!) / 1000,
      },
    ]);
    expect(model.totals).toMatchObject({ subTasks: 10, subTasksDone: 9, subTasksUnfinished: 1 });
    expect(model.totals.jobElapsedSeconds).toBeUndefined();
  });

  it('reports a job that never got past planning without charts to draw', () => {
    const model = buildReportModel({ workflowId: 'x', status: 'failed', outcomes: [], unfinished: [] });
    expect(model.lanes).toEqual([]);
    expect(model.cost).toEqual({ planned: [], actual: [] });
    expect(model.totals.subTasks).toBe(0);
    expect(model.originMs).toBe(0);
  });
});

describe("a tenant's job", () => {
  // A real history of a priority-1 job of tenant beta on the fleet (test/integration/tenancy.test.ts).
  const fixture = path.resolve(__dirname, '../../fixtures/histories/spotdagJob-tenant-urgent.json');
  const history = historyFromJSON(JSON.parse(readFileSync(fixture, 'utf8')));
  const input = reportInputFromHistory('tenancy-urgent-mx38vibr-gbkj', history, (p) =>
    defaultPayloadConverter.fromPayload(p),
  );

  it('is reported with its tenant, priority and weight: its cost is attributed to the tenant', () => {
    expect(input.tenancy?.tenant.name).toBe('beta');
    const model = buildReportModel(input);
    expect(model.tenancy).toEqual({ tenant: 'beta', priority: 1, weight: 1, fleet: 'default' });
    expect(renderReportHtml(model, { chartJs: '' })).toContain(
      'cost attributed to tenant beta (priority 1, weight 1',
    );
  });

  it('a job without a tenant has none', () => {
    expect(buildReportModel(recordedInput()).tenancy).toBeUndefined();
  });
});
