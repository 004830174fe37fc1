import { spawnSync } from 'node:child_process';
import { instanceTaskQueue } from '../../../src/names';
import { managedLaunchTemplateRequest } from '../../../src/provision/ec2-launch-template';
import { parseEc2Settings } from '../../../src/provision/ec2-settings';
import { lifetimeMinutes, renderUserData, shellQuote } from '../../../src/provision/ec2-user-data';

const settings = parseEc2Settings({
  region: 'us-east-1',
  subnets: [{ subnetId: 'subnet-a', zone: 'us-east-1a' }],
  image: { imageId: 'ami-123', securityGroupIds: ['sg-1'], iamInstanceProfile: 'spotdag-worker' },
  worker: { temporalAddress: 'temporal.internal:7233', namespace: "it's", steps: ['/opt/a.js', '/opt/b.js'] },
  limits: { maxInstances: 2, maxSpendUsd: 10, maxInstanceHours: 3 },
});

describe('EC2 user data and the managed launch template', () => {
  const script = renderUserData(settings.worker!, { lifetimeMinutes: lifetimeMinutes(3) });

  it('is valid bash that polls spotdag-i-<EC2 instance id> and watches 169.254.169.254', () => {
    expect(spawnSync('bash', ['-n'], { input: script }).status).toBe(0);
    expect(script).toContain(`--task-queue "${instanceTaskQueue('$INSTANCE_ID')}"`);
    expect(script).toContain("IMDS='http://169.254.169.254'");
    expect(script).toContain('--metadata-endpoint "$IMDS" --metadata-poll-ms 5000');
    expect(script).toContain(`export TEMPORAL_NAMESPACE='it'\\''s'`);
    expect(script).toContain(`export SPOTDAG_STEPS='/opt/a.js:/opt/b.js'`);
    // The lifetime timer comes before anything that could fail.
    expect(script.indexOf('shutdown -h +170')).toBeLessThan(script.indexOf('TOKEN='));
  });

  it('quotes for bash', () => {
    const out = spawnSync('bash', ['-c', `printf %s ${shellQuote(`a'b "$HOME" \`x\``)}`]).stdout.toString();
    expect(out).toBe(`a'b "$HOME" \`x\``);
    expect(lifetimeMinutes(0.05)).toBe(5);
  });

  it('becomes a launch template that terminates on shutdown, IMDSv2 only, named by its content', () => {
    const request = managedLaunchTemplateRequest(settings)!;
    expect(request.LaunchTemplateName).toMatch(/^spotdag-[0-9a-f]{16}$/);
    expect(request.LaunchTemplateData).toMatchObject({
      ImageId: 'ami-123',
      SecurityGroupIds: ['sg-1'],
      IamInstanceProfile: { Name: 'spotdag-worker' },
      InstanceInitiatedShutdownBehavior: 'terminate',
      MetadataOptions: { HttpTokens: 'required', InstanceMetadataTags: 'enabled' },
    });
    expect(Buffer.from(request.LaunchTemplateData!.UserData!, 'base64').toString()).toBe(script);
    expect(managedLaunchTemplateRequest(settings)!.LaunchTemplateName).toBe(request.LaunchTemplateName);
    const other = parseEc2Settings({
      ...settings,
      worker: { ...settings.worker!, temporalAddress: 'x:7233' },
    });
    expect(managedLaunchTemplateRequest(other)!.LaunchTemplateName).not.toBe(request.LaunchTemplateName);
  });

  it('validates settings with the path of every problem', () => {
    expect(() =>
      parseEc2Settings({
        region: 'us-east-1',
        subnets: [],
        limits: { maxInstances: 0, maxSpendUsd: 1, maxInstanceHours: 1 },
      }),
    ).toThrow(
      /subnets: .*; limits\.maxInstances: .*; launchTemplate: give exactly one of launchTemplate or image/,
    );
    expect(() => parseEc2Settings({ ...settings, worker: undefined })).toThrow(/worker: required with image/);
  });
});
