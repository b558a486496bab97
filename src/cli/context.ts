// What every subcommand gets: parsed global flags, and lazily the config, the store and the
// profile compiler. Nothing is opened until a command asks for it, and close() releases it all.
import { loadConfig, type Config } from '../config/index.js';
import { storeFromConfig, whenReady, type Store } from '../store/index.js';
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

  /** The configured store (store.url): SQLite opened here; PostgreSQL connects on its first call. */
  get store(): Store {
    this.st ??= storeFromConfig(this.config);
    return this.st;
  }

  /** The store, connected and migrated: an unreachable PostgreSQL fails here (E_STORE_UNREACHABLE). */
  async openStore(): Promise<Store> {
    await whenReady(this.store);
    return this.store;
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
