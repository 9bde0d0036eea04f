/**
 * The execution input: its schema, and how it narrows the construct's settings into a run's configuration.
 * The input can never widen what the construct allows: scripts only from the configured locations and with the
 * configured command lines, instances only those carrying the configured tag, only the configured vault and role.
 */
// Powertools Parser: `parse` validates with any Standard Schema (zod/mini here) and, with safeParse, returns the issues.
// eslint-disable-next-line import/no-extraneous-dependencies
import { parse } from '@aws-lambda-powertools/parser';
// eslint-disable-next-line import/no-extraneous-dependencies
import * as z from 'zod/mini';
import { absent, BOOLEAN, describe, isPlainObject, Problems, strictObjectOf, stringWhere, valueWhere } from './fields';
import { leaseSecondsFor } from '../../contract/lease';
import {
  type BackupRun, type ConfiguredScript, type ConstructSettings, MAX_SCRIPT_RETRIES, PRE_SCRIPT_FAILURE_SKIP_BACKUP, type RunConfig, type ScriptRun,
} from '../../contract/settings';
import { RUN_REMOTE_SCRIPT_MAX_EXECUTION_TIMEOUT_SECONDS } from '../../contract/status';
import { parseS3Location, s3HttpsUrl } from '../../lambda-shared/s3-location';

export const TOP_LEVEL_KEYS = [
  'TargetEC2TagKey',
  'TargetEC2TagValue',
  'TargetEC2Instances',
  'StartStopEC2Required',
  'RunPreBackupScript',
  'RunPostBackupScript',
  'RemoteRunCommandDetails',
  'BackupDetails',
  'DryRun',
] as const;

/** EC2 instance ids: `i-` and 8 or 17 hexadecimal digits. */
export const INSTANCE_ID_PATTERN = /^i-[0-9a-f]{8}([0-9a-f]{9})?$/;

export const MAX_TAG_KEY_LENGTH = 128;
export const MAX_TAG_VALUE_LENGTH = 256;
export const MAX_WORKING_DIRECTORY_LENGTH = 1024;
export const MAX_OUTPUT_KEY_PREFIX_LENGTH = 512;
export const MIN_SCRIPT_TIMEOUT_SECONDS = 30;

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

type Phase = 'pre' | 'post';

/**
 * Issue 15: `DryRun` is a JSON boolean only. The other flags also take the strings "true"/"false" because the original
 * sample's users send them; DryRun is new, and a dry run is the one flag where a value read the wrong way freezes and
 * stops a fleet in the middle of the day instead of checking it: anything but true or false is refused.
 */
const DRY_RUN = valueWhere((raw, fail): boolean => {
  if (typeof raw !== 'boolean') {
    fail(`must be true or false (a JSON boolean, not a string), got ${describe(raw)}`);
    return false;
  }
  return raw;
});

const PHASE_LABELS: Record<Phase, string> = { pre: 'pre-backup script', post: 'post-backup script' };

const mustBeObject = (input: unknown) => `must be an object, got ${describe(input)}`;

const TAG_KEY = stringWhere((key) => {
  if (key.length === 0 || key.length > MAX_TAG_KEY_LENGTH) {
    return `must be 1 to ${MAX_TAG_KEY_LENGTH} characters long, got ${key.length}`;
  }
  return key.toLowerCase().startsWith('aws:') ? 'must not start with "aws:" (reserved for AWS)' : undefined;
});

const TAG_VALUE = stringWhere((value) => (value.length === 0 || value.length > MAX_TAG_VALUE_LENGTH
  ? `must be 1 to ${MAX_TAG_VALUE_LENGTH} characters long, got ${value.length}` : undefined));

