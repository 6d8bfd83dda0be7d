// Command-line side of scheduled backups: `serve --backup-every DURATION --backup-keep N
// --backup-dir DIR` (or the CONTAINER_REGISTRY_BACKUP_* environment). backup/schedule.ts runs them.
import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { HelperError } from '../errors/helper-error.js';
import { settingOption } from './setting-options.js';
import { parseDuration, type BackupSchedule } from '../backup/schedule-config.js';
import { isTarPath } from '../backup/format.js';

/** BackupArgs are the parsed flags. */
export interface BackupArgs {
  'backup-every'?: string;
  'backup-keep': number;
  'backup-dir'?: string;
}

/** backupOptions adds `--backup-every`, `--backup-keep` and `--backup-dir`. */
export function backupOptions<T>(y: Argv<T>) {
  return y
    .option('backup-every', settingOption('CONTAINER_REGISTRY_BACKUP_EVERY'))
    .option('backup-keep', settingOption('CONTAINER_REGISTRY_BACKUP_KEEP'))
    .option('backup-dir', settingOption('CONTAINER_REGISTRY_BACKUP_DIR'));
}

/** backupSchedule maps the flags to a schedule, or undefined without --backup-every; bad values are `usage`. */
export function backupSchedule(args: BackupArgs): BackupSchedule | undefined {
  const every = args['backup-every'];
  if (every === undefined || every.trim() === '') return undefined;
  const everyMs = parseDuration('--backup-every', every);
  const dir = args['backup-dir'];
  if (!dir) throw new HelperError('usage', '--backup-every needs the backup folder: --backup-dir DIR (or CONTAINER_REGISTRY_BACKUP_DIR)');
  if (isTarPath(dir)) throw new HelperError('usage', `--backup-dir must be a folder (scheduled backups share its blobs), not ${dir}`);
  return { dir: resolve(dir), everyMs, keep: args['backup-keep'] };
}
