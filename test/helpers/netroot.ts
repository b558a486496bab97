// `node --import tsx test/helpers/netroot.ts ARGS...` runs the netroot CLI from source (no build).
import { run } from '../../src/cli/main.js';

process.exitCode = await run(process.argv.slice(2));
