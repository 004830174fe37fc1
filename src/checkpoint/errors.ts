import type { BackendKind } from './types';

/** Base of every error the checkpoint store throws on purpose. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** A write carried a token that is not the sub-task's latest: a newer attempt owns the sub-task. */
export class FencedWriteError extends CheckpointError {
  constructor(
    readonly jobId: string,
    readonly subTaskId: string,
    readonly token: number,
    readonly currentToken: number,
  ) {
    super(
      token < currentToken
        ? `fenced write to job ${jobId} sub-task ${subTaskId}: token ${token} is stale, token ${currentToken} was claimed since`
        : `fenced write to job ${jobId} sub-task ${subTaskId}: token ${token} was never claimed (current token ${currentToken})`,
    );
  }
}

/** A sub-task's result is written once; a different second result is refused. */
export class ResultAlreadyWrittenError extends CheckpointError {
  constructor(
    readonly jobId: string,
    readonly subTaskId: string,
    readonly existingDigest: string,
    readonly attemptedDigest: string,
  ) {
    super(
      `result of job ${jobId} sub-task ${subTaskId} is already written (sha256 ${existingDigest.slice(0, 12)}…); ` +
        `refusing different bytes (sha256 ${attemptedDigest.slice(0, 12)}…)`,
    );
  }
}

export class CheckpointTooLargeError extends CheckpointError {
  constructor(
    readonly jobId: string,
    readonly subTaskId: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(
      `checkpoint of job ${jobId} sub-task ${subTaskId} is ${bytes} bytes, above the limit of ${limit} bytes; ` +
        'keep large data elsewhere and checkpoint a reference to it, or raise maxBytes',
    );
  }
}

/** Stored bytes do not match their digest, or chunks are missing. */
export class CheckpointCorruptError extends CheckpointError {
  constructor(
    readonly jobId: string,
    readonly subTaskId: string,
    readonly what: string,
    readonly reason: string,
  ) {
    super(`${what} of job ${jobId} sub-task ${subTaskId} is corrupt: ${reason}`);
  }
}

/** The backend failed for a reason retrying does not fix (permission denied, bad request, …). */
export class CheckpointBackendError extends CheckpointError {
  constructor(
    readonly backend: BackendKind,
    readonly operation: string,
    detail: string,
  ) {
    super(`${backend} checkpoint store: ${operation} failed: ${detail}`);
  }
}

/** The backend stayed unreachable (or kept failing transiently) past the retry deadline. */
export class CheckpointStoreUnavailableError extends CheckpointError {
  constructor(
    readonly backend: BackendKind,
    readonly operation: string,
    readonly elapsedMs: number,
    detail: string,
  ) {
    super(
      `${backend} checkpoint store unavailable: ${operation} still failing after ${Math.round(elapsedMs / 1000)} s: ${detail}`,
    );
  }
}

/** A store URL or option that cannot work; the message never repeats secrets. */
export class CheckpointStoreConfigError extends CheckpointError {}
