import { instanceTaskQueue } from '../names';
import { EC2_METADATA_ENDPOINT } from './interruption-watcher';
import type { Ec2WorkerSettings } from './ec2-settings';

export interface UserDataOptions {
  /** The instance shuts itself down after this many minutes (terminating: see the launch template). */
  lifetimeMinutes: number;
  /** Instance metadata service; tests point it at a LocalMetadataServer. */
  metadataEndpoint?: string;
  /** Overridable so that tests can run the script on a workstation without powering it off. */
  shutdownCommand?: string;
}

/** Single-quotes a value for bash. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Minutes of lifetime for the instance-side shutdown timer: the spend bound's hours, less a margin for boot. */
export function lifetimeMinutes(maxInstanceHours: number): number {
  return Math.max(5, Math.floor(maxInstanceHours * 60) - 10);
}

/**
 * The boot script of an instance. The queue name is not chosen before launch: the script reads the
 * instance's own EC2 id from IMDSv2 and polls `spotdag-i-<instance id>`, the name the provisioner
 * derives from CreateFleet's answer, so one launch template serves every instance. Slots come from
 * the instance's `spotdag:slots` tag (instance metadata tags), 1 without it. The worker watches the
 * same metadata service for spot notices. No secrets: Temporal credentials, if any, come from the
 * image (envconfig profile), never from user data, which anyone with DescribeInstanceAttribute reads.
 */
export function renderUserData(worker: Ec2WorkerSettings, options: UserDataOptions): string {
  const imds = (options.metadataEndpoint ?? EC2_METADATA_ENDPOINT).replace(/\/$/, '');
  const shutdown = options.shutdownCommand ?? 'shutdown -h';
  return [
    '#!/bin/bash',
    '# spotdag instance: starts the instance worker on its own task queue.',
    'set -euo pipefail',
    `IMDS=${shellQuote(imds)}`,
    // The lifetime cap first, so that a failing setup cannot leave the instance running.
    `${shutdown} +${options.lifetimeMinutes} || true`,
    'TOKEN=$(curl -sf -X PUT "$IMDS/latest/api/token" -H "X-aws-ec2-metadata-token-ttl-seconds: 21600")',
    'imds() { curl -sf -H "X-aws-ec2-metadata-token: $TOKEN" "$IMDS/latest/meta-data/$1"; }',
    'INSTANCE_ID=$(imds instance-id)',
    'SLOTS=$(imds tags/instance/spotdag:slots || echo 1)',
    ...worker.setup,
    `export TEMPORAL_ADDRESS=${shellQuote(worker.temporalAddress)}`,
    `export TEMPORAL_NAMESPACE=${shellQuote(worker.namespace)}`,
    `export SPOTDAG_STEPS=${shellQuote(worker.steps.join(':'))}`,
    ...(worker.checkpointStore
      ? [`export SPOTDAG_CHECKPOINT_STORE=${shellQuote(worker.checkpointStore)}`]
      : []),
    ...(worker.artifactStore ? [`export SPOTDAG_ARTIFACT_STORE=${shellQuote(worker.artifactStore)}`] : []),
    `exec ${worker.command} --instance-id "$INSTANCE_ID" --task-queue "${instanceTaskQueue('$INSTANCE_ID')}" --slots "$SLOTS" \\`,
    `  --metadata-endpoint "$IMDS" --metadata-poll-ms ${worker.metadataPollMs}`,
    '',
  ].join('\n');
}
