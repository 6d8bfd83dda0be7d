// Who may pull and who may push. Two modes (one per right), optionally narrowed per repository by
// auth/access.toml; `decide` is a pure function of the policy, the action and who is asking.
//
// auth/access.toml (every key optional):
//
//   pull = "anonymous"          # disabled | anonymous | authenticated
//   push = "authenticated"
//
//   [[repository]]              # first match wins; narrows, never widens
//   match = "yocto/private/**"  # `*` stays within one path segment, `**` crosses segments
//                               # (and matches none: this covers yocto/private itself too)
//   pull = ["alice", "ci"]      # only these users ("*": any authenticated user)
//   push = ["ci"]
import { parse as parseToml } from 'smol-toml';
import { HelperError } from '../errors/helper-error.js';
import type { AccessAction } from '../registry/access.js';

/** ACCESS_MODES: a right is off, open to everyone, or open to users who log in. */
export const ACCESS_MODES = ['disabled', 'anonymous', 'authenticated'] as const;

/** AccessMode is one of ACCESS_MODES. */
export type AccessMode = (typeof ACCESS_MODES)[number];

/** Right is what an action needs: reading or writing. */
export type Right = 'pull' | 'push';

/** RepositoryRule narrows the rights on repositories whose name matches `match`. */
export interface RepositoryRule {
  match: string;
  regex: RegExp;
  pull?: string[];
  push?: string[];
}

/** AccessPolicy is the whole policy. */
export interface AccessPolicy {
  pull: AccessMode;
  push: AccessMode;
  rules: RepositoryRule[];
}

/** Identity is who asks: nobody in particular, or a user whose password checked out. */
export type Identity = { kind: 'anonymous' } | { kind: 'user'; name: string };

/** Verdict is the policy's answer before it becomes an HTTP status. */
export type Verdict = 'allow' | 'login' | 'forbidden' | 'disabled';

/** parseAccessMode checks a mode's spelling. */
export function parseAccessMode(text: string, where: string): AccessMode {
  if ((ACCESS_MODES as readonly string[]).includes(text)) return text as AccessMode;
  throw new HelperError('usage', `${where}: ${JSON.stringify(text)} is not one of ${ACCESS_MODES.join(', ')}`);
}

/**
 * globToRegExp compiles a repository glob: `*` within a segment, `**` across, `?` one character.
 * A `**` that fills whole segments also matches none of them, as in gitignore and minimatch:
 * `private/**` covers the repository `private` itself, and `a/**` followed by `/b` covers `a/b`.
 */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      const segmentStart = i === 0 || glob[i - 1] === '/';
      const segmentEnd = i + 2 === glob.length || glob[i + 2] === '/';
      if (segmentStart && segmentEnd && i > 0) {
        // A `**` segment after a slash: the slash is optional together with what it covers.
        re = `${re.slice(0, -1)}(?:/.*)?`;
      } else if (segmentStart && segmentEnd && i + 2 < glob.length) {
        // a leading `**/`: zero or more whole segments before the rest
        re += '(?:.*/)?';
        i++;
      } else re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** rightFor maps an action to the right it needs; `ping` needs none. */
export function rightFor(action: AccessAction): Right | undefined {
  if (action === 'push' || action === 'delete') return 'push';
  if (action === 'ping') return undefined;
  // catalog, metrics and ui read.
  return 'pull';
}

/** needsLogin tells whether any request could require credentials (then /v2/ asks for them). */
export function needsLogin(p: AccessPolicy): boolean {
  return p.pull === 'authenticated' || p.push === 'authenticated' || p.rules.some((r) => r.pull !== undefined || r.push !== undefined);
}

/** decide applies the policy to one request. */
export function decide(p: AccessPolicy, action: AccessAction, repository: string | undefined, who: Identity): Verdict {
  const right = rightFor(action);
  if (right === undefined) return who.kind === 'anonymous' && needsLogin(p) ? 'login' : 'allow';
  const mode = p[right];
  if (mode === 'disabled') return 'disabled';
  const rule = repository === undefined ? undefined : p.rules.find((r) => r[right] !== undefined && r.regex.test(repository));
  const users = rule?.[right];
  if (users) {
    if (who.kind === 'anonymous') return 'login';
    return users.includes('*') || users.includes(who.name) ? 'allow' : 'forbidden';
  }
  if (mode === 'authenticated' && who.kind === 'anonymous') return 'login';
  return 'allow';
}

function userList(v: unknown, where: string): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x.length > 0)) {
    throw new HelperError('access-config', `${where} must be a list of user names, as ["alice", "ci"]`);
  }
  return v as string[];
}

/** parseAccessConfig reads access.toml over `defaults`; an unknown key is an error (a typo must not open a door). */
export function parseAccessConfig(text: string, file: string, defaults: { pull: AccessMode; push: AccessMode }): AccessPolicy {
  let doc: Record<string, unknown>;
  try {
    doc = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    const first = String((err as Error).message).split('\n')[0];
    throw new HelperError('access-config', `${file}: ${first}`);
  }
  const policy: AccessPolicy = { ...defaults, rules: [] };
  for (const [key, value] of Object.entries(doc)) {
    if (key === 'pull' || key === 'push') {
      if (typeof value !== 'string') throw new HelperError('access-config', `${file}: ${key} must be a string`);
      policy[key] = parseAccessMode(value, `${file}: ${key}`);
    } else if (key === 'repository') {
      if (!Array.isArray(value)) throw new HelperError('access-config', `${file}: write rules as [[repository]] tables`);
      value.forEach((raw, i) => {
        const where = `${file}: repository #${i + 1}`;
        const r = raw as Record<string, unknown>;
        for (const k of Object.keys(r))
          if (!['match', 'pull', 'push'].includes(k)) throw new HelperError('access-config', `${where}: unknown key ${JSON.stringify(k)}`);
        if (typeof r.match !== 'string' || r.match === '') throw new HelperError('access-config', `${where}: match must be a repository glob`);
        const rule: RepositoryRule = { match: r.match, regex: globToRegExp(r.match) };
        if (r.pull !== undefined) rule.pull = userList(r.pull, `${where}: pull`);
        if (r.push !== undefined) rule.push = userList(r.push, `${where}: push`);
        policy.rules.push(rule);
      });
    } else {
      throw new HelperError('access-config', `${file}: unknown key ${JSON.stringify(key)} (known: pull, push, [[repository]])`);
    }
  }
  return policy;
}
