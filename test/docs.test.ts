// The documentation against the code. README.md, CONTRIBUTING.md and docs/ may name only flags the
// built helper has (its `--help`, per command, run as a child process) or a benchmark script parses,
// and only CONTAINER_REGISTRY_* / OCI_IMAGE_* variables the layer or the helper's sources use; every
// relative link must reach a file (and a heading, when it names one). The other way round: every
// command and flag of the helper is in docs/cli.md under its command, every variable the bbclasses
// document is in docs/yocto.md, and every folder of tools/src is in docs/architecture.md's module map.
//
// Where a flag is checked:
//   - in a command: a code span or a line of a code block whose segment (split at && ; | $( ) starts
//     with `container-registry`, `container-registry.sh` (any path), `node ...container-registry.mjs`
//     or a command word of the helper (`push --tag`) is checked against that command (or, for
//     `pki init|show|renew`, those commands); `node bench/X.mjs` against bench/X.mjs; a segment of
//     any other program (skopeo, npm, git, bitbake, ...) is that program's business and not checked;
//   - under a heading that names `container-registry <command>`: against that command;
//   - anywhere else: it must be a flag of some helper command or benchmark.
import t from 'tap';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { BUNDLE, ROOT } from './helpers/registry.js';

const run = promisify(execFile);

// ---------------------------------------------------------------------------------------------
// The helper's commands and flags, from its own --help.

interface Flag {
  short: string | undefined;
  boolean: boolean;
}
interface Command {
  path: string; // 'push', 'pki renew'
  flags: Map<string, Flag>;
  leaf: boolean;
}

async function help(args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [BUNDLE, ...args, '--help'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '100' } });
  return stdout;
}

/** section returns the lines of one `Name:` section of yargs' help. */
function section(text: string, name: string): string[] {
  const lines = text.split('\n');
  const start = lines.indexOf(`${name}:`);
  if (start < 0) return [];
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (/^\S/.test(l)) break;
    out.push(l);
  }
  return out;
}

/** subcommands reads `Commands:`: each entry's words after `container-registry` and its aliases. */
function subcommands(text: string): { words: string[]; group: boolean; aliases: string[] }[] {
  const entries: { words: string[]; group: boolean; aliases: string[] }[] = [];
  for (const l of section(text, 'Commands')) {
    const m = /^\s+container-registry ((?:[a-z][a-z-]* ?)+)(<command>)?/.exec(l);
    if (m) entries.push({ words: m[1]!.trim().split(' '), group: Boolean(m[2]), aliases: [] });
    const a = /\[aliases: ([^\]]+)\]/.exec(l);
    if (a && entries.length) entries[entries.length - 1]!.aliases.push(...a[1]!.split(/,\s*/));
  }
  return entries;
}

function options(text: string): Map<string, Flag> {
  const flags = new Map<string, Flag>();
  let last: Flag | undefined;
  for (const l of section(text, 'Options')) {
    const m = /^\s+(?:-([a-zA-Z]), )?--([a-z][a-z0-9-]*)/.exec(l);
    if (m) {
      last = { short: m[1], boolean: false };
      flags.set(m[2]!, last);
    }
    if (last && l.includes('[boolean]')) last.boolean = true;
  }
  return flags;
}

async function loadCommands(): Promise<{ commands: Map<string, Command>; aliases: Map<string, string> }> {
  const commands = new Map<string, Command>();
  const aliases = new Map<string, string>();
  const top = subcommands(await help([]));
  const groups = await Promise.all(
    top.map(async (e) => {
      const path = e.words[0]!;
      for (const a of e.aliases) aliases.set(a, path);
      const text = await help([path]);
      commands.set(path, { path, flags: options(text), leaf: !e.group });
      return e.group ? { path, subs: subcommands(text) } : undefined;
    }),
  );
  await Promise.all(
    groups.flatMap((g) =>
      (g?.subs ?? []).map(async (s) => {
        const path = s.words.join(' ');
        for (const a of s.aliases) aliases.set(`${g!.path} ${a}`, path);
        commands.set(path, { path, flags: options(await help(path.split(' '))), leaf: true });
      }),
    ),
  );
  return { commands, aliases };
}

