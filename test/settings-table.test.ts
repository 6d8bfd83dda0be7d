// The settings table (tools/src/settings/) is the one list: this fails when the bbclass, the
// layer's Python data file, the distro fragment, the generated script, the CLI's options or the
// modules' own constants drift from it, and pins the one way values are read.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ROOT, runCli } from './helpers/registry.js';
import { SETTINGS, SETTING_NAMES, type SettingName, type SettingSpec } from '../tools/src/settings/table.js';
import {
  BBCLASS_VARIABLES,
  HELPER_ENV_VARIABLES,
  PYTHON_VARIABLES_PATH,
  SCRIPT_VARIABLES,
  TARGET_VARIABLES,
  renderPythonVariables,
} from '../tools/src/settings/layer.js';
import {
  checkSettings,
  parseBoolean,
  parseNumber,
  readBoolean,
  readEnum,
  readList,
  readNumber,
  readSetting,
  readString,
} from '../tools/src/settings/values.js';
import { renderConf } from '../tools/src/script/render.js';
import { AUTH_MODES } from '../tools/src/client/credentials.js';
import { METRICS_ACCESS_MODES } from '../tools/src/registry/endpoints.js';
import { DEFAULT_MDNS_NAME } from '../tools/src/registry/mdns.js';
import { DEFAULT_USERNAME } from '../tools/src/auth/users.js';
import { DEFAULT_STRATEGY } from '../tools/src/push/tags.js';
import { DEFAULT_SEARCH_REGISTRIES } from '../tools/src/target/settings.js';

const LAYER = join(ROOT, 'meta-container-registry');
const spec = (n: SettingName): SettingSpec => SETTINGS[n];

t.test("container-registry.bbclass declares exactly the table's class settings, with its defaults and a [doc] line", async (t) => {
  const text = await readFile(join(LAYER, 'classes', 'container-registry.bbclass'), 'utf8');
  const lines = text.split('\n');
  const declared = new Map<string, string>();
  lines.forEach((line, i) => {
    const m = /^([A-Z_]+) \?\?= "(.*)"$/.exec(line);
    if (!m) return;
    declared.set(m[1]!, m[2]!);
    t.match(lines[i - 1], new RegExp(`^${m[1]}\\[doc\\] = ".+"$`), `${m[1]} has a doc line`);
  });
  t.same([...declared.keys()].sort(), [...BBCLASS_VARIABLES].sort(), 'the same variables');
  for (const name of BBCLASS_VARIABLES) t.equal(declared.get(name), spec(name).bitbakeDefault ?? spec(name).default ?? '', `${name}'s default`);
  // Every line break inside the value is escaped: a bare one is a BitBake parse error.
  const targetVars = /^CONTAINER_REGISTRY_TARGET_VARS = "((?:[^"\\\n]|\\\n)*)"$/m.exec(text);
  t.ok(targetVars, 'CONTAINER_REGISTRY_TARGET_VARS is set');
  t.same(targetVars![1]!.replace(/\\\n/g, ' ').split(/\s+/).filter(Boolean), [...TARGET_VARIABLES], 'CONTAINER_REGISTRY_TARGET_VARS lists the target settings');
});

t.test("the distro fragment keeps the table's URL and namespace defaults", async (t) => {
  const conf = await readFile(join(LAYER, 'conf', 'distro', 'include', 'container-registry.conf'), 'utf8');
  for (const name of ['CONTAINER_REGISTRY_URL', 'CONTAINER_REGISTRY_NAMESPACE'] as const) {
    t.match(conf, `\n${name} ?= "${SETTINGS[name].default}"\n`, name);
  }
});

