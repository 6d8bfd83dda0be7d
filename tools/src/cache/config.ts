// The upstreams serve mirrors as a pull-through cache: CONTAINER_REGISTRY_MIRRORS (`--mirror`)
// merged with `[[cache.upstreams]]` tables of the storage's config.toml, which add what a setting
// cannot carry: credentials (never in argv, the environment's listing or a log), a TTL, a prefix.
//
//   [[cache.upstreams]]
//   host = "docker.io"                 # as clients name it (required)
//   url = "https://registry-1.docker.io"  # default: from the host, as CONTAINER_REGISTRY_MIRRORS has it
//   prefix = "docker.io"               # default: mirrorPrefix(host)
//   ttl = "5m"                         # default: CONTAINER_REGISTRY_CACHE_TTL
//   timeout = "20s"                    # an upstream silent this long is given up
//   auth = "authfile"                  # none | authfile | credsfile | env | basic | token
//   authfile = "auth.json"             # relative paths: from config.toml's folder
//   credsfile = "upstream.env"
//   credential_helper = "pass"         # docker-credential-<name>
//   username = "me"                    # with auth = "basic" (or alone)
//   password = "secret"
//   token = "..."                      # with auth = "token"
import { dirname, isAbsolute, resolve } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { credentialSource, runCredentialHelper, type Credential } from '../client/credentials.js';
import { ConfigError, type ServerConfig } from '../registry/webhooks.js';
import { parseDuration } from '../backup/schedule-config.js';
import { isValidRepositoryName } from '../oci/names.js';
import { AddressError } from '../oci/reference.js';
import { parseMirror, parseMirrors, type MirrorSpec } from './mirrors.js';

/** UpstreamCredentials answers the credential for the upstream (its host as clients name it). */
export type UpstreamCredentials = () => Promise<Credential | undefined>;

/** UpstreamConfig is one upstream as serve uses it. */
export interface UpstreamConfig extends MirrorSpec {
  /** how long a cached tag is served before a HEAD asks the upstream again */
  ttlMs: number;
  /** an upstream connection silent this long is cut; a manifest question gets half as long again in all */
  timeoutMs: number;
  credentials: UpstreamCredentials;
  /** how the credential is found, for logs: `none`, `basic`, `authfile`, ... (never the secret) */
  auth: string;
}

/** CacheChoices are what the operator chose (flags or environment). */
export interface CacheChoices {
  /** CONTAINER_REGISTRY_MIRRORS items */
  mirrors: string[];
  /** CONTAINER_REGISTRY_CACHE_TTL */
  ttl: string;
}

/** DEFAULT_TIMEOUT_MS is how long an upstream may be silent before it is given up (20 s). */
export const DEFAULT_TIMEOUT_MS = 20_000;

const KEYS = new Set(['host', 'url', 'prefix', 'ttl', 'timeout', 'auth', 'authfile', 'credsfile', 'credential_helper', 'username', 'password', 'token']);
const AUTH = ['none', 'authfile', 'credsfile', 'env', 'basic', 'token'] as const;

function text(table: Record<string, unknown>, key: string, where: string): string | undefined {
  const v = table[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v === '') throw new ConfigError(`${where}: ${key} must be a non-empty string`);
  return v;
}

/** UpstreamTable is one `[[cache.upstreams]]` table, checked. */
interface UpstreamTable {
  host: string;
  url?: string;
  prefix?: string;
  ttlMs?: number;
  timeoutMs?: number;
  auth: string;
  credentials: UpstreamCredentials;
}

