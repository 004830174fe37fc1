import { runRecoveryBenchmark } from '../../bench/recovery';
import { startTestStack, stopAllInstances } from './helpers';

/**
 * `spotdag bench recovery` on real instance processes, one trial per mode: a SIGKILL is found when
 * the provider sees the process exit (or by the heartbeat timeout) and costs at most one checkpoint interval of work; a spot notice costs none.
 */
describe('recovery benchmark', () => {
  const checkpointIntervalSeconds = 1;
  let stack: Awaited<ReturnType<typeof startTestStack>>;

  beforeAll(async () => {
    stack = await startTestStack({ checkpointIntervalMs: checkpointIntervalSeconds * 1000 });
  });
  afterAll(async () => {
    await stopAllInstances(stack);
    await stack.close();
  });

  it('reports detection, resume and work lost with and without a notice', async () => {
    const unitMs = 100;
    const result = await stack.runUntil(() =>
      runRecoveryBenchmark({
        stack,
        trials: 1,
        heartbeatTimeoutSeconds: 3,
        checkpointIntervalSeconds,
        noticeSeconds: 3,
        workSeconds: 6,
        unitMs,
        seed: 1,
      }),
    );
    expect(result.trials.map((t) => t.mode)).toEqual(['kill', 'notice']);
    expect(result.goals.allResultsCorrect).toBe(true);
    for (const key of [
      'heartbeatTimeoutSeconds',
      'detectionLatencySeconds',
      'checkpointIntervalSeconds',
      'lostWorkWithoutNoticeSeconds',
      'lostWorkWithNoticeSeconds',
      'timeToResumeSeconds',
    ] as const)
      expect(Number.isFinite(result[key])).toBe(true);
    // The job moved the work after the kill (the provider saw the process exit); it resumed after that.
    const [kill, notice] = result.trials;
    expect(kill!.detectionSeconds).toBeGreaterThan(0);
    expect(kill!.resumeSeconds).toBeGreaterThan(kill!.detectionSeconds);
    // No notice: some work since the last checkpoint is redone, never more than an interval and
    // the unit in progress. A notice: the final checkpoint keeps everything.
    expect(result.lostWorkWithoutNoticeSeconds).toBeLessThanOrEqual(
      checkpointIntervalSeconds + unitMs / 1000,
    );
    expect(result.lostWorkWithNoticeSeconds).toBe(0);
    // The job's own count of what the kill lost agrees with the ledger (its death time is known).
    expect(Math.abs(kill!.reportedLostWorkSeconds - kill!.lostWorkSeconds)).toBeLessThanOrEqual(0.5);
    expect(notice!.savedWorkSeconds).toBeGreaterThan(0);
    // An idle instance with work placed on it: the provider's exit signal, not a timeout.
    expect(result.idleTrials).toHaveLength(1);
    expect(result.idleTrials[0]!.correct).toBe(true);
    expect(result.idleDetectionLatencySeconds).toBeLessThanOrEqual(3 + 2);
  });
});
