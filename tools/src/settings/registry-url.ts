// CONTAINER_REGISTRY_URL taken apart by the one address parser (oci/reference.ts), with an error
// that names the variable when it cannot be.
import { parseRegistryAddress, type RegistryAddress } from '../oci/reference.js';
import { readString, SettingError, type Env } from './values.js';

/** readRegistryUrl parses CONTAINER_REGISTRY_URL (default localhost:5000); a bad one is a SettingError naming it. */
export function readRegistryUrl(env: Env): RegistryAddress {
  const text = readString(env, 'CONTAINER_REGISTRY_URL');
  try {
    return parseRegistryAddress(text);
  } catch (err) {
    throw new SettingError('CONTAINER_REGISTRY_URL', `CONTAINER_REGISTRY_URL: ${(err as Error).message}`);
  }
}
