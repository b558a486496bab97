export { loadConfig, packageDir, envName, type LoadOptions } from './load.js';
export { configSchema, type Config, type ConfigInput } from './schema.js';
