// Whether another process still runs, for records that name their owner by PID (lock files,
// remembered upload sessions).

/** isProcessAlive tells whether a process with this PID exists (EPERM: it does, owned by another user). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
