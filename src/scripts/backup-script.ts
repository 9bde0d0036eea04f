import * as fs from 'fs';
import * as path from 'path';
import { Duration, Token } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { MAX_SCRIPT_RETRIES } from '../contract/settings';
import { RUN_REMOTE_SCRIPT_MAX_EXECUTION_TIMEOUT_SECONDS } from '../contract/status';

/**
 * The operating system a backup script is written for.
 */
export enum ScriptPlatform {
  /** A shell script, run by `AWS-RunRemoteScript` on Linux instances. */
  LINUX = 'Linux',
  /** A PowerShell script, run by `AWS-RunRemoteScript` on Windows instances. */
  WINDOWS = 'Windows',
}

/**
 * How a backup script runs on each instance.
 */
export interface BackupScriptOptions {
  /**
   * The command line `AWS-RunRemoteScript` runs in the directory the script was downloaded to.
   *
   * @default - `bash <file name>` for a `.sh` script, `.\<file name>` for a `.ps1` script
   */
  readonly commandLine?: string;

  /**
   * The directory the command runs in, on the instance.
   *
   * @default - the directory SSM downloads the script to
   */
  readonly workingDirectory?: string;

  /**
   * How long the script may run before SSM stops it and the step is recorded as `TimedOut`.
   * A whole number of seconds from 30 seconds to 8 hours: `AWS-RunRemoteScript`, the document that runs the
   * script, accepts an `executionTimeout` of at most 28800 seconds.
   *
   * @default Duration.minutes(10)
   */
  readonly timeout?: Duration;

  /**
   * The operating system the script is written for. Instances of another platform fail with that reason
   * and are not touched.
   *
   * @default - `WINDOWS` for a `.ps1` file, otherwise `LINUX`
   */
  readonly platform?: ScriptPlatform;

  /**
   * How many times a failed run of the script is tried again, from 0 to 3 (Amazon Data Lifecycle Manager's
   * `MaximumRetryCount`). Only a script that ran and failed (a non-zero exit) or ran past its `timeout` is tried again,
   * after a 15-second pause; an SSM agent that is offline, or a command SSM could not deliver, is not.
   * As a pre-backup script, the whole attempt is repeated (the agent check, the command, its wait), before any stop or
   * backup; the script should undo its own partial work when it fails (the post-backup script runs once, at the end).
   * As a post-backup script, only the script is repeated. Every attempt is recorded in the audit entry.
   *
   * @default 0
   */
  readonly retries?: number;
}

/**
 * A script as the construct binds it: where it lives and how it runs.
 */
export interface BackupScriptConfig {
  /** The bucket holding the script. */
  readonly bucket: s3.IBucket;
  /** The object key of the script. */
  readonly key: string;
  /** The command line run on the instance. */
  readonly commandLine: string;
  /**
   * The working directory on the instance.
   * @default - the directory SSM downloads the script to
   */
  readonly workingDirectory?: string;
  /** How long the script may run. */
  readonly timeout: Duration;
  /** The operating system the script is written for. */
  readonly platform: ScriptPlatform;
  /**
   * How many times a failed run is tried again (0-3).
   * @default 0
   */
  readonly retries?: number;
}

const MIN_TIMEOUT = Duration.seconds(30);
const MAX_SCRIPT_TIMEOUT_SECONDS = RUN_REMOTE_SCRIPT_MAX_EXECUTION_TIMEOUT_SECONDS;
const MAX_TIMEOUT = Duration.seconds(MAX_SCRIPT_TIMEOUT_SECONDS);
const DEFAULT_TIMEOUT = Duration.minutes(10);

/**
 * A script run on every instance before or after its backup, through SSM Run Command (`AWS-RunRemoteScript`).
 *
 * Linux instances run shell scripts (`.sh`), Windows instances PowerShell scripts (`.ps1`).
 */
export abstract class BackupScript {
  /**
   * A script file in your project, uploaded as a CDK asset: no bucket to create and no upload step.
   *
   * @param filePath path to the script file (`.sh` or `.ps1`)
   * @param options how the script runs
   */
  public static fromAsset(filePath: string, options: BackupScriptOptions = {}): BackupScript {
    return new AssetBackupScript(filePath, options);
  }

  /**
   * A script that is already in an S3 bucket.
   *
   * @param bucket the bucket holding the script
   * @param key the object key of the script (`.sh` or `.ps1`)
   * @param options how the script runs
   */
  public static fromBucket(bucket: s3.IBucket, key: string, options: BackupScriptOptions = {}): BackupScript {
    return new BucketBackupScript(bucket, key, options);
  }

  /**
   * Binds the script to a construct: uploads it if needed and returns where it lives and how it runs.
   *
   * @param scope the construct using the script
   */
  public abstract bind(scope: Construct): BackupScriptConfig;
}

