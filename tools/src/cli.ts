// container-registry: the helper the layer carries. Every command is a thin call into a module.
// The build splits the bundle at every dynamic import() (scripts/build.mjs): what this file imports
// statically is what every command pays for, so yargs, the command modules and the error formatting
// are imported where they are needed, and `--version` evaluates this file alone.
import type { Argv, CommandModule } from 'yargs';
import nodeModule from 'node:module';

/** VERSION is the helper's version, kept equal to package.json's by a test. */
export const VERSION = '0.1.0';

type UsageInternals = { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } };

/**
 * skipHelpCache stops yargs from laying out the whole help text each time a command starts, which
 * it does only to have it ready should the command fail. Our .fail() prints its own one-line
 * message, so the layout was wasted on every run (~15 ms of a 0.2 s re-push); help that is asked
 * for is still rendered. yargs' internals: if they change, this does nothing and costs the 15 ms.
 */
function skipHelpCache(parser: Argv): void {
  const usage = (parser as unknown as UsageInternals).getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

/**
 * quietOnClosedStdout: a reader that stops early (`inspect IMAGE | head -1`) closes the pipe, and
 * the next write fails with EPIPE, which Node raises as an unhandled 'error' (a stack trace, exit
 * 1). The output is not wanted any more: what is left of it is dropped, and the command ends as it
 * would have (a push still finishes, its status still counts). Any other stdout error still raises.
 */
function quietOnClosedStdout(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}

/**
 * unknownCommand words yargs' message for a command word that does not exist so that it names the
 * word: its recommendCommands says only "Did you mean stop?", and strict mode "Unknown argument:
 * foo". `unknown command "foo"; did you mean stop?`, `unknown command "pki shw"; did you mean pki
 * show?`. Undefined for any other message.
 */
function unknownCommand(msg: string, argv: string[], isCommandWord: (word: string) => boolean): string | undefined {
  const [first, second] = argv.filter((a) => !a.startsWith('-'));
  if (first === undefined) return undefined;
  const meant = /^Did you mean (.+)\?$/.exec(msg)?.[1];
  if (!isCommandWord(first)) {
    if (meant) return `unknown command "${first}"; did you mean ${meant}?`;
    if (/^Unknown arguments?: /.test(msg)) return `unknown command "${first}"; see --help for the commands`;
    return undefined;
  }
  // A group's word (pki, auth) followed by a word that is none of its commands.
  if (meant && second !== undefined) return `unknown command "${first} ${second}"; did you mean ${first} ${meant}?`;
  return undefined;
}

/**
 * useCompileCache turns on Node's on-disk compile cache where Node has it (>= 22.1; 20 has not):
 * the modules loaded from here on (the chunks a command imports) are compiled once per version of
 * the helper and node, not on every run. Node keeps the cache in its own folder under the temporary
 * directory (NODE_COMPILE_CACHE names another); a cache that cannot be written only costs the time.
 */
function useCompileCache(): void {
  try {
    (nodeModule as { enableCompileCache?: () => unknown }).enableCompileCache?.();
  } catch {
    // no cache: each run compiles, as on node 20
  }
}

async function main(argv: string[]): Promise<void> {
  quietOnClosedStdout();
  // The helper's --version is the one before the command word: after `push` it is the image's
  // (commands/push.ts), and yargs would hand `--version push` to push as that.
  const versionAt = argv.indexOf('--version');
  const wordAt = argv.findIndex((a) => !a.startsWith('-'));
  if (versionAt >= 0 && (wordAt < 0 || versionAt < wordAt)) {
    process.stdout.write(`${VERSION}\n`);
    return;
  }
  useCompileCache();
  const verbose = argv.includes('--verbose');
  const wantsHelp = argv.includes('--help') || argv.includes('-h') || argv.length === 0;
  // Help, --version and an unknown word see every command; a known word loads only its module,
  // while yargs loads.
  const word = wantsHelp ? undefined : argv.find((a) => !a.startsWith('-'));
  const index = import('./cli/commands/index.js');
  const [{ default: yargs }, { HelperError }, { isCommandWord }, commands] = await Promise.all([
    import('yargs'),
    import('./errors/helper-error.js'),
    index,
    index.then(({ loadCommands }) => loadCommands(word)),
  ]);
  const parser = yargs(argv)
    .scriptName('container-registry')
    .usage('$0 <command> [options]\n\nA local OCI registry, PKI and push tool for Yocto/OpenEmbedded builds.')
    .option('verbose', { type: 'boolean', default: false, describe: 'Print details with errors' })
    .strict()
    .demandCommand(1, 'Name a command; see --help.')
    .recommendCommands()
    // (--help is yargs' default; calling .help() again would register it a second time.)
    .version(VERSION)
    // yargs lays out the whole help text before running any command; wrapping it to the terminal
    // is what costs (string widths of every row), so only do it when help is asked for.
    .wrap(wantsHelp ? Math.min(110, process.stdout.columns || 100) : null)
    .fail((msg, err) => {
      // yargs hands a failed coerce (a bad number: cli/setting-options.ts) over as a YError with
      // our message: that is a usage error too, like its own validation failures (no err).
      throw err && err.name !== 'YError' ? err : new HelperError('usage', unknownCommand(msg, argv, isCommandWord) ?? msg);
    });
  if (!wantsHelp) skipHelpCache(parser);
  for (const command of commands) parser.command(command as CommandModule);
  try {
    await parser.parseAsync();
  } catch (err) {
    // Loaded on failure only: it knows the error types of modules a successful run may never load.
    const { exitStatusOf, formatCliError } = await import('./cli/errors.js');
    process.stderr.write(`${formatCliError(err, verbose)}\n`);
    process.exitCode = exitStatusOf(err);
  }
}

// process.argv less node and the script (yargs' hideBin, which only differs for Electron apps).
await main(process.argv.slice(2));
