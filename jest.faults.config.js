// `npm run test:faults`: the fault tests of tests/faults alone, at their heavy sizes
// (tests/faults/heavy-env.ts: 200 transfers through 5 worker kills, 50 transfers through
// a PostgreSQL and a Temporal restart, 10 bursts of 50 conflicting actions). The main
// `npm test` pass runs the same files at small sizes. Same stack and transforms as
// jest.config.js; one test file at a time (each fault file starts its own processes).
const base = require('./jest.config');

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ['<rootDir>/tests/faults'],
  testPathIgnorePatterns: ['/node_modules/'],
  setupFiles: ['<rootDir>/tests/faults/heavy-env.ts'],
  testTimeout: 1_800_000,
  maxWorkers: 1,
};
