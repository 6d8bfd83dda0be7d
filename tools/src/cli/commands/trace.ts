// trace BUILDSTATS_DIR: BitBake's buildstats as Chrome trace-event JSON. Thin: the work is in trace/.
import type { CommandModule } from 'yargs';
import { HelperError } from '../../errors/helper-error.js';
import { buildstatsEvents, buildstatsOtherData, readBuildstats } from '../../trace/buildstats.js';
import { checkTraceTarget, writeTraceFile, writeTraceStream } from '../../trace/events.js';

interface TraceArgs {
  dir: string;
  output: string | undefined;
}

/** traceCommand is `container-registry trace BUILDSTATS_DIR [--output FILE]`. */
export const traceCommand: CommandModule<object, TraceArgs> = {
  command: 'trace <dir>',
  describe: "Turn a build's buildstats (tmp/buildstats/<build>, or tmp/buildstats for the newest) into a trace for Perfetto",
  builder: (y) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'tmp/buildstats/<build>, or tmp/buildstats for its newest build' })
      .option('output', { alias: 'o', type: 'string', describe: 'Write the trace to FILE instead of standard output' }) as never,
  handler: async (args: TraceArgs) => {
    if (args.output === '') throw new HelperError('usage', 'trace --output takes the file to write the trace to');
    if (args.output !== undefined) await checkTraceTarget(args.output);
    const bs = await readBuildstats(args.dir);
    const tasks = bs.recipes.reduce((n, r) => n + r.runs.length, 0);
    if (args.output === undefined) {
      await writeTraceStream(process.stdout, buildstatsEvents(bs), () => buildstatsOtherData(bs));
    } else {
      try {
        await writeTraceFile(args.output, buildstatsEvents(bs), () => buildstatsOtherData(bs));
      } catch (err) {
        throw new HelperError('trace', `cannot write the trace to ${args.output}: ${(err as Error).message}`, { cause: err });
      }
    }
    const where = args.output ?? 'standard output';
    process.stderr.write(`${bs.dir}: ${tasks} task(s) of ${bs.recipes.length} recipe(s) written to ${where} (open it in https://ui.perfetto.dev)\n`);
    if (bs.skippedCount) {
      const first = bs.skipped[0];
      // A file name is the folder's to choose: quoted, so no control character reaches the terminal.
      const example = first ? `, e.g. ${JSON.stringify(first.path)}: ${first.reason}` : '';
      process.stderr.write(`warning: ${bs.skippedCount} file(s) skipped${example} (otherData.skipped lists them)\n`);
    }
  },
};
