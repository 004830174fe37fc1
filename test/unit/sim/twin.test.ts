import { simulateTwin, TWIN_SCENARIOS } from '../../../bench/twin';
import type { ControllerState, Decision } from '../../../src/controller';

/**
 * `bench twin`'s simulated side must show the controller the state the job workflow shows it.
 * In `rising-hazard` the spot instance boots by 2 s and gets its notice at 3 s (interruption at
 * 8 s, 5 s notice); on the real instances `workload.spin` saves where it is when the notice
 * aborts it, so the decision after the notice sees the sub-task's work so far checkpointed. With
 * that progress the job is ahead of pace, the controller waits for spot, and cuts the long
 * sub-task for the pool's learned hazard (as the real job does); without it, it moved the
 * sub-task whole to on-demand.
 */
describe('bench twin: rising-hazard in the simulator', () => {
  const scenario = TWIN_SCENARIOS.find((s) => s.name === 'rising-hazard')!;

  it('the decision after the notice sees the work done up to the notice, and cuts the sub-task', () => {
    const calls: Array<{ decision: Decision; state: ControllerState }> = [];
    const run = simulateTwin(scenario, {
      onDecision: (decision, state) => calls.push({ decision, state }),
    });
    const afterNotice = calls.find((c) => c.state.nowSeconds === 3)!;
    expect(afterNotice).toBeDefined();
    // Parked (not running), with 1 s of work (2 s → 3 s) kept: units 1 done, the next is 2.
    expect(afterNotice.state.running).toEqual([]);
    expect(afterNotice.state.progress).toEqual({ spin: 1 });
    expect(afterNotice.state.positions).toEqual({ spin: 2 });
    expect(afterNotice.decision.resplits).toEqual([
      { subTaskId: 'spin', remainder: { start: 2, end: 60 }, parts: 3, running: false, reason: 'hazard' },
    ]);
    expect(run.resplits).toBe(1);
    expect(Object.keys(run.placements).sort()).toEqual(['spin', 'spin.1', 'spin.2', 'spin.3', 'total']);
    expect(run.deadlineMet).toBe(true);
  });
});
