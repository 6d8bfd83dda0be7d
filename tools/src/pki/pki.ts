// The PKI of one storage directory: create it once, keep the server certificate valid for the names
// clients use, and never replace the CA unless asked (targets already trust it).
import { createPrivateKey, createPublicKey } from 'node:crypto';
import type * as x509 from '@peculiar/x509';
import { HelperError } from '../errors/helper-error.js';
import { StateDir } from '../state/state-dir.js';
import { DEFAULT_KEY_ALGORITHM, exportKeyPem, generateKeyPair, importKeyPem, type KeyAlgorithm } from './keys.js';
import { daysLeft, isSignedBy, issueCa, issueServer, parseCertificatePem, sansOf } from './certificates.js';
import { formatSan, missingSans, type SubjectAltName } from './sans.js';

/** RENEW_BEFORE_DAYS: a server certificate with fewer days left is re-issued. */
export const RENEW_BEFORE_DAYS = 30;

/** PkiOptions say what the PKI should be. */
export interface PkiOptions {
  /** the storage directory (a path is taken as StateDir.of does) */
  storageDir: StateDir | string;
  /** the SANs the server certificate must carry (wantedSans) */
  sans: readonly SubjectAltName[];
  /** type of newly generated keys; existing keys keep theirs */
  algorithm?: KeyAlgorithm;
  caDays: number;
  certDays: number;
  now?: Date;
}

/** PkiResult tells what ensurePki or renewPki did. */
export interface PkiResult {
  caCreated: boolean;
  /** why the server certificate was issued; undefined when it was kept */
  serverIssued: string | undefined;
  /** things the user should know (a CA near its end, say); never secrets */
  warnings: string[];
  files: { caCert: string; serverCert: string; serverKey: string; clientCaCert: string };
}

interface Loaded {
  cert: x509.X509Certificate;
  keyPem: string;
}

const KEY_MODE = 0o600;

function spkiOfKey(pem: string): Buffer {
  return createPublicKey(createPrivateKey(pem)).export({ type: 'spki', format: 'der' });
}

/** keyMatchesCert tells whether a PEM private key belongs to a certificate. */
export function keyMatchesCert(keyPem: string, cert: x509.X509Certificate): boolean {
  try {
    return spkiOfKey(keyPem).equals(Buffer.from(cert.publicKey.rawData));
  } catch {
    return false;
  }
}

function parseCert(path: string, pem: string): x509.X509Certificate {
  try {
    return parseCertificatePem(pem);
  } catch {
    throw new HelperError('pki-read', `${path} is not a PEM certificate`);
  }
}

async function loadPair(state: StateDir, certPath: string, keyPath: string): Promise<Partial<Loaded>> {
  const [certPem, keyPem] = await Promise.all([state.readText(certPath, 'pki-read'), state.readText(keyPath, 'pki-read')]);
  return { cert: certPem === undefined ? undefined : parseCert(certPath, certPem), keyPem };
}

async function dirs(state: StateDir): Promise<void> {
  await state.makeDir(state.pkiDir(), 0o700);
  await state.makeDir(state.certsDir(), 0o755);
}

async function newCa(state: StateDir, o: PkiOptions): Promise<Loaded> {
  const algorithm = o.algorithm ?? DEFAULT_KEY_ALGORITHM;
  const keys = await generateKeyPair(algorithm);
  const cert = await issueCa({ keys, algorithm, days: o.caDays, commonName: 'container-registry CA', now: o.now });
  const keyPem = await exportKeyPem(keys.privateKey);
  // Key first: a crash between the two leaves a key without a certificate, which the next run
  // replaces; a certificate without its key would be trusted by nobody yet unusable.
  await state.writeFile(state.caKey(), keyPem, KEY_MODE);
  await state.writeFile(state.caCert(), `${cert.toString('pem')}\n`, 0o644);
  return { cert, keyPem };
}

async function newServer(state: StateDir, ca: Loaded, o: PkiOptions): Promise<void> {
  const { key: caKey, algorithm: caAlgorithm } = await importKeyPem(ca.keyPem);
  // Every issue gets a fresh key: a re-issue is also a key rotation.
  const serverAlgorithm = o.algorithm ?? caAlgorithm;
  const keys = await generateKeyPair(serverAlgorithm);
  const cert = await issueServer({ ca: ca.cert, caKey, caAlgorithm, publicKey: keys.publicKey, serverAlgorithm, sans: o.sans, days: o.certDays, now: o.now });
  // The server notices a change of either file and reloads both; writing the key first means a
  // reload between the two renames fails to match, keeps the old pair, and is redone when the
  // certificate lands (its mtime changes again).
  await state.writeFile(state.serverKey(), await exportKeyPem(keys.privateKey), KEY_MODE);
  await state.writeFile(state.serverCert(), `${cert.toString('pem')}\n`, 0o644);
}

