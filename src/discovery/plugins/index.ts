// The built-in insert-ethers plugins, in the order they run (by name).
import type { Plugin } from '../plugin.js';
import { hostsFilePlugin } from './hosts-file.js';
import { bootActionPlugin } from './boot-action.js';

export function builtinPlugins(_deps: object = {}): Plugin[] {
  return [hostsFilePlugin, bootActionPlugin];
}
