// The notice a process that changed a storage under a running registry sends it (backup restore
// into a registry serving read-only): SIGUSR2, on which the registry reads its storage totals (UI,
// /metrics) again at once rather than after their cache's 15 s; with several workers the primary
// passes it to each, as it passes on a worker's push. Tags, manifests and listings are never cached,
// so the restored images are served as they land whether or not the notice arrives.

/** STORAGE_CHANGED_SIGNAL is the signal of the notice (SIGUSR1 is Node's inspector). */
export const STORAGE_CHANGED_SIGNAL = 'SIGUSR2';

/**
 * sendStorageChanged tells the registry `pid` that its storage changed; false when it is gone.
 * Only for a registry whose PID file says it listens for it (a read-only one): without a handler the
 * signal would end the process.
 */
export function sendStorageChanged(pid: number): boolean {
  try {
    process.kill(pid, STORAGE_CHANGED_SIGNAL);
    return true;
  } catch {
    return false;
  }
}

/** onStorageChanged calls `listener` on each notice until the returned function is called. */
export function onStorageChanged(listener: () => void): () => void {
  process.on(STORAGE_CHANGED_SIGNAL, listener);
  return () => {
    process.off(STORAGE_CHANGED_SIGNAL, listener);
  };
}
