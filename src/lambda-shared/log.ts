/**
 * The handlers' logger: Powertools for AWS Lambda's Logger (structured JSON, one line per notable event, with the
 * level, the message, the service, the handler's name, the correlation keys of the invocation and the fields given).
 * Never pass secrets in the fields.
 *
 * `LOG_LEVEL` (debug, info, warn, error, silent; default info) sets the level and is read at every line, as before;
 * Powertools' own `POWERTOOLS_LOG_LEVEL` and Lambda's advanced logging controls (`AWS_LAMBDA_LOG_LEVEL`) apply
 * when `LOG_LEVEL` is not set.
 */
// esbuild bundles Powertools into each handler; the construct package never loads it, so it is only a devDependency.
// eslint-disable-next-line import/no-extraneous-dependencies
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Record<string, unknown>;

/** The correlation keys of one invocation: every line of the invocation carries those known. */
export interface CorrelationKeys {
  /** The Step Functions execution ARN of the run. */
  readonly executionArn?: string;
  readonly instanceId?: string;
  /** The SSM command id. */
  readonly commandId?: string;
  /** The AWS Backup job id (backup or copy). */
  readonly jobId?: string;
}

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /**
   * Starts an invocation: drops the previous invocation's correlation keys and keeps the known ones of `keys`.
   * Call it first in a handler.
   */
  correlate(keys: CorrelationKeys): void;
  /** Adds correlation keys learned during the invocation (a command id, a job id). */
  appendKeys(keys: CorrelationKeys): void;
}

/** The service every handler's lines carry. */
export const LOG_SERVICE = 'pre-post-script-backup';

const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'];

/** LOG_LEVEL as Powertools spells it, or undefined when unset or unknown. */
function configuredLevel(): 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT' | undefined {
  const configured = (process.env.LOG_LEVEL ?? '').toLowerCase();
  return LEVELS.includes(configured) ? configured.toUpperCase() as 'DEBUG' : undefined;
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

/** The known keys, without the undefined or empty ones. */
function known(keys: CorrelationKeys): Record<string, string> {
  return Object.fromEntries(Object.entries(keys).filter(([, v]) => typeof v === 'string' && v !== '')) as Record<string, string>;
}

/** Creates the logger of one handler. */
export function createLogger(handler: string): Logger {
  const level = configuredLevel();
  const logger = new PowertoolsLogger({
    serviceName: LOG_SERVICE,
    persistentKeys: { handler },
    jsonReplacerFn: replacer,
    ...(level ? { logLevel: level } : {}),
  });
  let current = level;
  // LOG_LEVEL is read at every line (tests and the simulator set it after the bundle is loaded).
  const follow = (): void => {
    const now = configuredLevel();
    if (now && now !== current) {
      logger.setLogLevel(now);
      current = now;
    }
  };
  return {
    debug: (message, fields) => { follow(); logger.debug(message, fields ?? {}); },
    info: (message, fields) => { follow(); logger.info(message, fields ?? {}); },
    warn: (message, fields) => { follow(); logger.warn(message, fields ?? {}); },
    error: (message, fields) => { follow(); logger.error(message, fields ?? {}); },
    correlate: (keys) => {
      logger.resetKeys();
      logger.appendKeys(known(keys));
    },
    appendKeys: (keys) => logger.appendKeys(known(keys)),
  };
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/**
 * The correlation keys an event carries, wherever the workflow puts them: `execution.id` (the execution ARN),
 * `instanceId`, a previous result's `commandId` / `backupJobId` / `copyJobId`, or an EventBridge event's detail
 * (`instance-id`, `command-id`, `backupJobId`, `copyJobId`).
 */
export function correlationOf(event: unknown): CorrelationKeys {
  const e = (event ?? {}) as Record<string, unknown>;
  const at = (value: unknown): Record<string, unknown> => (value && typeof value === 'object' ? value as Record<string, unknown> : {});
  const execution = at(e.execution);
  const previous = at(e.previous);
  const instance = at(e.instance);
  const detail = at(e.detail);
  return known({
    executionArn: text(execution.id),
    instanceId: text(e.instanceId) ?? text(instance.instanceId) ?? text(previous.instanceId) ?? text(detail['instance-id']),
    commandId: text(e.commandId) ?? text(previous.commandId) ?? text(detail['command-id']),
    jobId: text(previous.backupJobId) ?? text(previous.copyJobId) ?? text(detail.backupJobId) ?? text(detail.copyJobId),
  });
}
