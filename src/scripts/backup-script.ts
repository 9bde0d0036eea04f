import * as fs from 'fs';
import * as path from 'path';
import { Duration, Stack, Token } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3assets from 'aws-cdk-lib/aws-s3-assets';
import { Construct } from 'constructs';
import { documentArn } from './document-arn';
import { linuxFilesystemFreezeScript, linuxFilesystemThawScript } from './ready-made';
import { LinuxFilesystemFreezeOptions, LinuxFilesystemThawOptions } from './ready-made-options';
import {
  DLM_COMMAND_PARAMETER, DLM_EXECUTION_ID_PARAMETER, DOCUMENT_ARN_PATTERN, DOCUMENT_NAME_PATTERN, SEND_COMMAND_DOCUMENT_PATTERN,
} from '../contract/script-document';
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
   * The command line `AWS-RunRemoteScript` runs in the directory the script was downloaded to. SSM saves the script
   * under its S3 key's last segment: for `fromAsset` that is `<asset hash>.sh` (or `.ps1`), not the file's own name.
   *
   * @default - `bash <downloaded file>` for a `.sh` script, `.\<downloaded file>` for a `.ps1` script (the key's last segment)
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
 * How a Command document runs as a backup script (`BackupScript.fromSsmDocument`).
 */
export interface SsmDocumentScriptOptions {
  /**
   * Whether the document follows Amazon Data Lifecycle Manager's convention for pre/post scripts: one document for
   * both stages, with a parameter `command` that the construct sets to `pre-script` before the backup and
   * `post-script` after it (`dry-run` for a check that must change nothing), and a parameter `executionId` that it
   * sets to a UUID naming the run and the instance (the same at both stages). A document written for DLM (AWS's
   * template, or your own) runs unchanged. Turn it off for a document without these parameters: it then runs with
   * `parameters` only, the same at both stages.
   *
   * @default true
   */
  readonly dlmConvention?: boolean;

  /**
   * More parameters of the document, sent at every stage: parameter name to its values (a `String` parameter takes
   * one value, a `StringList` several). With `dlmConvention`, `command` and `executionId` are set by the construct
   * and cannot be given here.
   *
   * @default - none
   */
  readonly parameters?: { [name: string]: string[] };

  /**
   * The document version to run: `$DEFAULT`, `$LATEST` or a version number.
   *
   * @default - the document's default version
   */
  readonly documentVersion?: string;

  /**
   * How long the workflow waits for the document to finish before it cancels the command and records the step as
   * `TimedOut`: a whole number of seconds from 30 seconds to 8 hours. The document's own steps may have shorter
   * timeouts of their own (`timeoutSeconds` of a step).
   *
   * @default Duration.minutes(10)
   */
  readonly timeout?: Duration;

  /**
   * The operating system the document is for. Instances of another platform fail with that reason and are not
   * touched (a step whose `precondition` does not hold would be skipped by the agent and report success having done
   * nothing).
   *
   * @default ScriptPlatform.LINUX
   */
  readonly platform?: ScriptPlatform;

  /**
   * How many times a failed run of the document is tried again, from 0 to 3, with the semantics of
   * `BackupScriptOptions.retries` (a pre-backup document repeats the whole attempt, a post-backup one only itself).
   *
   * @default 0
   */
  readonly retries?: number;
}

/**
 * A Command document as the construct binds it (`BackupScript.fromSsmDocument`).
 */
export interface SsmDocumentConfig {
  /** SendCommand's `DocumentName`: the document's name (yours or AWS's) or its ARN (yours, or shared with you). */
  readonly documentName: string;
  /**
   * The ARN IAM grants `ssm:SendCommand` on.
   */
  readonly documentArn: string;
  /**
   * The version to run.
   * @default - the document's default version
   */
  readonly documentVersion?: string;
  /** Parameters sent at every stage (with `dlmConvention`, besides `command` and `executionId`). */
  readonly parameters: { [name: string]: string[] };
  /** Whether `command` (the stage) and `executionId` are sent, as Data Lifecycle Manager does. */
  readonly dlmConvention: boolean;
}

/**
 * A script as the construct binds it: where it lives and how it runs. Either an S3 script (`bucket`, `key`,
 * `commandLine`: run by `AWS-RunRemoteScript`) or a Command document (`document`).
 */
export interface BackupScriptConfig {
  /**
   * The bucket holding the script.
   * @default - none: the script is a Command document (`document`)
   */
  readonly bucket?: s3.IBucket;
  /**
   * The object key of the script.
   * @default - none: the script is a Command document (`document`)
   */
  readonly key?: string;
  /**
   * The command line run on the instance.
   * @default - none: the script is a Command document (`document`)
   */
  readonly commandLine?: string;
  /**
   * The Command document run instead of an S3 script.
   * @default - none: the script is an S3 script (`bucket`, `key`, `commandLine`)
   */
  readonly document?: SsmDocumentConfig;
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

/**
 * What the construct using a script tells it when it binds it.
 */
export interface BackupScriptBindOptions {
  /**
   * The longest the construct keeps an application frozen (its `freezeBudget` prop): the ready-made freeze arms its
   * safety timer for this plus a margin.
   *
   * @default Duration.minutes(30)
   */
  readonly freezeBudget?: Duration;
}

const MIN_TIMEOUT = Duration.seconds(30);
const MAX_SCRIPT_TIMEOUT_SECONDS = RUN_REMOTE_SCRIPT_MAX_EXECUTION_TIMEOUT_SECONDS;
const MAX_TIMEOUT = Duration.seconds(MAX_SCRIPT_TIMEOUT_SECONDS);
const DEFAULT_TIMEOUT = Duration.minutes(10);

/**
 * A script run on every instance before or after its backup, through SSM Run Command: a script file run by
 * `AWS-RunRemoteScript` (`fromAsset`, `fromBucket`), or a Command document (`fromSsmDocument`).
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
   * A Command document run as the script, yours or one AWS publishes, in the style of Amazon Data Lifecycle Manager:
   * by default the same document serves both stages, the construct passing `command` = `pre-script` or
   * `post-script` and `executionId` (see `SsmDocumentScriptOptions.dlmConvention`), so a document written for DLM
   * runs unchanged. The workflow's role may send this document only (`ssm:SendCommand` on its ARN).
   *
   * Give a document of your account by name (or ARN), a document AWS publishes by name (names starting with `AWS`,
   * `Amazon` or `amzn` are AWS's), and a document shared with you from another account by its full ARN
   * (`arn:aws:ssm:<region>:<owner account>:document/<name>`), as SendCommand requires. A name known only at deploy
   * time (for example the `ref` of a `CfnDocument` of your stack) is taken as a document of the stack's account.
   *
   * @param document the document's name or ARN
   * @param options how the document runs
   */
  public static fromSsmDocument(document: string, options: SsmDocumentScriptOptions = {}): BackupScript {
    return new DocumentBackupScript(document, options);
  }

  /**
   * The ready-made Linux filesystem freeze (`fsfreeze -f`), shipped with this library: arms an on-instance safety
   * timer that thaws by itself, then freezes the mount points. Use with `linuxFilesystemThaw()` as the post-script.
   * See ready-made/README.md.
   *
   * @param options the mount points and the safety-thaw delay
   */
  public static linuxFilesystemFreeze(options: LinuxFilesystemFreezeOptions = {}): BackupScript {
    return linuxFilesystemFreezeScript(options);
  }

  /**
   * The ready-made Linux filesystem thaw (`fsfreeze -u`) that goes with `linuxFilesystemFreeze()`: thaws what the
   * freeze of the same run froze, disarms the safety timer and reports whether it had fired.
   *
   * @param options how the thaw runs
   */
  public static linuxFilesystemThaw(options: LinuxFilesystemThawOptions = {}): BackupScript {
    return linuxFilesystemThawScript(options);
  }

  /**
   * Binds the script to a construct: uploads it if needed and returns where it lives and how it runs.
   *
   * @param scope the construct using the script
   * @param options what the construct using the script tells it
   */
  public abstract bind(scope: Construct, options?: BackupScriptBindOptions): BackupScriptConfig;
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
    // AWS-RunRemoteScript's aws:downloadContent saves the object under its key's last segment: on the instance the
    // script is `<asset hash>.sh`, not the file's name here, so the default command line names the downloaded file
    // (docs/fidelity/ready-made.md).
    const downloaded = Token.isUnresolved(asset.s3ObjectKey) ? path.basename(this.filePath) : path.posix.basename(asset.s3ObjectKey);
    return resolveConfig(asset.bucket, asset.s3ObjectKey, downloaded, this.options);
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

const DOCUMENT_VERSION_PATTERN = /^(\$LATEST|\$DEFAULT|[1-9][0-9]*)$/;
/** Parameter names as SSM documents declare them (letters, digits, `_`, `-`, `.`; assumed, see docs/fidelity/ssm.md). */
const PARAMETER_NAME_PATTERN = /^[a-zA-Z0-9_.-]{1,128}$/;

class DocumentBackupScript extends BackupScript {
  constructor(private readonly document: string, private readonly options: SsmDocumentScriptOptions) {
    super();
    const where = `BackupScript.fromSsmDocument('${document}')`;
    if (!Token.isUnresolved(document)) {
      if (document.startsWith('arn:')) {
        if (!DOCUMENT_ARN_PATTERN.test(document) || !SEND_COMMAND_DOCUMENT_PATTERN.test(document)) {
          throw new Error(`${where}: not a document ARN. Give arn:<partition>:ssm:<region>:<account>:document/<name> `
            + '(at most 128 characters, as SendCommand accepts), or the document\'s name.');
        }
      } else if (!DOCUMENT_NAME_PATTERN.test(document)) {
        throw new Error(`${where}: a document name is 3 to 128 letters, digits, '_', '-' or '.' (SSM's pattern `
          + '^[a-zA-Z0-9_\\-.]{3,128}$). A document shared from another account is given by its ARN.');
      }
    }
    const version = options.documentVersion;
    if (version !== undefined && !Token.isUnresolved(version) && !DOCUMENT_VERSION_PATTERN.test(version)) {
      throw new Error(`${where}: documentVersion '${version}' is not $DEFAULT, $LATEST or a version number.`);
    }
    const dlm = options.dlmConvention ?? true;
    for (const [name, values] of Object.entries(options.parameters ?? {})) {
      if (!PARAMETER_NAME_PATTERN.test(name)) {
        throw new Error(`${where}: parameter name '${name}' is not a document parameter name (letters, digits, '_', '-', '.').`);
      }
      if (dlm && (name === DLM_COMMAND_PARAMETER || name === DLM_EXECUTION_ID_PARAMETER)) {
        throw new Error(`${where}: parameter '${name}' is set by the construct at each stage (dlmConvention); `
          + 'remove it from `parameters`, or set `dlmConvention: false` to run the document with your parameters only.');
      }
      if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) {
        throw new Error(`${where}: parameter '${name}' must be a list of strings.`);
      }
    }
    validateTimeout(options.timeout, where);
    validateRetries(options.retries, `${where}: retries`);
  }

  public bind(scope: Construct): BackupScriptConfig {
    return {
      document: {
        documentName: this.document,
        documentArn: documentArn(Stack.of(scope), this.document),
        documentVersion: this.options.documentVersion,
        parameters: { ...(this.options.parameters ?? {}) },
        dlmConvention: this.options.dlmConvention ?? true,
      },
      timeout: this.options.timeout ?? DEFAULT_TIMEOUT,
      platform: this.options.platform ?? ScriptPlatform.LINUX,
      retries: this.options.retries ?? 0,
    };
  }
}

function validateTimeout(timeout: Duration | undefined, where: string): void {
  if (timeout && !timeout.isUnresolved()) {
    const seconds = timeout.toSeconds({ integral: false });
    if (!Number.isInteger(seconds) || seconds < MIN_TIMEOUT.toSeconds() || seconds > MAX_TIMEOUT.toSeconds()) {
      throw new Error(`${where}: timeout ${seconds} seconds is not accepted: give a whole number of seconds from `
        + 'Duration.seconds(30) to Duration.hours(8).');
    }
  }
}

/** Retries: 0 to MAX_SCRIPT_RETRIES (DLM's range), checked at synth. */
function validateRetries(retries: number | undefined, where: string): void {
  if (retries !== undefined && !Token.isUnresolved(retries)
    && (!Number.isInteger(retries) || retries < 0 || retries > MAX_SCRIPT_RETRIES)) {
    throw new Error(
      `${where}: ${retries} is not accepted. Set \`retries\` to a whole number from 0 to ${MAX_SCRIPT_RETRIES} `
      + '(Amazon Data Lifecycle Manager\'s range), or leave it unset for no retry; a script that needs more tries should '
      + 'retry inside itself.',
    );
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
  validateRetries(options.retries, 'BackupScriptOptions.retries');
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
