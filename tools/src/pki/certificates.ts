// Issuing the two certificates: a self-signed CA, and a server certificate it signs. The
// extensions are the ones strict clients (Go's crypto/x509, openssl verify -purpose sslserver) check.
import { randomBytes } from 'node:crypto';
import { x509 } from './x509.js';
import { certSigningAlgorithm, type KeyAlgorithm } from './keys.js';
import { normalizeIp, type SubjectAltName } from './sans.js';

const DAY_MS = 24 * 60 * 60 * 1000;

// Backdated a little so a guest whose clock lags the host still accepts a fresh certificate.
const BACKDATE_MS = 60 * 60 * 1000;

/** serialNumber is 16 random bytes with the top bit clear (a positive INTEGER, RFC 5280 4.1.2.2). */
function serialNumber(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}

/** IssueCaOptions configure a new CA. */
export interface IssueCaOptions {
  keys: CryptoKeyPair;
  algorithm: KeyAlgorithm;
  days: number;
  commonName: string;
  now?: Date;
}

/** issueCa makes a self-signed CA certificate that may sign end-entity certificates only (pathLen 0). */
export async function issueCa(o: IssueCaOptions): Promise<x509.X509Certificate> {
  const now = o.now ?? new Date();
  return x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: new x509.Name([{ CN: [o.commonName] }, { O: ['meta-container-registry'] }]),
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + o.days * DAY_MS),
    keys: o.keys,
    signingAlgorithm: certSigningAlgorithm(o.algorithm),
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(o.keys.publicKey),
    ],
  });
}

/** IssueServerOptions configure a server certificate. */
export interface IssueServerOptions {
  ca: x509.X509Certificate;
  caKey: CryptoKey;
  caAlgorithm: KeyAlgorithm;
  publicKey: CryptoKey;
  serverAlgorithm: KeyAlgorithm;
  sans: readonly SubjectAltName[];
  days: number;
  now?: Date;
}

/** issueServer signs a TLS server certificate: CA:false, serverAuth, the given SANs; never outlives its CA. */
export async function issueServer(o: IssueServerOptions): Promise<x509.X509Certificate> {
  const now = o.now ?? new Date();
  const wantedEnd = new Date(now.getTime() + o.days * DAY_MS);
  const notAfter = wantedEnd > o.ca.notAfter ? o.ca.notAfter : wantedEnd;
  const firstDns = o.sans.find((s) => s.type === 'dns')?.value ?? 'localhost';
  // RSA key exchange (TLS 1.2 RSA suites) needs keyEncipherment; ECDSA keys only sign.
  const usage =
    o.serverAlgorithm === 'ecdsa-p256' ? x509.KeyUsageFlags.digitalSignature : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment;
  return x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: new x509.Name([{ CN: [firstDns] }, { O: ['meta-container-registry'] }]),
    issuer: o.ca.subjectName,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter,
    publicKey: o.publicKey,
    signingKey: o.caKey,
    signingAlgorithm: certSigningAlgorithm(o.caAlgorithm),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usage, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(o.sans.map((s) => ({ type: s.type, value: s.value }))),
      await x509.SubjectKeyIdentifierExtension.create(o.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(o.ca, false),
    ],
  });
}

/** parseCertificatePem reads a PEM certificate. */
export function parseCertificatePem(pem: string): x509.X509Certificate {
  return new x509.X509Certificate(pem);
}

/** sansOf lists the DNS and IP SANs of a certificate (IPs normalized as wantedSans writes them). */
export function sansOf(cert: x509.X509Certificate): SubjectAltName[] {
  const ext = cert.getExtension(x509.SubjectAlternativeNameExtension);
  if (!ext) return [];
  const out: SubjectAltName[] = [];
  for (const n of ext.names.items) {
    if (n.type === 'dns') out.push({ type: 'dns', value: n.value.toLowerCase() });
    else if (n.type === 'ip') {
      const ip = normalizeIp(n.value);
      if (ip) out.push({ type: 'ip', value: ip });
    }
  }
  return out;
}

/** isSignedBy tells whether `cert` carries a valid signature of `issuer`'s key. */
export async function isSignedBy(cert: x509.X509Certificate, issuer: x509.X509Certificate): Promise<boolean> {
  try {
    return await cert.verify({ publicKey: issuer.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

/** daysLeft is the whole days until a certificate expires (negative when expired). */
export function daysLeft(cert: x509.X509Certificate, now: Date = new Date()): number {
  return Math.floor((cert.notAfter.getTime() - now.getTime()) / DAY_MS);
}