/** The instance ids: 1 to `max`, each an instance id, none twice. */
function instanceIdsSchema(max: number) {
  return valueWhere((raw, fail): string[] => {
    if (!Array.isArray(raw)) {
      fail(`must be an array of instance ids, got ${describe(raw)}`);
      return [];
    }
    if (raw.length === 0 || raw.length > max) {
      fail(`must list 1 to ${max} instance ids, got ${raw.length}`);
      return [];
    }
    const bad = raw.filter((id) => typeof id !== 'string' || !INSTANCE_ID_PATTERN.test(id));
    if (bad.length > 0) {
      const shown = bad.slice(0, 10).map((id) => (typeof id === 'string' ? JSON.stringify(id) : describe(id)));
      fail(`${shown.join(', ')}${bad.length > 10 ? ` and ${bad.length - 10} more` : ''} `
        + `${bad.length === 1 ? 'is not an instance id' : 'are not instance ids'} (i- followed by 8 or 17 lowercase hexadecimal digits)`);
      return [];
    }
    const ids = raw as string[];
    const duplicates = [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
    if (duplicates.length > 0) {
      fail(`lists ${duplicates.join(', ')} more than once; each instance id may appear once`);
      return [];
    }
    return [...ids];
  });
}

/** A script timeout: whole seconds (a number or a numeric string), at most the configured one and what SSM accepts. */
function timeoutSchema(configured: number) {
  // The configured timeout was checked at synth; the document's own limit bounds it again (settings of an older
  // deployment, or edited by hand, must not reach SendCommand, which would refuse them).
  const max = Math.min(configured, RUN_REMOTE_SCRIPT_MAX_EXECUTION_TIMEOUT_SECONDS);
  const min = Math.min(MIN_SCRIPT_TIMEOUT_SECONDS, max);
  const why = max < configured
    ? `the most AWS-RunRemoteScript accepts as executionTimeout (${RUN_REMOTE_SCRIPT_MAX_EXECUTION_TIMEOUT_SECONDS} s, 8 hours)`
    : 'the configured timeout; the input may shorten it, never lengthen it';
  return valueWhere((raw, fail): number | undefined => {
    const value = typeof raw === 'number' ? raw
      : typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw.trim()) : undefined;
    if (value === undefined || !Number.isInteger(value) || value < min || value > max) {
      fail(`must be a whole number of seconds from ${min} to ${max} (${why}), got ${describe(raw)}`);
      return undefined;
    }
    return value;
  });
}

/** `RunPreBackupScript` / `RunPostBackupScript`: a boolean, true only when the script is configured. */
function runSchema(phase: Phase, configured: ConfiguredScript | undefined) {
  return BOOLEAN.check(z.superRefine((run: boolean, ctx) => {
    if (run && !configured) {
      ctx.addIssue({ code: 'custom', message: `is true but the construct has no ${PHASE_LABELS[phase]} configured; omit it or set it to false`, input: run });
    }
  }));
}

/** Issue 15: `Retries`, a whole number from 0 to the configured retries (the input may lower them, never raise them). */
function retriesSchema(configured: number) {
  const max = Math.max(0, Math.min(configured, MAX_SCRIPT_RETRIES));
  return valueWhere((raw, fail): number | undefined => {
    const value = typeof raw === 'number' ? raw
      : typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw.trim()) : undefined;
    if (value === undefined || !Number.isInteger(value) || value < 0 || value > max) {
      fail(`must be a whole number of retries from 0 to ${max} (the configured retries; the input may lower them, never raise them), got ${describe(raw)}`);
      return undefined;
    }
    return value;
  });
}

/** A phase's script details: only the configured script, command and output bucket; a shorter timeout. */
function scriptDetailsSchema(phase: Phase, configured: ConfiguredScript | undefined, settings: ConstructSettings) {
  const label = PHASE_LABELS[phase];
  if (!configured) {
    return z.looseObject({}, { error: (issue) => mustBeObject(issue.input) }).check(z.superRefine((_details, ctx) => {
      ctx.addIssue({ code: 'custom', message: `given but the construct has no ${label} configured; scripts run only from the configured location`, input: _details });
    }));
  }
  const configuredS3 = `s3://${configured.bucketName}/${configured.key}`;
  // Issue 15: a Command document has no script file, command line or working directory to override.
  const document = configured.document;
  const notForDocument = (field: string) => (document
    ? `does not apply: the configured ${label} is the SSM document ${JSON.stringify(document.name)}, which has no ${field}` : undefined);
  return strictObjectOf({
    SourceS3Path: absent(stringWhere((source) => notForDocument('script file') ?? (() => {
      const location = parseS3Location(source.trim());
      if (!location) {
        return `${describe(source)} is not an S3 location (use s3://bucket/key or an https S3 URL); the only allowed script is ${configuredS3}`;
      }
      return location.bucket !== configured.bucketName || location.key !== configured.key
        ? `s3://${location.bucket}/${location.key} is not the configured ${label}; scripts run only from the configured location ${configuredS3}`
        : undefined;
    })())),
    CommandToRun: absent(stringWhere((command) => notForDocument('command line') ?? (command.trim() !== configured.commandLine.trim()
      ? `differs from the configured command line ${JSON.stringify(configured.commandLine)}; `
        + 'a different command would run arbitrary code on the instances, so only the configured command is allowed'
      : undefined))),
    WorkingDirectory: absent(stringWhere((dir) => notForDocument('working directory') ?? (dir.length > MAX_WORKING_DIRECTORY_LENGTH || CONTROL_CHARACTERS.test(dir)
      ? `must be at most ${MAX_WORKING_DIRECTORY_LENGTH} characters without control characters` : undefined))),
    TimeoutInSeconds: absent(timeoutSchema(configured.timeoutSeconds)),
    Retries: absent(retriesSchema(configured.retries ?? 0)),
    OutputS3BucketName: absent(stringWhere((bucket) => {
      if (bucket === settings.outputS3BucketName) {
        return undefined;
      }
      return settings.outputS3BucketName
        ? `must be the configured output bucket ${JSON.stringify(settings.outputS3BucketName)}, got ${describe(bucket)}`
        : `the construct has no script output bucket configured, so no bucket may be given (got ${describe(bucket)})`;
    })),
    OutputS3KeyPrefix: absent(stringWhere((prefix) => (prefix.length > MAX_OUTPUT_KEY_PREFIX_LENGTH || CONTROL_CHARACTERS.test(prefix) || prefix.includes('..')
      ? `must be at most ${MAX_OUTPUT_KEY_PREFIX_LENGTH} characters, without control characters or ".."` : undefined))),
  }, mustBeObject);
}

