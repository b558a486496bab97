// Which log format and level a process runs with: a flag (`--log-format`, `--log-level` of the
// serve commands) wins over the config's log.format / log.level, and log.level over the older
// top-level logLevel.
import type { Config } from '../config/index.js';
import type { Level, LogFormat } from '../log/logger.js';

export interface LogChoice {
  format?: LogFormat;
  level?: Level;
}

export function logSettings(config: Pick<Config, 'log' | 'logLevel'>, choice: LogChoice = {}): { format: LogFormat; level: Level } {
  return { format: choice.format ?? config.log.format, level: choice.level ?? config.log.level ?? config.logLevel };
}
