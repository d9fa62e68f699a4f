// One jest run for everything (`npm test`). tests/global-setup.ts starts the real
// stack once (embedded PostgreSQL, Temporal dev server, worker, API) on free ports and
// bundles the workflow code once; workflow tests add the time-skipping test server.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  // tests/heavy runs in a second jest pass of `npm test`, alone (see package.json).
  // tests/faults/processes.test.ts (kill / restart the worker, PostgreSQL, Temporal on a
  // stack of its own) takes 3–4 min even at small sizes: `npm run test:faults` only.
  testPathIgnorePatterns: ['/node_modules/', '/tests/heavy/', '/tests/faults/processes\\.test\\.ts$'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
    // A few dependencies ship only as ES modules (Node's require(esm) loads them at run
    // time; jest cannot): compile those to CommonJS for the tests.
    '^.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'ecmascript' } }, module: { type: 'commonjs' } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!(content-disposition|cookie)/)'],
  // The generated Prisma client imports './x.js' for './x.ts'.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  setupFilesAfterEnv: ['<rootDir>/tests/helpers/after-env.ts'],
  globalSetup: '<rootDir>/tests/global-setup.ts',
  globalTeardown: '<rootDir>/tests/global-teardown.ts',
  testTimeout: 60_000,
  maxWorkers: 2,
  verbose: true,
};