/** A string that must equal a configured value. */
function mustEqual(what: string, value: string) {
  return stringWhere((given) => (given !== value ? `must be the ${what} ${JSON.stringify(value)}, got ${describe(given)}` : undefined));
}

/** The execution input's schema, for the construct's settings. */
export function inputSchema(settings: ConstructSettings) {
  return strictObjectOf({
    TargetEC2TagKey: absent(TAG_KEY),
    TargetEC2TagValue: absent(TAG_VALUE),
    TargetEC2Instances: absent(instanceIdsSchema(settings.maxTargetInstances)),
    StartStopEC2Required: absent(BOOLEAN),
    RunPreBackupScript: absent(runSchema('pre', settings.preScript)),
    RunPostBackupScript: absent(runSchema('post', settings.postScript)),
    RemoteRunCommandDetails: absent(strictObjectOf({
      PreBackupScriptDetails: absent(scriptDetailsSchema('pre', settings.preScript, settings)),
      PostBackupScriptDetails: absent(scriptDetailsSchema('post', settings.postScript, settings)),
    }, mustBeObject)),
    BackupDetails: absent(strictObjectOf({
      BackupVaultName: absent(mustEqual('configured vault', settings.backupVaultName)),
      IamRoleArn: absent(mustEqual('configured backup role', settings.backupRoleArn)),
    }, mustBeObject)),
    DryRun: absent(DRY_RUN),
  }, (input) => `must be a JSON object, got ${describe(input)}; allowed keys are ${TOP_LEVEL_KEYS.join(', ')}`);
}

type ParsedInput = z.output<ReturnType<typeof inputSchema>>;
interface ParsedDetails {
  readonly WorkingDirectory?: string | null;
  readonly TimeoutInSeconds?: number | null;
  readonly Retries?: number | null;
  readonly OutputS3BucketName?: string | null;
  readonly OutputS3KeyPrefix?: string | null;
}

/**
 * The tag pair: both or neither; another value of the configured key would select nothing (the pair can only narrow
 * the selection, with another key). Checked across the two fields, once each is a valid tag key / value.
 */
function validateTags(obj: Record<string, unknown>, settings: ConstructSettings, problems: Problems): { key: string; value: string } {
  const none = { key: '', value: '' };
  const keyGiven = obj.TargetEC2TagKey !== undefined && obj.TargetEC2TagKey !== null;
  const valueGiven = obj.TargetEC2TagValue !== undefined && obj.TargetEC2TagValue !== null;
  if (keyGiven !== valueGiven) {
    const missing = keyGiven ? 'TargetEC2TagValue' : 'TargetEC2TagKey';
    problems.add(missing, `is required when ${keyGiven ? 'TargetEC2TagKey' : 'TargetEC2TagValue'} is given: the tag key and value come together`);
    return none;
  }
  const key = z.safeParse(TAG_KEY, obj.TargetEC2TagKey);
  const value = z.safeParse(TAG_VALUE, obj.TargetEC2TagValue);
  if (!keyGiven || !key.success || !value.success || (key.data === settings.tagKey && value.data === settings.tagValue)) {
    return none;
  }
  if (key.data === settings.tagKey) {
    problems.add('TargetEC2TagValue', `the construct selects instances tagged ${settings.tagKey}=${settings.tagValue}; `
      + `the value ${JSON.stringify(value.data)} for the same key would select no instance (a tag pair in the input can only narrow the selection, `
      + 'with a different key)');
    return none;
  }
  return { key: key.data, value: value.data };
}

function disabledScript(): ScriptRun {
  return {
    enabled: false,
    bucketName: '',
    key: '',
    sourceS3Path: '',
    commandLine: '',
    workingDirectory: '',
    timeoutSeconds: 0,
    platform: 'Linux',
    outputS3BucketName: '',
    outputS3KeyPrefix: '',
    retries: 0,
  };
}

