import * as fs from 'fs';
import * as path from 'path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { BackupScript, ReleaseTiming, ScriptPlatform } from '../../src';
import { commandLineForRun, EXECUTION_NAME_PLACEHOLDER, shellSafeExecutionName } from '../../src/contract/command-line';
import { READY_MADE_LINUX_DIR } from '../../src/scripts/ready-made';
import { consumerStack } from '../helpers/stacks';

function bind(script: BackupScript, freezeBudget?: Duration) {
  const stack = new Stack(new App(), 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
  return { stack, config: script.bind(new Construct(stack, 'Scope'), freezeBudget ? { freezeBudget } : undefined) };
}

describe('BackupScript.linuxFilesystemFreeze / linuxFilesystemThaw (issue 15)', () => {
  test('the freeze uploads ready-made/linux/fsfreeze-pre.sh and carries its parameters and the run placeholder', () => {
    const { stack, config } = bind(BackupScript.linuxFilesystemFreeze({ mountPoints: ['/data', '/var/lib/mysql/'] }));
    // Default delay: the construct's default freeze budget (30 min) plus the 10 min margin.
    // SSM saves the object under its key's last segment (the asset hash): the command line names that file.
    const file = path.posix.basename(stack.resolve(config.key));
    expect(file).toMatch(/^[0-9a-f]{64}\.sh$/);
    expect(config.commandLine).toBe(`bash ${file} --mount-points /data,/var/lib/mysql --safety-thaw-seconds 2400 --run-id %EXECUTION_NAME%`);
    expect(config.platform).toBe(ScriptPlatform.LINUX);
    expect(config.timeout.toSeconds()).toBe(120);
    expect(fs.existsSync(path.join(READY_MADE_LINUX_DIR, 'fsfreeze-pre.sh'))).toBe(true);
  });

  test('the thaw uploads fsfreeze-post.sh with the same run id', () => {
    const { config } = bind(BackupScript.linuxFilesystemThaw());
    expect(config.commandLine).toBe(`bash ${config.key} --run-id %EXECUTION_NAME%`);
    const failing = bind(BackupScript.linuxFilesystemThaw({ failIfSafetyThawFired: true, timeout: Duration.minutes(1) })).config;
    expect(failing.commandLine).toBe(`bash ${failing.key} --run-id %EXECUTION_NAME% --fail-if-safety-thaw-fired`);
    expect(failing.key).not.toBe(bind(BackupScript.linuxFilesystemFreeze()).config.key);
  });

  test('without mount points the script discovers them; the delay follows the freeze budget, or is given', () => {
    const discovered = bind(BackupScript.linuxFilesystemFreeze(), Duration.minutes(5)).config;
    expect(discovered.commandLine).toBe(`bash ${discovered.key} --safety-thaw-seconds 900 --run-id %EXECUTION_NAME%`);
    expect(bind(BackupScript.linuxFilesystemFreeze({ safetyThawDelay: Duration.minutes(45) })).config.commandLine)
      .toMatch(/^bash [0-9a-f]{64}\.sh --safety-thaw-seconds 2700 --run-id %EXECUTION_NAME%$/);
  });

  test('in a construct, the delay is its freezeBudget plus the margin, and the settings carry both command lines', () => {
    const { stack } = consumerStack({
      preScript: BackupScript.linuxFilesystemFreeze({ mountPoints: ['/data'] }),
      postScript: BackupScript.linuxFilesystemThaw(),
      releaseAt: ReleaseTiming.POINT_IN_TIME,
      freezeBudget: Duration.minutes(3),
    });
    const template = JSON.stringify(stack.resolve((stack as any)._toCloudFormation()));
    expect(template).toMatch(/bash [0-9a-f]{64}\.sh --mount-points \/data --safety-thaw-seconds 780 --run-id %EXECUTION_NAME%/);
    expect(template).toMatch(/bash [0-9a-f]{64}\.sh --run-id %EXECUTION_NAME%/);
  });

  test.each([
    ['the root filesystem', ['/'], /mountPoints\[0\] '\/': the root filesystem is never frozen.*SSM agent/],
    ['the root filesystem with a slash', ['/data', '//'], /mountPoints\[1\] '\/\/' is not accepted|root filesystem/],
    ['/boot', ['/boot'], /\/boot filesystems are never frozen/],
    ['/boot/efi', ['/boot/efi'], /\/boot filesystems are never frozen/],
    ['a relative path', ['data'], /mountPoints\[0\] 'data' is not accepted: give an absolute path/],
    ['a space', ['/my data'], /is not accepted/],
    ['a comma', ['/a,/b'], /no spaces or commas/],
    ['a dot-dot', ['/data/../'], /canonical path/],
    ['twice', ['/data', '/data/'], /mountPoints\[1\] '\/data\/' is named twice/],
    ['an empty list', [], /mountPoints is empty/],
  ])('refuses %s', (_name, mountPoints, message) => {
    expect(() => BackupScript.linuxFilesystemFreeze({ mountPoints })).toThrow(message);
  });

  test('refuses a safety-thaw delay out of range or not longer than the freeze budget, naming the construct', () => {
    expect(() => bind(BackupScript.linuxFilesystemFreeze({ safetyThawDelay: Duration.seconds(30) }))).toThrow(/safetyThawDelay 30 seconds is not accepted/);
    expect(() => bind(BackupScript.linuxFilesystemFreeze({ safetyThawDelay: Duration.hours(25) }))).toThrow(/from 1 minute to 24 hours/);
    expect(() => bind(BackupScript.linuxFilesystemFreeze({ safetyThawDelay: Duration.minutes(20) }), Duration.minutes(20)))
      .toThrow(/BackupScript.linuxFilesystemFreeze 'S\/Scope'.*not longer than the freezeBudget/);
    expect(() => BackupScript.linuxFilesystemFreeze({ timeout: Duration.hours(2) })).toThrow(/linuxFilesystemFreeze: timeout 7200 seconds/);
  });

  test('the run placeholder is replaced by the execution name, made safe for a shell', () => {
    expect(commandLineForRun(`bash fsfreeze-pre.sh --run-id ${EXECUTION_NAME_PLACEHOLDER}`, 'nightly-2026-12-03')).toBe('bash fsfreeze-pre.sh --run-id nightly-2026-12-03');
    expect(shellSafeExecutionName("a'b(c)$d e")).toBe('a-b-c--d-e');
    expect(commandLineForRun('bash x.sh', 'n')).toBe('bash x.sh');
  });
});
