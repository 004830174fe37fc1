import { encodeSegment } from '../checkpoint/keys';
import { ArtifactStoreConfigError } from './errors';
import { isDigest } from './digest';
import type { ArtifactScope } from './types';

/**
 * Where an artifact lives below a store's root, the same for every backend:
 * `jobs/<job>/sha256/<digest>` for a job's artifacts and `jobs/<job>/t/<sub-task>/sha256/<digest>`
 * for a sub-task's checkpoint archives. Ids are encoded as in the checkpoint store's keys.
 */
export function jobPrefix(jobId: string): string {
  return `jobs/${encodeSegment(jobId)}/`;
}

export function artifactKey(scope: ArtifactScope, digest: string): string {
  if (!isDigest(digest))
    throw new ArtifactStoreConfigError(`"${digest.slice(0, 80)}" is not a sha256 digest (64 hex digits)`);
  const owner =
    scope.subTaskId === undefined
      ? jobPrefix(scope.jobId)
      : `${jobPrefix(scope.jobId)}t/${encodeSegment(scope.subTaskId)}/`;
  return `${owner}sha256/${digest}`;
}