function credentialsOf(
  t: Record<string, unknown>,
  host: string,
  where: string,
  base: string,
  env: NodeJS.ProcessEnv,
): { auth: string; credentials: UpstreamCredentials } {
  const path = (key: string) => {
    const p = text(t, key, where);
    return p === undefined ? undefined : isAbsolute(p) ? p : resolve(base, p);
  };
  const username = text(t, 'username', where);
  const password = text(t, 'password', where);
  const token = text(t, 'token', where);
  const helper = text(t, 'credential_helper', where);
  const authfile = path('authfile');
  const credsfile = path('credsfile');
  let auth = text(t, 'auth', where);
  // The mode follows from what is given when `auth` is not said.
  auth ??= token ? 'token' : username || password ? 'basic' : authfile ? 'authfile' : credsfile ? 'credsfile' : helper ? 'helper' : 'none';
  if (auth === 'helper') {
    if (!/^[A-Za-z0-9._-]+$/.test(helper!)) throw new ConfigError(`${where}: credential_helper must be a helper's name (docker-credential-<name>)`);
    return { auth: `credential helper ${helper}`, credentials: () => runCredentialHelper(helper!, host) };
  }
  if (!(AUTH as readonly string[]).includes(auth)) throw new ConfigError(`${where}: auth must be one of ${AUTH.join(', ')}`);
  switch (auth) {
    case 'none':
      return { auth, credentials: async () => undefined };
    case 'basic': {
      if (!username || password === undefined) throw new ConfigError(`${where}: auth = "basic" needs username and password`);
      const cred: Credential = { kind: 'basic', username, password };
      return { auth, credentials: async () => cred };
    }
    case 'token': {
      if (!token) throw new ConfigError(`${where}: auth = "token" needs token`);
      const cred: Credential = { kind: 'token', token, ...(username ? { username } : {}) };
      return { auth, credentials: async () => cred };
    }
    case 'authfile': {
      if (!authfile) throw new ConfigError(`${where}: auth = "authfile" needs authfile`);
      // A credential helper the auth file names for the host runs as the push side runs it.
      const source = credentialSource({ mode: 'authfile', authfile, env });
      return { auth, credentials: () => source(host) };
    }
    case 'credsfile': {
      if (!credsfile) throw new ConfigError(`${where}: auth = "credsfile" needs credsfile`);
      const source = credentialSource({ mode: 'credsfile', credsfile, env });
      return { auth, credentials: () => source(host) };
    }
    default: {
      // env: CONTAINER_REGISTRY_TOKEN, or CONTAINER_REGISTRY_USER and CONTAINER_REGISTRY_PASSWORD, read at start.
      try {
        const source = credentialSource({ mode: 'env', env });
        return { auth, credentials: () => source(host) };
      } catch (err) {
        throw new ConfigError(`${where}: ${(err as Error).message}`);
      }
    }
  }
}

