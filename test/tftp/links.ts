// The transfer links every transfer-level test runs against (a matrix, not copies): node:dgram
// (src/tftp/dgram-link.ts, the reference) first, then the native one (native/tftpio), which must
// behave the same on the wire. The native link needs `npm run build:native`, as npm test does.
import type { LinkKind } from '../../src/tftp/link.js';

export const LINKS: readonly LinkKind[] = ['dgram', 'native'];
