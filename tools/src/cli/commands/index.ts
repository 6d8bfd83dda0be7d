// The command tree: each module is one command (or group); this list is the only place they meet.
// Modules load on demand: a `push` does not pay for evaluating the server, PKI and auth code (and
// their X.509/ASN.1 libraries), which is most of a re-push's time. Help and unknown words load all.
import type { CommandModule } from 'yargs';

// biome-ignore lint/suspicious/noExplicitAny: commands of different argument types in one list, as yargs takes them
type Commands = CommandModule<any, any>[];

/** COMMAND_GROUPS lists each module's command words, in help order, with its loader. */
const COMMAND_GROUPS: Array<{ words: string[]; load: () => Promise<Commands> }> = [
  { words: ['serve', 'start', 'stop', 'status'], load: async () => (await import('./server.js')).serverCommands },
  { words: ['gc'], load: async () => [(await import('./gc.js')).gcCommand] },
  { words: ['backup'], load: async () => [(await import('./backup.js')).backupCommand] },
  { words: ['pki'], load: async () => [(await import('./pki.js')).pkiCommand] },
  { words: ['auth'], load: async () => [(await import('./auth.js')).authCommand] },
  { words: ['push'], load: async () => [(await import('./push.js')).pushCommand] },
  { words: ['import'], load: async () => [(await import('./import.js')).importCommand] },
  { words: ['list', 'tags', 'catalog', 'inspect', 'referrers', 'delete'], load: async () => (await import('./browse.js')).browseCommands },
  { words: ['sign', 'verify'], load: async () => (await import('./sign.js')).signCommands },
  { words: ['config'], load: async () => (await import('./target.js')).targetCommands },
  { words: ['script', 'generate-script'], load: async () => (await import('./script.js')).scriptCommands },
  { words: ['trace'], load: async () => [(await import('./trace.js')).traceCommand] },
];

/** isCommandWord tells whether `word` is a command of the helper (yargs' own `help` included). */
export function isCommandWord(word: string): boolean {
  return word === 'help' || COMMAND_GROUPS.some((g) => g.words.includes(word));
}

/** loadCommands gives the commands to register for `word` (the first argument): its own group, else every command. */
export async function loadCommands(word: string | undefined): Promise<Commands> {
  const own = COMMAND_GROUPS.find((g) => word !== undefined && g.words.includes(word));
  const groups = own ? [own] : COMMAND_GROUPS;
  return (await Promise.all(groups.map((g) => g.load()))).flat();
}
