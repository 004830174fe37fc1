/**
 * The stand-in for a workflow task that has no program to run (docs/commands.md): it burns CPU
 * for the task's measured runtime (× a scale) and writes the task's declared output files at
 * their declared sizes, as WfCommons' benchmark mode does. It is a command like any other
 * (`spotdag stand-in`), so it exercises what real programs do: inputs, outputs, checkpoints,
 * progress, SIGTERM.
 */
import { createCipheriv, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';

export interface StandInPlan {
  /** CPU seconds to burn. */
  seconds: number;
  outputs: Array<{ path: string; bytes: number }>;
  /** Input files it reads (they must be in the input folder). */
  inputs: string[];
}

export interface StandInFolders {
  input: string;
  output: string;
  checkpoint?: string;
  progressFile?: string;
}

/** `name=bytes` → a declared output. */
export function parseOutputArg(text: string): { path: string; bytes: number } {
  const at = text.lastIndexOf('=');
  const bytes = Number(text.slice(at + 1));
  if (at <= 0 || !Number.isSafeInteger(bytes) || bytes < 0)
    throw new Error(`--output ${text}: expected <path>=<bytes>, e.g. result.dat=1048576`);
  return { path: text.slice(0, at), bytes };
}

/**
 * A file's content: a pseudo-random stream keyed by its path (AES-256-CTR over zeros), so the same
 * task writes the same bytes on every run and nothing compresses it away.
 */
export async function writeDeterministicFile(file: string, key: string, bytes: number): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  const cipher = createCipheriv('aes-256-ctr', createHash('sha256').update(key).digest(), Buffer.alloc(16));
  const zeros = Buffer.alloc(1 << 20);
  const handle = await open(`${file}.part`, 'w');
  try {
    for (let left = bytes; left > 0; left -= zeros.length)
      await handle.write(cipher.update(zeros.subarray(0, Math.min(left, zeros.length))));
  } finally {
    await handle.close();
  }
  renameSync(`${file}.part`, file);
}

/** Writes `value` to `file` atomically (a reader or an archive never sees half of it). */
function writeAtomically(file: string, value: string): void {
  writeFileSync(`${file}.tmp`, value);
  renameSync(`${file}.tmp`, file);
}

/**
 * Runs the stand-in: checks and reads its inputs, burns `seconds` of CPU in slices, saving how
 * much is done to the checkpoint folder (resuming from it), then writes its outputs. Resolves
 * 'stopped' when `stop()` says so (SIGTERM), after saving.
 */
export async function runStandIn(
  plan: StandInPlan,
  folders: StandInFolders,
  stop: () => boolean,
): Promise<'done' | 'stopped'> {
  for (const input of plan.inputs) {
    const file = path.join(folders.input, input);
    if (!existsSync(file)) throw new Error(`stand-in: input ${input} is not in ${folders.input}`);
    statSync(file);
  }
  const state = folders.checkpoint ? path.join(folders.checkpoint, 'stand-in.json') : undefined;
  let done = 0;
  if (state && existsSync(state)) done = (JSON.parse(readFileSync(state, 'utf8')) as { done: number }).done;
  const save = () => {
    if (state) writeAtomically(state, JSON.stringify({ done }));
    if (folders.progressFile)
      writeAtomically(folders.progressFile, String(plan.seconds > 0 ? Math.min(1, done / plan.seconds) : 1));
  };
  while (done < plan.seconds) {
    if (stop()) {
      save();
      return 'stopped';
    }
    const slice = Math.min(0.25, plan.seconds - done);
    const until = performance.now() + slice * 1000;
    while (performance.now() < until) {
      // Burning CPU on purpose: the stand-in's work is its runtime.
    }
    done += slice;
    save();
    await new Promise((resolve) => setImmediate(resolve)); // let SIGTERM be delivered
  }
  for (const output of plan.outputs)
    await writeDeterministicFile(path.join(folders.output, output.path), output.path, output.bytes);
  save();
  return 'done';
}
