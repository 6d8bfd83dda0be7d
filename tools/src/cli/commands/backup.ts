// backup create | list | verify | restore | prune: thin; the work is in backup/.
import { resolve } from 'node:path';
import type { CommandModule } from 'yargs';
import { HelperError } from '../../errors/helper-error.js';
import { commandName, existingStorage, storageChoice, storageOption } from '../options.js';
import { numberOption } from '../setting-options.js';
import { readString } from '../../settings/values.js';
import { ImageStore } from '../../storage/store.js';
import { StateDir } from '../../state/state-dir.js';
import { makeDirs } from '../../common/make-dirs.js';
import { humanBytes } from '../../common/format.js';
import { createBackup } from '../../backup/create.js';
import { openBackupSource, type BackupSource } from '../../backup/destination.js';
import { verifyBackups } from '../../backup/verify.js';
import { checkRestoreTarget, restoreBackup } from '../../backup/restore.js';
import { pruneBackups } from '../../backup/prune.js';
import { isAlive, readPidFile } from '../../daemon/pidfile.js';
import { openDriver } from '../../storage/open-driver.js';
import { sendStorageChanged } from '../../daemon/storage-notice.js';

const out = (line: string): void => {
  process.stdout.write(`${line}\n`);
};
const warn = (line: string) => process.stderr.write(`backup: ${line}\n`);

/** destination is --to/--from, else CONTAINER_REGISTRY_BACKUP_DIR, made absolute. */
function destination(flag: string | undefined, name: string): string {
  const value = flag ?? readString(process.env, 'CONTAINER_REGISTRY_BACKUP_DIR');
  if (!value) throw new HelperError('usage', `name the backup folder (or FILE.tar) with ${name}, or set CONTAINER_REGISTRY_BACKUP_DIR`);
  return resolve(value);
}

const destinationDoc = '(default $CONTAINER_REGISTRY_BACKUP_DIR)';

function fromOption<T>(y: import('yargs').Argv<T>) {
  return y.option('from', { type: 'string', describe: `Backup folder, or a backup archive FILE.tar ${destinationDoc}` });
}

function jsonOption<T>(y: import('yargs').Argv<T>) {
  return y.option('json', { type: 'boolean', default: false, describe: 'Print the report as JSON' });
}

/** pickIds gives the backups named, else every one; none at all is `no-backup`. */
async function pickIds(src: BackupSource, named: string[] | undefined, latestOnly: boolean): Promise<string[]> {
  const all = await src.ids();
  if (named && named.length > 0) return named;
  if (all.length === 0) throw new HelperError('no-backup', `${src.location} holds no backup yet`);
  return latestOnly ? [all[all.length - 1]!] : all;
}

interface CreateArgs {
  storage?: string;
  to?: string;
  json: boolean;
}

const create: CommandModule<object, CreateArgs> = {
  command: 'create',
  describe: 'Back up every image of the storage; safe while the registry serves',
  builder: (y) =>
    jsonOption(storageOption(y)).option('to', {
      type: 'string',
      describe: `Backup folder (blobs shared by every backup in it), or FILE.tar for one self-contained archive ${destinationDoc}`,
    }) as never,
  handler: async (args) => {
    const choice = storageChoice(args.storage);
    const state = await existingStorage(choice.dir, choice.objectStore);
    const to = destination(args.to, '--to');
    const store = new ImageStore(state.storage, await openDriver(state.dir, state.objectStore));
    const { index, location } = await createBackup(store, { to, storageDir: state.location(), log: warn });
    for (const s of index.skipped) {
      const tags = s.tags.length ? ` (tags ${s.tags.join(', ')})` : '';
      warn(`left out ${s.repository}@${s.manifest}${tags}: ${s.reason}`);
    }
    if (args.json) return out(JSON.stringify(index, null, 2));
    const c = index.counts;
    out(
      `Backup ${index.id} in ${location}: ${c.repositories} repositories, ${c.manifests} manifest(s), ${c.tags} tag(s), ${c.blobs} blob(s) (${humanBytes(index.bytes)}); copied ${index.copied.blobs} blob(s) (${humanBytes(index.copied.bytes)})${index.skipped.length ? `; ${index.skipped.length} manifest(s) left out` : ''}`,
    );
  },
};

interface FromArgs {
  from?: string;
  json: boolean;
}

const list: CommandModule<object, FromArgs> = {
  command: 'list',
  describe: 'The backups of a backup folder or archive, oldest first',
  builder: (y) => jsonOption(fromOption(y)) as never,
  handler: async (args) => {
    const src = await openBackupSource(destination(args.from, '--from'));
    const indexes = [];
    for (const id of await src.ids()) indexes.push(await src.readIndex(id));
    if (args.json)
      return out(
        JSON.stringify(
          indexes.map(({ repositories: _r, blobs: _b, ...rest }) => rest),
          null,
          2,
        ),
      );
    if (indexes.length === 0) return out(`No backup in ${src.location}`);
    for (const i of indexes) {
      const c = i.counts;
      out(
        `${i.id}  ${i.startedAt}  ${c.repositories} repositories, ${c.manifests} manifest(s), ${c.tags} tag(s), ${c.blobs} blob(s), ${humanBytes(i.bytes)} (copied ${humanBytes(i.copied.bytes)})  from ${i.source.storage}${i.skipped.length ? `  ${i.skipped.length} left out` : ''}`,
      );
    }
  },
};

interface VerifyArgs extends FromArgs {
  id?: string[];
}

