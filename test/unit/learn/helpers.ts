import { MODEL_FORMAT, type PolicyModel } from '../../../src/learn/model';
import { HEURISTIC_PARAMS } from '../../../src/learn/policy-space';

/** A valid model that differs from the heuristic by its PageRank cost weight. */
export function testModel(cost: number): PolicyModel {
  const params = structuredClone(HEURISTIC_PARAMS);
  params.rankMix.cost = cost;
  return {
    format: MODEL_FORMAT,
    params,
    training: {
      seed: 1,
      generations: 0,
      population: 1,
      workflows: ['montage-x'],
      traceGroups: ['aws-1'],
      prices: 'prices.csv',
      scenarios: 1,
      heuristicScore: 0.5,
      score: 0.5,
      curve: [],
      elapsedSeconds: 1,
    },
    createdAt: '2026-11-30T00:00:00.000Z',
  };
}
