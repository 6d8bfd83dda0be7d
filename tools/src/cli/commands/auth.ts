// auth add | remove | list | passwd: thin calls into auth/. A password comes from stdin
// (--password-stdin), from CONTAINER_REGISTRY_PASSWORD (default user only), or is generated; it is
// never an argument, so it never shows in `ps`.
import type { CommandModule } from 'yargs';
import { resolveStorage, storageOption } from '../options.js';
import { readString } from '../../settings/values.js';
import { defaultUsername, readUsers, removeUser, setUserPassword, checkUsername, type SetPasswordMode } from '../../auth/users.js';
import { checkPassword, generatePassword, readPasswordFrom } from '../../auth/passwords.js';
import { StateDir } from '../../state/state-dir.js';

interface UserArgs {
  storage: string;
  user: string;
  'password-stdin': boolean;
}

async function choosePassword(args: UserArgs, isDefault: boolean): Promise<{ password: string; generated: boolean }> {
  if (args['password-stdin']) return { password: await readPasswordFrom(process.stdin), generated: false };
  const fromEnv = readString(process.env, 'CONTAINER_REGISTRY_PASSWORD');
  if (isDefault && fromEnv) {
    return { password: checkPassword(fromEnv, 'CONTAINER_REGISTRY_PASSWORD'), generated: false };
  }
  return { password: generatePassword(), generated: true };
}

async function setPassword(args: UserArgs, mode: SetPasswordMode, verb: string): Promise<void> {
  const state = new StateDir(resolveStorage(args.storage));
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

const remove: CommandModule<object, { storage: string; user: string }> = {
  command: 'remove <user>',
  aliases: ['rm'],
  describe: 'Remove a user',
  builder: (y) => storageOption(y).positional('user', { type: 'string', demandOption: true, describe: 'User name' }) as never,
  handler: async (args) => {
    await removeUser(new StateDir(resolveStorage(args.storage)), args.user, { defaultUser: defaultUsername(process.env) });
    process.stderr.write(`Removed user ${args.user}\n`);
  },
};

const list: CommandModule<object, { storage: string }> = {
  command: 'list',
  aliases: ['ls'],
  describe: 'List the users',
  builder: (y) => storageOption(y) as never,
  handler: async (args) => {
    const users = await readUsers(new StateDir(resolveStorage(args.storage)));
    process.stdout.write(users.map((u) => `${u.user}\n`).join(''));
  },
};

/** authCommand is `auth add | remove | list | passwd`. */
export const authCommand: CommandModule<object, object> = {
  command: 'auth <command>',
  describe: 'Users of secure mode (auth/htpasswd)',
  builder: (y) => y.command(add).command(remove).command(list).command(passwd).demandCommand(1, 'Name an auth command: add, remove, list or passwd.') as never,
  handler: () => {},
};
