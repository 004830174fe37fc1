import { impairedInstances } from '../../../src/provision/ec2-instance-watch';

describe('EC2 status checks', () => {
  it('calls an instance impaired when its instance or system check is, and nothing else', () => {
    expect(
      impairedInstances([
        { InstanceId: 'i-ok', InstanceStatus: { Status: 'ok' }, SystemStatus: { Status: 'ok' } },
        { InstanceId: 'i-os', InstanceStatus: { Status: 'impaired' }, SystemStatus: { Status: 'ok' } },
        { InstanceId: 'i-host', InstanceStatus: { Status: 'ok' }, SystemStatus: { Status: 'impaired' } },
        // Still being checked, or no data yet: not a loss.
        {
          InstanceId: 'i-new',
          InstanceStatus: { Status: 'initializing' },
          SystemStatus: { Status: 'initializing' },
        },
        { InstanceId: 'i-unknown', InstanceStatus: { Status: 'insufficient-data' } },
        { InstanceStatus: { Status: 'impaired' } },
      ]),
    ).toEqual(['i-os', 'i-host']);
  });
});
