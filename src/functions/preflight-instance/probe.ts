/**
 * The script probe of a dry run (issue 15): the command that proves a script can reach the instance, without running it.
 *
 * For a script run by AWS-RunRemoteScript (BackupScript.fromAsset / fromBucket) the probe is the same document with
 * the same `sourceInfo` and `workingDirectory`, so its `downloadContent` step does exactly what the real run's does
 * (the instance profile's S3 and KMS access, the bucket policy, the network path to S3, the agent, the document), and
 * a command line that only tests that the downloaded file is there and readable. Why that and nothing else:
 * - the user's command line is never used: it runs the script, and a script may freeze on any argument;
 * - the probe's command line is a fixed built-in test of one file name, quoted for its shell, so nothing in the script's
 *   key can turn it into another command;
 * - it writes nothing but what the download writes (the orchestration directory the real run uses too), and its
 *   timeouts are short: a probe that cannot be delivered ends by itself.
 *
 * The hook for a script that is an SSM document following Data Lifecycle Manager's convention (a `command` parameter
 * with `pre-script`, `post-script` and `dry-run`; `BackupScript.fromSsmDocument`, being added on another branch): its
 * probe is that document with `command=dry-run` ("intended for validating the document execution without triggering
 * any commands on the instance", docs/workflow.md). It belongs in `documentProbe` below, chosen in `probeRequest`
 * once ScriptRun says which document a script is.
 */
import type { ExecutionContext } from '../../contract/messages';
import type { ScriptPlatform, ScriptRun } from '../../contract/settings';
import { RUN_REMOTE_SCRIPT_DOCUMENT } from '../../contract/status';
import { MAX_COMMENT_LENGTH, scriptCommand } from '../../lambda-shared/script-command';

/** Seconds the probe's command line may run (AWS-RunRemoteScript `executionTimeout`): a file test. */
export const PROBE_EXECUTION_TIMEOUT_SECONDS = 60;
/** Seconds SSM may take to deliver the probe (SendCommand `TimeoutSeconds`; SSM's minimum is 30). */
export const PROBE_DELIVERY_TIMEOUT_SECONDS = 60;

/** What SendCommand is given for one probe. */
export interface ProbeRequest {
  readonly DocumentName: string;
  readonly DocumentVersion?: string;
  readonly Parameters: Record<string, string[]>;
  readonly Comment: string;
  readonly TimeoutSeconds: number;
}

/** `ppsb:<execution name>:dry-run-<phase>`: a dry run's probe, never taken for the pre- or post-script. */
export function probeComment(execution: ExecutionContext, phase: 'pre' | 'post'): string {
  const suffix = `:dry-run-${phase}`;
  return `ppsb:${execution.name}`.slice(0, MAX_COMMENT_LENGTH - suffix.length) + suffix;
}

/** The file name AWS-RunRemoteScript downloads an S3 object to: the last part of its key. */
export function downloadedFileName(key: string): string {
  const parts = key.split('/').filter((p) => p.length > 0);
  return parts[parts.length - 1] ?? '';
}

/** POSIX shell single quotes: nothing inside is interpreted. */
function shellQuote(text: string): string {
  return `'${text.replace(/'/g, "'\\''")}'`;
}

/** PowerShell single quotes (a verbatim string): a quote is doubled. */
function powerShellQuote(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** The probe's command line: the downloaded file exists and is readable; exit 0 if so, non-zero otherwise. */
export function probeCommandLine(fileName: string, platform: ScriptPlatform): string {
  if (platform === 'Windows') {
    const name = powerShellQuote(fileName);
    return `if (Test-Path -LiteralPath ${name} -PathType Leaf) { Write-Output ('ppsb dry run: ' + ${name} + ' downloaded'); exit 0 } `
      + `else { Write-Error ('ppsb dry run: ' + ${name} + ' not found after the download'); exit 1 }`;
  }
  const name = shellQuote(fileName);
  return `if test -f ${name} && test -r ${name}; then echo "ppsb dry run: "${name}" downloaded"; `
    + `else echo "ppsb dry run: "${name}" not found after the download" >&2; exit 1; fi`;
}

/** The probe of a script run by AWS-RunRemoteScript: its download, and a test of the downloaded file. */
export function remoteScriptProbe(script: ScriptRun, execution: ExecutionContext, phase: 'pre' | 'post'): ProbeRequest {
  const parameters: Record<string, string[]> = {
    sourceType: ['S3'],
    sourceInfo: [JSON.stringify({ path: script.sourceS3Path })],
    commandLine: [probeCommandLine(downloadedFileName(script.key), script.platform)],
    executionTimeout: [String(PROBE_EXECUTION_TIMEOUT_SECONDS)],
  };
  if (script.workingDirectory) {
    parameters.workingDirectory = [script.workingDirectory];
  }
  return {
    DocumentName: RUN_REMOTE_SCRIPT_DOCUMENT,
    Parameters: parameters,
    Comment: probeComment(execution, phase),
    TimeoutSeconds: PROBE_DELIVERY_TIMEOUT_SECONDS,
  };
}

/**
 * The probe of a script that is a Command document following Data Lifecycle Manager's convention
 * (BackupScript.fromSsmDocument): the document itself with `command=dry-run` ("intended for validating the document
 * execution without triggering any commands on the instance"), its own parameters, version and `executionId`, exactly
 * as the real run sends it at a stage (src/lambda-shared/script-command.ts).
 */
export function documentProbe(script: ScriptRun, execution: ExecutionContext, phase: 'pre' | 'post', instanceId: string): ProbeRequest {
  const command = scriptCommand(script, 'dry-run', execution, instanceId);
  return {
    DocumentName: command.documentName,
    ...(command.documentVersion ? { DocumentVersion: command.documentVersion } : {}),
    Parameters: command.parameters,
    Comment: probeComment(execution, phase),
    TimeoutSeconds: PROBE_DELIVERY_TIMEOUT_SECONDS,
  };
}

/**
 * The probe of one script; undefined for a document without DLM's convention: nothing in it is known to run nothing,
 * so a dry run does not send it (the check says so).
 */
export function probeRequest(script: ScriptRun, execution: ExecutionContext, phase: 'pre' | 'post', instanceId: string): ProbeRequest | undefined {
  if (script.document) {
    return script.document.dlmConvention ? documentProbe(script, execution, phase, instanceId) : undefined;
  }
  return remoteScriptProbe(script, execution, phase);
}
