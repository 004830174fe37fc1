// @ts-check
import { builtinModules } from 'node:module';
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import noUnboundedSpread from './eslint-rules/no-unbounded-spread.cjs';

const nodeBuiltins = builtinModules.filter((m) => !m.startsWith('_'));

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'artifacts/**',
      '.spotdag/**',
      '**/*.js',
      '**/*.mjs',
      '**/*.cjs',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // `Math.max(...xs)`, `out.push(...xs)`, `fn(...xs)`: past ~100,000 elements the spread overflows
    // the stack. Use maxOf / minOf / pushAll (src/util/array.ts); literal lists and rest
    // parameters are allowed (eslint-rules/no-unbounded-spread.cjs).
    plugins: { spotdag: { rules: { 'no-unbounded-spread': noUnboundedSpread } } },
    rules: { 'spotdag/no-unbounded-spread': 'error' },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no I/O, and no
    // runtime imports of activity, worker or client code (type-only imports are fine).
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins.flatMap((name) => [
              { name, message: 'Node built-ins are not allowed in workflow code.' },
              { name: `node:${name}`, message: 'Node built-ins are not allowed in workflow code.' },
            ]),
            ...[
              '@temporalio/worker',
              '@temporalio/client',
              '@temporalio/activity',
              '@temporalio/envconfig',
            ].map((name) => ({
              name,
              message: 'Workflows may not import worker/client/activity code.',
              allowTypeImports: true,
            })),
          ],
          patterns: [
            {
              group: [
                '**/activities',
                '**/activities/**',
                '**/workers',
                '**/workers/**',
                '**/cli',
                '**/cli/**',
              ],
              message: 'Workflows may only import activity/worker/client code as types (import type).',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    // Domain code does not depend on Temporal at runtime (types only).
    files: ['src/**/*.ts'],
    ignores: ['src/plugin.ts', 'src/index.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['@temporalio/*'],
              message: 'src/ is pure domain code: import Temporal types only (import type).',
              allowTypeImports: true,
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
