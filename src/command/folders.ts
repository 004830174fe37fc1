/** File-system work of a command attempt: listing outputs, archiving checkpoint folders, log tails. */
import { lstat, open, readdir } from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';

/** Regular files below `dir` (relative, `/`-separated, sorted); symlinks and others are skipped. */
export async function listFiles(dir: string): Promise<{ files: string[]; skipped: string[] }> {
  const files: string[] = [];
  const skipped: string[] = [];
  const walk = async (rel: string) => {
    const entries = await readdir(path.join(dir, rel), { withFileTypes: true });
    for (const entry of entries) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) await walk(child);
      else if (entry.isFile()) files.push(child);
      else skipped.push(child);
    }
  };
  await walk('');
  files.sort();
  return { files, skipped };
}

/**
 * Archives a folder's contents as a tar file (uncompressed: checkpoints are often compressed
 * already, and archiving must be quick on a spot notice). Portable headers (no owner names or
 * access times) so that an unchanged folder archives to the same bytes. False when it is empty.
 */
export async function archiveFolder(dir: string, file: string): Promise<boolean> {
  const entries = (await readdir(dir)).sort();
  if (entries.length === 0) return false;
  await tar.create({ cwd: dir, file, portable: true, strict: true }, entries);
  return true;
}

/** Unpacks an archive made by `archiveFolder` into `dir` (paths outside it are refused). */
export async function extractArchive(file: string, dir: string): Promise<void> {
  await tar.extract({ file, cwd: dir, strict: true, preservePaths: false });
}

/** The last `bytes` of a file (empty when it does not exist). */
export async function readTail(file: string, bytes: number): Promise<Buffer> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, bytes);
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, size - length);
    return buffer;
  } finally {
    await handle.close();
  }
}

/** Size of a file, or undefined when it is missing. */
export async function sizeOf(file: string): Promise<number | undefined> {
  try {
    return (await lstat(file)).size;
  } catch {
    return undefined;
  }
}
