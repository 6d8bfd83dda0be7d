// gc: collect unreferenced blobs while the registry runs.
import type { CommandModule } from 'yargs';
import { existingStorage, storageChoice, storageOption } from '../options.js';
import { openDriver } from '../../storage/open-driver.js';
import { numberOption, settingOption } from '../setting-options.js';
import { parseDuration } from '../../backup/schedule-config.js';
import { rawSetting, readSetting } from '../../settings/values.js';
import { ImageStore } from '../../storage/store.js';
import { collectGarbage } from '../../storage/gc.js';
import { humanBytes } from '../../common/format.js';
import { recordGcRun } from '../../state/gc-stats.js';

interface GcArgs {
  storage?: string;
  'delete-untagged': boolean;
  'dry-run': boolean;
  grace: number;
  settle: number;
  'cache-max-age': string | undefined;
  'cache-max-size': number | undefined;
  'upload-max-age': number;
  json: boolean;
}

/** gcCommand is `container-registry gc`. */
export const gcCommand: CommandModule<object, GcArgs> = {
  command: 'gc',
  describe: 'Delete unreferenced blobs; safe while the registry runs',
  builder: (y) =>
    storageOption(y)
      .option('delete-untagged', {
        type: 'boolean',
        default: false,
        describe:
          'Also delete manifests no tag reaches (children of tagged indexes and referrers of kept manifests stay); those whose tag was deleted need no grace period',
      })
      .option('dry-run', { type: 'boolean', default: false, describe: 'List what would be deleted; change nothing' })
      .option('grace', numberOption('grace', { min: 0, unit: 'minutes', default: 10, describe: 'Minutes: content used this recently is never collected' }))
      .option('settle', numberOption('settle', { min: 0, unit: 'seconds', default: 5, describe: 'Seconds to let in-flight pushes land before deleting' }))
      // Unset means no limit: the variables are read in the handler (a flag wins), not as defaults.
      .option('cache-max-age', settingOption('CONTAINER_REGISTRY_CACHE_MAX_AGE', { fromEnv: false }))
      .option('cache-max-size', settingOption('CONTAINER_REGISTRY_CACHE_MAX_SIZE', { fromEnv: false }))
      .option(
        'upload-max-age',
        numberOption('upload-max-age', { min: 0, unit: 'hours', default: 168, describe: 'Hours: upload sessions idle this long are removed, with their data' }),
      )
      .option('json', { type: 'boolean', default: false, describe: 'Print the report as JSON' }) as never,
  handler: async (args) => {
    // A storage that does not exist is a typo: collecting it would make it (and print success).
    const ageFlag = args['cache-max-age']?.trim() ? args['cache-max-age'] : undefined;
    const age = ageFlag ?? rawSetting(process.env, 'CONTAINER_REGISTRY_CACHE_MAX_AGE');
    const size = args['cache-max-size'] ?? (readSetting(process.env, 'CONTAINER_REGISTRY_CACHE_MAX_SIZE') as number | undefined);
    const cache = {
      maxAgeMs: age === undefined ? undefined : parseDuration(ageFlag ? '--cache-max-age' : 'CONTAINER_REGISTRY_CACHE_MAX_AGE', age),
      maxBytes: size === undefined ? undefined : Math.floor(size * 1024 * 1024),
    };
    const choice = storageChoice(args.storage);
    const state = await existingStorage(choice.dir, choice.objectStore);
    const store = new ImageStore(state.storage, await openDriver(state.dir, state.objectStore));
    const report = await collectGarbage(store, {
      deleteUntagged: args['delete-untagged'],
      dryRun: args['dry-run'],
      graceMs: args.grace * 60_000,
      settleMs: args.settle * 1000,
      cache,
      uploadMaxAgeMs: args['upload-max-age'] * 3600_000,
      log: args.json ? undefined : (line) => process.stderr.write(`gc: ${line}\n`),
    });
    // The server's /metrics reads the totals from this file (gc is a separate process).
    if (!report.dryRun) await recordGcRun(state, report);
    if (args.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    const verb = report.dryRun ? 'Would delete' : 'Deleted';
    for (const c of report.cacheExpired) {
      const tags = c.tags.length ? ` (tag ${c.tags.join(', ')})` : '';
      const why = c.reason === 'max-age' ? 'older than --cache-max-age' : 'over --cache-max-size';
      process.stdout.write(
        `${report.dryRun ? 'Would expire' : 'Expired'} cached manifest ${c.repository}@${c.digest}${tags} of ${c.upstream}, last pulled ${c.lastPulledAt} (${why})\n`,
      );
    }
    for (const s of report.cacheSkipped) process.stderr.write(`gc: warning: cache record ${s.path}: ${s.problem}\n`);
    for (const m of report.manifestsDeleted) process.stdout.write(`${verb} manifest ${m.repository}@${m.digest}\n`);
    for (const b of report.blobsDeleted) process.stdout.write(`${verb} blob ${b.digest} (${humanBytes(b.size)})\n`);
    for (const u of report.uploadsDeleted) process.stdout.write(`${verb} stale upload ${u.repository} ${u.id}\n`);
    const restored = report.blobsRestored + report.manifestsRestored;
    const temps =
      (report.tempFilesDeleted ? `; ${report.tempFilesDeleted} temp file(s) of interrupted writes` : '') +
      (report.multipartAborted ? `; ${report.multipartAborted} abandoned multipart upload(s) aborted` : '');
    const waiting = report.releasedKept
      ? `; ${report.releasedKept} blob(s) of deleted tags kept while a push may be in flight (they go once unused for --grace)`
      : '';
    const freed = `${report.dryRun ? 'would free' : 'freed'} ${humanBytes(report.bytesFreed)}`;
    const expired = report.cacheExpired.length ? `; ${report.dryRun ? 'would expire' : 'expired'} ${report.cacheExpired.length} cached manifest(s)` : '';
    process.stdout.write(
      `${verb} ${report.manifestsDeleted.length} manifest(s) and ${report.blobsDeleted.length} blob(s), ${freed}; kept ${report.blobsKept} blob(s)${expired}${restored ? `; ${restored} restored (used during gc)` : ''}${waiting}${temps}\n`,
    );
  },
};
