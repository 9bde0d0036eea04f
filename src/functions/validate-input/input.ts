/**
 * The execution input: its schema, and how it narrows the construct's settings into a run's configuration.
 * The input can never widen what the construct allows: scripts only from the configured locations and with the
 * configured command lines, instances only those carrying the configured tag, only the configured vault and role.
 */
import { booleanField, checkKeys, describe, isPlainObject, objectField, Problems, stringField } from './fields';
import { leaseSecondsFor } from '../../contract/lease';
import { type BackupRun, type ConfiguredScript, type ConstructSettings, type RunConfig, type ScriptRun } from '../../contract/settings';
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
] as const;

export const REMOTE_RUN_COMMAND_KEYS = ['PreBackupScriptDetails', 'PostBackupScriptDetails'] as const;

export const SCRIPT_DETAIL_KEYS = [
  'SourceS3Path',
  'CommandToRun',
  'WorkingDirectory',
  'TimeoutInSeconds',
  'OutputS3BucketName',
  'OutputS3KeyPrefix',
] as const;

export const BACKUP_DETAIL_KEYS = ['BackupVaultName', 'IamRoleArn'] as const;

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

const PHASE_NAMES: Record<Phase, { label: string; runKey: string; detailKey: string }> = {
  pre: { label: 'pre-backup script', runKey: 'RunPreBackupScript', detailKey: 'PreBackupScriptDetails' },
  post: { label: 'post-backup script', runKey: 'RunPostBackupScript', detailKey: 'PostBackupScriptDetails' },
};

function validateTags(obj: Record<string, unknown>, settings: ConstructSettings, problems: Problems): { key: string; value: string } {
  const none = { key: '', value: '' };
  const rawKey = obj.TargetEC2TagKey;
  const rawValue = obj.TargetEC2TagValue;
  const keyGiven = rawKey !== undefined && rawKey !== null;
  const valueGiven = rawValue !== undefined && rawValue !== null;
  if (!keyGiven && !valueGiven) {
    return none;
  }
  if (keyGiven !== valueGiven) {
    const missing = keyGiven ? 'TargetEC2TagValue' : 'TargetEC2TagKey';
    problems.add(missing, `is required when ${keyGiven ? 'TargetEC2TagKey' : 'TargetEC2TagValue'} is given: the tag key and value come together`);
    return none;
  }
  const before = problems.count;
  const key = stringField(rawKey, 'TargetEC2TagKey', problems);
  const value = stringField(rawValue, 'TargetEC2TagValue', problems);
  if (key !== undefined) {
    if (key.length === 0 || key.length > MAX_TAG_KEY_LENGTH) {
      problems.add('TargetEC2TagKey', `must be 1 to ${MAX_TAG_KEY_LENGTH} characters long, got ${key.length}`);
    } else if (key.toLowerCase().startsWith('aws:')) {
      problems.add('TargetEC2TagKey', 'must not start with "aws:" (reserved for AWS)');
    }
  }
  if (value !== undefined && (value.length === 0 || value.length > MAX_TAG_VALUE_LENGTH)) {
    problems.add('TargetEC2TagValue', `must be 1 to ${MAX_TAG_VALUE_LENGTH} characters long, got ${value.length}`);
  }
  if (problems.count > before || key === undefined || value === undefined) {
    return none;
  }
  if (key === settings.tagKey && value === settings.tagValue) {
    return none;
  }
  if (key === settings.tagKey) {
    problems.add('TargetEC2TagValue', `the construct selects instances tagged ${settings.tagKey}=${settings.tagValue}; `
      + `the value ${JSON.stringify(value)} for the same key would select no instance (a tag pair in the input can only narrow the selection, `
      + 'with a different key)');
    return none;
  }
  return { key, value };
}

function validateInstanceIds(raw: unknown, settings: ConstructSettings, problems: Problems): string[] {
  if (raw === undefined || raw === null) {
    return [];
  }
  const field = 'TargetEC2Instances';
  if (!Array.isArray(raw)) {
    problems.add(field, `must be an array of instance ids, got ${describe(raw)}`);
    return [];
  }
  if (raw.length === 0 || raw.length > settings.maxTargetInstances) {
    problems.add(field, `must list 1 to ${settings.maxTargetInstances} instance ids, got ${raw.length}`);
    return [];
  }
  const bad = raw.filter((id) => typeof id !== 'string' || !INSTANCE_ID_PATTERN.test(id));
  if (bad.length > 0) {
    const shown = bad.slice(0, 10).map((id) => (typeof id === 'string' ? JSON.stringify(id) : describe(id)));
    problems.add(field, `${shown.join(', ')}${bad.length > 10 ? ` and ${bad.length - 10} more` : ''} `
      + `${bad.length === 1 ? 'is not an instance id' : 'are not instance ids'} (i- followed by 8 or 17 lowercase hexadecimal digits)`);
    return [];
  }
  const ids = raw as string[];
  const duplicates = [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))];
  if (duplicates.length > 0) {
    problems.add(field, `lists ${duplicates.join(', ')} more than once; each instance id may appear once`);
    return [];
  }
  return [...ids];
}

