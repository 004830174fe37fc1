/** Base of every error the artifact store throws on purpose. */
export class ArtifactError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bytes that do not match the digest they were stored or asked for under. */
export class ArtifactDigestMismatchError extends ArtifactError {
  constructor(
    readonly what: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`${what}: sha256 ${actual}, expected ${expected}`);
  }
}

export class ArtifactNotFoundError extends ArtifactError {
  constructor(
    readonly url: string,
    readonly digest: string,
  ) {
    super(`artifact sha256 ${digest} is not in ${url}`);
  }
}

/** A store URL or option that cannot work. */
export class ArtifactStoreConfigError extends ArtifactError {}
