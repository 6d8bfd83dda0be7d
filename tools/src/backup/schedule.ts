// Scheduled backups from `serve` (--backup-every, --backup-keep, --backup-dir): in the process that
// holds the PID file (the single process, or the primary of several), one run at a time. The next
// run is planned when one ends, so runs never overlap however long one takes; a run that fails is
// logged, and the next one comes as planned. Each run is a backup into the folder, then a prune
// keeping the newest --backup-keep backups.
import { humanBytes } from '../common/format.js';
import { ImageStore } from '../storage/store.js';
import { openDriver } from '../storage/open-driver.js';
import type { StateDir } from '../state/state-dir.js';
import { createBackup } from './create.js';
import { pruneBackups } from './prune.js';
import type { BackupSchedule } from './schedule-config.js';

/** ScheduledBackups runs the schedule until stopped. */
export class ScheduledBackups {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly schedule: BackupSchedule,
    private readonly state: StateDir,
    private readonly log: (line: string) => void,
  ) {}

  /** start plans the first run one interval from now. */
  start(): void {
    this.log(`backups: every ${Math.round(this.schedule.everyMs / 1000)} s into ${this.schedule.dir}, keeping ${this.schedule.keep}`);
    this.plan();
  }

  private plan(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.runOnce().finally(() => this.plan());
    }, this.schedule.everyMs);
    this.timer.unref();
  }

  /** runOnce makes one backup and prunes; it never throws. */
  async runOnce(): Promise<void> {
    try {
      // The storage's own driver: a bucket is backed up from the bucket.
      const driver = await openDriver(this.state.dir, this.state.objectStore);
      const store = new ImageStore(this.state.storage, driver);
      const { index } = await createBackup(store, { to: this.schedule.dir, storageDir: this.state.location(), log: (l) => this.log(`backups: ${l}`) }).finally(
        // An S3 driver's client holds sockets: one per run, let go with the run.
        () => (driver as { destroy?: () => void }).destroy?.(),
      );
      const skipped = index.skipped.length ? `, ${index.skipped.length} manifest(s) left out (see the index)` : '';
      this.log(
        `backups: ${index.id}: ${index.counts.manifests} manifest(s), ${index.counts.tags} tag(s), ${index.counts.blobs} blob(s) (${humanBytes(index.bytes)}); copied ${index.copied.blobs} (${humanBytes(index.copied.bytes)})${skipped}`,
      );
      const pruned = await pruneBackups(this.schedule.dir, { keep: this.schedule.keep });
      if (pruned.deleted.length) this.log(`backups: pruned ${pruned.deleted.join(', ')}; freed ${humanBytes(pruned.bytesFreed)}`);
    } catch (err) {
      this.log(`backups: run failed: ${(err as Error).message}`);
    }
  }

  /**
   * stop plans no more runs. A run in progress is not waited for (a backup may take far longer than
   * a drain): the process ends under it, its index unwritten, so it is no backup; its whole blobs
   * are reused by the next run or removed by prune, and its lock file names a dead PID, taken over.
   */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }
}
