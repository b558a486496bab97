export * from './format.js';
export * from './keys.js';
export * from './collect.js';
export * from './current.js';
export * from './publish.js';
export * from './node-auth.js';
export * from './client-script.js';
