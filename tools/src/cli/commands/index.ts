// The command tree: each module is one command (or group); this list is the only place they meet.
import type { CommandModule } from 'yargs';
import { serverCommands } from './server.js';
import { gcCommand } from './gc.js';
import { pkiCommand } from './pki.js';
import { authCommand } from './auth.js';
import { targetCommands } from './target.js';
import { scriptCommands } from './script.js';

/** commands are registered with yargs in this order (the help lists them so). */
export const commands: CommandModule<any, any>[] = [...serverCommands, gcCommand, pkiCommand, authCommand, ...targetCommands, ...scriptCommands];
