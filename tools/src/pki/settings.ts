// The PKI's settings from the environment the generated script (or the user) exports.
import { CliError } from '../cli/errors.js';
import { wantedSans, type SubjectAltName } from './sans.js';

/** DEFAULT_CA_DAYS is CONTAINER_REGISTRY_CA_DAYS's default (ten years: targets keep trusting one CA). */
export const DEFAULT_CA_DAYS = 3650;

/** DEFAULT_CERT_DAYS is CONTAINER_REGISTRY_CERT_DAYS's default. */
export const DEFAULT_CERT_DAYS = 365;

/** PkiSettings are the validity periods and names every PKI command uses. */
export interface PkiSettings {
  caDays: number;
  certDays: number;
  sans: SubjectAltName[];
}

function days(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  if (text === undefined || text.trim() === '') return fallback;
  if (!/^\d{1,5}$/.test(text.trim()) || Number(text) < 1 || Number(text) > 36500) {
    throw new CliError('usage', `${name} must be a number of days between 1 and 36500, not ${JSON.stringify(text)}`, { exitCode: 2 });
  }
  return Number(text);
}

/** pkiSettingsFromEnv reads CONTAINER_REGISTRY_CA_DAYS, _CERT_DAYS, _CERT_SAN and _URL. */
export function pkiSettingsFromEnv(env: NodeJS.ProcessEnv, hostname?: string): PkiSettings {
  return {
    caDays: days(env, 'CONTAINER_REGISTRY_CA_DAYS', DEFAULT_CA_DAYS),
    certDays: days(env, 'CONTAINER_REGISTRY_CERT_DAYS', DEFAULT_CERT_DAYS),
    sans: wantedSans({ hostname, registryUrl: env.CONTAINER_REGISTRY_URL, extra: env.CONTAINER_REGISTRY_CERT_SAN }),
  };
}