t.test("the layer's Python data file is the table's, as `npm run build` writes it", async (t) => {
  t.equal(await readFile(join(ROOT, PYTHON_VARIABLES_PATH), 'utf8'), renderPythonVariables(), `${PYTHON_VARIABLES_PATH} is current (run npm run build)`);
  t.notOk(HELPER_ENV_VARIABLES.includes('CONTAINER_REGISTRY_PASSWORD'), "the password is never in helper_env's list");
  const settingsPy = await readFile(join(LAYER, 'lib', 'containerregistry', 'settings.py'), 'utf8');
  t.notMatch(settingsPy, /^HELPER_VARIABLES = \(/m, 'settings.py keeps no list of its own');
  t.match(settingsPy, /^from containerregistry\.variables import /m);
});

t.test('the generated script carries what BitBake hands the helper, and never a secret', async (t) => {
  t.same([...SCRIPT_VARIABLES], [...HELPER_ENV_VARIABLES], "helper_env's settings, in table order");
  for (const name of ['DEPLOY_DIR_IMAGE', 'TOPDIR', 'COREBASE', 'METADATA_REVISION', 'METADATA_BRANCH'] as const) {
    t.ok(HELPER_ENV_VARIABLES.includes(name), `oe-core's ${name} is handed to the helper and carried by the script`);
    t.notOk(BBCLASS_VARIABLES.includes(name), `${name} is not the bbclass's to declare`);
  }
  for (const name of SETTING_NAMES) if (spec(name).secret) t.notOk((SCRIPT_VARIABLES as readonly string[]).includes(name), `${name} is not in the script`);
  const settings = Object.fromEntries(SCRIPT_VARIABLES.map((n) => [n, `v-${n}`]));
  const conf = renderConf({ storage: '/s', node: '/n', settings });
  const written = [...conf.matchAll(/^cr_set (\S+) /gm)].map((m) => m[1]);
  t.same(written, [...SCRIPT_VARIABLES], "one line per setting, in the table's order");
});

t.test("the modules' own constants are the table's", async (t) => {
  t.same([...AUTH_MODES], [...SETTINGS.CONTAINER_REGISTRY_AUTH_MODE.choices]);
  t.same([...METRICS_ACCESS_MODES], [...SETTINGS.CONTAINER_REGISTRY_METRICS_ACCESS.choices]);
  t.equal(DEFAULT_MDNS_NAME, SETTINGS.CONTAINER_REGISTRY_MDNS_NAME.default);
  t.equal(DEFAULT_USERNAME, SETTINGS.CONTAINER_REGISTRY_USERNAME.default);
  t.equal(DEFAULT_STRATEGY, SETTINGS.CONTAINER_REGISTRY_TAG_STRATEGY.default);
  t.same([...DEFAULT_SEARCH_REGISTRIES], ['docker.io', 'quay.io']);
});

t.test('every row is well formed', async (t) => {
  for (const name of SETTING_NAMES) {
    const s = spec(name);
    t.ok(s.doc.length > 10 && !s.doc.includes('\n'), `${name}: one line of doc`);
    if (s.type === 'enum') t.ok(s.choices?.length && (s.default === undefined || s.choices.includes(s.default)), `${name}: choices hold the default`);
    else t.equal(s.choices, undefined, `${name}: choices only for enums`);
    if (s.default !== undefined) t.doesNotThrow(() => readSetting({}, name), `${name}: the default parses`);
  }
});

t.test('reading values: one rule per type, empty is unset, a bad value names the variable', async (t) => {
  for (const v of ['1', 'true', 'YES', ' on ']) t.equal(parseBoolean('X', v), true, v);
  for (const v of ['0', 'false', 'No', 'off']) t.equal(parseBoolean('X', v), false, v);
  t.throws(() => readBoolean({ CONTAINER_REGISTRY_SECURE: 'maybe' }, 'CONTAINER_REGISTRY_SECURE'), {
    code: 'usage',
    message: 'CONTAINER_REGISTRY_SECURE must be 1 or 0 (or true/false, yes/no, on/off), not "maybe"',
  });
  t.equal(readBoolean({}, 'CONTAINER_REGISTRY_UI'), true, 'unset: the default');
  t.equal(readBoolean({ CONTAINER_REGISTRY_UI: '' }, 'CONTAINER_REGISTRY_UI'), true, 'empty: the default');
  t.equal(readBoolean({ CONTAINER_REGISTRY_UI: '0' }, 'CONTAINER_REGISTRY_UI'), false);

  t.equal(readNumber({}, 'CONTAINER_REGISTRY_CERT_DAYS'), 365);
  t.equal(readNumber({ CONTAINER_REGISTRY_CERT_DAYS: ' 30 ' }, 'CONTAINER_REGISTRY_CERT_DAYS'), 30);
  t.equal(readNumber({ CONTAINER_REGISTRY_MIN_FREE_MB: '0' }, 'CONTAINER_REGISTRY_MIN_FREE_MB'), 0, '0 is a value, not "unset"');
  for (const v of ['soon', '0', '36501', '1.5', '0x10', '1e3', '-3']) {
    t.throws(
      () => readNumber({ CONTAINER_REGISTRY_CERT_DAYS: v }, 'CONTAINER_REGISTRY_CERT_DAYS'),
      {
        code: 'usage',
        message: `CONTAINER_REGISTRY_CERT_DAYS must be a whole number of days from 1 to 36500, not ${JSON.stringify(v)}`,
      },
      v,
    );
  }
  t.throws(() => parseNumber('--grace', '-5', { min: 0, unit: 'minutes' }), { message: '--grace must be a number of minutes, 0 or more, not "-5"' });

  t.equal(readEnum({ CONTAINER_REGISTRY_AUTH_MODE: ' Home ' }, 'CONTAINER_REGISTRY_AUTH_MODE'), 'home');
  t.equal(readEnum({}, 'CONTAINER_REGISTRY_TARGET_NETWORK'), 'slirp');
  t.throws(() => readEnum({ CONTAINER_REGISTRY_AUTH_MODE: 'bogus' }, 'CONTAINER_REGISTRY_AUTH_MODE'), {
    message: 'CONTAINER_REGISTRY_AUTH_MODE must be none, home, authfile, credsfile or env, not "bogus"',
  });

  t.same(readList({}, 'CONTAINER_REGISTRY_SEARCH_REGISTRIES'), ['docker.io', 'quay.io']);
  t.same(readList({ CONTAINER_REGISTRY_IMAGES: ' a  b ' }, 'CONTAINER_REGISTRY_IMAGES'), ['a', 'b']);
  t.same(readList({ CONTAINER_REGISTRY_NOTIFY: 'http://a/x, http://b/y http://c/z' }, 'CONTAINER_REGISTRY_NOTIFY'), ['http://a/x', 'http://b/y', 'http://c/z']);

  t.equal(readString({}, 'CONTAINER_REGISTRY_NAMESPACE'), 'yocto');
  t.equal(readString({ CONTAINER_REGISTRY_NAMESPACE: '' }, 'CONTAINER_REGISTRY_NAMESPACE'), 'yocto', 'empty is unset, as BitBake and the script treat it');
  t.equal(readString({}, 'CONTAINER_REGISTRY_AUTHFILE'), undefined);

  t.doesNotThrow(() => checkSettings({ CONTAINER_REGISTRY_URL: 'x', CONTAINER_REGISTRY_SECURE: 'on' }, SCRIPT_VARIABLES));
  t.throws(() => checkSettings({ CONTAINER_REGISTRY_CA_DAYS: 'ten years' }, SCRIPT_VARIABLES), { message: /^CONTAINER_REGISTRY_CA_DAYS must be/ });
});

/** helpOptions reads a command's help: each option's flags and its `[env NAME]`, if any. */
function helpOptions(help: string): Array<{ flags: string[]; env: string | undefined }> {
  const blocks = help.split(/\n(?=\s+(?:-\w, )?--)/).slice(1);
  return blocks.map((block) => {
    const text = block.replace(/\s+/g, ' ');
    const head = text.trim().split(' [')[0]!;
    return {
      flags: [...head.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1]!),
      env: /\[env ([A-Z_]+)\]/.exec(text)?.[1],
    };
  });
}

