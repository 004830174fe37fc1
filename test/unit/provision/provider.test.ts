import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { chooseProvider, EC2_SETTINGS_ENV } from '../../../cli/provider';
import { registerRun } from '../../../cli/commands/run';
import { fleetSchema } from '../../../src/provision/fleet';
import { Ec2SettingsError } from '../../../src/provision/ec2-errors';
import {
  loadEc2Settings,
  parseEc2Settings,
  plannedInstanceTypes,
  type Ec2SettingsInput,
} from '../../../src/provision/ec2-settings';
import { renderUserData } from '../../../src/provision/ec2-user-data';
import { PROVIDER_TIMEOUTS, providerMismatch } from '../../../src/provision/provider';
import { primesJobSpec } from '../../../src/steps';

const base: Ec2SettingsInput = {
  region: 'us-east-1',
  subnets: [{ subnetId: 'subnet-a', zone: 'us-east-1a' }],
  image: { imageId: 'ami-1' },
  worker: { temporalAddress: 'temporal:7233' },
  defaultInstanceType: 'c5.large',
  onDemandPricesPerHour: { 'c5.large': 0.085, 'm5.large': 0.096 },
  limits: { maxInstances: 2, maxSpendUsd: 1, maxInstanceHours: 2 },
};
const dir = mkdtempSync(path.join(tmpdir(), 'spotdag-provider-'));
function file(name: string, content: unknown): string {
  const p = path.join(dir, name);
  writeFileSync(p, typeof content === 'string' ? content : JSON.stringify(content));
  return p;
}

describe('fleet providers', () => {
  it('the fleet schema takes local (the default) and ec2, nothing else', () => {
    expect(fleetSchema.parse({}).provider).toBe('local');
    expect(fleetSchema.parse({ provider: 'ec2' }).provider).toBe('ec2');
    expect(fleetSchema.safeParse({ provider: 'gcp' }).success).toBe(false);
  });

  it('a mismatch names fleet.provider and says how to start the right control worker', () => {
    expect(providerMismatch('local', 'local')).toBeUndefined();
    expect(providerMismatch('ec2', 'local')).toEqual({
      path: 'fleet.provider',
      message: expect.stringContaining('--provider ec2 --ec2-settings <file>') as string,
    });
    expect(providerMismatch('local', 'ec2')!.message).toMatch(
      /^"local" is not what this control worker provisions \("ec2"\)/,
    );
  });
});

describe('EC2 settings for spotdag run', () => {
  it('timeouts default to the EC2 provider’s and stay below the provisioning activity’s timeout', () => {
    expect(parseEc2Settings(base).timeouts).toEqual({
      ...PROVIDER_TIMEOUTS.ec2,
      instanceStatePollSeconds: 15,
    });
    expect(() => parseEc2Settings({ ...base, timeouts: { instanceReadySeconds: 900 } })).toThrow(
      /timeouts\.instanceReadySeconds: .*540/,
    );
  });

  it('plans on instanceTypes, else on the types the settings price', () => {
    expect(plannedInstanceTypes(parseEc2Settings(base))).toEqual(['c5.large', 'm5.large']);
    expect(plannedInstanceTypes(parseEc2Settings({ ...base, instanceTypes: ['r5.large'] }))).toEqual([
      'r5.large',
    ]);
    const bare = parseEc2Settings({ ...base, defaultInstanceType: undefined, onDemandPricesPerHour: {} });
    expect(() => plannedInstanceTypes(bare)).toThrow(/^instanceTypes: none to plan on/);
  });

  it('a settings file: errors name the file and the field; spotAdvisorFile is relative to the file', () => {
    const bad = file('bad.json', {
      ...base,
      limits: { maxInstances: 0, maxSpendUsd: 1, maxInstanceHours: 2 },
    });
    expect(() => loadEc2Settings(bad)).toThrow(Ec2SettingsError);
    expect(() => loadEc2Settings(bad)).toThrow(`${bad}: limits.maxInstances: `);
    expect(() => loadEc2Settings(file('typo.json', { ...base, subnet: [] }))).toThrow(/\(root\): .*"subnet"/);
    expect(() => loadEc2Settings(file('broken.json', '{"region": '))).toThrow(/broken\.json: .*JSON/);
    const good = loadEc2Settings(file('good.json', { ...base, spotAdvisorFile: 'advisor/data.json' }));
    expect(good.spotAdvisorFile).toBe(path.join(dir, 'advisor', 'data.json'));
  });

  it('the boot script exports the instances’ checkpoint store when the settings name one', () => {
    const worker = parseEc2Settings({
      ...base,
      worker: { temporalAddress: 't:7233', checkpointStore: 'etcd://etcd.internal:2379' },
    }).worker!;
    expect(renderUserData(worker, { lifetimeMinutes: 60 })).toContain(
      "export SPOTDAG_CHECKPOINT_STORE='etcd://etcd.internal:2379'",
    );
    expect(renderUserData(parseEc2Settings(base).worker!, { lifetimeMinutes: 60 })).not.toContain(
      'SPOTDAG_CHECKPOINT_STORE',
    );
  });
});

describe('choosing the provider (spotdag run / worker)', () => {
  afterEach(() => {
    delete process.env[EC2_SETTINGS_ENV];
  });

  it('ec2 needs settings, from --ec2-settings or the environment', () => {
    expect(() => chooseProvider('ec2', {})).toThrow(
      `--provider ec2 needs EC2 settings: give --ec2-settings <file> or ${EC2_SETTINGS_ENV}`,
    );
    const good = file('env.json', base);
    process.env[EC2_SETTINGS_ENV] = good;
    expect(chooseProvider('ec2', {})).toMatchObject({ provider: 'ec2', settingsFile: good });
    expect(chooseProvider('local', {})).toEqual({ provider: 'local' });
    expect(() => chooseProvider('local', { ec2Settings: good })).toThrow(
      /--ec2-settings is for --provider ec2/,
    );
  });

  async function run(args: string[]): Promise<Error & { exitCode?: number }> {
    const program = new Command().exitOverride();
    registerRun(program);
    try {
      await program.parseAsync(['node', 'spotdag', 'run', ...args]);
    } catch (err) {
      return err as Error & { exitCode?: number };
    }
    throw new Error('expected spotdag run to fail');
  }

  it('spotdag run --provider ec2 with a bad settings file fails before anything starts, naming the field', async () => {
    const job = file('job.json', primesJobSpec(1e6, { chunks: 2 }));
    const bad = file('bad-region.json', { ...base, region: '' });
    const err = await run([job, '--provider', 'ec2', '--ec2-settings', bad]);
    expect(err).toBeInstanceOf(Ec2SettingsError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toBe(`${bad}: region: Too small: expected string to have >=1 characters`);
    const missing = await run([job, '--provider', 'ec2']);
    expect(missing.message).toMatch(/^--provider ec2 needs EC2 settings/);
    const dryLocal = await run([job, '--dry-run']);
    expect(dryLocal).toMatchObject({
      exitCode: 2,
      message: expect.stringMatching(/--dry-run .* --provider ec2/) as string,
    });
  });
});
