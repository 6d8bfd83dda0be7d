// Reading the table's settings from an environment, the one way: empty or blank is unset, unset is
// the table's default, and a value that does not parse is a SettingError naming the variable.
// The parsers are exported for the other inputs that follow the same rules (BitBake's raw
// strings in target/settings.ts, numbers given as CLI flags in cli/setting-options.ts).
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { HelperError } from '../errors/helper-error.js';
import {
  SETTINGS,
  type BooleanSetting,
  type EnumSetting,
  type EnumValue,
  type ListSetting,
  type NumberSetting,
  type SettingName,
  type SettingSpec,
  type StringSetting,
} from './table.js';

/** Env is an environment to read settings from (process.env, or a test's object). */
export type Env = Readonly<Record<string, string | undefined>>;

/** SettingError is a value that does not parse (code `usage`); its message is one line naming the variable or flag. */
export class SettingError extends HelperError {
  constructor(
    /** the variable or flag (`--grace`) that holds the bad value */
    readonly setting: string,
    message: string,
  ) {
    super('usage', message);
    this.name = 'SettingError';
  }
}

/** TRUE_WORDS and FALSE_WORDS are the booleans' spellings (after trim, in any case). */
export const TRUE_WORDS: readonly string[] = ['1', 'true', 'yes', 'on'];
/** FALSE_WORDS: see TRUE_WORDS. */
export const FALSE_WORDS: readonly string[] = ['0', 'false', 'no', 'off'];

/** parseBoolean reads 1/true/yes/on or 0/false/no/off; anything else is a SettingError naming `label`. */
export function parseBoolean(label: string, text: string): boolean {
  const v = text.trim().toLowerCase();
  if (TRUE_WORDS.includes(v)) return true;
  if (FALSE_WORDS.includes(v)) return false;
  throw new SettingError(label, `${label} must be 1 or 0 (or true/false, yes/no, on/off), not ${JSON.stringify(text)}`);
}

/** NumberRule bounds a number setting or flag. */
export type NumberRule = Pick<SettingSpec, 'min' | 'max' | 'integer' | 'unit'>;

/** describeNumber says in words what a rule accepts: "a whole number of days from 1 to 36500". */
export function describeNumber(rule: NumberRule): string {
  const what = `${rule.integer ? 'a whole number' : 'a number'}${rule.unit ? ` of ${rule.unit}` : ''}`;
  if (rule.min !== undefined && rule.max !== undefined) return `${what} from ${rule.min} to ${rule.max}`;
  if (rule.min !== undefined) return `${what}, ${rule.min} or more`;
  if (rule.max !== undefined) return `${what}, ${rule.max} or less`;
  return what;
}

/** checkNumber accepts a number within the rule, else throws a SettingError naming `label`. */
export function checkNumber(label: string, value: unknown, rule: NumberRule, shown: unknown = value): number {
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (!rule.integer || Number.isInteger(value)) &&
    (rule.min === undefined || value >= rule.min) &&
    (rule.max === undefined || value <= rule.max);
  if (ok) return value as number;
  // yargs turns `--grace abc` into NaN before we see it: then there is nothing useful to quote.
  const not = shown === undefined || (typeof shown === 'number' && Number.isNaN(shown)) ? '' : `, not ${JSON.stringify(shown)}`;
  throw new SettingError(label, `${label} must be ${describeNumber(rule)}${not}`);
}

/** parseNumber reads a plain decimal number (no hex, exponent or unit) within the rule. */
export function parseNumber(label: string, text: string, rule: NumberRule): number {
  const v = text.trim();
  return checkNumber(label, /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/.test(v) ? Number(v) : NaN, rule, text);
}

/** formatChoices writes choices for a message: "a, b or c". */
export function formatChoices(choices: readonly string[]): string {
  return choices.length < 2 ? choices.join('') : `${choices.slice(0, -1).join(', ')} or ${choices[choices.length - 1]}`;
}

/** parseChoice reads one of `choices` (trimmed, any case); anything else is a SettingError naming `label`. */
export function parseChoice<T extends string>(label: string, text: string, choices: readonly T[]): T {
  const v = text.trim().toLowerCase();
  const found = choices.find((c) => c === v);
  if (found === undefined) throw new SettingError(label, `${label} must be ${formatChoices(choices)}, not ${JSON.stringify(text)}`);
  return found;
}

