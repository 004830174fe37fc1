/**
 * Dynamic decomposition: cut a sub-task of a split stage that has not started, or the unfinished
 * remainder of one resumed from a checkpoint, into smaller sub-tasks.
 *
 * The original node stays and keeps its id, its checkpoint and its edges: it now covers the
 * first piece — or, with a remainder, exactly the part already done. New pieces are named
 * `<id>.1`, `<id>.2`, … (the next free suffixes), depend on what the original depends on, and
 * feed whatever the original feeds. There are no edges among pieces, so the DAG stays acyclic
 * and every dependency is kept. Work is conserved: durations are shared out by units.
 */
import { SplitError } from './errors';
import { assignPriorities } from './graph-index';
import type { IntRange, SubTaskAttributes, TaskDag } from './types';

export interface SplitSubTaskOptions {
  /** Number of pieces for the part still to do. */
  parts?: number;
  /** Alternatively: cut the part still to do into pieces of at most this estimated duration. */
  maxDurationSeconds?: number;
  /**
   * The part still to do after a checkpoint, a suffix of the sub-task's units: an absolute range
   * for range sub-tasks, 0-based item positions within `input` for item sub-tasks.
   */
  remainder?: IntRange;
  /** Recompute priorities (upward ranks) of the whole DAG afterwards (default true). */
  updatePriorities?: boolean;
}

export interface SplitSubTaskResult {
  /** The sub-task that was split; it now covers `pieces[0]` (the done part, with a remainder). */
  id: string;
  /** All sub-tasks covering the original's units, in order; the first is `id` itself. */
  pieces: string[];
  /** The new sub-tasks (pieces without the first). */
  created: string[];
}

interface Piece {
  offset: number;
  length: number;
}

/** Splits sub-task `id` in place; returns the pieces. Throws SplitError when it cannot. */
export function splitSubTask(dag: TaskDag, id: string, options: SplitSubTaskOptions): SplitSubTaskResult {
  if (!dag.hasNode(id)) throw new SplitError(id, 'no such sub-task');
  const node = dag.getNodeAttributes(id);
  const items = node.kind === 'split' && Array.isArray(node.input) ? (node.input as unknown[]) : undefined;
  if (!node.range && !items) {
    throw new SplitError(id, 'only sub-tasks of split stages (over a range or items) can be split');
  }
  const units = node.range ? node.range.end - node.range.start + 1 : items!.length;
  const base = node.range ? node.range.start : 0;

  let done = 0;
  if (options.remainder) {
    const { start, end } = options.remainder;
    const last = base + units - 1;
    if (
      !Number.isSafeInteger(start) ||
      !Number.isSafeInteger(end) ||
      end !== last ||
      start < base ||
      start > end
    ) {
      throw new SplitError(
        id,
        `remainder ${start}..${end} is not a non-empty suffix of ${base}..${last}` +
          (node.range ? '' : ' (item positions)'),
      );
    }
    done = start - base;
  }
  const todo = units - done;
  const perUnit = node.durationSeconds / units;
  let parts: number;
  if (options.parts !== undefined) {
    if (!Number.isSafeInteger(options.parts) || options.parts < 1) {
      throw new SplitError(id, `parts must be a positive integer, got ${options.parts}`);
    }
    if (options.parts > todo)
      throw new SplitError(id, `cannot cut ${todo} unit(s) into ${options.parts} parts`);
    parts = options.parts;
  } else if (options.maxDurationSeconds !== undefined) {
    if (!(options.maxDurationSeconds > 0) || !Number.isFinite(options.maxDurationSeconds)) {
      throw new SplitError(
        id,
        `maxDurationSeconds must be a positive number, got ${options.maxDurationSeconds}`,
      );
    }
    parts = Math.min(todo, Math.max(1, Math.ceil((perUnit * todo) / options.maxDurationSeconds - 1e-9)));
  } else {
    throw new SplitError(id, 'give parts or maxDurationSeconds');
  }

  const pieces: Piece[] = [];
  if (done > 0) pieces.push({ offset: 0, length: done });
  const even = Math.floor(todo / parts);
  const extra = todo % parts;
  for (let p = 0, offset = done; p < parts; p++) {
    const length = even + (p < extra ? 1 : 0);
    pieces.push({ offset, length });
    offset += length;
  }
  if (pieces.length === 1) return { id, pieces: [id], created: [] };

  const inEdges = dag.mapInEdges(id, (_e, attrs, source) => ({ source, bytes: attrs.bytes }));
  const outEdges = dag.mapOutEdges(id, (_e, attrs, _source, target) => ({ target, bytes: attrs.bytes }));
  const pieceAttributes = (piece: Piece, pieceId: string, index: number): SubTaskAttributes => {
    const attributes: SubTaskAttributes = {
      ...node,
      id: pieceId,
      durationSeconds: node.durationSeconds * (piece.length / units),
      index,
    };
    if (node.range)
      attributes.range = { start: base + piece.offset, end: base + piece.offset + piece.length - 1 };
    else attributes.input = items!.slice(piece.offset, piece.offset + piece.length);
    return attributes;
  };

  let suffix = 1;
  const created: string[] = [];
  const newCount = node.count + pieces.length - 1;
  for (let p = 1; p < pieces.length; p++) {
    while (dag.hasNode(`${id}.${suffix}`)) suffix++;
    const pieceId = `${id}.${suffix}`;
    dag.addNode(pieceId, pieceAttributes(pieces[p]!, pieceId, node.count + p - 1));
    for (const edge of inEdges) dag.addDirectedEdge(edge.source, pieceId, { bytes: edge.bytes });
    created.push(pieceId);
  }
  // Outgoing bytes follow the units (output assumed proportional to input); rounded down, the
  // original keeps the rest, so the pieces' bytes add up to the original's exactly.
  for (const edge of outEdges) {
    let given = 0;
    for (let p = 1; p < pieces.length; p++) {
      const bytes = Math.floor((edge.bytes * pieces[p]!.length) / units);
      given += bytes;
      dag.addDirectedEdge(created[p - 1]!, edge.target, { bytes });
    }
    dag.setDirectedEdgeAttribute(id, edge.target, 'bytes', edge.bytes - given);
  }
  dag.replaceNodeAttributes(id, pieceAttributes(pieces[0]!, id, node.index));
  dag.forEachNode((_key, attrs) => {
    if (attrs.stage === node.stage) attrs.count = newCount;
  });
  if (options.updatePriorities ?? true) assignPriorities(dag);
  return { id, pieces: [id, ...created], created };
}
