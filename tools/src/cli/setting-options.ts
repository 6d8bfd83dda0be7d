// yargs options from the settings table, and the one check for every number a flag takes.
// An option that has a CONTAINER_REGISTRY_* variable gets its type, help line, choices and (unless
// the command resolves the variable itself) its default from settings/table.ts; a number flag
// with no variable (`gc --grace`, `start --timeout`) gets the same check through numberOption.
// A bad value is one line naming the flag or variable, exit 2 (a SettingError, code `usage`).
import type { Options } from 'yargs';
import { settingSpec, type SettingName } from '../settings/table.js';
import { checkNumber, parseBoolean, readSetting, type NumberRule } from '../settings/values.js';

/** SettingOptionOverrides adjust what settingOption derives from the table. */
export interface SettingOptionOverrides {
  /** the flag's name when the setting has several (`url` for CONTAINER_REGISTRY_URL in `config`) */
  flag?: string;
  /** false: no default from the environment (the command reads the variable itself, e.g. only for the local registry) */
  fromEnv?: boolean;
  /** a default computed by the command (it wins over the variable's) */
  default?: unknown;
  /** the help's text for that default */
  defaultDescription?: string;
  /** yargs aliases (`-s`) */
  alias?: string | string[];
}

/** numberCoerce is yargs' coerce for a number flag: the value within the rule, else a SettingError naming `--flag`. */
export function numberCoerce(flag: string, rule: NumberRule): (value: unknown) => number {
  return (value) => checkNumber(`--${flag}`, value, rule);
}

/**
 * settingOption is the yargs option of a setting: its type, `doc [env NAME]` as help, its choices,
 * a number check, and by default its value from the environment (else the table's default).
 */
export function settingOption(name: SettingName, o: SettingOptionOverrides = {}): Options {
  const spec = settingSpec(name);
  const flag = o.flag ?? spec.flags?.[0] ?? name;
  const option: Options = {
    type: spec.type === 'boolean' ? 'boolean' : spec.type === 'number' ? 'number' : 'string',
    describe: `${spec.doc} [env ${name}]`,
  };
  if (spec.type === 'enum') option.choices = [...(spec.choices ?? [])];
  if (spec.type === 'number') option.coerce = numberCoerce(flag, spec);
  if (o.alias !== undefined) option.alias = o.alias;
  if (o.default !== undefined) {
    option.default = o.default;
    if (o.defaultDescription) option.defaultDescription = o.defaultDescription;
  } else if (o.fromEnv !== false) {
    option.default = readSetting(process.env, name);
    // The help names the variable and the table's default (booleans as true/false, as yargs shows them).
    const shown = spec.type === 'boolean' ? String(parseBoolean(name, spec.default ?? '0')) : spec.default;
    option.defaultDescription = shown === undefined ? `$${name}` : `$${name} or ${shown}`;
  }
  return option;
}

/** NumberFlag describes a number flag that has no variable. */
export interface NumberFlag extends NumberRule {
  describe: string;
  default?: number;
  alias?: string;
}

/** numberOption is the yargs option of a number flag, checked by numberCoerce. */
export function numberOption(flag: string, o: NumberFlag): Options {
  const { describe, default: value, alias, ...rule } = o;
  return { type: 'number', describe, coerce: numberCoerce(flag, rule), ...(value !== undefined ? { default: value } : {}), ...(alias ? { alias } : {}) };
}