class AssetBackupScript extends BackupScript {
  constructor(private readonly filePath: string, private readonly options: BackupScriptOptions) {
    super();
    if (!fs.existsSync(filePath) || !fs.statSync(filePath).isFile()) {
      throw new Error(`BackupScript.fromAsset: '${filePath}' is not a file. Give the path of a .sh or .ps1 script.`);
    }
    validateOptions(options, path.basename(filePath));
  }

  public bind(scope: Construct): BackupScriptConfig {
    const asset = new s3assets.Asset(scope, 'Asset', { path: this.filePath });
    return resolveConfig(asset.bucket, asset.s3ObjectKey, path.basename(this.filePath), this.options);
  }
}

class BucketBackupScript extends BackupScript {
  constructor(private readonly bucket: s3.IBucket, private readonly key: string, private readonly options: BackupScriptOptions) {
    super();
    if (!Token.isUnresolved(key) && (key.length === 0 || key.startsWith('/'))) {
      throw new Error(`BackupScript.fromBucket: key '${key}' must be a non-empty object key without a leading '/'.`);
    }
    validateOptions(options, Token.isUnresolved(key) ? undefined : path.posix.basename(key));
  }

  public bind(_scope: Construct): BackupScriptConfig {
    const fileName = Token.isUnresolved(this.key) ? undefined : path.posix.basename(this.key);
    return resolveConfig(this.bucket, this.key, fileName, this.options);
  }
}

function validateOptions(options: BackupScriptOptions, fileName: string | undefined): void {
  const timeout = options.timeout;
  if (timeout && !timeout.isUnresolved()) {
    const seconds = timeout.toSeconds({ integral: false });
    if (!Number.isInteger(seconds) || seconds < MIN_TIMEOUT.toSeconds() || seconds > MAX_TIMEOUT.toSeconds()) {
      throw new Error(
        `BackupScriptOptions.timeout: ${seconds} seconds is not accepted. The script runs through the SSM document `
        + `AWS-RunRemoteScript, whose executionTimeout takes a whole number of seconds up to ${MAX_SCRIPT_TIMEOUT_SECONDS} `
        + '(8 hours); this construct also needs at least 30 seconds. Set `timeout` to a whole number of seconds from '
        + 'Duration.seconds(30) to Duration.hours(8), or split a longer job so that the script only starts and checks it.',
      );
    }
  }
  const retries = options.retries;
  if (retries !== undefined && !Token.isUnresolved(retries)
    && (!Number.isInteger(retries) || retries < 0 || retries > MAX_SCRIPT_RETRIES)) {
    throw new Error(
      `BackupScriptOptions.retries: ${retries} is not accepted. Set \`retries\` to a whole number from 0 to ${MAX_SCRIPT_RETRIES} `
      + '(Amazon Data Lifecycle Manager\'s range), or leave it unset for no retry; a script that needs more tries should '
      + 'retry inside itself.',
    );
  }
  if (options.commandLine !== undefined && !Token.isUnresolved(options.commandLine) && options.commandLine.trim() === '') {
    throw new Error('BackupScript commandLine must not be empty: leave it unset to run the script file itself.');
  }
  if (options.workingDirectory !== undefined && !Token.isUnresolved(options.workingDirectory)
    && /[\u0000-\u001f]/.test(options.workingDirectory)) {
    throw new Error('BackupScript workingDirectory must not contain control characters.');
  }
  if (options.platform === undefined && options.commandLine === undefined && fileName !== undefined
    && !/\.(sh|ps1)$/i.test(fileName)) {
    throw new Error(
      `BackupScript '${fileName}': cannot tell how to run it. Name it '.sh' (Linux) or '.ps1' (Windows), ` +
      'or set both `platform` and `commandLine`.',
    );
  }
}

function resolveConfig(bucket: s3.IBucket, key: string, fileName: string | undefined, options: BackupScriptOptions): BackupScriptConfig {
  const platform = options.platform
    ?? (fileName && /\.ps1$/i.test(fileName) ? ScriptPlatform.WINDOWS : ScriptPlatform.LINUX);
  const commandLine = options.commandLine ?? defaultCommandLine(fileName, platform);
  return {
    bucket,
    key,
    commandLine,
    workingDirectory: options.workingDirectory,
    timeout: options.timeout ?? DEFAULT_TIMEOUT,
    platform,
    retries: options.retries ?? 0,
  };
}

function defaultCommandLine(fileName: string | undefined, platform: ScriptPlatform): string {
  if (!fileName) {
    throw new Error('BackupScript.fromBucket with a key only known at deploy time needs an explicit `commandLine`.');
  }
  return platform === ScriptPlatform.WINDOWS ? `.\\${fileName}` : `bash ${fileName}`;
}
