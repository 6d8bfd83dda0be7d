// @peculiar/x509, set up once: its decorators need reflect-metadata loaded before it, and it signs
// with Node's own webcrypto (no polyfill, no native add-on).
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/** x509 is @peculiar/x509 with Node's webcrypto as its provider. */
export { x509 };