// ---------------------------------------------------------------------------------------------
// The benchmarks' flags, from their sources.

const BENCH_DIR = join(ROOT, 'bench');
const benchSource = (name: string): string | undefined => {
  const file = join(BENCH_DIR, name);
  if (!existsSync(file)) return undefined;
  // Comments list flags too (usage lines); only code counts.
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => !/^\s*\/\//.test(l))
    .join('\n');
};
const benchParses = (source: string, flag: string): boolean => new RegExp(`(['"\`])--${flag}\\1|\\(\\s*['"]${flag}['"]`).test(source);
function benchFlags(): Set<string> {
  const all = new Set<string>();
  for (const f of readdirSync(BENCH_DIR).filter((n) => n.endsWith('.mjs'))) {
    const src = benchSource(f)!;
    for (const m of src.matchAll(/(['"`])--([a-z][a-z0-9-]*)\1|\b(?:arg|opt)\(\s*['"]([a-z][a-z0-9-]*)['"]/g)) all.add(m[2] ?? m[3]!);
  }
  return all;
}

// ---------------------------------------------------------------------------------------------
// The documents.

const DOCS_DIR = join(ROOT, 'docs');
function markdownUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) out.push(...markdownUnder(join(dir, e.name)));
    else if (e.name.endsWith('.md')) out.push(join(dir, e.name));
  }
  return out;
}
/** CHECKED are the documents whose flags and variables are checked; links are checked in LINKED. */
const CHECKED = [join(ROOT, 'README.md'), join(ROOT, 'CONTRIBUTING.md'), ...markdownUnder(DOCS_DIR)].filter((f) => existsSync(f));
const LINKED = [...CHECKED, join(ROOT, 'CHANGELOG.md')].filter((f) => existsSync(f));
const rel = (file: string) => relative(ROOT, file);

/** A piece of a document: prose or code, with the file, line and heading it sits under. */
interface Piece {
  file: string;
  line: number;
  heading: string;
  kind: 'prose' | 'code';
  text: string;
}

