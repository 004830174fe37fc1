/** File-system work of a command attempt: listing outputs, archiving checkpoint folders, log tails. */
import type { Dirent } from 'node:fs';
import { link, lstat, mkdir, open, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import * as tar from 'tar';

const vanished = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * Regular files below `dir` (relative, `/`-separated, sorted); symlinks and others are skipped.
 * A folder that disappears while it is listed counts as empty.
 */
export async function listFiles(dir: string): Promise<{ files: string[]; skipped: string[] }> {
  const files: string[] = [];
  const skipped: string[] = [];
  const walk = async (rel: string) => {
    let entries: Dirent[];
    try {
      entries = await readdir(path.join(dir, rel), { withFileTypes: true });
    } catch (err) {
      if (rel && vanished(err)) return;
      throw err;
    }
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
 * Archives a folder's files as a tar file (uncompressed: checkpoints are often compressed
 * already, and archiving must be quick on a spot notice), with portable headers (no owner names
 * or access times) so that an unchanged folder archives to the same bytes.
 *
 * The program may be writing meanwhile. The files are first hard-linked into a snapshot, which
 * programs that write a file under a temporary name and rename it (as they should) do not change
 * afterwards; a file that disappears before it is linked is left out. A file changed in place
 * while it is read makes the archive `torn`, not to be kept.
 */
export async function archiveFolder(dir: string, file: string): Promise<'empty' | 'archived' | 'torn'> {
  const snapshot = `${file}.snapshot`;
  await rm(snapshot, { recursive: true, force: true });
  try {
    let linked = 0;
    for (const rel of (await listFiles(dir)).files) {
      await mkdir(path.dirname(path.join(snapshot, rel)), { recursive: true });
      try {
        await link(path.join(dir, rel), path.join(snapshot, rel));
        linked++;
      } catch (err) {
        if (!vanished(err)) throw err;
      }
    }
    if (linked === 0) return 'empty';
    try {
      await tar.create(
        { cwd: snapshot, file, portable: true, strict: true },
        (await readdir(snapshot)).sort(),
      );
    } catch {
      return 'torn';
    }
    return 'archived';
  } finally {
    await rm(snapshot, { recursive: true, force: true });
  }
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
