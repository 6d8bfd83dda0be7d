// Platforms: the spellings build systems use (x86_64, aarch64, armv7l) normalized to the OCI ones,
// a key to compare them (os, architecture, variant) and the suffix the `arch` tag strategy appends.
// https://github.com/opencontainers/image-spec/blob/v1.1.0/image-index.md#platform-variants
import type { Platform } from './manifest.js';

// A Map, not an object: the architecture comes from an image's config, and an object lookup of
// "constructor" or "__proto__" would find Object.prototype's members.
const ARCH_ALIASES = new Map<string, { architecture: string; variant?: string }>(
  Object.entries({
    x86_64: { architecture: 'amd64' },
    'x86-64': { architecture: 'amd64' },
    amd64: { architecture: 'amd64' },
    aarch64: { architecture: 'arm64' },
    arm64: { architecture: 'arm64' },
    armv7l: { architecture: 'arm', variant: 'v7' },
    armv7: { architecture: 'arm', variant: 'v7' },
    armhf: { architecture: 'arm', variant: 'v7' },
    armv6l: { architecture: 'arm', variant: 'v6' },
    armv5tel: { architecture: 'arm', variant: 'v5' },
    i386: { architecture: '386' },
    i586: { architecture: '386' },
    i686: { architecture: '386' },
    riscv64: { architecture: 'riscv64' },
    ppc64le: { architecture: 'ppc64le' },
    powerpc64le: { architecture: 'ppc64le' },
    mips: { architecture: 'mips' },
    mipsel: { architecture: 'mipsle' },
  }),
);

/** normalizePlatform maps build-system spellings to OCI's (x86_64 → amd64, armv7l → arm/v7); arm64's implied v8 is dropped. */
export function normalizePlatform(p: { os?: string; architecture?: string; variant?: string }): Platform {
  const raw = (p.architecture ?? '').toLowerCase();
  const alias = ARCH_ALIASES.get(raw);
  const architecture = alias?.architecture ?? raw;
  let variant = p.variant || alias?.variant;
  if (architecture === 'arm64' && variant === 'v8') variant = undefined;
  const os = (p.os || 'linux').toLowerCase();
  return variant ? { os, architecture, variant } : { os, architecture };
}

/** platformKey identifies a platform for merging indexes: os/architecture[/variant]. */
export function platformKey(p: { os?: string; architecture?: string; variant?: string } | undefined): string {
  const n = normalizePlatform(p ?? {});
  return [n.os, n.architecture, n.variant].filter(Boolean).join('/');
}

/** archSuffix is what the `arch` strategy appends: amd64, arm64, arm-v7 (tag grammar has no '/'). */
export function archSuffix(p: { os?: string; architecture?: string; variant?: string }): string {
  const n = normalizePlatform(p);
  return n.variant ? `${n.architecture}-${n.variant}` : n.architecture;
}
