import { existsSync } from 'node:fs';
import path from 'node:path';

/** The package root: the nearest folder above this module with a package.json (from src/ or dist/). */
export function packageRoot(): string {
  let dir = __dirname;
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

/** This package's compiled CLI (`npm run build`), which instances run for the built-in `spotdag` program. */
export function builtCliScript(): string {
  return path.join(packageRoot(), 'dist', 'cli', 'main.js');
}
