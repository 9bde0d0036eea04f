/**
 * The construct's settings as the validate-input function receives them (the `SETTINGS` environment variable),
 * checked with a zod schema (Powertools Parser's schema library).
 */
// esbuild bundles zod into the handler; the construct package never loads it, so it is only a devDependency.
// eslint-disable-next-line import/no-extraneous-dependencies
import * as z from 'zod/mini';
import { isPlainObject } from './fields';
import {
  type ConstructSettings, MAX_SCRIPT_RETRIES, PRE_SCRIPT_FAILURE_BACKUP_CRASH_CONSISTENT, PRE_SCRIPT_FAILURE_SKIP_BACKUP,
} from '../../contract/settings';
import { RUN_REMOTE_SCRIPT_MAX_EXECUTION_TIMEOUT_SECONDS } from '../../contract/status';
import { ConfigurationError } from '../../lambda-shared/errors';

/** The settings every deployment sets, with their types (the rest have defaults). */
const REQUIRED_SETTINGS = z.object({
  tagKey: z.string(),
  tagValue: z.string(),
  stopInstances: z.boolean(),
  runPreScript: z.boolean(),
  runPostScript: z.boolean(),
  backupVaultName: z.string(),
  backupRoleArn: z.string(),
  region: z.string(),
  instanceArnPrefix: z.string(),
  maxTargetInstances: z.number(),
});

/** The JavaScript type of each required setting, for the message. */
const REQUIRED_TYPES: Record<string, string> = Object.fromEntries(
  Object.entries(REQUIRED_SETTINGS.shape).map(([key, schema]) => [key, schema._zod.def.type]),
);

/** Parses the `SETTINGS` environment variable the construct sets. Throws `ConfigurationError` when it is unusable. */
export function parseSettings(text: string | undefined): ConstructSettings {
  if (!text) {
    throw new ConfigurationError('the environment variable SETTINGS is not set');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new ConfigurationError(`the environment variable SETTINGS is not JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(parsed)) {
    throw new ConfigurationError('the environment variable SETTINGS must hold a JSON object');
  }
  const checked = z.safeParse(REQUIRED_SETTINGS, parsed);
  if (!checked.success) {
    // One issue per wrong key, in the schema's order: `key (type)`.
    const wrong = checked.error.issues.map((issue) => {
      const key = String(issue.path[0]);
      return `${key} (${REQUIRED_TYPES[key]})`;
    });
    throw new ConfigurationError(`SETTINGS lacks or mistypes: ${wrong.join(', ')}`);
  }
  const p = parsed as Partial<ConstructSettings> & Record<string, unknown>;
  for (const [name, script] of [['preScript', p.preScript], ['postScript', p.postScript]] as const) {
    const seconds = script?.timeoutSeconds;
    if (script && (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 1
      || seconds > RUN_REMOTE_SCRIPT_MAX_EXECUTION_TIMEOUT_SECONDS)) {
      throw new ConfigurationError(`SETTINGS ${name}.timeoutSeconds ${String(seconds)} is not an executionTimeout AWS-RunRemoteScript `
        + `accepts (a whole number of seconds up to ${RUN_REMOTE_SCRIPT_MAX_EXECUTION_TIMEOUT_SECONDS}); deploy again with a valid BackupScript timeout`);
    }
    // Issue 15: retries 0-3; absent in settings written before them (0).
    const retries = script?.retries;
    if (script && retries !== undefined && (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0 || retries > MAX_SCRIPT_RETRIES)) {
      throw new ConfigurationError(`SETTINGS ${name}.retries ${String(retries)} is not a whole number from 0 to ${MAX_SCRIPT_RETRIES}; `
        + 'deploy again with a valid BackupScript retries');
    }
  }
  const policy = p.onPreScriptFailure;
  if (policy !== undefined && policy !== PRE_SCRIPT_FAILURE_SKIP_BACKUP && policy !== PRE_SCRIPT_FAILURE_BACKUP_CRASH_CONSISTENT) {
    throw new ConfigurationError(`SETTINGS onPreScriptFailure ${JSON.stringify(policy)} is neither ${PRE_SCRIPT_FAILURE_SKIP_BACKUP} nor `
      + `${PRE_SCRIPT_FAILURE_BACKUP_CRASH_CONSISTENT}; deploy again`);
  }
  return {
    ...(p as ConstructSettings),
    deleteAfterDays: p.deleteAfterDays ?? 0,
    moveToColdStorageAfterDays: p.moveToColdStorageAfterDays ?? 0,
    startWindowMinutes: p.startWindowMinutes ?? 0,
    completeWindowMinutes: p.completeWindowMinutes ?? 0,
    windowsVss: p.windowsVss ?? false,
    recoveryPointTags: p.recoveryPointTags ?? {},
    copyVaultArn: p.copyVaultArn ?? '',
    copyDeleteAfterDays: p.copyDeleteAfterDays ?? 0,
    outputS3BucketName: p.outputS3BucketName ?? '',
    outputS3KeyPrefix: p.outputS3KeyPrefix ?? '',
  };
}