/** parseList splits a list on white space (or commas too, for `comma-or-space`), dropping empty items. */
export function parseList(text: string, separator: SettingSpec['separator'] = 'space'): string[] {
  return text.split(separator === 'comma-or-space' ? /[,\s]+/ : /\s+/).filter(Boolean);
}

/** rawSetting is the variable's text as set; undefined when unset, empty or blank. */
export function rawSetting(env: Env, name: SettingName): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v;
}

/** XDG_DATA_PREFIX starts a default that lives in the user's data folder (the storage's). */
export const XDG_DATA_PREFIX = '$XDG_DATA_HOME/';

/**
 * userDataDir is the user's data folder, as the XDG base directory spec has it: $XDG_DATA_HOME when
 * it is an absolute path (a relative one is to be ignored), else ~/.local/share ($HOME, else the
 * password database's home).
 */
export function userDataDir(env: Env): string {
  const xdg = env.XDG_DATA_HOME;
  if (xdg && isAbsolute(xdg)) return xdg;
  let home = env.HOME;
  if (!home || !isAbsolute(home)) {
    try {
      home = homedir();
    } catch {
      home = undefined;
    }
  }
  if (!home || !isAbsolute(home)) throw new HelperError('usage', 'no home folder for the default storage: set --storage or CONTAINER_REGISTRY_STORAGE');
  return join(home, '.local', 'share');
}

/** settingDefault is the table's default of a setting, a `$XDG_DATA_HOME/` one made a path (undefined when it has none). */
export function settingDefault(env: Env, name: SettingName): string | undefined {
  const text = (SETTINGS[name] as SettingSpec).default;
  return text?.startsWith(XDG_DATA_PREFIX) ? join(userDataDir(env), text.slice(XDG_DATA_PREFIX.length)) : text;
}

/** settingText is the variable's text, or the table's default when unset (undefined when it has none). */
export function settingText(env: Env, name: SettingName): string | undefined {
  return rawSetting(env, name) ?? settingDefault(env, name);
}

type Defaulted<K extends SettingName, V> = (typeof SETTINGS)[K] extends { default: string } ? V : V | undefined;

/** readString reads a string setting (or its default). */
export function readString<K extends StringSetting>(env: Env, name: K): Defaulted<K, string> {
  return settingText(env, name) as Defaulted<K, string>;
}

/** readBoolean reads a boolean setting (or its default). */
export function readBoolean(env: Env, name: BooleanSetting): boolean {
  return parseBoolean(name, settingText(env, name)!);
}

/** readNumber reads a number setting (or its default) and checks its bounds. */
export function readNumber(env: Env, name: NumberSetting): number {
  return parseNumber(name, settingText(env, name)!, SETTINGS[name]);
}

/** readEnum reads an enum setting (or its default), one of its choices. */
export function readEnum<K extends EnumSetting>(env: Env, name: K): EnumValue<K> {
  return parseChoice(name, settingText(env, name)!, SETTINGS[name].choices as readonly EnumValue<K>[]);
}

/** readList reads a list setting; unset gives the default's items (or none). */
export function readList(env: Env, name: ListSetting): string[] {
  const spec: SettingSpec = SETTINGS[name];
  return parseList(settingText(env, name) ?? '', spec.separator);
}

/** SettingValue is a parsed value of any type. */
export type SettingValue = string | boolean | number | string[] | undefined;

/** readSetting reads any setting by its type (string, boolean, number, enum value or list). */
export function readSetting(env: Env, name: SettingName): SettingValue {
  const spec: SettingSpec = SETTINGS[name];
  const text = settingText(env, name);
  if (spec.type === 'list') return parseList(text ?? '', spec.separator);
  if (text === undefined) return undefined;
  if (spec.type === 'boolean') return parseBoolean(name, text);
  if (spec.type === 'number') return parseNumber(name, text, spec);
  if (spec.type === 'enum') return parseChoice(name, text, spec.choices ?? []);
  return text;
}

/** checkSetting parses one setting by its type, throwing a SettingError when its value is bad. */
export function checkSetting(env: Env, name: SettingName): void {
  readSetting(env, name);
}

/** checkSettings validates several settings at once (the first bad one throws). */
export function checkSettings(env: Env, names: readonly SettingName[]): void {
  for (const name of names) checkSetting(env, name);
}
