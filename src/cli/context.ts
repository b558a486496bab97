// What every subcommand gets: parsed global flags, and lazily the config, the store and the
// profile compiler. Nothing is opened until a command asks for it, and close() releases it all.
import { loadConfig, type Config } from '../config/index.js';
import { openStore, type Store } from '../store/index.js';
import type { Logger } from '../log/logger.js';
import { createLogger } from '../log/logger.js';
import { logSettings, type LogChoice } from '../app/log-settings.js';

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

export interface GlobalFlags {
  stateDir?: string | undefined;
  configFile?: string | undefined;
  set: Record<string, string>;
}

export class CliContext {
  private cfg: Config | undefined;
  private st: Store | undefined;
  constructor(
    readonly flags: GlobalFlags,
    readonly io: Io,
    readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  get config(): Config {
    if (!this.cfg) {
      const overrides = { ...this.flags.set };
      if (this.flags.stateDir !== undefined) overrides['stateDir'] = this.flags.stateDir;
      this.cfg = loadConfig({ file: this.flags.configFile, env: this.env, overrides });
    }
    return this.cfg;
  }

  get store(): Store {
    this.st ??= openStore(this.config.stateDir, { maxEvents: this.config.events.maxRows });
    return this.st;
  }

  /** The logger of the config's log.format and log.level (or logLevel); `choice` (flags) wins. */
  logger(choice: LogChoice = {}): Logger {
    return createLogger(logSettings(this.config, choice));
  }

  async close(): Promise<void> {
    if (this.st) await this.st.close();
    this.st = undefined;
  }
}
