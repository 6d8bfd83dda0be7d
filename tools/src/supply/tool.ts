// The tool supply-chain documents name as their maker (artifact annotation, provenance builder).
// TOOL_VERSION mirrors cli.ts's VERSION without importing the entry module (which a command chunk
// must not do); test/supply-unit.test.ts keeps both equal to package.json's version.

/** TOOL_NAME is this layer's name. */
export const TOOL_NAME = 'meta-container-registry';

/** TOOL_VERSION is the helper's version. */
export const TOOL_VERSION = '0.1.0';
