import { createHash } from 'node:crypto';
import {
  CreateLaunchTemplateCommand,
  DescribeLaunchTemplatesCommand,
  type CreateLaunchTemplateCommandInput,
  type EC2Client,
  type FleetLaunchTemplateSpecificationRequest,
  type RequestLaunchTemplateData,
} from '@aws-sdk/client-ec2';
import type { Ec2Settings } from './ec2-settings';
import { lifetimeMinutes, renderUserData } from './ec2-user-data';
import { TAG } from './ec2-tags';

/**
 * The launch template spotdag creates from `image` + `worker`: user data that starts the worker,
 * IMDSv2 only with instance tags readable (slots), and shutdown = terminate so that the user data's
 * lifetime timer ends billing. Named by a hash of its data: same settings, same template.
 */
export function managedLaunchTemplateRequest(
  settings: Ec2Settings,
): CreateLaunchTemplateCommandInput | undefined {
  const { image, worker } = settings;
  if (!image || !worker) return undefined;
  const userData = renderUserData(worker, {
    lifetimeMinutes: lifetimeMinutes(settings.limits.maxInstanceHours),
  });
  const profile = image.iamInstanceProfile;
  const data: RequestLaunchTemplateData = {
    ImageId: image.imageId,
    ...(image.securityGroupIds.length > 0 ? { SecurityGroupIds: image.securityGroupIds } : {}),
    ...(image.keyName ? { KeyName: image.keyName } : {}),
    ...(profile
      ? { IamInstanceProfile: profile.startsWith('arn:') ? { Arn: profile } : { Name: profile } }
      : {}),
    UserData: Buffer.from(userData, 'utf8').toString('base64'),
    InstanceInitiatedShutdownBehavior: 'terminate',
    MetadataOptions: {
      HttpTokens: 'required',
      HttpEndpoint: 'enabled',
      InstanceMetadataTags: 'enabled',
    },
  };
  const name = `spotdag-${createHash('sha256').update(JSON.stringify(data)).digest('hex').slice(0, 16)}`;
  return {
    LaunchTemplateName: name,
    ClientToken: name,
    VersionDescription: 'spotdag instance worker',
    LaunchTemplateData: data,
    TagSpecifications: [{ ResourceType: 'launch-template', Tags: [{ Key: TAG.managed, Value: 'true' }] }],
  };
}

/** The template CreateFleet launches from: the user's own, or the managed one. */
export function launchTemplateSpec(settings: Ec2Settings): FleetLaunchTemplateSpecificationRequest {
  if (settings.launchTemplate) {
    const { id, name, version } = settings.launchTemplate;
    return { ...(id ? { LaunchTemplateId: id } : { LaunchTemplateName: name }), Version: version };
  }
  const managed = managedLaunchTemplateRequest(settings);
  return { LaunchTemplateName: managed!.LaunchTemplateName, Version: '$Latest' };
}

function errorName(err: unknown): string {
  return (err as { name?: string } | null)?.name ?? '';
}

/** Creates the managed launch template unless it exists (idempotent across processes). */
export async function ensureLaunchTemplate(client: EC2Client, settings: Ec2Settings): Promise<void> {
  const request = managedLaunchTemplateRequest(settings);
  if (!request) return;
  try {
    const found = await client.send(
      new DescribeLaunchTemplatesCommand({ LaunchTemplateNames: [request.LaunchTemplateName!] }),
    );
    if ((found.LaunchTemplates?.length ?? 0) > 0) return;
  } catch (err) {
    if (!errorName(err).startsWith('InvalidLaunchTemplateName.NotFound')) throw err;
  }
  try {
    await client.send(new CreateLaunchTemplateCommand(request));
  } catch (err) {
    // Another control worker created it between our describe and create.
    if (!errorName(err).startsWith('InvalidLaunchTemplateName.AlreadyExists')) throw err;
  }
}