async function syncClientCa(state: StateDir, ca: x509.X509Certificate): Promise<void> {
  const pem = `${ca.toString('pem')}\n`;
  if ((await state.readText(state.certsCaCert(), 'pki-read')) !== pem) await state.writeFile(state.certsCaCert(), pem, 0o644);
}

async function serverReason(ca: Loaded, server: Partial<Loaded>, o: PkiOptions): Promise<string | undefined> {
  if (!server.cert) return 'no server certificate';
  if (!server.keyPem) return 'no server key';
  if (!keyMatchesCert(server.keyPem, server.cert)) return 'the server key does not match its certificate';
  if (!(await isSignedBy(server.cert, ca.cert))) return 'the server certificate was not signed by the current CA';
  const missing = missingSans(o.sans, sansOf(server.cert));
  if (missing.length) return `names missing from the certificate: ${missing.map(formatSan).join(', ')}`;
  const left = daysLeft(server.cert, o.now);
  if (left < RENEW_BEFORE_DAYS) return left < 0 ? 'the server certificate has expired' : `the server certificate expires in ${left} days`;
  return undefined;
}

function result(state: StateDir, caCreated: boolean, serverIssued: string | undefined, warnings: string[]): PkiResult {
  return {
    caCreated,
    serverIssued,
    warnings,
    files: { caCert: state.caCert(), serverCert: state.serverCert(), serverKey: state.serverKey(), clientCaCert: state.certsCaCert() },
  };
}

async function loadCa(state: StateDir): Promise<Partial<Loaded>> {
  return loadPair(state, state.caCert(), state.caKey());
}

function checkCa(state: StateDir, ca: Partial<Loaded>): asserts ca is Loaded {
  if (ca.cert && !ca.keyPem) {
    throw new HelperError(
      'pki-ca',
      `${state.caCert()} exists but ${state.caKey()} is missing; restore the key, or replace the CA with \`pki renew --ca\` (targets must then trust the new CA)`,
    );
  }
  if (ca.cert && ca.keyPem && !keyMatchesCert(ca.keyPem, ca.cert)) {
    throw new HelperError('pki-ca', `${state.caKey()} does not belong to ${state.caCert()}; restore the pair, or replace the CA with \`pki renew --ca\``);
  }
}

function caWarnings(ca: Loaded, o: PkiOptions): string[] {
  const left = daysLeft(ca.cert, o.now);
  if (left < RENEW_BEFORE_DAYS) {
    return [`the CA ${left < 0 ? 'has expired' : `expires in ${left} days`}; replace it with \`pki renew --ca\` and give targets the new certs/ca.crt`];
  }
  return [];
}

/**
 * ensurePki creates what is missing and re-issues the server certificate when its names, key, CA or
 * remaining validity call for it. Idempotent: a second call with the same options changes nothing.
 */
export async function ensurePki(o: PkiOptions): Promise<PkiResult> {
  const state = StateDir.of(o.storageDir);
  await dirs(state);
  return state.locked(state.pkiDir(), async () => {
    let ca = await loadCa(state);
    let caCreated = false;
    if (!ca.cert) {
      ca = await newCa(state, o);
      caCreated = true;
    }
    checkCa(state, ca);
    await syncClientCa(state, ca.cert);
    const server = await loadPair(state, state.serverCert(), state.serverKey());
    const reason = caCreated ? 'new CA' : await serverReason(ca, server, o);
    if (reason) await newServer(state, ca, o);
    return result(state, caCreated, reason, caWarnings(ca, o));
  });
}

/** renewPki re-issues the server certificate with a new key; with `ca`, replaces the CA first. */
export async function renewPki(o: PkiOptions & { ca: boolean }): Promise<PkiResult> {
  const state = StateDir.of(o.storageDir);
  await dirs(state);
  return state.locked(state.pkiDir(), async () => {
    let ca = await loadCa(state);
    let caCreated = false;
    if (o.ca || !ca.cert) {
      ca = await newCa(state, o);
      caCreated = true;
    }
    checkCa(state, ca);
    await syncClientCa(state, ca.cert);
    await newServer(state, ca, o);
    const warnings = caWarnings(ca, o);
    if (caCreated && o.ca) warnings.push(`a new CA was made: targets must trust the new ${state.certsCaCert()} before they can pull`);
    return result(state, caCreated, o.ca ? 'new CA' : 'renew asked', warnings);
  });
}
