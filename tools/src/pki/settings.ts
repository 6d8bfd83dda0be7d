// The PKI's settings from the environment the generated script (or the user) exports.
import { rawSetting, readNumber, type Env } from '../settings/values.js';
import { wantedSans, type SubjectAltName } from './sans.js';

/** PkiSettings are the validity periods and names every PKI command uses. */
export interface PkiSettings {
  caDays: number;
  certDays: number;
  sans: SubjectAltName[];
}

/** pkiSettingsFromEnv reads CONTAINER_REGISTRY_CA_DAYS, _CERT_DAYS (defaults 3650 and 365 days, from the settings table), _CERT_SAN and _URL. */
export function pkiSettingsFromEnv(env: Env, hostname?: string): PkiSettings {
  return {
    caDays: readNumber(env, 'CONTAINER_REGISTRY_CA_DAYS'),
    certDays: readNumber(env, 'CONTAINER_REGISTRY_CERT_DAYS'),
    sans: wantedSans({ hostname, registryUrl: rawSetting(env, 'CONTAINER_REGISTRY_URL'), extra: rawSetting(env, 'CONTAINER_REGISTRY_CERT_SAN') }),
  };
}
