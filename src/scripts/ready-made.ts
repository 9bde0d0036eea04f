import * as path from 'path';
import { Duration, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { BackupScript, BackupScriptBindOptions, BackupScriptConfig } from './backup-script';
import { LinuxFilesystemFreezeOptions, LinuxFilesystemThawOptions } from './ready-made-options';
import { EXECUTION_NAME_PLACEHOLDER } from '../contract/command-line';
import { PropsCheck } from '../validation/errors';

/**
 * The ready-made scripts (ready-made/README.md), shipped in the npm package next to `lib/`: `BackupScript.
 * linuxFilesystemFreeze()` / `linuxFilesystemThaw()` upload them as assets and write their command lines.
 */

/** Where the ready-made Linux scripts are: `<package>/ready-made/linux` (from `src/scripts` and from `lib/scripts`). */
export const READY_MADE_LINUX_DIR = path.join(__dirname, '..', '..', 'ready-made', 'linux');
export const FSFREEZE_PRE_FILE = 'fsfreeze-pre.sh';
export const FSFREEZE_POST_FILE = 'fsfreeze-post.sh';

/** What the workflow needs after the freeze budget to deliver the post-script (start, agent, SendCommand). */
export const SAFETY_THAW_MARGIN = Duration.minutes(10);
/** The construct's freezeBudget default (src/pre-post-script-backup/validate.ts). */
const DEFAULT_FREEZE_BUDGET = Duration.minutes(30);
const SAFETY_THAW_MIN_SECONDS = 60;
/** fsfreeze-pre.sh accepts 1 to 86400. */
const SAFETY_THAW_MAX_SECONDS = 86400;
const DEFAULT_TIMEOUT = Duration.minutes(2);

/** The characters fsfreeze-pre.sh accepts in a mount point (its output is key=value lines, lists comma-separated). */
const MOUNT_POINT_PATTERN = /^\/[A-Za-z0-9/_.@+:~-]*$/;

function fail(factory: string, detail: string): never {
  throw new Error(`BackupScript.${factory}: ${detail}`);
}

/** The mount points, normalized (no trailing slash), or a scoped error naming the one that is refused and why. */
export function checkMountPoints(mountPoints: string[] | undefined): string[] | undefined {
  if (mountPoints === undefined) {
    return undefined;
  }
  const factory = 'linuxFilesystemFreeze';
  if (mountPoints.length === 0) {
    fail(factory, 'mountPoints is empty: name at least one mount point, or leave mountPoints unset to freeze every supported filesystem except /, /boot and the SSM agent\'s.');
  }
  const seen = new Set<string>();
  return mountPoints.map((raw, i) => {
    const where = `mountPoints[${i}] '${raw}'`;
    if (Token.isUnresolved(raw)) {
      fail(factory, `${where}: a mount point must be known at synth time (it is part of the command line).`);
    }
    if (!MOUNT_POINT_PATTERN.test(raw)) {
      fail(factory, `${where} is not accepted: give an absolute path of letters, digits and / _ . @ + : ~ - only (no spaces or commas).`);
    }
    const m = raw.length > 1 ? raw.replace(/\/+$/, '') : raw;
    if (m.split('/').some((part) => part === '.' || part === '..') || m.includes('//')) {
      fail(factory, `${where} is not accepted: give the mount point's canonical path (no '.', '..' or '//').`);
    }
    if (m === '/' || m === '') {
      fail(factory, `${where}: the root filesystem is never frozen. Freezing it blocks the SSM agent and every process that writes, so nothing could deliver the thaw (fsfreeze(8); AWS's own sample skips it). Put the data on its own volume and name that mount point.`);
    }
    if (m === '/boot' || m.startsWith('/boot/') || /^\/boot[^/]*$/.test(m)) {
      fail(factory, `${where}: /boot filesystems are never frozen (AWS's own sample skips them).`);
    }
    if (seen.has(m)) {
      fail(factory, `${where} is named twice.`);
    }
    seen.add(m);
    return m;
  });
}

function checkTimeout(factory: string, timeout: Duration | undefined): Duration {
  const t = timeout ?? DEFAULT_TIMEOUT;
  if (!t.isUnresolved()) {
    const s = t.toSeconds({ integral: false });
    if (!Number.isInteger(s) || s < 30 || s > 3600) {
      fail(factory, `timeout ${s} seconds is not accepted: a freeze or a thaw takes seconds; give a whole number of seconds from Duration.seconds(30) to Duration.hours(1).`);
    }
  }
  return t;
}

function safetyThawSeconds(delay: Duration | undefined, bindOptions: BackupScriptBindOptions | undefined, scope: Construct): number {
  const check = new PropsCheck(scope, 'BackupScript.linuxFilesystemFreeze');
  const budget = bindOptions?.freezeBudget ?? DEFAULT_FREEZE_BUDGET;
  const chosen = delay ?? budget.plus(SAFETY_THAW_MARGIN);
  if (chosen.isUnresolved()) {
    check.fail('safetyThawDelay', 'safetyThawDelay (or the construct\'s freezeBudget) must be known at synth time: it is part of the command line.');
  }
  const seconds = chosen.toSeconds({ integral: false });
  if (!Number.isInteger(seconds) || seconds < SAFETY_THAW_MIN_SECONDS || seconds > SAFETY_THAW_MAX_SECONDS) {
    check.fail('safetyThawDelay', `safetyThawDelay ${seconds} seconds is not accepted: give a whole number of seconds from 1 minute to 24 hours.`);
  }
  if (delay !== undefined && !budget.isUnresolved() && seconds <= budget.toSeconds()) {
    check.fail('safetyThawDelay', `safetyThawDelay ${seconds} s is not longer than the freezeBudget (${budget.toSeconds()} s): the safety timer would thaw `
      + 'before the workflow releases the application. Give it the freeze budget plus a margin, or leave it unset.');
  }
  return seconds;
}

/** The command line of the freeze, as SSM receives it (the run's name filled in by send-script). */
export function freezeCommandLine(file: string, mountPoints: string[] | undefined, seconds: number): string {
  return [
    'bash', file,
    ...(mountPoints ? ['--mount-points', mountPoints.join(',')] : []),
    '--safety-thaw-seconds', String(seconds),
    '--run-id', EXECUTION_NAME_PLACEHOLDER,
  ].join(' ');
}

/** The command line of the thaw. */
export function thawCommandLine(file: string, failIfFired: boolean): string {
  return ['bash', file, '--run-id', EXECUTION_NAME_PLACEHOLDER, ...(failIfFired ? ['--fail-if-safety-thaw-fired'] : [])].join(' ');
}

/**
 * The module backup-script.ts imports this one (for its static factories) and this one extends its class: the class
 * is made on first use, once both modules are loaded.
 */
let readyMadeClass: (new (build: (scope: Construct, options?: BackupScriptBindOptions) => BackupScriptConfig) => BackupScript) | undefined;
function readyMade(binder: (scope: Construct, options?: BackupScriptBindOptions) => BackupScriptConfig): BackupScript {
  if (!readyMadeClass) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { BackupScript: Base } = require('./backup-script') as typeof import('./backup-script');
    readyMadeClass = class ReadyMadeScript extends Base {
      constructor(private readonly build: (scope: Construct, options?: BackupScriptBindOptions) => BackupScriptConfig) {
        super();
      }
      public bind(scope: Construct, options?: BackupScriptBindOptions): BackupScriptConfig {
        return this.build(scope, options);
      }
    };
  }
  return new readyMadeClass(binder);
}

