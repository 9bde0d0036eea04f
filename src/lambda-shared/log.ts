/**
 * A tiny structured logger: one JSON line per notable event, with the level, the message, the handler's name and
 * the fields given. Never pass secrets in the fields.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

const LEVELS: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

function threshold(): number {
  const configured = (process.env.LOG_LEVEL ?? 'info').toLowerCase();
  if (configured === 'silent') {
    return Number.POSITIVE_INFINITY;
  }
  return LEVELS[configured as LogLevel] ?? LEVELS.info;
}

/** Turns values JSON cannot print faithfully (errors, bigints) into plain data. */
function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) {
    return { name: value.name, message: value.message };
  }
  if (typeof value === 'bigint') {
    return value.toString();
  }
  return value;
}

/** Creates the logger of one handler. */
export function createLogger(handler: string): Logger {
  const write = (level: LogLevel, message: string, fields?: LogFields): void => {
    if (LEVELS[level] < threshold()) {
      return;
    }
    const line = JSON.stringify({ level, message, handler, ...(fields ?? {}), time: new Date().toISOString() }, replacer);
    if (level === 'error' || level === 'warn') {
      console.error(line);
    } else {
      console.log(line);
    }
  };
  return {
    debug: (message, fields) => write('debug', message, fields),
    info: (message, fields) => write('info', message, fields),
    warn: (message, fields) => write('warn', message, fields),
    error: (message, fields) => write('error', message, fields),
  };
}
