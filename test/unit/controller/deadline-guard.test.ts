import { preferencesSchema } from '../../../src/allocate/preferences';
import { rankSubTasks } from '../../../src/allocate/allocate';
import { dagArrays } from '../../../src/allocate/rank';
import { ESTIMATE_ERROR, readGuard } from '../../../src/controller/deadline-guard';
import { freshMemory, type ControllerState } from '../../../src/controller/types';
import { resolveFleet } from '../../../src/allocate/types';
import { buildDag, flatForecast, task, type TestPool } from '../allocate/helpers';

const list: TestPool[] = [{ key: 'c5@z1', od: 0.1, spot: 0.03, hazard: 0.5 }];
const fleet = { ...resolveFleet({ bootSeconds: 90, restartSeconds: 30 }), noticeSeconds: 120 };
const TICK = 300;

/** One 10-hour sub-task, not started, at `now`, with `deadline` (seconds), work going at `pace`. */
function reading(now: number, deadline: number, onDemandMode = false, pace = 1) {
  const d = dagArrays(buildDag([task('long', 36_000)], []));
  const state: ControllerState = { nowSeconds: now, done: [], running: [], instances: [] };
  return readGuard({
    d,
    forecast: flatForecast(list),
    fleet,
    preferences: preferencesSchema.parse({ deadline }),
    state,
    priority: rankSubTasks(d, flatForecast(list), fleet, {}, 'heft'),
    memory: { ...freshMemory(), onDemandMode },
    tickSeconds: TICK,
    checkpointInterval: () => 0,
    pace,
  });
}

describe('the deadline safety net', () => {
  it('finishes on on-demand at now + boot + work, and keeps a margin for the estimate’s own error', () => {
    const r = reading(1_000, 100_000);
    expect(r.onDemandFinish).toBeCloseTo(1_000 + 90 + 36_000, 3);
    const fixed = TICK + fleet.noticeSeconds + fleet.checkpointSeconds;
    expect(r.marginSeconds).toBeCloseTo(fixed + ESTIMATE_ERROR * (90 + 36_000), 3);
    expect(r.slackSeconds).toBeCloseTo(100_000 - r.onDemandFinish, 3);
    expect(r.onDemandMode).toBe(false);
  });

  it('engages when the slack falls below the margin, and moves the work to on-demand', () => {
    // Slack 1,000 s, margin ≈ 430 s + 3 % of 36,090 s ≈ 1,513 s.
    const r = reading(0, 36_090 + 1_000);
    expect(r.slackSeconds).toBeCloseTo(1_000, 3);
    expect(r.onDemandMode).toBe(true);
    expect(r.onDemandSubTasks).toEqual(['long']);
  });

  it('releases only when the slack is three margins again (hysteresis)', () => {
    const margin = reading(0, 100_000).marginSeconds;
    // Twice the margin of slack: not engaged from scratch, but an engaged net stays engaged.
    const deadline = 36_090 + 2 * margin;
    expect(reading(0, deadline, false).onDemandMode).toBe(false);
    expect(reading(0, deadline, true).onDemandMode).toBe(true);
    expect(reading(0, 36_090 + 3.5 * margin, true).onDemandMode).toBe(false);
  });

  it('checks the declared estimates against the pace observed: slower work engages it sooner', () => {
    const deadline = 36_090 + 10_000;
    expect(reading(0, deadline).onDemandMode).toBe(false);
    const slow = reading(0, deadline, false, 1.5);
    expect(slow.pace).toBe(1.5);
    expect(slow.onDemandFinish).toBeCloseTo(90 + 1.5 * 36_000, 3);
    expect(slow.onDemandMode).toBe(true);
    expect(slow.onDemandSubTasks).toEqual(['long']);
  });
});
