// `npm run test:faults` (jest.faults.config.js): the heavy sizes of the fault tests,
// unless the environment sets them. The main `npm test` pass runs the same tests with
// their small defaults.
process.env.FAULT_TRANSFERS ||= '200';
process.env.FAULT_WORKER_KILLS ||= '5';
process.env.FAULT_RESTART_TRANSFERS ||= '50';
process.env.FAULT_DOWN_MS ||= '10000';
process.env.FAULT_CONFLICT_ROUNDS ||= '10';
