import {
  paginateDescribeInstances,
  TerminateInstancesCommand,
  type EC2Client,
  type Filter,
} from '@aws-sdk/client-ec2';
import { TAG, tagMap } from './ec2-tags';

/** States of an instance that still runs or may run again (what the caps count, what cleanup ends). */
export const LIVE_STATES = ['pending', 'running'] as const;
export const NOT_TERMINATED_STATES = ['pending', 'running', 'stopping', 'stopped'] as const;

export interface TaggedInstance {
  instanceId: string;
  state: string;
  /** 'spot' or 'on-demand' (what EC2 launched). */
  lifecycle: 'spot' | 'on-demand';
  instanceType: string;
  zone?: string;
  tags: Record<string, string>;
  /** Why it is in its state (`Server.SpotInstanceTermination`, …), when EC2 says. */
  stateReason?: string;
}

export interface InstanceQuery {
  /** Only this job's instances; without it, every instance with a `spotdag:job` tag. */
  jobId?: string;
  instanceIds?: string[];
  states?: readonly string[];
}

/** Instances spotdag launched, by tag (DescribeInstances, all pages). */
export async function describeTaggedInstances(
  client: EC2Client,
  query: InstanceQuery,
): Promise<TaggedInstance[]> {
  const filters: Filter[] = [
    query.jobId !== undefined
      ? { Name: `tag:${TAG.job}`, Values: [query.jobId] }
      : { Name: 'tag-key', Values: [TAG.job] },
  ];
  if (query.states) filters.push({ Name: 'instance-state-name', Values: [...query.states] });
  const out: TaggedInstance[] = [];
  const pages = paginateDescribeInstances(
    { client },
    query.instanceIds
      ? { InstanceIds: query.instanceIds, Filters: filters }
      : { Filters: filters, MaxResults: 1000 },
  );
  for await (const page of pages) {
    for (const reservation of page.Reservations ?? []) {
      for (const i of reservation.Instances ?? []) {
        if (!i.InstanceId) continue;
        out.push({
          instanceId: i.InstanceId,
          state: i.State?.Name ?? 'unknown',
          lifecycle: i.InstanceLifecycle === 'spot' ? 'spot' : 'on-demand',
          instanceType: i.InstanceType ?? 'unknown',
          zone: i.Placement?.AvailabilityZone,
          tags: tagMap(i.Tags),
          ...(i.StateReason?.Code ? { stateReason: i.StateReason.Code } : {}),
        });
      }
    }
  }
  return out;
}

/** TerminateInstances in batches (EC2 takes up to 1000 ids per call). */
export async function terminateInstances(client: EC2Client, instanceIds: string[]): Promise<void> {
  for (let i = 0; i < instanceIds.length; i += 1000) {
    await client.send(new TerminateInstancesCommand({ InstanceIds: instanceIds.slice(i, i + 1000) }));
  }
}

/** Terminates every not-yet-terminated instance tagged with the job; returns their ids. */
export async function terminateJobInstances(client: EC2Client, jobId: string): Promise<TaggedInstance[]> {
  const instances = await describeTaggedInstances(client, { jobId, states: NOT_TERMINATED_STATES });
  await terminateInstances(
    client,
    instances.map((i) => i.instanceId),
  );
  return instances;
}