t.test("the CLI's options come from the table: each `[env NAME]` is a row that names the flag, and every row's flag is offered", async (t) => {
  const commands = [['serve'], ['start'], ['stop'], ['gc'], ['push'], ['import'], ['list'], ['config'], ['script'], ['pki', 'init'], ['auth', 'add']];
  const offered = new Set<string>();
  for (const command of commands) {
    const r = await runCli([...command, '--help'], { env: { COLUMNS: '200' } });
    t.equal(r.code, 0, `${command.join(' ')} --help`);
    for (const o of helpOptions(r.stdout)) {
      if (!o.env) continue;
      const row = (SETTINGS as Record<string, SettingSpec>)[o.env];
      t.ok(row, `${command.join(' ')} --${o.flags[0]}: ${o.env} is in the table`);
      t.ok(
        o.flags.some((f) => row?.flags?.includes(f)),
        `${command.join(' ')}: ${o.env} lists --${o.flags[0]}`,
      );
      t.match(r.stdout.replace(/\s+/g, ' '), row?.doc.replace(/\s+/g, ' ') ?? '', `${command.join(' ')} --${o.flags[0]}: the table's doc`);
      for (const f of o.flags) offered.add(`${o.env} ${f}`);
    }
  }
  for (const name of SETTING_NAMES)
    for (const f of spec(name).flags ?? []) t.ok(offered.has(`${name} ${f}`), `--${f} [env ${name}] is offered by some command`);
});

t.test("the storage's default: per user for the bare CLI, ${TOPDIR}/container-registry for a build", async (t) => {
  const storage = (env: Record<string, string>) => readString(env, 'CONTAINER_REGISTRY_STORAGE');
  t.equal(spec('CONTAINER_REGISTRY_STORAGE').default, '$XDG_DATA_HOME/container-registry');
  t.equal(storage({ XDG_DATA_HOME: '/data', HOME: '/srv/u' }), '/data/container-registry', '$XDG_DATA_HOME/container-registry');
  t.equal(storage({ HOME: '/srv/u' }), '/srv/u/.local/share/container-registry', 'else ~/.local/share/container-registry');
  t.equal(storage({ XDG_DATA_HOME: 'relative', HOME: '/srv/u' }), '/srv/u/.local/share/container-registry', 'a relative XDG_DATA_HOME is ignored');
  t.equal(storage({ XDG_DATA_HOME: '', HOME: '/srv/u' }), '/srv/u/.local/share/container-registry', 'an empty one too');
  t.equal(storage({ CONTAINER_REGISTRY_STORAGE: './here', XDG_DATA_HOME: '/data' }), './here', 'a storage named is taken as given');
  t.equal(spec('CONTAINER_REGISTRY_STORAGE').bitbakeDefault, '${TOPDIR}/container-registry', "the bbclass's default stays the build's");
  const conf = renderConf({ storage: '/build/container-registry', node: '/n', settings: {} });
  t.match(conf, "cr_set CONTAINER_REGISTRY_STORAGE '/build/container-registry'", 'the generated script names its storage');
});
