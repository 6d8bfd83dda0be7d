// What `pki show` prints: for each certificate its subject, issuer, names, validity, key and
// SHA-256 fingerprint (the form `openssl x509 -fingerprint -sha256` prints, to compare by eye).
import { X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { StateDir } from '../state/state-dir.js';
import { parseCertificatePem, sansOf } from './certificates.js';
import { formatSan } from './sans.js';

/** CertificateSummary describes one certificate file. */
export interface CertificateSummary {
  role: 'ca' | 'server';
  file: string;
  subject: string;
  issuer: string;
  sans: string[];
  notBefore: string;
  notAfter: string;
  daysLeft: number;
  key: string;
  sha256: string;
  serial: string;
}

function keyDescription(cert: X509Certificate): string {
  const k = cert.publicKey;
  const d = k.asymmetricKeyDetails ?? {};
  if (k.asymmetricKeyType === 'ec') return d.namedCurve === 'prime256v1' ? 'ECDSA P-256' : `EC ${d.namedCurve ?? ''}`.trim();
  if (k.asymmetricKeyType === 'rsa') return `RSA ${d.modulusLength ?? ''}`.trim();
  return k.asymmetricKeyType ?? 'unknown';
}

/** summarize reads what a person checks in a PEM certificate. */
export function summarize(role: 'ca' | 'server', file: string, pem: string, now: Date = new Date()): CertificateSummary {
  const node = new X509Certificate(pem);
  const cert = parseCertificatePem(pem);
  return {
    role,
    file,
    subject: cert.subject,
    issuer: cert.issuer,
    sans: sansOf(cert).map(formatSan),
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    daysLeft: Math.floor((cert.notAfter.getTime() - now.getTime()) / 86_400_000),
    key: keyDescription(node),
    sha256: node.fingerprint256,
    serial: node.serialNumber,
  };
}

/** showPki summarizes the CA and server certificates that exist in a storage directory. */
export async function showPki(storageDir: StateDir | string, now: Date = new Date()): Promise<CertificateSummary[]> {
  const paths = StateDir.of(storageDir);
  const out: CertificateSummary[] = [];
  for (const [role, file] of [
    ['ca', paths.caCert()],
    ['server', paths.serverCert()],
  ] as const) {
    let pem: string;
    try {
      pem = await readFile(file, 'utf8');
    } catch {
      continue;
    }
    out.push(summarize(role, file, pem, now));
  }
  return out;
}

/** formatSummary renders summaries as the indented text `pki show` prints. */
export function formatSummary(list: CertificateSummary[]): string {
  return list
    .map((c) =>
      [
        `${c.role === 'ca' ? 'CA' : 'Server'} certificate: ${c.file}`,
        `  subject:     ${c.subject}`,
        `  issuer:      ${c.issuer}`,
        ...(c.sans.length ? [`  names:       ${c.sans.join(', ')}`] : []),
        `  valid:       ${c.notBefore} to ${c.notAfter} (${c.daysLeft < 0 ? 'EXPIRED' : `${c.daysLeft} days left`})`,
        `  key:         ${c.key}`,
        `  serial:      ${c.serial}`,
        `  SHA-256:     ${c.sha256}`,
      ].join('\n'),
    )
    .join('\n\n');
}