function timeoutField(raw: unknown, path: string, configured: number, problems: Problems): number | undefined {
  if (raw === undefined || raw === null) {
    return undefined;
  }
  let value: number | undefined;
  if (typeof raw === 'number') {
    value = raw;
  } else if (typeof raw === 'string' && /^\s*\d+\s*$/.test(raw)) {
    value = Number(raw.trim());
  }
  // The configured timeout was checked at synth; the document's own limit bounds it again (settings of an older
  // deployment, or edited by hand, must not reach SendCommand, which would refuse them).
  const max = Math.min(configured, RUN_REMOTE_SCRIPT_MAX_EXECUTION_TIMEOUT_SECONDS);
  const min = Math.min(MIN_SCRIPT_TIMEOUT_SECONDS, max);
  if (value === undefined || !Number.isInteger(value) || value < min || value > max) {
    const why = max < configured
      ? `the most AWS-RunRemoteScript accepts as executionTimeout (${RUN_REMOTE_SCRIPT_MAX_EXECUTION_TIMEOUT_SECONDS} s, 8 hours)`
      : 'the configured timeout; the input may shorten it, never lengthen it';
    problems.add(path, `must be a whole number of seconds from ${min} to ${max} (${why}), got ${describe(raw)}`);
    return undefined;
  }
  return value;
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
  };
}

function validateScript(
  phase: Phase,
  input: Record<string, unknown>,
  details: Record<string, unknown> | undefined,
  settings: ConstructSettings,
  problems: Problems,
): ScriptRun {
  const names = PHASE_NAMES[phase];
  const configured: ConfiguredScript | undefined = phase === 'pre' ? settings.preScript : settings.postScript;
  const settingRun = phase === 'pre' ? settings.runPreScript : settings.runPostScript;
  const run = booleanField(input[names.runKey], names.runKey, problems);
  const path = `RemoteRunCommandDetails.${names.detailKey}`;

  if (!configured) {
    if (run === true) {
      problems.add(names.runKey, `is true but the construct has no ${names.label} configured; omit it or set it to false`);
    }
    if (details) {
      problems.add(path, `given but the construct has no ${names.label} configured; scripts run only from the configured location`);
    }
    return disabledScript();
  }

  let workingDirectory = configured.workingDirectory;
  let timeoutSeconds = configured.timeoutSeconds;
  let outputS3BucketName = settings.outputS3BucketName;
  let outputS3KeyPrefix = settings.outputS3KeyPrefix;

  if (details) {
    checkKeys(details, SCRIPT_DETAIL_KEYS, path, problems);
    const configuredS3 = `s3://${configured.bucketName}/${configured.key}`;

    const source = stringField(details.SourceS3Path, `${path}.SourceS3Path`, problems);
    if (source !== undefined) {
      const location = parseS3Location(source.trim());
      if (!location) {
        problems.add(`${path}.SourceS3Path`, `${describe(source)} is not an S3 location (use s3://bucket/key or an https S3 URL); `
          + `the only allowed script is ${configuredS3}`);
      } else if (location.bucket !== configured.bucketName || location.key !== configured.key) {
        problems.add(`${path}.SourceS3Path`, `s3://${location.bucket}/${location.key} is not the configured ${names.label}; `
          + `scripts run only from the configured location ${configuredS3}`);
      }
    }

    const command = stringField(details.CommandToRun, `${path}.CommandToRun`, problems);
    if (command !== undefined && command.trim() !== configured.commandLine.trim()) {
      problems.add(`${path}.CommandToRun`, `differs from the configured command line ${JSON.stringify(configured.commandLine)}; `
        + 'a different command would run arbitrary code on the instances, so only the configured command is allowed');
    }

    const dir = stringField(details.WorkingDirectory, `${path}.WorkingDirectory`, problems);
    if (dir !== undefined) {
      if (dir.length > MAX_WORKING_DIRECTORY_LENGTH || CONTROL_CHARACTERS.test(dir)) {
        problems.add(`${path}.WorkingDirectory`, `must be at most ${MAX_WORKING_DIRECTORY_LENGTH} characters without control characters`);
      } else {
        workingDirectory = dir;
      }
    }

    const timeout = timeoutField(details.TimeoutInSeconds, `${path}.TimeoutInSeconds`, configured.timeoutSeconds, problems);
    if (timeout !== undefined) {
      timeoutSeconds = timeout;
    }

    const bucket = stringField(details.OutputS3BucketName, `${path}.OutputS3BucketName`, problems);
    if (bucket !== undefined && bucket !== settings.outputS3BucketName) {
      problems.add(`${path}.OutputS3BucketName`, settings.outputS3BucketName
        ? `must be the configured output bucket ${JSON.stringify(settings.outputS3BucketName)}, got ${describe(bucket)}`
        : `the construct has no script output bucket configured, so no bucket may be given (got ${describe(bucket)})`);
    } else if (bucket !== undefined) {
      outputS3BucketName = bucket;
    }

    const prefix = stringField(details.OutputS3KeyPrefix, `${path}.OutputS3KeyPrefix`, problems);
    if (prefix !== undefined) {
      if (prefix.length > MAX_OUTPUT_KEY_PREFIX_LENGTH || CONTROL_CHARACTERS.test(prefix) || prefix.includes('..')) {
        problems.add(`${path}.OutputS3KeyPrefix`, `must be at most ${MAX_OUTPUT_KEY_PREFIX_LENGTH} characters, without control characters or ".."`);
      } else {
        outputS3KeyPrefix = prefix;
      }
    }
  }

  return {
    enabled: run ?? settingRun,
    bucketName: configured.bucketName,
    key: configured.key,
    sourceS3Path: s3HttpsUrl(settings.region, configured.bucketName, configured.key),
    commandLine: configured.commandLine,
    workingDirectory,
    timeoutSeconds,
    platform: configured.platform,
    outputS3BucketName,
    outputS3KeyPrefix,
  };
}

