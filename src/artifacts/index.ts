// The artifact store: content-addressed bytes, one port (`ArtifactStore`), backends chosen by URL.
export type * from './types';
export * from './errors';
export { fileRef, sha256Hex, isDigest, HashingStream } from './digest';
export { FileArtifactStore } from './file-store';
export { S3ArtifactStore, DEFAULT_PART_BYTES, type S3ArtifactStoreSettings } from './s3-store';
export {
  openArtifactStore,
  parseArtifactStoreUrl,
  defaultArtifactStoreUrl,
  type ArtifactStoreLocation,
  type OpenArtifactStoreOptions,
} from './open';
export { artifactKey } from './keys';
