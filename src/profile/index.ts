// Public surface of src/profile: Rocks node XML + graph XML → kickstart.
export { ProfileCompiler, type ProfileSources, type Attributes } from './compiler.js';
export { evaluateCond, parseCond, passes, type Filters } from './cond.js';
export { DEFAULT_GLOBAL_ATTRIBUTES } from './defaults.js';
export { shq } from './render.js';
export { readRolls, rollLayout, rollsFile, ROLL_NAME, type Roll } from './rolls.js';
