import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { dryRun, plansFromFile } from '../../../cli/commands/ec2';
import { primesJobSpec } from '../../../src/steps';
import { parseEc2Settings } from '../../../src/provision/ec2-settings';

const settings = parseEc2Settings({
  region: 'us-east-1',
  subnets: [{ subnetId: 'subnet-a', zone: 'us-east-1a' }],
  image: { imageId: 'ami-123' },
  worker: { temporalAddress: 'temporal:7233' },
  defaultInstanceType: 'c5.large',
  onDemandPricesPerHour: { 'c5.large': 0.085 },
  limits: { maxInstances: 2, maxSpendUsd: 1, maxInstanceHours: 2 },
});

describe('spotdag ec2 dry-run', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'spotdag-dry-'));

  it('reads plans from a schedule, a plan array, or a JobSpec fleet', () => {
    const schedule = path.join(dir, 'schedule.json');
    writeFileSync(
      schedule,
      JSON.stringify({ instances: [{ id: 'i0', pool: 'c5.large@us-east-1a', slots: 2 }] }),
    );
    expect(plansFromFile(schedule)).toEqual([{ id: 'i0', pool: 'c5.large@us-east-1a', slots: 2 }]);
    const job = path.join(dir, 'job.json');
    writeFileSync(job, JSON.stringify(primesJobSpec(1e6, { instances: 3 })));
    expect(plansFromFile(job).map((p) => p.id)).toEqual(['i0', 'i1', 'i2']);
  });

  it('prints the launch template, each CreateFleet in order, and whether the caps admit them', () => {
    const out = dryRun('job-1', [{ id: 'i0', pool: 'local@localhost', slots: 1 }], settings);
    expect(out.createLaunchTemplate?.LaunchTemplateName).toMatch(/^spotdag-/);
    expect(out.launches[0]!.createFleet.map((c) => c.market)).toEqual(['spot', 'on-demand']);
    expect(out.launches[0]!.createFleet[0]!.input.TagSpecifications![0]!.Tags).toContainEqual({
      Key: 'spotdag:job',
      Value: 'job-1',
    });
    expect(out).toMatchObject({ admitted: true, worstCaseUsd: 0.17 });
    const over = dryRun(
      'job-1',
      ['i0', 'i1', 'i2'].map((id) => ({ id, pool: 'c5.large@us-east-1a', slots: 1 })),
      settings,
    );
    expect(over.admitted).toBe(false);
    expect(over.refused).toMatch(/^InstanceCapExceeded: /);
  });
});
