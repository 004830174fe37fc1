import type { Pool } from './pool';

/** One spot price change event: from `timeMs` the pool costs `price` $/h until the next event. */
export type PriceObservation = {
  pool: Pool;
  timeMs: number;
  price: number;
  /** "Linux/UNIX", "Windows", … when the source says; undefined means Linux/UNIX. */
  productDescription?: string;
};

export const LINUX = 'Linux/UNIX';

/** Linux/UNIX prices only (AWS also lists "Linux/UNIX (Amazon VPC)"); other OSes price differently. */
export function isLinux(obs: PriceObservation): boolean {
  return obs.productDescription === undefined || obs.productDescription.startsWith(LINUX);
}
