// auth add | remove | list | passwd: thin calls into auth/. A password comes from stdin
// (--password-stdin), from CONTAINER_REGISTRY_PASSWORD (default user only), or is generated; it is
// never an argument, so it never shows in `ps`.
import type { CommandModule } from 'yargs';
import { existingStorage, storageChoice, storageOption } from '../options.js';
import { readString } from '../../settings/values.js';
import { defaultUsername, readUsers, removeUser, setUserPassword, checkUsername, type SetPasswordMode } from '../../auth/users.js';
import { checkNewPassword, generatePassword, readPasswordFrom } from '../../auth/passwords.js';

interface UserArgs {
  storage?: string;
  user: string;
  'password-stdin': boolean;
}

async function choosePassword(args: UserArgs, isDefault: boolean): Promise<{ password: string; generated: boolean }> {
  if (args['password-stdin']) return { password: checkNewPassword(await readPasswordFrom(process.stdin), 'stdin'), generated: false };
  const fromEnv = readString(process.env, 'CONTAINER_REGISTRY_PASSWORD');
  if (isDefault && fromEnv) {
    return { password: checkNewPassword(fromEnv, 'CONTAINER_REGISTRY_PASSWORD'), generated: false };
  }
  return { password: generatePassword(), generated: true };
}

async function setPassword(args: UserArgs, mode: SetPasswordMode, verb: string): Promise<void> {
  const state = await existingStorage(storageChoice(args.storage).dir);
  const user = checkUsername(args.user);
  const defaultUser = defaultUsername(process.env);
  const { password, generated } = await choosePassword(args, user === defaultUser);
  await setUserPassword(state, user, password, { mode, defaultUser });
  if (user === defaultUser) {
    process.stderr.write(`${verb} user ${user}; the password is in ${state.passwordFile()}\n`);
  } else if (generated) {
    // The one place a password is shown: on stdout, once, to whoever asked for it to be made.
    process.stderr.write(`${verb} user ${user} with a generated password (printed on stdout; it is not stored in clear)\n`);
    process.stdout.write(`${password}\n`);
  } else {
    process.stderr.write(`${verb} user ${user}\n`);
  }
}

const withUser = (y: import('yargs').Argv<object>) =>
  storageOption(y)
    .positional('user', { type: 'string', demandOption: true, describe: 'User name' })
    .option('password-stdin', { type: 'boolean', default: false, describe: 'Read the password from stdin (first line)' });

const add: CommandModule<object, UserArgs> = {
  command: 'add <user>',
  describe: 'Add a user to auth/htpasswd',
  builder: (y) => withUser(y) as never,
  handler: (args) => setPassword(args, 'add', 'Added'),
};

const passwd: CommandModule<object, UserArgs> = {
  command: 'passwd <user>',
  describe: "Change a user's password",
  builder: (y) => withUser(y) as never,
  handler: (args) => setPassword(args, 'change', 'Changed the password of'),
};

const remove: CommandModule<object, { storage?: string; user: string }> = {
  command: 'remove <user>',
  aliases: ['rm'],
  describe: 'Remove a user',
  builder: (y) => storageOption(y).positional('user', { type: 'string', demandOption: true, describe: 'User name' }) as never,
  handler: async (args) => {
    await removeUser(await existingStorage(storageChoice(args.storage).dir), args.user, { defaultUser: defaultUsername(process.env) });
    process.stderr.write(`Removed user ${args.user}\n`);
  },
};

const list: CommandModule<object, { storage?: string; json: boolean }> = {
  command: 'list',
  aliases: ['ls'],
  describe: 'List the users',
  builder: (y) => storageOption(y).option('json', { type: 'boolean', default: false, describe: 'Print {"users":[...]}' }) as never,
  handler: async (args) => {
    const state = await existingStorage(storageChoice(args.storage).dir);
    const users = (await readUsers(state)).map((u) => u.user);
    if (args.json) process.stdout.write(`${JSON.stringify({ users })}\n`);
    // stdout stays the list (empty); the note is for the person reading.
    else if (!users.length) process.stderr.write(`no users in ${state.htpasswd()}; add one with \`container-registry auth add USER\`\n`);
    else process.stdout.write(users.map((u) => `${u}\n`).join(''));
  },
};

/** authCommand is `auth add | remove | list | passwd`. */
export const authCommand: CommandModule<object, object> = {
  command: 'auth <command>',
  describe: 'Users of secure mode (auth/htpasswd)',
  builder: (y) => y.command(add).command(remove).command(list).command(passwd).demandCommand(1, 'Name an auth command: add, remove, list or passwd.') as never,
  handler: () => {},
};
