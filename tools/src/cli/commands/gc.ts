// gc: collect unreferenced blobs while the registry runs.
import type { CommandModule } from 'yargs';
import { resolveStorage, storageOption } from '../options.js';
import { ImageStore } from '../../storage/store.js';
import { collectGarbage } from '../../storage/gc.js';

interface GcArgs {
  storage: string;
  'delete-untagged': boolean;
  'dry-run': boolean;
  grace: number;
  settle: number;
  json: boolean;
}

function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}

/** gcCommand is `container-registry gc`. */
export const gcCommand: CommandModule<object, GcArgs> = {
  command: 'gc',
  describe: 'Delete unreferenced blobs; safe while the registry runs',
  builder: (y) =>
    storageOption(y)
      .option('delete-untagged', { type: 'boolean', default: false, describe: 'Also delete manifests no tag reaches (children of tagged indexes and referrers of kept manifests stay)' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'List what would be deleted; change nothing' })
      .option('grace', { type: 'number', default: 10, describe: 'Minutes: content used this recently is never collected' })
      .option('settle', { type: 'number', default: 5, describe: 'Seconds to let in-flight pushes land before deleting' })
      .option('json', { type: 'boolean', default: false, describe: 'Print the report as JSON' }) as never,
  handler: async (args) => {
    const store = new ImageStore(resolveStorage(args.storage));
    const report = await collectGarbage(store, {
      deleteUntagged: args['delete-untagged'],
      dryRun: args['dry-run'],
      graceMs: args.grace * 60_000,
      settleMs: args.settle * 1000,
      log: args.json ? undefined : (line) => process.stderr.write(`gc: ${line}\n`),
    });
    if (args.json) {
      process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return;
    }
    const verb = report.dryRun ? 'Would delete' : 'Deleted';
    for (const m of report.manifestsDeleted) process.stdout.write(`${verb} manifest ${m.repository}@${m.digest}\n`);
    for (const b of report.blobsDeleted) process.stdout.write(`${verb} blob ${b.digest} (${human(b.size)})\n`);
    for (const u of report.uploadsDeleted) process.stdout.write(`${verb} stale upload ${u.repository} ${u.id}\n`);
    process.stdout.write(
      `${verb} ${report.blobsDeleted.length} blob(s), ${human(report.bytesFreed)}; kept ${report.blobsKept}${report.blobsRestored ? `; ${report.blobsRestored} restored (used during gc)` : ''}\n`,
    );
  },
};
