import { App, Duration, Stack } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { BackupScript, ScriptPlatform } from '../../src';
import { fixture } from '../helpers/stacks';

function bind(script: BackupScript) {
  const stack = new Stack(new App(), 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
  return { stack, config: script.bind(new Construct(stack, 'Scope')) };
}

describe('BackupScript', () => {
  test('fromAsset uploads the file and runs a shell script with bash by default', () => {
    const { stack, config } = bind(BackupScript.fromAsset(fixture('freeze.sh')));
    // SSM saves the object under its key's last segment (<asset hash>.sh): the default command line names that file.
    expect(config.commandLine).toMatch(/^bash [0-9a-f]{64}\.sh$/);
    expect(config.commandLine).toBe(`bash ${config.key}`);
    expect(config.platform).toBe(ScriptPlatform.LINUX);
    expect(config.timeout.toSeconds()).toBe(600);
    expect(config.workingDirectory).toBeUndefined();
    expect(stack.resolve(config.key)).toMatch(/^[0-9a-f]{64}\.sh$/);
    expect(stack.resolve(config.bucket!.bucketName)).toBe('cdk-hnb659fds-assets-123456789012-eu-west-1');
  });

  test('a .ps1 file is a Windows PowerShell script', () => {
    const { config } = bind(BackupScript.fromAsset(fixture('vss-prepare.ps1')));
    expect(config.platform).toBe(ScriptPlatform.WINDOWS);
    expect(config.commandLine).toMatch(/^\.\\[0-9a-f]{64}\.ps1$/);
  });

  test('options override the command line, working directory and timeout', () => {
    const { config } = bind(BackupScript.fromAsset(fixture('freeze.sh'), {
      commandLine: 'bash freeze.sh --all', workingDirectory: '/opt/app', timeout: Duration.minutes(30),
    }));
    expect(config).toMatchObject({ commandLine: 'bash freeze.sh --all', workingDirectory: '/opt/app' });
    expect(config.timeout.toMinutes()).toBe(30);
  });

  test('fromBucket uses the object where it is', () => {
    const stack = new Stack(new App(), 'B');
    const bucket = s3.Bucket.fromBucketName(stack, 'Scripts', 'ops-scripts');
    const config = BackupScript.fromBucket(bucket, 'db/freeze.ps1').bind(new Construct(stack, 'Scope'));
    expect(config.bucket).toBe(bucket);
    expect(config.key).toBe('db/freeze.ps1');
    expect(config.commandLine).toBe('.\\freeze.ps1');
    expect(config.platform).toBe(ScriptPlatform.WINDOWS);
  });

  test.each([
    ['a timeout under 30 s', () => BackupScript.fromAsset(fixture('freeze.sh'), { timeout: Duration.seconds(10) }), /BackupScriptOptions.timeout: 10 seconds is not accepted/],
    // AWS-RunRemoteScript's executionTimeout accepts at most 28800 s (8 hours); SendCommand would refuse more.
    ['a timeout over 8 h', () => BackupScript.fromAsset(fixture('freeze.sh'), { timeout: Duration.seconds(28801) }), /BackupScriptOptions.timeout: 28801 seconds is not accepted.*AWS-RunRemoteScript.*up to 28800.*Duration.hours\(8\)/],
    ['a timeout of 48 h (the old limit)', () => BackupScript.fromBucket(s3.Bucket.fromBucketName(new Stack(), 'Z', 'ops-scripts'), 'x.sh', { timeout: Duration.hours(48) }), /BackupScriptOptions.timeout: 172800 seconds/],
    ['a timeout that is not whole seconds', () => BackupScript.fromAsset(fixture('freeze.sh'), { timeout: Duration.millis(60_500) }), /BackupScriptOptions.timeout: 60.5 seconds is not accepted/],
    // Issue 15: retries 0-3, Data Lifecycle Manager's MaximumRetryCount range.
    ['4 retries', () => BackupScript.fromAsset(fixture('freeze.sh'), { retries: 4 }), /BackupScriptOptions.retries: 4 is not accepted. Set `retries` to a whole number from 0 to 3/],
    ['negative retries', () => BackupScript.fromAsset(fixture('freeze.sh'), { retries: -1 }), /BackupScriptOptions.retries: -1 is not accepted/],
    ['fractional retries', () => BackupScript.fromBucket(s3.Bucket.fromBucketName(new Stack(), 'R', 'ops-scripts'), 'x.sh', { retries: 1.5 }), /BackupScriptOptions.retries: 1.5/],
    ['a missing file', () => BackupScript.fromAsset(fixture('missing.sh')), /is not a file/],
    ['a directory', () => BackupScript.fromAsset(fixture('.')), /is not a file/],
    ['an empty command line', () => BackupScript.fromAsset(fixture('freeze.sh'), { commandLine: ' ' }), /commandLine must not be empty/],
    ['a key with a leading slash', () => BackupScript.fromBucket(s3.Bucket.fromBucketName(new Stack(), 'X', 'ops-scripts'), '/x.sh'), /without a leading '\/'/],
    ['an unknown extension without platform and command line', () => BackupScript.fromBucket(s3.Bucket.fromBucketName(new Stack(), 'Y', 'ops-scripts'), 'x.py'), /cannot tell how to run it/],
  ])('rejects %s', (_name, make, message) => {
    expect(make).toThrow(message);
  });

  test('issue 15: retries default to 0 and reach the bound config (0 to 3)', () => {
    expect(bind(BackupScript.fromAsset(fixture('freeze.sh'))).config.retries).toBe(0);
    for (const retries of [0, 3]) {
      expect(bind(BackupScript.fromAsset(fixture('freeze.sh'), { retries })).config.retries).toBe(retries);
    }
  });

  test('8 hours, the most AWS-RunRemoteScript accepts, is accepted', () => {
    const config = BackupScript.fromAsset(fixture('freeze.sh'), { timeout: Duration.hours(8) }).bind(new Construct(new Stack(new App(), 'T'), 'S'));
    expect(config.timeout.toSeconds()).toBe(28800);
  });

  test('an unknown extension works with platform and command line given', () => {
    const stack = new Stack(new App(), 'C');
    const config = BackupScript.fromBucket(s3.Bucket.fromBucketName(stack, 'B', 'ops-scripts'), 'freeze.py', {
      platform: ScriptPlatform.LINUX, commandLine: 'python3 freeze.py',
    }).bind(new Construct(stack, 'Scope'));
    expect(config.commandLine).toBe('python3 freeze.py');
  });
});
