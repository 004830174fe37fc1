import { DirectedGraph } from 'graphology';
import {
  CycleError,
  DagError,
  DuplicateIdError,
  findDagProblems,
  InvalidResourceError,
  TooManyNodesError,
  validateDag,
  type DependencyAttributes,
  type SubTaskAttributes,
  type TaskDag,
} from '../../../src/dag';

function node(id: string, overrides: Partial<SubTaskAttributes> = {}): SubTaskAttributes {
  return {
    id,
    stage: 's',
    step: 's.x',
    cpu: 1,
    memoryMiB: 64,
    durationSeconds: 1,
    durationUncertainty: 0.1,
    priority: 0,
    index: 0,
    count: 1,
    ...overrides,
  };
}

function graph(
  ids: string[],
  edges: Array<[string, string]>,
  overrides: Record<string, Partial<SubTaskAttributes>> = {},
): TaskDag {
  const dag = new DirectedGraph<SubTaskAttributes, DependencyAttributes>();
  for (const id of ids) dag.addNode(id, node(id, overrides[id]));
  for (const [a, b] of edges) dag.addDirectedEdge(a, b, { bytes: 0 });
  return dag;
}

describe('validateDag', () => {
  it('accepts a valid DAG', () => {
    expect(() =>
      validateDag(
        graph(
          ['a', 'b', 'c'],
          [
            ['a', 'b'],
            ['b', 'c'],
            ['a', 'c'],
          ],
        ),
      ),
    ).not.toThrow();
  });

  it('names the nodes of one cycle, in dependency order', () => {
    const dag = graph(
      ['x', 'a', 'b', 'c', 'y'],
      [
        ['x', 'a'],
        ['a', 'b'],
        ['b', 'c'],
        ['c', 'a'],
        ['c', 'y'],
      ],
    );
    try {
      validateDag(dag);
      throw new Error('not rejected');
    } catch (err) {
      expect(err).toBeInstanceOf(CycleError);
      expect(err).toBeInstanceOf(DagError);
      expect((err as CycleError).exitCode).toBe(2);
      const cycle = (err as CycleError).nodes;
      expect([...cycle].sort()).toEqual(['a', 'b', 'c']);
      for (let i = 0; i < cycle.length; i++)
        expect(dag.hasDirectedEdge(cycle[i]!, cycle[(i + 1) % cycle.length]!)).toBe(true);
    }
  });

  it('finds a self-loop', () => {
    const dag = graph(['a'], [['a', 'a']]);
    expect(() => validateDag(dag)).toThrow(new CycleError(['a']).message);
  });

  it('rejects non-positive or non-finite resources, naming the sub-task and the field', () => {
    expect(() => validateDag(graph(['a'], [], { a: { cpu: 0 } }))).toThrow(InvalidResourceError);
    expect(() => validateDag(graph(['a'], [], { a: { memoryMiB: -1 } }))).toThrow(
      'sub-task "a": invalid memoryMiB -1',
    );
    expect(() => validateDag(graph(['a'], [], { a: { durationSeconds: NaN } }))).toThrow(
      'invalid durationSeconds NaN',
    );
    expect(() => validateDag(graph(['a'], [], { a: { cpu: Infinity } }))).toThrow('invalid cpu Infinity');
  });

  it('rejects duplicate ids and too many nodes', () => {
    expect(() => validateDag(graph(['a', 'b'], [], { b: { id: 'a' } }))).toThrow(DuplicateIdError);
    expect(() => validateDag(graph(['a', 'b', 'c'], []), { maxNodes: 2 })).toThrow(TooManyNodesError);
    expect(() => validateDag(graph(['a', 'b', 'c'], []), { maxNodes: 2 })).toThrow(
      '3 sub-tasks exceed the limit of 2',
    );
  });

  it('lists all problems', () => {
    const problems = findDagProblems(
      graph(
        ['a', 'b'],
        [
          ['a', 'b'],
          ['b', 'a'],
        ],
        { a: { cpu: -1 }, b: { memoryMiB: NaN } },
      ),
    );
    expect(problems.map((p) => p.constructor.name)).toEqual([
      'InvalidResourceError',
      'InvalidResourceError',
      'CycleError',
    ]);
  });
});