function validateBackup(raw: Record<string, unknown> | undefined, settings: ConstructSettings, problems: Problems): BackupRun {
  if (raw) {
    checkKeys(raw, BACKUP_DETAIL_KEYS, 'BackupDetails', problems);
    const vault = stringField(raw.BackupVaultName, 'BackupDetails.BackupVaultName', problems);
    if (vault !== undefined && vault !== settings.backupVaultName) {
      problems.add('BackupDetails.BackupVaultName', `must be the configured vault ${JSON.stringify(settings.backupVaultName)}, got ${describe(vault)}`);
    }
    const role = stringField(raw.IamRoleArn, 'BackupDetails.IamRoleArn', problems);
    if (role !== undefined && role !== settings.backupRoleArn) {
      problems.add('BackupDetails.IamRoleArn', `must be the configured backup role ${JSON.stringify(settings.backupRoleArn)}, got ${describe(role)}`);
    }
  }
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
  const problems = new Problems();
  const raw = input === undefined || input === null ? {} : input;
  if (!isPlainObject(raw)) {
    problems.add('input', `must be a JSON object, got ${describe(raw)}; allowed keys are ${TOP_LEVEL_KEYS.join(', ')}`);
    problems.throwIfAny();
  }
  const obj = raw as Record<string, unknown>;
  checkKeys(obj, TOP_LEVEL_KEYS, 'input', problems);

  const tags = validateTags(obj, settings, problems);
  const instanceIds = validateInstanceIds(obj.TargetEC2Instances, settings, problems);
  const stop = booleanField(obj.StartStopEC2Required, 'StartStopEC2Required', problems);

  const remote = objectField(obj, 'RemoteRunCommandDetails', 'RemoteRunCommandDetails', problems);
  if (remote) {
    checkKeys(remote, REMOTE_RUN_COMMAND_KEYS, 'RemoteRunCommandDetails', problems);
  }
  const preDetails = remote ? objectField(remote, 'PreBackupScriptDetails', 'RemoteRunCommandDetails.PreBackupScriptDetails', problems) : undefined;
  const postDetails = remote ? objectField(remote, 'PostBackupScriptDetails', 'RemoteRunCommandDetails.PostBackupScriptDetails', problems) : undefined;
  const preScript = validateScript('pre', obj, preDetails, settings, problems);
  const postScript = validateScript('post', obj, postDetails, settings, problems);

  const backup = validateBackup(objectField(obj, 'BackupDetails', 'BackupDetails', problems), settings, problems);

  problems.throwIfAny();

  return {
    tagKey: settings.tagKey,
    tagValue: settings.tagValue,
    filterTagKey: tags.key,
    filterTagValue: tags.value,
    instanceIds,
    stopInstances: stop ?? settings.stopInstances,
    preScript,
    postScript,
    backup,
    scriptsEnabled: preScript.enabled || postScript.enabled,
    leaseSeconds: typeof settings.leaseSeconds === 'number' && settings.leaseSeconds > 0
      ? settings.leaseSeconds
      : leaseSecondsFor(settings),
    ...(settings.release ? { release: settings.release } : {}),
  };
}

export { parseSettings } from './settings';
