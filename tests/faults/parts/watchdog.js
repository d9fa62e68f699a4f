// Preloaded (node --require) into every process the fault-test harness starts: when the
// test process (FAULT_PARENT_PID) is gone, kill this process's whole group (the part and
// whatever it started: postgres, the Temporal binary), so a killed test run leaves
// nothing behind. Each part is started as the leader of its own process group.
'use strict';
const parent = Number(process.env.FAULT_PARENT_PID);
if (parent > 0) {
  setInterval(() => {
    try {
      process.kill(parent, 0);
    } catch {
      try {
        process.kill(-process.pid, 'SIGKILL');
      } catch {
        process.exit(1);
      }
    }
  }, 1000).unref();
}