/** A phase's script run: the configured script, with what the (valid) input changes. */
function scriptRun(phase: Phase, input: ParsedInput, settings: ConstructSettings): ScriptRun {
  const configuredScript = phase === 'pre' ? settings.preScript : settings.postScript;
  if (!configuredScript) {
    return disabledScript();
  }
  const run = phase === 'pre' ? input.RunPreBackupScript : input.RunPostBackupScript;
  const remote = input.RemoteRunCommandDetails;
  const details = ((phase === 'pre' ? remote?.PreBackupScriptDetails : remote?.PostBackupScriptDetails) ?? {}) as ParsedDetails;
  return {
    enabled: run ?? (phase === 'pre' ? settings.runPreScript : settings.runPostScript),
    bucketName: configuredScript.bucketName,
    key: configuredScript.key,
    sourceS3Path: configuredScript.document ? '' : s3HttpsUrl(settings.region, configuredScript.bucketName, configuredScript.key),
    commandLine: configuredScript.commandLine,
    workingDirectory: details.WorkingDirectory ?? configuredScript.workingDirectory,
    timeoutSeconds: details.TimeoutInSeconds ?? configuredScript.timeoutSeconds,
    platform: configuredScript.platform,
    outputS3BucketName: details.OutputS3BucketName ?? settings.outputS3BucketName,
    outputS3KeyPrefix: details.OutputS3KeyPrefix ?? settings.outputS3KeyPrefix,
    // Issue 15: a Command document (BackupScript.fromSsmDocument) and the CloudWatch Logs output group.
    ...(configuredScript.document ? { document: configuredScript.document } : {}),
    ...(settings.outputLogGroupName ? { outputLogGroupName: settings.outputLogGroupName } : {}),
    retries: details.Retries ?? configuredScript.retries ?? 0,
  };
}

function backupRun(settings: ConstructSettings): BackupRun {
  return {
    instanceArnPrefix: settings.instanceArnPrefix,
    vaultName: settings.backupVaultName,
    roleArn: settings.backupRoleArn,
    deleteAfterDays: settings.deleteAfterDays,
    moveToColdStorageAfterDays: settings.moveToColdStorageAfterDays,
    startWindowMinutes: settings.startWindowMinutes,
    completeWindowMinutes: settings.completeWindowMinutes,
    windowsVss: settings.windowsVss,
    recoveryPointTags: { ...settings.recoveryPointTags },
    copyVaultArn: settings.copyVaultArn,
    copyDeleteAfterDays: settings.copyDeleteAfterDays,
  };
}

/**
 * Validates an execution input against the construct's settings and returns the run's configuration.
 * `{}`, null and undefined mean "exactly the settings". Throws `InvalidInputError` listing every problem.
 */
export function validateInput(input: unknown, settings: ConstructSettings): RunConfig {
  const raw = input === undefined || input === null ? {} : input;
  const problems = new Problems();
  const parsed = parse(raw, undefined, inputSchema(settings), true);
  if (!parsed.success) {
    // Zod's issues (Powertools' ParseError holds them as its cause); an object's unknown keys first, as they read best.
    const issues = parsed.error.cause as ReadonlyArray<{ code?: string; message: string; path?: ReadonlyArray<PropertyKey> }>;
    problems.addIssues([...issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys')));
  }
  const tags = isPlainObject(raw) ? validateTags(raw, settings, problems) : { key: '', value: '' };
  problems.throwIfAny();
  const data = (parsed as { data: ParsedInput }).data;

  const preScript = scriptRun('pre', data, settings);
  const postScript = scriptRun('post', data, settings);
  return {
    tagKey: settings.tagKey,
    tagValue: settings.tagValue,
    filterTagKey: tags.key,
    filterTagValue: tags.value,
    instanceIds: data.TargetEC2Instances ?? [],
    stopInstances: data.StartStopEC2Required ?? settings.stopInstances,
    preScript,
    postScript,
    backup: backupRun(settings),
    scriptsEnabled: preScript.enabled || postScript.enabled,
    leaseSeconds: typeof settings.leaseSeconds === 'number' && settings.leaseSeconds > 0
      ? settings.leaseSeconds
      : leaseSecondsFor(settings),
    release: settings.release,
    // Issue 15: present only for a dry run, so a real run's configuration is unchanged.
    ...(data.DryRun === true ? { dryRun: true } : {}),
    ...(settings.release ? { release: settings.release } : {}),
    onPreScriptFailure: settings.onPreScriptFailure ?? PRE_SCRIPT_FAILURE_SKIP_BACKUP,
  };
}

export { parseSettings } from './settings';
