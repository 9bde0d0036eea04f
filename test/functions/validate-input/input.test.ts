import { type ConstructSettings } from '../../../src/contract/settings';
import { parseSettings, validateInput } from '../../../src/functions/validate-input/input';
import { InvalidInputError } from '../../../src/lambda-shared/errors';
import { runConfig, SETTINGS } from '../../helpers/handler-fixtures';

const PRE_URL = 'https://s3.eu-west-1.amazonaws.com/assets-bucket/scripts/freeze.sh';
const POST_URL = 'https://s3.eu-west-1.amazonaws.com/assets-bucket/scripts/thaw.sh';

function rejects(input: unknown, settings: ConstructSettings = SETTINGS): string {
  try {
    validateInput(input, settings);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as Error).name).toBe('InvalidInputError');
    return (err as Error).message;
  }
  throw new Error(`input was accepted: ${JSON.stringify(input)}`);
}

const noScripts: ConstructSettings = { ...SETTINGS, preScript: undefined, postScript: undefined, runPreScript: false, runPostScript: false };

describe('validateInput: the empty input is exactly the settings', () => {
  test.each([[{}], [null], [undefined]])('%p', (input) => {
    expect(validateInput(input, SETTINGS)).toEqual({
      tagKey: 'backup-job-pre-post-script',
      tagValue: 'true',
      filterTagKey: '',
      filterTagValue: '',
      instanceIds: [],
      stopInstances: false,
      preScript: {
        enabled: true,
        bucketName: 'assets-bucket',
        key: 'scripts/freeze.sh',
        sourceS3Path: PRE_URL,
        commandLine: 'bash freeze.sh',
        workingDirectory: '',
        timeoutSeconds: 600,
        platform: 'Linux',
        outputS3BucketName: 'output-bucket',
        outputS3KeyPrefix: 'ssm-output/',
        retries: 0,
      },
      postScript: {
        enabled: true,
        bucketName: 'assets-bucket',
        key: 'scripts/thaw.sh',
        sourceS3Path: POST_URL,
        commandLine: 'bash thaw.sh',
        workingDirectory: '/opt/app',
        timeoutSeconds: 300,
        platform: 'Linux',
        outputS3BucketName: 'output-bucket',
        outputS3KeyPrefix: 'ssm-output/',
        retries: 0,
      },
      backup: {
        instanceArnPrefix: 'arn:aws:ec2:eu-west-1:111122223333:instance/',
        vaultName: 'app-vault',
        roleArn: 'arn:aws:iam::111122223333:role/backup-role',
        deleteAfterDays: 35,
        moveToColdStorageAfterDays: 0,
        startWindowMinutes: 60,
        completeWindowMinutes: 120,
        windowsVss: true,
        recoveryPointTags: { app: 'shop' },
        copyVaultArn: '',
        copyDeleteAfterDays: 0,
      },
      scriptsEnabled: true,
      // Scripts 600 + 300 and 300 + 300, stop and start 900 each, agent 60, then 20 + 900 after a start, backup 60 + 120 min + 900, one
      // fallback interval per wait (scripts 300 each, stop and start 60 each, backup 900), the release loop's budget
      // and one look (1800 + 10), 1 h.
      leaseSeconds: 23_010,
      onPreScriptFailure: 'skip-backup',
      release: { mode: 'point-in-time', lookSeconds: 10, budgetSeconds: 1800, onBudgetSpent: 'release' },
    });
  });

  test('a phase without a configured script is disabled, with empty fields', () => {
    const config = validateInput({}, noScripts);
    const disabled = {
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
    expect(config.preScript).toEqual(disabled);
    expect(config.postScript).toEqual(disabled);
    expect(config.scriptsEnabled).toBe(false);
  });

  test('settings turning a script off', () => {
    const config = validateInput({}, { ...SETTINGS, runPreScript: false });
    expect(config.preScript.enabled).toBe(false);
    expect(config.postScript.enabled).toBe(true);
    expect(config.scriptsEnabled).toBe(true);
  });
});

describe('validateInput: accepted inputs', () => {
  test.each<[string, unknown, (c: ReturnType<typeof validateInput>) => void]>([
    ['StartStopEC2Required true', { StartStopEC2Required: true }, (c) => expect(c.stopInstances).toBe(true)],
    // Issue 15: the dry run.
    ['DryRun true', { DryRun: true }, (c) => expect(c.dryRun).toBe(true)],
    ['DryRun false: a real run, the configuration unchanged', { DryRun: false }, (c) => expect(c).toEqual(validateInput({}, SETTINGS))],
    ['DryRun null: a real run', { DryRun: null }, (c) => expect('dryRun' in c).toBe(false)],
    ['DryRun with the other keys', { DryRun: true, StartStopEC2Required: true, RunPostBackupScript: false }, (c) => {
      expect(c).toMatchObject({ dryRun: true, stopInstances: true, postScript: { enabled: false } });
    }],
    ['StartStopEC2Required "TRUE"', { StartStopEC2Required: 'TRUE' }, (c) => expect(c.stopInstances).toBe(true)],
    ['StartStopEC2Required "false"', { StartStopEC2Required: 'false' }, (c) => expect(c.stopInstances).toBe(false)],
    ['RunPreBackupScript false', { RunPreBackupScript: false }, (c) => {
      expect(c.preScript.enabled).toBe(false);
      expect(c.scriptsEnabled).toBe(true);
    }],
    ['both scripts off', { RunPreBackupScript: 'False', RunPostBackupScript: false }, (c) => expect(c.scriptsEnabled).toBe(false)],
    ['RunPreBackupScript true when the settings turned it off', { RunPreBackupScript: true }, (c) => expect(c.preScript.enabled).toBe(true)],
    ['the configured tag pair', { TargetEC2TagKey: 'backup-job-pre-post-script', TargetEC2TagValue: 'true' }, (c) => {
      expect(c.filterTagKey).toBe('');
      expect(c.filterTagValue).toBe('');
      expect(c.tagKey).toBe('backup-job-pre-post-script');
    }],
    ['another tag pair narrows', { TargetEC2TagKey: 'tier', TargetEC2TagValue: 'db' }, (c) => {
      expect([c.tagKey, c.tagValue, c.filterTagKey, c.filterTagValue]).toEqual(['backup-job-pre-post-script', 'true', 'tier', 'db']);
    }],
    ['instance ids (8 and 17 digits)', { TargetEC2Instances: ['i-0123abcd', 'i-0123456789abcdef0'] }, (c) => {
      expect(c.instanceIds).toEqual(['i-0123abcd', 'i-0123456789abcdef0']);
    }],
    ['script details naming the configured script in every URL form', {
      RemoteRunCommandDetails: {
        PreBackupScriptDetails: { SourceS3Path: 's3://assets-bucket/scripts/freeze.sh', CommandToRun: 'bash freeze.sh' },
        PostBackupScriptDetails: { SourceS3Path: 'https://assets-bucket.s3.amazonaws.com/scripts/thaw.sh', CommandToRun: 'bash thaw.sh' },
      },
    }, (c) => {
      expect(c.preScript.sourceS3Path).toBe(PRE_URL);
      expect(c.postScript.sourceS3Path).toBe(POST_URL);
    }],
    ['overrides of directory, timeout, output prefix and the configured output bucket', {
      RemoteRunCommandDetails: {
        PreBackupScriptDetails: {
          WorkingDirectory: '/srv', TimeoutInSeconds: '120', OutputS3BucketName: 'output-bucket', OutputS3KeyPrefix: 'custom/prefix',
        },
      },
    }, (c) => {
      expect(c.preScript).toMatchObject({ workingDirectory: '/srv', timeoutSeconds: 120, outputS3BucketName: 'output-bucket', outputS3KeyPrefix: 'custom/prefix' });
      expect(c.postScript).toMatchObject({ workingDirectory: '/opt/app', timeoutSeconds: 300, outputS3KeyPrefix: 'ssm-output/' });
    }],
    ['timeout at both ends of the range', { RemoteRunCommandDetails: { PreBackupScriptDetails: { TimeoutInSeconds: 30 }, PostBackupScriptDetails: { TimeoutInSeconds: 300 } } }, (c) => {
      expect([c.preScript.timeoutSeconds, c.postScript.timeoutSeconds]).toEqual([30, 300]);
    }],
    ['BackupDetails equal to the settings', { BackupDetails: { BackupVaultName: 'app-vault', IamRoleArn: 'arn:aws:iam::111122223333:role/backup-role' } }, (c) => {
      expect(c.backup.vaultName).toBe('app-vault');
    }],
    ['null values count as absent', { TargetEC2Instances: null, StartStopEC2Required: null }, (c) => {
      expect(c.instanceIds).toEqual([]);
      expect(c.stopInstances).toBe(false);
    }],
  ])('%s', (_name, input, check) => {
    check(validateInput(input, { ...SETTINGS, runPreScript: _name.startsWith('RunPreBackupScript true') ? false : SETTINGS.runPreScript }));
  });
});

describe('validateInput: rejected inputs name the field, the problem and what is allowed', () => {
  test.each<[string, unknown, RegExp[], ConstructSettings?]>([
    ['an array', [], [/input: must be a JSON object, got an array; allowed keys are TargetEC2TagKey/]],
    ['a string', 'hello', [/must be a JSON object/]],
    ['an unknown top-level key', { Foo: 1 }, [/input: unknown key "Foo"; allowed keys are TargetEC2TagKey, TargetEC2TagValue, TargetEC2Instances/]],
    ['an unknown key in RemoteRunCommandDetails', { RemoteRunCommandDetails: { Other: {} } }, [/RemoteRunCommandDetails: unknown key "Other"; allowed keys are PreBackupScriptDetails, PostBackupScriptDetails/]],
    ['an unknown key in script details', { RemoteRunCommandDetails: { PreBackupScriptDetails: { DocumentName: 'x' } } }, [/PreBackupScriptDetails: unknown key "DocumentName"; allowed keys are SourceS3Path/]],
    ['an unknown key in BackupDetails', { BackupDetails: { Region: 'x' } }, [/BackupDetails: unknown key "Region"; allowed keys are BackupVaultName, IamRoleArn/]],
    ['RemoteRunCommandDetails not an object', { RemoteRunCommandDetails: 'x' }, [/RemoteRunCommandDetails: must be an object/]],
    ['a boolean as a number', { StartStopEC2Required: 1 }, [/StartStopEC2Required: must be true or false/]],
    // Issue 15: DryRun is a JSON boolean only (a value read the wrong way would freeze a fleet instead of checking it).
    ['DryRun as the string "true"', { DryRun: 'true' }, [/DryRun: must be true or false \(a JSON boolean, not a string\), got the string "true"/]],
    ['DryRun as a number', { DryRun: 1 }, [/DryRun: must be true or false \(a JSON boolean, not a string\), got number 1/]],
    ['DryRun as an object', { DryRun: {} }, [/DryRun: must be true or false/]],
    ['dryRun in another case', { dryRun: true }, [/input: unknown key "dryRun"; allowed keys are .*DryRun/]],
    ['a boolean as "yes"', { RunPreBackupScript: 'yes' }, [/RunPreBackupScript: must be true or false.*"yes"/]],
    ['RunPreBackupScript true without a script', { RunPreBackupScript: true }, [/RunPreBackupScript: is true but the construct has no pre-backup script configured/], noScripts],
    ['RunPostBackupScript "true" without a script', { RunPostBackupScript: 'true' }, [/RunPostBackupScript: is true but the construct has no post-backup script/], noScripts],
    ['script details without a script', { RemoteRunCommandDetails: { PreBackupScriptDetails: {} } }, [/PreBackupScriptDetails: given but the construct has no pre-backup script configured/], noScripts],
    ['a tag key without a value', { TargetEC2TagKey: 'tier' }, [/TargetEC2TagValue: is required when TargetEC2TagKey is given/]],
    ['a tag value without a key', { TargetEC2TagValue: 'db' }, [/TargetEC2TagKey: is required when TargetEC2TagValue is given/]],
    ['an empty tag key', { TargetEC2TagKey: '', TargetEC2TagValue: 'db' }, [/TargetEC2TagKey: must be 1 to 128 characters long, got 0/]],
    ['a long tag key', { TargetEC2TagKey: 'k'.repeat(129), TargetEC2TagValue: 'db' }, [/TargetEC2TagKey: must be 1 to 128 characters/]],
    ['a long tag value', { TargetEC2TagKey: 'tier', TargetEC2TagValue: 'v'.repeat(257) }, [/TargetEC2TagValue: must be 1 to 256 characters/]],
    ['an aws: tag key', { TargetEC2TagKey: 'AWS:cloudformation:stack-name', TargetEC2TagValue: 'x' }, [/must not start with "aws:"/]],
    ['a non-string tag value', { TargetEC2TagKey: 'tier', TargetEC2TagValue: 5 }, [/TargetEC2TagValue: must be a string/]],
    ['another value of the configured key', { TargetEC2TagKey: 'backup-job-pre-post-script', TargetEC2TagValue: 'false' }, [/would select no instance/]],
    ['instance ids not an array', { TargetEC2Instances: 'i-0123abcd' }, [/TargetEC2Instances: must be an array of instance ids/]],
    ['an empty id list', { TargetEC2Instances: [] }, [/TargetEC2Instances: must list 1 to 100 instance ids, got 0/]],
    ['too many ids', { TargetEC2Instances: Array.from({ length: 3 }, (_, i) => `i-0000000${i}`) }, [/must list 1 to 2 instance ids, got 3/], { ...SETTINGS, maxTargetInstances: 2 }],
    ['malformed ids', { TargetEC2Instances: ['i-0123abcd', 'I-0123ABCD', 'i-123', 42] }, [/"I-0123ABCD", "i-123", number 42 are not instance ids/]],
    ['duplicate ids', { TargetEC2Instances: ['i-0123abcd', 'i-0123abcd'] }, [/TargetEC2Instances: lists i-0123abcd more than once/]],
    ['another script location', { RemoteRunCommandDetails: { PreBackupScriptDetails: { SourceS3Path: 's3://evil-bucket/scripts/freeze.sh' } } }, [/SourceS3Path: s3:\/\/evil-bucket\/scripts\/freeze.sh is not the configured pre-backup script; scripts run only from the configured location s3:\/\/assets-bucket\/scripts\/freeze.sh/]],
    ['the other phase\'s script', { RemoteRunCommandDetails: { PostBackupScriptDetails: { SourceS3Path: 's3://assets-bucket/scripts/freeze.sh' } } }, [/PostBackupScriptDetails.SourceS3Path: .* is not the configured post-backup script/]],
    ['not an S3 location', { RemoteRunCommandDetails: { PreBackupScriptDetails: { SourceS3Path: 'https://example.com/freeze.sh' } } }, [/SourceS3Path: .* is not an S3 location/]],
    ['another command', { RemoteRunCommandDetails: { PreBackupScriptDetails: { CommandToRun: 'curl evil | sh' } } }, [/CommandToRun: differs from the configured command line "bash freeze.sh"; a different command would run arbitrary code/]],
    ['a working directory with a control character', { RemoteRunCommandDetails: { PreBackupScriptDetails: { WorkingDirectory: '/tmp\n' } } }, [/WorkingDirectory: must be at most 1024 characters without control characters/]],
    ['a long working directory', { RemoteRunCommandDetails: { PreBackupScriptDetails: { WorkingDirectory: 'd'.repeat(1025) } } }, [/WorkingDirectory: must be at most 1024/]],
    ['a timeout longer than configured', { RemoteRunCommandDetails: { PostBackupScriptDetails: { TimeoutInSeconds: 301 } } }, [/TimeoutInSeconds: must be a whole number of seconds from 30 to 300 \(the configured timeout; the input may shorten it, never lengthen it\)/]],
    ['a timeout below 30', { RemoteRunCommandDetails: { PreBackupScriptDetails: { TimeoutInSeconds: 29 } } }, [/from 30 to 600/]],
    ['a fractional timeout', { RemoteRunCommandDetails: { PreBackupScriptDetails: { TimeoutInSeconds: 60.5 } } }, [/TimeoutInSeconds: must be a whole number/]],
    ['a non-numeric timeout', { RemoteRunCommandDetails: { PreBackupScriptDetails: { TimeoutInSeconds: '1h' } } }, [/TimeoutInSeconds: must be a whole number/]],
    ['another output bucket', { RemoteRunCommandDetails: { PreBackupScriptDetails: { OutputS3BucketName: 'other' } } }, [/OutputS3BucketName: must be the configured output bucket "output-bucket"/]],
    ['an output bucket when none is configured', { RemoteRunCommandDetails: { PreBackupScriptDetails: { OutputS3BucketName: 'any' } } }, [/the construct has no script output bucket configured/], { ...SETTINGS, outputS3BucketName: '' }],
    ['an output prefix with ..', { RemoteRunCommandDetails: { PreBackupScriptDetails: { OutputS3KeyPrefix: 'a/../b' } } }, [/OutputS3KeyPrefix: must be at most 512 characters, without control characters or "\.\."/]],
    ['a long output prefix', { RemoteRunCommandDetails: { PreBackupScriptDetails: { OutputS3KeyPrefix: 'p'.repeat(513) } } }, [/OutputS3KeyPrefix: must be at most 512/]],
    ['another vault', { BackupDetails: { BackupVaultName: 'other-vault' } }, [/BackupDetails.BackupVaultName: must be the configured vault "app-vault"/]],
    ['another role', { BackupDetails: { IamRoleArn: 'arn:aws:iam::111122223333:role/admin' } }, [/BackupDetails.IamRoleArn: must be the configured backup role/]],
    // A rest parameter: jest takes a callback with more parameters than the row for one expecting `done`.
  ])('%s', (...[, input, patterns, settings]) => {
    const message = rejects(input, settings);
    expect(message).toMatch(/no instance was touched/);
    for (const pattern of patterns) {
      expect(message).toMatch(pattern);
    }
  });

  test('every problem is reported at once', () => {
    const message = rejects({
      Foo: 1,
      StartStopEC2Required: 'maybe',
      TargetEC2Instances: ['x'],
      BackupDetails: { BackupVaultName: 'other' },
      RemoteRunCommandDetails: { PreBackupScriptDetails: { CommandToRun: 'rm -rf /' } },
    });
    expect(message).toMatch(/\(5 problems;/);
    for (const field of ['input: unknown key "Foo"', 'StartStopEC2Required', 'TargetEC2Instances', 'BackupVaultName', 'CommandToRun']) {
      expect(message).toContain(field);
    }
  });
});

describe('parseSettings', () => {
  test('reads the JSON the construct sets', () => {
    expect(parseSettings(JSON.stringify(SETTINGS))).toEqual(SETTINGS);
  });
  test.each([[undefined], [''], ['not json'], ['[]'], ['{"tagKey":"k"}']])('refuses %p with a ConfigurationError', (text) => {
    expect(() => parseSettings(text)).toThrow(expect.objectContaining({ name: 'ConfigurationError' }));
  });
  test('names every setting it lacks or that has the wrong type, in one message', () => {
    const { tagKey: _omitted, ...rest } = SETTINGS;
    const text = JSON.stringify({ ...rest, maxTargetInstances: '10', stopInstances: 'yes' });
    expect(() => parseSettings(text)).toThrow(expect.objectContaining({
      name: 'ConfigurationError', message: 'SETTINGS lacks or mistypes: tagKey (string), stopInstances (boolean), maxTargetInstances (number)',
    }));
  });
  test.each([[4], [-1], [1.5], ['1']])('issue 15: refuses script retries %p (0-3), naming the setting', (retries) => {
    const text = JSON.stringify({ ...SETTINGS, postScript: { ...SETTINGS.postScript!, retries } });
    expect(() => parseSettings(text)).toThrow(expect.objectContaining({
      name: 'ConfigurationError', message: expect.stringMatching(/postScript.retries .* not a whole number from 0 to 3/),
    }));
  });
  test('issue 15: refuses an unknown pre-script failure policy', () => {
    expect(() => parseSettings(JSON.stringify({ ...SETTINGS, onPreScriptFailure: 'ignore' }))).toThrow(expect.objectContaining({
      name: 'ConfigurationError', message: expect.stringMatching(/onPreScriptFailure "ignore" is neither skip-backup nor backup-crash-consistent/),
    }));
  });
  test('refuses a script timeout AWS-RunRemoteScript would refuse (over 28800 s), naming it', () => {
    const text = JSON.stringify({ ...SETTINGS, preScript: { ...SETTINGS.preScript!, timeoutSeconds: 172800 } });
    expect(() => parseSettings(text)).toThrow(expect.objectContaining({
      name: 'ConfigurationError', message: expect.stringMatching(/preScript.timeoutSeconds 172800 .*AWS-RunRemoteScript.*28800/),
    }));
  });
});

describe('TimeoutInSeconds is bounded by what AWS-RunRemoteScript accepts', () => {
  // Settings of an older deployment (48 h allowed then) must not reach SendCommand with a value it refuses.
  const longConfigured: ConstructSettings = { ...SETTINGS, preScript: { ...SETTINGS.preScript!, timeoutSeconds: 172800 } };
  test('over 28800 s is refused even when the configured timeout is longer', () => {
    const message = rejects({ RemoteRunCommandDetails: { PreBackupScriptDetails: { TimeoutInSeconds: 28801 } } }, longConfigured);
    expect(message).toMatch(/TimeoutInSeconds: must be a whole number of seconds from 30 to 28800 \(the most AWS-RunRemoteScript accepts as executionTimeout/);
  });
  test('28800 s is accepted', () => {
    const config = validateInput({ RemoteRunCommandDetails: { PreBackupScriptDetails: { TimeoutInSeconds: 28800 } } }, longConfigured);
    expect(config.preScript.timeoutSeconds).toBe(28800);
  });
});

test('runConfig fixture is the settings', () => {
  expect(runConfig().preScript.enabled).toBe(true);
});

describe('issue 15: retries and the pre-script failure policy', () => {
  const withRetries = { ...SETTINGS, preScript: { ...SETTINGS.preScript!, retries: 2 }, postScript: { ...SETTINGS.postScript!, retries: 1 } };

  test('the configured retries and policy reach the run configuration', () => {
    const config = validateInput({}, { ...withRetries, onPreScriptFailure: 'backup-crash-consistent' });
    expect(config.preScript.retries).toBe(2);
    expect(config.postScript.retries).toBe(1);
    expect(config.onPreScriptFailure).toBe('backup-crash-consistent');
  });

  test('settings written before issue 15 mean no retry and skip-backup', () => {
    const config = validateInput({}, SETTINGS);
    expect([config.preScript.retries, config.postScript.retries, config.onPreScriptFailure]).toEqual([0, 0, 'skip-backup']);
  });

  test('the input may lower the retries (a number or a string of digits)', () => {
    const config = validateInput({ RemoteRunCommandDetails: { PreBackupScriptDetails: { Retries: 0 }, PostBackupScriptDetails: { Retries: '1' } } }, withRetries);
    expect([config.preScript.retries, config.postScript.retries]).toEqual([0, 1]);
  });

  test.each([[3], [-1], [1.5], ['two'], [true]])('the input may not raise them or give a non-number: Retries %p', (retries) => {
    expect(() => validateInput({ RemoteRunCommandDetails: { PreBackupScriptDetails: { Retries: retries } } }, withRetries))
      .toThrow(/RemoteRunCommandDetails\.PreBackupScriptDetails\.Retries.*whole number of retries from 0 to 2/);
  });
});
