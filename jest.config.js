// Unit tests need no servers; integration tests share one real Temporal dev server
// (started once in globalSetup) and run in band because they spawn worker processes.
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
// .spotdag/ holds the tools the tests install (virtualenvs, etcd): not the project's modules.
const modulePathIgnorePatterns = ['<rootDir>/.spotdag/'];

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      transform,
      modulePathIgnorePatterns,
      testEnvironment: 'node',
    },
    {
      displayName: 'integration',
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      transform,
      modulePathIgnorePatterns,
      testEnvironment: 'node',
      globalSetup: '<rootDir>/test/integration/global-setup.ts',
      globalTeardown: '<rootDir>/test/integration/global-teardown.ts',
    },
  ],
  maxWorkers: 1,
  // Integration tests run real jobs; unit tests finish far sooner.
  testTimeout: 180_000,
};
