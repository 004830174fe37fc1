/**
 * The `--provider` and `--ec2-settings` options of `spotdag run` and `spotdag worker`, and the
 * control stack they select.
 */
import { Option, type Command } from 'commander';
import { Ec2SettingsError } from '../src/provision/ec2-errors';
import { loadEc2Settings, type Ec2Settings } from '../src/provision/ec2-settings';
import { FLEET_PROVIDERS, type FleetProvider } from '../src/provision/provider';
import type { ControlStack, ControlStackOptions } from '../workers/control-stack';
import { startEc2Stack } from '../workers/ec2-stack';
import { startLocalStack } from '../workers/local-stack';
import { DEFAULT_POLLER_BOUND_SECONDS } from '../workers/lost-instances';
import { nonNegativeNumber } from './args';

/** Environment variable naming the EC2 settings file when `--ec2-settings` is not given. */
export const EC2_SETTINGS_ENV = 'SPOTDAG_EC2_SETTINGS';

export interface ProviderFlags {
  provider?: FleetProvider;
  ec2Settings?: string;
  pollerBound?: number;
}

export type ProviderChoice =
  { provider: 'local' } | { provider: 'ec2'; settings: Ec2Settings; settingsFile: string };

export function addProviderOptions(command: Command, defaultHelp: string): Command {
  return command
    .addOption(
      new Option('--provider <provider>', `where instances come from (${defaultHelp})`).choices(
        FLEET_PROVIDERS,
      ),
    )
    .option(
      '--ec2-settings <file>',
      `EC2 settings for --provider ec2 (also ${EC2_SETTINGS_ENV}; docs/ec2.md)`,
    )
    .option(
      '--poller-bound <seconds>',
      `presume an instance dead when its task queue has had no poller for this long; must exceed the server's long-poll interval (default ${DEFAULT_POLLER_BOUND_SECONDS}; 0: off)`,
      nonNegativeNumber,
    );
}

/** The provider and, for EC2, its validated settings; errors (exit code 2) name the flag or field. */
export function chooseProvider(provider: FleetProvider, flags: ProviderFlags): ProviderChoice {
  const file = flags.ec2Settings ?? process.env[EC2_SETTINGS_ENV];
  if (provider === 'local') {
    if (flags.ec2Settings)
      throw new Ec2SettingsError('--ec2-settings is for --provider ec2 (the fleet provider is "local")');
    return { provider };
  }
  if (!file)
    throw new Ec2SettingsError(
      `--provider ec2 needs EC2 settings: give --ec2-settings <file> or ${EC2_SETTINGS_ENV}`,
    );
  return { provider, settings: loadEc2Settings(file), settingsFile: file };
}

/**
 * A control stack for the chosen provider, with the liveness bound the flags give; EC2's launches
 * and warnings (e.g. instances pointed at another Temporal address) go to stderr.
 */
export function startStack(
  choice: ProviderChoice,
  options: ControlStackOptions,
  flags: ProviderFlags = {},
): Promise<ControlStack> {
  const withFlags: ControlStackOptions = {
    ...options,
    ...(choice.provider === 'ec2' && !options.log
      ? { log: (line: string) => process.stderr.write(`${line}\n`) }
      : {}),
    ...(flags.pollerBound === undefined
      ? {}
      : { liveness: { ...options.liveness, pollerBoundSeconds: flags.pollerBound } }),
  };
  return choice.provider === 'ec2'
    ? startEc2Stack({ ...withFlags, settings: choice.settings })
    : startLocalStack(withFlags);
}