/** parseUpstreamTables reads `[[cache.upstreams]]` of config.toml's text; relative paths are from `base`. */
export function parseUpstreamTables(textOfFile: string, source: string, base: string, env: NodeJS.ProcessEnv = process.env): UpstreamTable[] {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(textOfFile) as Record<string, unknown>;
  } catch (err) {
    // smol-toml quotes the offending line, which may hold a password: only the line number is told.
    const line = (err as { line?: unknown }).line;
    throw new ConfigError(`${source}: not valid TOML${typeof line === 'number' ? ` (line ${line})` : ''}`);
  }
  const cache = doc.cache;
  if (cache === undefined) return [];
  if (typeof cache !== 'object' || cache === null || Array.isArray(cache)) throw new ConfigError(`${source}: cache must be a table`);
  const list = (cache as Record<string, unknown>).upstreams;
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw new ConfigError(`${source}: cache.upstreams must be an array of tables ([[cache.upstreams]])`);
  return list.map((raw, i) => {
    const where = `${source}: cache.upstreams[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError(`${where} must be a table`);
    const t = raw as Record<string, unknown>;
    for (const k of Object.keys(t)) if (!KEYS.has(k)) throw new ConfigError(`${where}: unknown key ${JSON.stringify(k.slice(0, 40))}`);
    const hostText = text(t, 'host', where);
    if (!hostText) throw new ConfigError(`${where}: host is required (the registry as clients name it: docker.io, localhost:5001)`);
    let spec: MirrorSpec;
    try {
      spec = parseMirror(hostText);
    } catch (err) {
      throw new ConfigError(`${where}: host: ${(err as Error).message}`);
    }
    const url = text(t, 'url', where);
    if (url !== undefined) {
      try {
        parseMirror(`${spec.host}=${url}`);
      } catch (err) {
        throw new ConfigError(`${where}: url: ${(err as Error).message.replace(/^CONTAINER_REGISTRY_MIRRORS: /, '')}`);
      }
    }
    const prefix = text(t, 'prefix', where);
    if (prefix !== undefined && !isValidRepositoryName(prefix))
      throw new ConfigError(`${where}: prefix ${JSON.stringify(prefix.slice(0, 80))} is not a repository name`);
    const duration = (key: string): number | undefined => {
      const value = text(t, key, where);
      try {
        return value === undefined ? undefined : parseDuration(`${where}: ${key}`, value);
      } catch (err) {
        throw new ConfigError((err as Error).message);
      }
    };
    const ttlMs = duration('ttl');
    const timeoutMs = duration('timeout');
    return { host: spec.host, url, prefix, ttlMs, timeoutMs, ...credentialsOf(t, spec.host, where, base, env) };
  });
}

/**
 * mergeUpstreams joins the setting's mirrors and config.toml's tables: a table whose host the setting
 * names adds to it (credentials, ttl, prefix; the setting's URL stays); any other table is an upstream
 * of its own. Prefixes must be distinct and none inside another.
 */
export function mergeUpstreams(mirrors: MirrorSpec[], tables: UpstreamTable[], defaultTtlMs: number): UpstreamConfig[] {
  const none = { auth: 'none', credentials: async () => undefined, timeoutMs: DEFAULT_TIMEOUT_MS };
  const out: UpstreamConfig[] = mirrors.map((m) => ({ ...m, ttlMs: defaultTtlMs, ...none }));
  for (const t of tables) {
    let u = out.find((o) => o.host === t.host);
    if (!u) {
      const spec = parseMirror(t.url ? `${t.host}=${t.url}` : t.host);
      u = { ...spec, ttlMs: defaultTtlMs, ...none };
      out.push(u);
    } else if (tables.filter((x) => x.host === t.host).length > 1) {
      throw new ConfigError(`config.toml: cache.upstreams names ${t.host} twice`);
    }
    if (t.prefix) u.prefix = t.prefix;
    if (t.ttlMs !== undefined) u.ttlMs = t.ttlMs;
    if (t.timeoutMs !== undefined) u.timeoutMs = t.timeoutMs;
    u.auth = t.auth;
    u.credentials = t.credentials;
  }
  for (const a of out) {
    for (const b of out) {
      if (a !== b && (a.prefix === b.prefix || b.prefix.startsWith(`${a.prefix}/`))) {
        throw new ConfigError(`the cache prefixes of ${a.host} (${a.prefix}) and ${b.host} (${b.prefix}) overlap`);
      }
    }
  }
  return out;
}

/** loadUpstreams reads the choices and config.toml's tables (if any) into the upstreams to serve; none when nothing is mirrored. */
export function loadUpstreams(config: ServerConfig, choices: CacheChoices, env: NodeJS.ProcessEnv = process.env): UpstreamConfig[] {
  let mirrors: MirrorSpec[];
  try {
    mirrors = parseMirrors(choices.mirrors);
  } catch (err) {
    if (err instanceof AddressError) throw new ConfigError(err.message);
    throw err;
  }
  let ttlMs: number;
  try {
    ttlMs = parseDuration('CONTAINER_REGISTRY_CACHE_TTL (--cache-ttl)', choices.ttl);
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const tables = config.text === undefined ? [] : parseUpstreamTables(config.text, config.file, dirname(config.file), env);
  return mergeUpstreams(mirrors, tables, ttlMs);
}

/** mirrorItems flattens `--mirror` values (repeated, or one comma/space separated list) into items. */
export function mirrorItems(value: unknown): string[] {
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return values.flatMap((v) => String(v).split(/[,\s]+/)).filter(Boolean);
}
