import path from 'node:path';
import { loadSkyPilotTraces, type AvailabilityTrace } from '../../../src/market';
import { firstPreemptionDelayMs } from '../../../src/provision/trace-interruptions';

function trace(values: number[], gapSeconds = 60): AvailabilityTrace {
  return { name: 't', startMs: 0, gapSeconds, unavailable: values.map((v) => v === 1) };
}

describe('firstPreemptionDelayMs', () => {
  it('is the time to the first unavailable tick, compressed', () => {
    // Whatever window start the hash picks, the only availability run is ticks 2..4.
    const plan = { traces: [trace([1, 1, 0, 0, 0, 1, 1, 1])], timeScale: 60, noticeMs: 0, seed: 1 };
    const delays = ['a', 'b', 'c', 'd', 'e'].map((id) => firstPreemptionDelayMs(id, plan));
    for (const delay of delays) {
      // 1 to 3 ticks of 60 s at 60× → 1 to 3 real seconds (or none if the window starts past it).
      if (delay !== undefined) expect([1000, 2000, 3000]).toContain(delay);
    }
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const dir = path.resolve(__dirname, '../../../../shared/data/spot-traces');
    const traces = loadSkyPilotTraces(dir);
    const plan = { traces, timeScale: 600, noticeMs: 2000, seed: 7 };
    const ids = Array.from({ length: 20 }, (_, i) => `job-i${i}`);
    const once = ids.map((id) => firstPreemptionDelayMs(id, plan));
    expect(ids.map((id) => firstPreemptionDelayMs(id, plan))).toEqual(once);
    expect(ids.map((id) => firstPreemptionDelayMs(id, { ...plan, seed: 8 }))).not.toEqual(once);
    expect(once.filter((d) => d !== undefined).length).toBeGreaterThan(10);
  });

  it('never preempts on a trace that is always available', () => {
    expect(
      firstPreemptionDelayMs('x', { traces: [trace([0, 0, 0])], timeScale: 1, noticeMs: 0, seed: 0 }),
    ).toBe(undefined);
  });
});
