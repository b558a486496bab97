// `--log-format json|pretty` and `--log-level debug|info|warn|error`, the flags of the commands that
// run services (`netroot serve`, `netroot storage serve`). A flag wins over log.format / log.level
// (and the older logLevel) of the config.
import { UserError } from '../errors.js';
import { LOG_FORMATS, LOG_LEVELS } from '../log/logger.js';
import type { LogChoice } from '../app/log-settings.js';

export const LOG_FLAG_OPTIONS = {
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
} as const;

export const LOG_FLAGS_USAGE = '[--log-format json|pretty] [--log-level debug|info|warn|error]';

function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UserError('E_USAGE', `--${flag} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value.slice(0, 40))}`);
}

/** The log flags given, checked. */
export function logChoice(values: { 'log-format'?: string | undefined; 'log-level'?: string | undefined }): LogChoice {
  const format = oneOf('log-format', values['log-format'], LOG_FORMATS);
  const level = oneOf('log-level', values['log-level'], LOG_LEVELS);
  return { ...(format ? { format } : {}), ...(level ? { level } : {}) };
}
