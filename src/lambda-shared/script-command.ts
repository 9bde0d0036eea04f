import { createHash } from 'crypto';
import { commandLineForRun } from '../contract/command-line';
import { type ExecutionContext } from '../contract/messages';
import { DLM_COMMAND_PARAMETER, DLM_EXECUTION_ID_PARAMETER, documentCommand } from '../contract/script-document';
import { type ScriptRun } from '../contract/settings';
import { RUN_REMOTE_SCRIPT_DOCUMENT } from '../contract/status';
/** What send-script and get-script-status share: the idempotency comment and the output location of a command. */

/** Most characters SSM accepts in a command's Comment. */
export const MAX_COMMENT_LENGTH = 100;

/**
 * `ppsb:<execution name>:<phase>`, at most 100 characters: marks the command of one execution, instance and phase.
 * Issue 15: a retried attempt (2-4) appends `:<attempt>`, so the lost-answer recovery finds that attempt's command only.
 */
export function commandComment(execution: ExecutionContext, phase: 'pre' | 'post', attempt = 1): string {
  const suffix = attempt > 1 ? `:${phase}:${attempt}` : `:${phase}`;
  // The execution name is cut, never the phase or attempt (an execution name is at most 80 characters).
  return `ppsb:${execution.name}`.slice(0, MAX_COMMENT_LENGTH - suffix.length) + suffix;
}

/** `<prefix>/<execution name>/<phase>` without double or leading slashes. */
export function outputKeyPrefix(prefix: string, execution: ExecutionContext, phase: 'pre' | 'post'): string {
  return [prefix, execution.name, phase]
    .flatMap((part) => part.split('/'))
    .filter((part) => part.length > 0)
    .join('/');
}

/** The last `max` characters of a text, marked when cut. */
export function tail(text: string | undefined, max = 500): string {
  const t = (text ?? '').trimEnd();
  if (t.length <= max) {
    return t;
  }
  return `...${t.slice(t.length - (max - 3))}`;
}

/**
 * A ListCommandInvocations `InvokedAfter` filter value in the form of the API reference's example
 * (`2024-07-07T00:00:00Z`): whole seconds, UTC, rounded down so that nothing sent at `time` is left out.
 */
export function invokedAfterValue(time: string | Date): string {
  const ms = typeof time === 'string' ? Date.parse(time) : time.getTime();
  if (Number.isNaN(ms)) {
    throw new Error(`not a time: ${String(time)}`);
  }
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * DLM's `executionId` for one run and instance: a UUID (the DLM template's allowedPattern takes a UUID or `None`),
 * the same at every stage of the instance in the run (pre-script, post-script, dry-run), so that a document can pair
 * them. An execution ARN is not a UUID: this is a name-based UUID (RFC 4122 version 5 layout, SHA-1) of
 * `<execution ARN>#<instance id>`.
 */
export function dlmExecutionId(executionArn: string, instanceId: string): string {
  const hex = createHash('sha1').update(`${executionArn}#${instanceId}`).digest('hex').slice(0, 32);
  // Version 5 in the 13th hex digit; the RFC 4122 variant (8, 9, a or b) in the 17th.
  const variant = (8 + (parseInt(hex[16], 16) % 4)).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** What SendCommand runs for a script: the document, its version (undefined for the default) and its parameters. */
export interface ScriptCommand {
  readonly documentName: string;
  readonly documentVersion?: string;
  readonly parameters: Record<string, string[]>;
}

/**
 * The command of a script at a stage: AWS-RunRemoteScript with the S3 script, or the configured Command document with
 * its parameters and, under DLM's convention, `command` = `pre-script` | `post-script` | `dry-run` and `executionId`.
 * A dry run of an S3 script is not defined here (AWS-RunRemoteScript has no stage parameter).
 */
export function scriptCommand(script: ScriptRun, stage: 'pre' | 'post' | 'dry-run', execution: ExecutionContext, instanceId: string): ScriptCommand {
  const doc = script.document;
  if (doc) {
    return {
      documentName: doc.name,
      ...(doc.version ? { documentVersion: doc.version } : {}),
      parameters: {
        ...doc.parameters,
        ...(doc.dlmConvention ? {
          [DLM_COMMAND_PARAMETER]: [documentCommand(stage)],
          [DLM_EXECUTION_ID_PARAMETER]: [dlmExecutionId(execution.id, instanceId)],
        } : {}),
      },
    };
  }
  if (stage === 'dry-run') {
    throw new Error('an S3 script has no dry-run stage: AWS-RunRemoteScript runs the script itself');
  }
  const parameters: Record<string, string[]> = {
    sourceType: ['S3'],
    sourceInfo: [JSON.stringify({ path: script.sourceS3Path })],
    // The run's name in place of %EXECUTION_NAME% (src/contract/command-line.ts): the ready-made freeze names its state after it.
    commandLine: [commandLineForRun(script.commandLine, execution.name)],
    executionTimeout: [String(script.timeoutSeconds)],
  };
  if (script.workingDirectory) {
    parameters.workingDirectory = [script.workingDirectory];
  }
  return { documentName: RUN_REMOTE_SCRIPT_DOCUMENT, parameters };
}

/** Whether a listed invocation's DocumentName is the script's document (SSM may list a shared one by name or ARN). */
export function isScriptDocument(listed: string | undefined, sent: string): boolean {
  if (!listed) return false;
  const nameOf = (d: string) => d.replace(/^arn:[^:]+:ssm:[^:]*:[^:]*:document\//, '');
  return listed === sent || nameOf(listed) === nameOf(sent);
}
