import { commandEnvironment, parseProgress } from '../../../src/command/environment';

const folders = { input: '/w/in', output: '/w/out', checkpoint: '/w/ck', progressFile: '/w/progress' };
const base = {
  PATH: '/usr/bin',
  HOME: '/root',
  TEMPORAL_API_KEY: 'secret',
  ETCD_PASSWORD: 'pw',
  CONSUL_HTTP_TOKEN: 't',
  SPOTDAG_CHECKPOINT_STORE: 'etcd://x',
  AWS_REGION: 'eu-west-1',
};

describe('a command’s environment', () => {
  it('names its folders, its place in the job, the notice time and a range', () => {
    const env = commandEnvironment(
      {
        jobId: 'j',
        id: 'count/0002',
        stage: 'count',
        index: 2,
        count: 4,
        range: { start: 11, end: 20 },
        itemSplit: false,
      },
      folders,
      { noticeSeconds: 20, attempt: 3, base, extra: { EPOCHS: '10', SPOTDAG_INPUT_DIR: 'overridden?' } },
    );
    expect(env).toMatchObject({
      PATH: '/usr/bin',
      AWS_REGION: 'eu-west-1',
      EPOCHS: '10',
      SPOTDAG_JOB_ID: 'j',
      SPOTDAG_SUBTASK_ID: 'count/0002',
      SPOTDAG_STAGE: 'count',
      SPOTDAG_INDEX: '2',
      SPOTDAG_COUNT: '4',
      SPOTDAG_ATTEMPT: '3',
      SPOTDAG_INPUT_DIR: '/w/in',
      SPOTDAG_OUTPUT_DIR: '/w/out',
      SPOTDAG_CHECKPOINT_DIR: '/w/ck',
      SPOTDAG_PROGRESS_FILE: '/w/progress',
      SPOTDAG_NOTICE_SECONDS: '20',
      SPOTDAG_RANGE_START: '11',
      SPOTDAG_RANGE_END: '20',
    });
    // spotdag's control-plane credentials and configuration stay with the worker.
    for (const name of ['TEMPORAL_API_KEY', 'ETCD_PASSWORD', 'CONSUL_HTTP_TOKEN', 'SPOTDAG_CHECKPOINT_STORE'])
      expect(env[name]).toBeUndefined();
    expect(env.SPOTDAG_ITEM).toBeUndefined();
  });

  it('gives an item split its items, and a single item as itself', () => {
    const sub = { jobId: 'j', id: 'p/0001', stage: 'p', index: 1, count: 3, itemSplit: true };
    const one = commandEnvironment({ ...sub, input: ['sample-b'] }, folders, {
      noticeSeconds: 5,
      attempt: 1,
      base: {},
    });
    expect(one).toMatchObject({ SPOTDAG_ITEM: 'sample-b', SPOTDAG_ITEMS: '["sample-b"]' });
    const objects = commandEnvironment({ ...sub, input: [{ n: 1 }, { n: 2 }] }, folders, {
      noticeSeconds: 5,
      attempt: 1,
      base: {},
    });
    expect(objects.SPOTDAG_ITEM).toBeUndefined();
    expect(objects.SPOTDAG_ITEMS).toBe('[{"n":1},{"n":2}]');
    const step = commandEnvironment({ ...sub, itemSplit: false, input: { lr: 0.1 } }, folders, {
      noticeSeconds: 5,
      attempt: 1,
      base: {},
    });
    expect(step.SPOTDAG_INPUT).toBe('{"lr":0.1}');
  });

  it('reads progress files leniently', () => {
    expect(parseProgress('0.25\n')).toBe(0.25);
    expect(parseProgress('1.7')).toBe(1);
    expect(parseProgress('-3')).toBe(0);
    expect(parseProgress('')).toBeUndefined();
    expect(parseProgress('half')).toBeUndefined();
  });
});
