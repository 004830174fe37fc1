import type {
  DescribeSpotPriceHistoryCommandInput,
  DescribeSpotPriceHistoryCommandOutput,
  EC2Client,
} from '@aws-sdk/client-ec2';
import { InstanceCatalog, poolKey } from '../../src/market';
import {
  fetchInstanceCatalog,
  fetchSpotPriceObservations,
  fetchSpotPriceSeries,
} from '../../src/provision/ec2-market';
import { motoClient, startMotoServer, useDummyAwsCredentials, type MotoServer } from '../support/moto-server';

/**
 * Market ingestion against moto_server. moto answers DescribeSpotPriceHistory with one record per
 * offered (type, zone), at a fixed price and time, and never pages; so that the paginator is
 * exercised, a middleware on the client's middlewareStack pages moto's real answer by MaxResults
 * and NextToken the way EC2 does.
 */
describe('EC2 market ingestion against moto_server', () => {
  let moto: MotoServer;
  let client: EC2Client;
  const requests: DescribeSpotPriceHistoryCommandInput[] = [];

  beforeAll(async () => {
    useDummyAwsCredentials();
    moto = await startMotoServer();
    client = motoClient(moto.endpoint);
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName !== 'DescribeSpotPriceHistoryCommand') return next(args);
        const input = args.input as DescribeSpotPriceHistoryCommandInput;
        requests.push({ ...input }); // the paginator reuses its input object
        const offset = Number(input.NextToken ?? 0);
        const pageSize = input.MaxResults ?? 1000;
        const result = await next({
          ...args,
          input: { ...input, NextToken: undefined, MaxResults: undefined },
        });
        const output = result.output as DescribeSpotPriceHistoryCommandOutput;
        const all = output.SpotPriceHistory ?? [];
        const more = offset + pageSize < all.length;
        return {
          ...result,
          output: {
            ...output,
            SpotPriceHistory: all.slice(offset, offset + pageSize),
            NextToken: more ? String(offset + pageSize) : '',
          },
        };
      },
      { step: 'initialize', name: 'pageSpotPriceHistory' },
    );
  });
  afterAll(async () => {
    client?.destroy();
    await moto?.stop();
  });
  beforeEach(() => {
    requests.length = 0;
  });

  it('reads every page of DescribeSpotPriceHistory into price observations', async () => {
    const query = { startTime: new Date(0), instanceTypes: ['c5.large', 'm5.large'] };
    const all = await fetchSpotPriceObservations(client, { ...query, pageSize: 1000 });
    expect(requests).toHaveLength(1);
    expect(all.length).toBeGreaterThan(3);

    requests.length = 0;
    const paged = await fetchSpotPriceObservations(client, { ...query, pageSize: 3 });
    expect(requests.length).toBe(Math.ceil(all.length / 3));
    expect(requests.slice(1).every((r, i) => r.NextToken === String(3 * (i + 1)))).toBe(true);
    expect(requests[0]).toMatchObject({
      InstanceTypes: query.instanceTypes,
      ProductDescriptions: ['Linux/UNIX'],
    });
    expect(paged).toEqual(all);
    for (const o of paged) {
      expect(['c5.large', 'm5.large']).toContain(o.pool.instanceType);
      expect(o.pool.region).toBe('us-east-1');
      expect(o.pool.zone).toMatch(/^us-east-1[a-f]$/);
      expect(o.price).toBeGreaterThan(0);
    }
  });

  it('resamples them into the PriceSeries the forecaster reads, one per pool', async () => {
    const series = await fetchSpotPriceSeries(
      client,
      {
        startTime: new Date(0),
        instanceTypes: ['c5.large'],
        zones: ['us-east-1a', 'us-east-1b'],
        pageSize: 1,
      },
      { stepSeconds: 3600 },
    );
    expect(series.map((s) => poolKey(s.pool))).toEqual(['c5.large@us-east-1a', 'c5.large@us-east-1b']);
    for (const s of series) {
      expect(s.stepSeconds).toBe(3600);
      expect(s.values.length).toBeGreaterThan(0);
    }
    expect(requests[0]!.Filters).toEqual([
      { Name: 'availability-zone', Values: ['us-east-1a', 'us-east-1b'] },
    ]);
  });

  it('reads DescribeInstanceTypes into an InstanceCatalog, with on-demand prices where known', async () => {
    const catalog = await fetchInstanceCatalog(client, {
      region: 'us-east-1',
      instanceTypes: ['c5.large', 'm5.xlarge'],
      onDemandPrices: { 'c5.large': 0.085 },
    });
    expect(catalog).toBeInstanceOf(InstanceCatalog);
    const c5 = catalog.get('c5.large');
    expect([c5.vcpu, c5.memoryMiB, c5.onDemandPrice('us-east-1')]).toEqual([2, 4096, 0.085]);
    const m5 = catalog.get('m5.xlarge');
    expect([m5.vcpu, m5.memoryMiB, m5.onDemandPrice('us-east-1')]).toEqual([4, 16384, undefined]);

    const all = await fetchInstanceCatalog(client, { region: 'us-east-1', onDemandPrices: catalog });
    expect(all.size).toBeGreaterThan(100);
    expect(all.get('c5.large').onDemandPrice('us-east-1')).toBe(0.085);
  });
});