/** pieces splits a markdown file into fenced code lines and paragraphs (tables included). */
function pieces(file: string): Piece[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  const out: Piece[] = [];
  let heading = '';
  let fence: string | undefined;
  let para: { line: number; text: string[] } | undefined;
  const flush = () => {
    if (para) out.push({ file, line: para.line, heading, kind: 'prose', text: para.text.join('\n') });
    para = undefined;
  };
  for (const [i, l] of lines.entries()) {
    const fenceMark = /^\s*(```+|~~~+)\s*([\w-]*)/.exec(l);
    if (fence !== undefined) {
      if (fenceMark && l.trim().startsWith(fence)) fence = undefined;
      else out.push({ file, line: i + 1, heading, kind: 'code', text: l });
      continue;
    }
    if (fenceMark) {
      flush();
      fence = fenceMark[1]!;
      continue;
    }
    const h = /^(#{1,6})\s+(.*)$/.exec(l);
    if (h) {
      flush();
      heading = h[2]!;
      out.push({ file, line: i + 1, heading, kind: 'prose', text: l });
      continue;
    }
    if (l.trim() === '') {
      flush();
      continue;
    }
    para ??= { line: i + 1, text: [] };
    para.text.push(l);
  }
  flush();
  return out;
}

const FLAG = /(?<![\w-])--([a-z][a-z0-9-]*)/g;
const SHORT = /(?<![\w-])-([a-zA-Z])(?![\w-])/g;
const stripQuoted = (s: string) => s.replace(/"[^"]*"|'[^']*'/g, ' ');
const codeSpans = (text: string) => [...text.matchAll(/`([^`]+)`/g)].map((m) => m[1]!.replace(/\\\|/g, '|'));

type Context = { kind: 'helper'; commands: string[] } | { kind: 'bench'; script: string } | { kind: 'other'; program: string } | { kind: 'none' };

const HELPER_PREFIX = /^(?:\S*\/)?container-registry(?:\.sh)?$/;

/** segments splits a command line at && || ; | $( (a `|` between words separates alternatives in usage lines too). */
const segments = (line: string) => line.split(/\s*(?:&&|\|\||;|\s\|\s|\$\()\s*/).filter((s) => s.trim() !== '');

// ---------------------------------------------------------------------------------------------

const { commands, aliases } = await loadCommands();
const GLOBAL = new Set(['help', 'version', 'verbose']);
const helperFlags = new Set<string>([...GLOBAL]);
for (const c of commands.values()) for (const f of c.flags.keys()) helperFlags.add(f);
const allBenchFlags = benchFlags();
const topWords = new Set([...commands.keys()].filter((p) => !p.includes(' ')).concat([...aliases.keys()].filter((a) => !a.includes(' '))));

/** resolveCommands reads the helper command(s) a segment's words name: `push`, `pki renew`, `pki init|show|renew`. */
function resolveCommands(words: string[]): string[] {
  const first = (words[0] ?? '').split('|').map((w) => aliases.get(w) ?? w);
  if (!first.length || !first.every((w) => commands.has(w))) return [];
  const out: string[] = [];
  for (const w of first) {
    const c = commands.get(w)!;
    if (c.leaf) {
      out.push(w);
      continue;
    }
    const subs = (words[1] ?? '')
      .split('|')
      .map((s) => aliases.get(`${w} ${s}`) ?? `${w} ${s}`)
      .filter((p) => commands.has(p));
    out.push(...(subs.length ? subs : [...commands.keys()].filter((p) => p.startsWith(`${w} `))));
  }
  return out;
}

function contextOf(segment: string): { context: Context; rest: string } {
  let words = segment
    .trim()
    .replace(/^\$\s+/, '')
    .split(/\s+/);
  while (words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0]!)) words = words.slice(1);
  if (words[0] === 'sudo') words = words.slice(1);
  const head = words[0] ?? '';
  if (head === 'node' && /container-registry\.mjs$/.test(words[1] ?? '')) words = ['container-registry', ...words.slice(2)];
  if (head === 'node' && /^(?:\.\/)?bench\/[\w-]+\.mjs$/.test(words[1] ?? '')) {
    return { context: { kind: 'bench', script: words[1]!.replace(/^.*bench\//, '') }, rest: words.slice(2).join(' ') };
  }
  if (HELPER_PREFIX.test(words[0] ?? '')) {
    return { context: { kind: 'helper', commands: resolveCommands(words.slice(1)) }, rest: words.slice(1).join(' ') };
  }
  if (topWords.has((head.split('|')[0] ?? '').replace(/[^a-z-]/g, '')) && head === head.toLowerCase() && /^[a-z|-]+$/.test(head)) {
    const cmds = resolveCommands(words);
    if (cmds.length) return { context: { kind: 'helper', commands: cmds }, rest: words.join(' ') };
  }
  if (/^[a-z][\w.-]*$/.test(head) && !head.startsWith('-') && words.length > 1 && /(?<![\w-])-/.test(words.slice(1).join(' '))) {
    // Another program with options of its own (skopeo, npx tap, git, bitbake, apt-get, ...).
    return { context: { kind: 'other', program: head }, rest: '' };
  }
  return { context: { kind: 'none' }, rest: segment };
}

interface Problem {
  where: string;
  what: string;
}
const flagProblems: Problem[] = [];
const checkedFlags: string[] = [];
const external = new Set<string>();

function knownIn(cmds: string[], flag: string): boolean {
  if (GLOBAL.has(flag)) return true;
  const neg = /^no-(.*)$/.exec(flag)?.[1];
  return cmds.some((p) => {
    const c = commands.get(p)!;
    return c.flags.has(flag) || (neg !== undefined && c.flags.get(neg)?.boolean === true);
  });
}
const knownAnywhere = (flag: string) => {
  const neg = /^no-(.*)$/.exec(flag)?.[1];
  return helperFlags.has(flag) || allBenchFlags.has(flag) || (neg !== undefined && knownIn([...commands.keys()], flag));
};
/** headingCommands is what a heading like "### `container-registry pki renew`" names. */
function headingCommands(heading: string): string[] {
  for (const span of codeSpans(heading)) {
    const { context } = contextOf(span);
    if (context.kind === 'helper' && context.commands.length) return context.commands;
  }
  return [];
}

function checkCommandText(text: string, where: string, fallback: string[]): void {
  for (const seg of segments(text)) {
    const { context, rest } = contextOf(seg);
    const body = stripQuoted(rest);
    if (context.kind === 'other') {
      external.add(context.program);
      continue;
    }
    for (const m of body.matchAll(FLAG)) {
      const flag = m[1]!;
      checkedFlags.push(flag);
      if (context.kind === 'helper' && context.commands.length) {
        if (!knownIn(context.commands, flag))
          flagProblems.push({ where, what: `--${flag} is not an option of \`container-registry ${context.commands.join('|')}\`` });
      } else if (context.kind === 'bench') {
        const src = benchSource(context.script);
        const common = benchSource('common.mjs') ?? '';
        if (src === undefined) flagProblems.push({ where, what: `bench/${context.script} does not exist` });
        else if (!benchParses(src, flag) && !benchParses(common, flag))
          flagProblems.push({ where, what: `--${flag} is not parsed by bench/${context.script}` });
      } else if (fallback.length) {
        if (!knownIn(fallback, flag))
          flagProblems.push({ where, what: `--${flag} is not an option of \`container-registry ${fallback.join('|')}\` (the heading's command)` });
      } else if (!knownAnywhere(flag)) {
        flagProblems.push({ where, what: `--${flag} is an option of no helper command and no benchmark` });
      }
    }
    // Short flags only where the command is known.
    const cmds =
      context.kind === 'helper' && context.commands.length
        ? context.commands
        : context.kind === 'none' && fallback.length && /^\s*-[a-zA-Z]\s*$/.test(body)
          ? fallback
          : [];
    if (cmds.length) {
      for (const m of body.matchAll(SHORT)) {
        const s = m[1]!;
        if (!cmds.some((p) => [...commands.get(p)!.flags.values()].some((f) => f.short === s)) && s !== 'h') {
          flagProblems.push({ where, what: `-${s} is not a short option of \`container-registry ${cmds.join('|')}\`` });
        }
      }
    }
  }
}

for (const file of CHECKED) {
  for (const p of pieces(file)) {
    const where = `${rel(file)}:${p.line}`;
    const fallback = headingCommands(p.heading);
    if (p.kind === 'code') {
      checkCommandText(p.text, where, fallback);
      continue;
    }
    // Prose: every code span is a possible command; what is left is checked against the heading's command, or all.
    let prose = p.text;
    for (const span of codeSpans(p.text)) {
      checkCommandText(span, where, fallback);
      prose = prose.replace(`\`${span}\``, ' ');
    }
    for (const m of prose.replace(/\]\([^)]*\)/g, ']').matchAll(FLAG)) {
      const flag = m[1]!;
      checkedFlags.push(flag);
      if (fallback.length ? !knownIn(fallback, flag) : !knownAnywhere(flag)) {
        flagProblems.push({
          where,
          what: `--${flag} (in prose) is ${fallback.length ? `not an option of \`container-registry ${fallback.join('|')}\`` : 'an option of no helper command and no benchmark'}`,
        });
      }
    }
  }
}

t.test('the helper answers --help for every command', async (t) => {
  t.ok(commands.size >= 20, `${commands.size} commands and groups read from ${rel(BUNDLE)}`);
  for (const want of ['serve', 'start', 'push', 'pki renew', 'auth add', 'config', 'script']) t.ok(commands.has(want), `${want} is a command`);
  t.ok(commands.get('push')!.flags.has('deploy-dir'), 'push --deploy-dir parsed from its help');
  t.equal(commands.get('push')!.flags.get('tag')?.short, 't', 'push -t is --tag');
});

t.test('every flag the docs name exists', async (t) => {
  t.ok(checkedFlags.length > 100, `${checkedFlags.length} flag mentions checked in ${CHECKED.map(rel).join(', ')}`);
  t.same(flagProblems, [], 'no flag the helper or the benchmarks lack');
  t.comment(`flags of other programs, not checked: ${[...external].sort().join(', ')}`);
});

// ---------------------------------------------------------------------------------------------
// Variables.

const VAR = /\b(?:CONTAINER_REGISTRY|OCI_IMAGE)_[A-Z0-9_]*[A-Z0-9]\b/g;
function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name !== '__pycache__' && e.name !== 'node_modules') out.push(...sourceFiles(p));
    } else if (!/\.(pyc|png|jpg)$/.test(e.name)) out.push(p);
  }
  return out;
}
const SOURCES = [...sourceFiles(join(ROOT, 'tools', 'src')), ...sourceFiles(join(ROOT, 'meta-container-registry'))].filter(
  (f) => !f.endsWith(join('files', 'container-registry.mjs')),
);
const sourceVars = new Set<string>();
for (const f of SOURCES) for (const m of readFileSync(f, 'utf8').matchAll(VAR)) sourceVars.add(m[0]);

t.test('every CONTAINER_REGISTRY_* and OCI_IMAGE_* variable the docs name exists', async (t) => {
  t.ok(sourceVars.size > 30, `${sourceVars.size} variables in tools/src and meta-container-registry`);
  const problems: Problem[] = [];
  let count = 0;
  for (const file of CHECKED) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((l, i) => {
        const where = `${rel(file)}:${i + 1}`;
        for (const m of l.matchAll(VAR)) {
          count++;
          if (!sourceVars.has(m[0])) problems.push({ where, what: `${m[0]} is used nowhere in tools/src or meta-container-registry` });
        }
        // Shorthand after a full name on the same line: `CONTAINER_REGISTRY_USER`/`_PASSWORD`.
        const prefix = /\b(CONTAINER_REGISTRY|OCI_IMAGE)_[A-Z0-9_]*[A-Z0-9]\b/.exec(l)?.[1];
        if (prefix) {
          for (const m of l.matchAll(/(?<=[`/\s(])_([A-Z][A-Z0-9_]*[A-Z0-9])\b/g)) {
            count++;
            if (!sourceVars.has(`${prefix}_${m[1]}`))
              problems.push({ where, what: `_${m[1]} (${prefix}_${m[1]}) is used nowhere in tools/src or meta-container-registry` });
          }
        }
      });
  }
  t.ok(count > 100, `${count} variable mentions checked`);
  t.same(problems, [], 'no variable the layer and the helper lack');
});

