// Image names from deploy/ entries: `container-base-qemux86-64.rootfs-20260112143022-oci` →
// `container-base`. Strips the -oci/.tar suffix, `-latest`, build timestamps, `.rootfs`/`-rootfs`
// and the machine suffix — using the machine folder names that exist, not a fixed list.
import { nameProblem } from '../oci/names.js';
import { HelperError } from '../errors/helper-error.js';

/** EntryName is what a deploy/ entry's name says. */
export interface EntryName {
  /** the image name, machine and build parts removed */
  name: string;
  /** the entry without its -oci / -oci.tar suffix */
  stem: string;
  archive: boolean;
  /** the `-latest` link name (points at a timestamped build) */
  latestLink: boolean;
  /** build time from a timestamp in the name (ms since epoch), if it has one */
  built: number | undefined;
}

const OCI_SUFFIX = /(?:-oci|\.oci)(\.tar)?$/;

/** isOciEntryName tells whether a deploy/ entry looks like an OCI layout or archive. */
export function isOciEntryName(entry: string): boolean {
  return OCI_SUFFIX.test(entry);
}

function parseStamp(digits: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?$/.exec(digits);
  if (!m) return undefined;
  const t = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +(m[6] ?? 0));
  return Number.isNaN(t) ? undefined : t;
}

/** parseEntryName strips everything but the image name; `machines` are the machine folder names. */
export function parseEntryName(entry: string, machines: string[]): EntryName | undefined {
  const m = OCI_SUFFIX.exec(entry);
  if (!m) return undefined;
  const archive = m[1] !== undefined;
  const stem = entry.slice(0, m.index);
  let name = stem;
  let latestLink = false;
  let built: number | undefined;
  const sorted = [...new Set(machines)].filter(Boolean).sort((a, b) => b.length - a.length);
  for (let changed = true; changed; ) {
    changed = false;
    const before = name;
    if (/-latest$/.test(name)) {
      name = name.slice(0, -'-latest'.length);
      latestLink = true;
    }
    // DATETIME (YYYYMMDDHHMMSS), the split form (YYYYMMDD-HHMMSS), with '-' or '_' or '.' before it
    const ts = /[-_.](\d{8})-?(\d{4}(?:\d{2})?)$/.exec(name);
    if (ts) {
      const t = parseStamp(`${ts[1]}${ts[2]}`);
      if (t !== undefined) {
        built ??= t;
        name = name.slice(0, ts.index);
      }
    }
    name = name.replace(/[.-]rootfs$/, '');
    for (const machine of sorted) {
      if (name.endsWith(`-${machine}`) && name.length > machine.length + 1) {
        name = name.slice(0, -(machine.length + 1));
        break;
      }
    }
    changed = name !== before;
  }
  return { name, stem, archive, latestLink, built };
}

/** repositoryFor joins the namespace and checks the OCI name grammar, naming image and rule on failure. */
export function repositoryFor(namespace: string, name: string, what: string): string {
  const ns = namespace.replace(/^\/+|\/+$/g, '');
  const repo = ns ? `${ns}/${name}` : name;
  const problem = nameProblem(repo);
  if (problem) throw new NamingError(`${what} gives the repository name ${JSON.stringify(repo)}, which is not valid: ${problem}`);
  return repo;
}

/** NamingError is an image whose name does not fit the OCI name grammar. */
export class NamingError extends HelperError {
  constructor(message: string) {
    super('name', message);
    this.name = 'NamingError';
  }
}