const verify: CommandModule<object, VerifyArgs> = {
  command: 'verify [id..]',
  describe: 'Re-hash every blob of backups (all by default) and check every manifest reference is in them',
  builder: (y) => jsonOption(fromOption(y)).positional('id', { type: 'string', array: true, describe: 'Backups to verify (default: every one)' }) as never,
  handler: async (args) => {
    const src = await openBackupSource(destination(args.from, '--from'));
    const report = await verifyBackups(src, await pickIds(src, args.id, false), args.json ? undefined : warn);
    if (args.json) out(JSON.stringify(report, null, 2));
    else {
      for (const p of report.problems) {
        const users = p.usedBy.length ? `; used by ${p.usedBy.join(', ')}` : '';
        out(`${p.problem.toUpperCase()} ${p.digest} in backup ${p.backup}: ${p.detail}${users}`);
      }
      out(
        `Verified ${report.backups.length} backup(s): ${report.hashed} blob(s) hashed (${humanBytes(report.hashedBytes)}), ${report.problems.length} problem(s)`,
      );
    }
    if (report.problems.length > 0) {
      const bad = report.backups.filter((b) => !b.ok).map((b) => b.id);
      throw new HelperError('backup-corrupt', `${report.problems.length} problem(s) in backup(s) ${bad.join(', ')}`);
    }
  },
};

interface RestoreArgs extends FromArgs {
  id?: string;
  storage?: string;
  merge: boolean;
}

const restore: CommandModule<object, RestoreArgs> = {
  command: 'restore [id]',
  describe: 'Restore a backup (the newest by default) into an empty storage, or the one it was taken from, with the registry stopped or serving read-only',
  builder: (y) =>
    jsonOption(fromOption(storageOption(y)))
      .positional('id', { type: 'string', describe: 'The backup to restore (default: the newest)' })
      .option('merge', {
        type: 'boolean',
        default: false,
        describe: 'Restore into a storage that holds other images too (files that differ are still never replaced)',
      }) as never,
  handler: async (args) => {
    const src = await openBackupSource(destination(args.from, '--from'));
    const [id] = await pickIds(src, args.id ? [args.id] : undefined, true);
    const index = await src.readIndex(id!);
    const choice = storageChoice(args.storage);
    const state = new StateDir(choice.dir, choice.objectStore);
    // Every check before the first write: a refused restore changes nothing.
    const pid = await readPidFile(state.pidFile());
    const serving = pid && isAlive(pid) ? { pid: pid.pid, readOnly: pid.readOnly === true } : undefined;
    const store = new ImageStore(state.storage, await openDriver(state.dir, state.objectStore));
    await checkRestoreTarget(store, state.location(), index, { merge: args.merge, serving, command: commandName() });
    await makeDirs(state.dir);
    const r = await restoreBackup(store, src, index, warn);
    // A registry serving read-only meanwhile reads its storage totals again (UI, /metrics).
    if (serving) sendStorageChanged(serving.pid);
    if (args.json) out(JSON.stringify(r, null, 2));
    else {
      for (const c of r.conflicts) out(`CONFLICT ${c.path}: ${c.detail} (left as it was)`);
      for (const b of r.broken) out(`BROKEN ${b.digest}: ${b.detail}`);
      for (const s of r.skippedManifests) out(`LEFT OUT ${s.repository}@${s.manifest}${s.tags.length ? ` (tags ${s.tags.join(', ')})` : ''}`);
      out(
        `Restored backup ${r.id} into ${state.location()}: ${r.repositories} repositories, ${r.manifests} manifest(s), ${r.tags} tag(s), ${r.blobs.written + r.blobs.present} blob(s) (${r.blobs.written} written, ${r.blobs.present} already there), ${humanBytes(r.bytesWritten)} written`,
      );
    }
    if (r.conflicts.length || r.broken.length) {
      throw new HelperError('restore-conflict', `${r.conflicts.length} conflict(s), ${r.broken.length} blob(s) not restorable; everything else is restored`);
    }
  },
};

interface PruneArgs extends FromArgs {
  keep?: number;
  'keep-days'?: number;
  'dry-run': boolean;
}

const prune: CommandModule<object, PruneArgs> = {
  command: 'prune',
  describe: 'Delete old backups of a backup folder, then the blobs no remaining backup needs',
  builder: (y) =>
    jsonOption(fromOption(y))
      .option('keep', numberOption('keep', { min: 1, integer: true, unit: 'backups', describe: 'Keep the newest N backups' }))
      .option('keep-days', numberOption('keep-days', { min: 0, unit: 'days', describe: 'Keep every backup younger than D days' }))
      .option('dry-run', { type: 'boolean', default: false, describe: 'Say what would be deleted; change nothing' }) as never,
  handler: async (args) => {
    const r = await pruneBackups(destination(args.from, '--from'), { keep: args.keep, keepDays: args['keep-days'], dryRun: args['dry-run'] });
    if (args.json) return out(JSON.stringify(r, null, 2));
    const verb = args['dry-run'] ? 'Would delete' : 'Deleted';
    for (const id of r.deleted) out(`${verb} backup ${id}`);
    out(
      `${verb} ${r.deleted.length} backup(s) and ${r.blobsDeleted} blob(s), ${args['dry-run'] ? 'would free' : 'freed'} ${humanBytes(r.bytesFreed)}; kept ${r.kept.length} backup(s)${r.tempFilesDeleted ? `; ${r.tempFilesDeleted} temp file(s) of interrupted copies` : ''}`,
    );
  },
};

/** backupCommand is `backup create | list | verify | restore | prune`. */
export const backupCommand: CommandModule<object, object> = {
  command: 'backup <command>',
  describe: 'Backups of the storage: create, list, verify, restore, prune',
  builder: (y) =>
    y
      .command(create)
      .command(list)
      .command(verify)
      .command(restore)
      .command(prune)
      .demandCommand(1, 'Name a backup command: create, list, verify, restore or prune.') as never,
  handler: () => {},
};