/**
 * The shipped file as an asset. `aws:downloadContent` saves an S3 object under its key's last segment, so on the
 * instance the script is `<asset hash>.sh`, not its name here: the command line names the downloaded file.
 */
function asset(fileName: string, commandLine: (downloaded: string) => string, timeout: Duration, scope: Construct): BackupScriptConfig {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { BackupScript: Base, ScriptPlatform } = require('./backup-script') as typeof import('./backup-script');
  const config = Base.fromAsset(path.join(READY_MADE_LINUX_DIR, fileName), { commandLine: `bash ${fileName}`, timeout, platform: ScriptPlatform.LINUX }).bind(scope);
  if (!config.key || Token.isUnresolved(config.key)) {
    throw new Error(`BackupScript ready-made ${fileName}: the asset's object key is not known at synth time; the command line must name it.`);
  }
  return { ...config, commandLine: commandLine(path.posix.basename(config.key)) };
}

/** BackupScript.linuxFilesystemFreeze. */
export function linuxFilesystemFreezeScript(options: LinuxFilesystemFreezeOptions): BackupScript {
  const mountPoints = checkMountPoints(options.mountPoints);
  const timeout = checkTimeout('linuxFilesystemFreeze', options.timeout);
  return readyMade((scope, bindOptions) => {
    const seconds = safetyThawSeconds(options.safetyThawDelay, bindOptions, scope);
    return asset(FSFREEZE_PRE_FILE, (file) => freezeCommandLine(file, mountPoints, seconds), timeout, scope);
  });
}

/** BackupScript.linuxFilesystemThaw. */
export function linuxFilesystemThawScript(options: LinuxFilesystemThawOptions): BackupScript {
  const timeout = checkTimeout('linuxFilesystemThaw', options.timeout);
  return readyMade((scope) => asset(FSFREEZE_POST_FILE, (file) => thawCommandLine(file, options.failIfSafetyThawFired ?? false), timeout, scope));
}