t.test('every variable the bbclasses document is in docs/yocto.md', async (t) => {
  const yocto = readFileSync(join(DOCS_DIR, 'yocto.md'), 'utf8');
  const classes = join(ROOT, 'meta-container-registry', 'classes');
  const documented = readdirSync(classes)
    .filter((f) => f.endsWith('.bbclass'))
    .flatMap((f) => [...readFileSync(join(classes, f), 'utf8').matchAll(/^([A-Z][A-Z0-9_]*)\[doc\]/gm)].map((m) => m[1]!));
  t.ok(documented.length >= 25, `${documented.length} variables with [doc] in the bbclasses`);
  t.same(
    documented.filter((v) => !new RegExp(`\`${v}\``).test(yocto)),
    [],
    'each one named in docs/yocto.md',
  );
});

// ---------------------------------------------------------------------------------------------
// The CLI reference is complete.

t.test('docs/cli.md has every command under its own heading, with every flag', async (t) => {
  const file = join(DOCS_DIR, 'cli.md');
  const sections = new Map<string, string>();
  let current: string | undefined;
  for (const l of readFileSync(file, 'utf8').split('\n')) {
    const h = /^#{2,4}\s+`container-registry ([a-z -]+)`\s*$/.exec(l);
    if (h) {
      current = h[1]!.trim();
      sections.set(current, '');
      continue;
    }
    if (/^#{1,4}\s/.test(l)) current = undefined;
    if (current) sections.set(current, `${sections.get(current)! + l}\n`);
  }
  const clientFlags =
    readFileSync(file, 'utf8')
      .split('### Options of every client command')[1]
      ?.split(/\n### /)[0] ?? '';
  // Flags of many commands (--state-dir beside every --storage) are documented once, in this section.
  const everyCommandFlags = readFileSync(file, 'utf8').split('\n## Options of every command\n')[1]?.split(/\n## /)[0] ?? '';
  for (const c of [...commands.values()].filter((c) => c.leaf)) {
    const text = sections.get(c.path);
    if (!t.ok(text !== undefined, `a heading \`container-registry ${c.path}\``)) continue;
    const missing = [...c.flags.keys()].filter(
      (f) => !GLOBAL.has(f) && ![text!, clientFlags, everyCommandFlags].some((doc) => new RegExp(`--${f}(?![a-z0-9-])`).test(doc)),
    );
    t.same(missing, [], `container-registry ${c.path}: every flag of its --help`);
  }
});

// ---------------------------------------------------------------------------------------------
// The module map names every folder of tools/src.

t.test('docs/architecture.md maps every folder of tools/src', async (t) => {
  const arch = readFileSync(join(DOCS_DIR, 'architecture.md'), 'utf8');
  const folders: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (!e.isDirectory()) continue;
      folders.push(relative(ROOT, join(dir, e.name)).split('\\').join('/'));
      walk(join(dir, e.name));
    }
  };
  walk(join(ROOT, 'tools', 'src'));
  t.ok(folders.length > 10, `${folders.length} folders`);
  t.same(
    folders.filter((f) => !arch.includes(`| \`${f}/\` |`)),
    [],
    'each one has a row in the module map',
  );
  const listed = [...arch.matchAll(/^\| `(tools\/src\/[^`]+)\/` \|/gm)].map((m) => m[1]!);
  t.same(
    listed.filter((f) => !existsSync(join(ROOT, f))),
    [],
    'and the map names no folder that is gone',
  );
});

// ---------------------------------------------------------------------------------------------
// Links.

/** slug is GitHub's anchor for a heading. */
const slug = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/<[^>]+>/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
function anchorsOf(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const p of pieces(file)) {
    const h = /^#{1,6}\s+(.*)$/.exec(p.text);
    if (p.kind !== 'prose' || !h || p.text.includes('\n')) continue;
    const base = slug(h[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n ? `${base}-${n}` : base);
  }
  return out;
}

t.test('every relative link in README, CONTRIBUTING, CHANGELOG and docs/ reaches its file and heading', async (t) => {
  const problems: Problem[] = [];
  let count = 0;
  for (const file of LINKED) {
    for (const p of pieces(file)) {
      if (p.kind !== 'prose') continue;
      const text = p.text.replace(/`[^`]*`/g, '');
      for (const m of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
        const target = m[1]!;
        if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:
        count++;
        const where = `${rel(file)}:${p.line}`;
        const [path, anchor] = target.split('#') as [string, string | undefined];
        const dest = path === '' ? file : resolve(dirname(file), decodeURIComponent(path));
        if (!existsSync(dest)) {
          problems.push({ where, what: `${target}: no such file` });
          continue;
        }
        if (anchor && statSync(dest).isFile() && dest.endsWith('.md') && !anchorsOf(dest).has(anchor)) {
          problems.push({ where, what: `${target}: no heading #${anchor} in ${rel(dest)}` });
        }
      }
    }
  }
  t.ok(count > 20, `${count} relative links checked`);
  t.same(problems, [], 'every link reaches its file (and heading)');
});
