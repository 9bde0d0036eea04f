/**
 * One look at a script invocation: its status, and the end of the wait when the bound is reached (the command is
 * then cancelled). Shared by get-script-status (polling), send-script (waiting on events) and resume-wait.
 */
// The Lambda runtime provides AWS SDK v3; the bundle leaves it external, so it is only a devDependency.
// eslint-disable-next-line import/no-extraneous-dependencies
import { CancelCommandCommand, type CommandInvocation, type CommandPlugin, ListCommandInvocationsCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { rethrowClassified } from './errors';
import type { Logger } from './log';
import { safetyThawReport } from './safety-thaw';
import { tail } from './script-command';
import { type PollState, type ScriptStatusResult } from '../contract/messages';
import { SSM_PENDING, SSM_TERMINAL_STATUSES, SSM_TERMINAL_STATUS_DETAILS, SSM_TIMED_OUT, SUCCESS } from '../contract/status';

/** Most characters of output kept in the result (and the audit entry). */
export const OUTPUT_EXCERPT_LENGTH = 500;

/** The agent's output of a step skipped because its precondition (the platform) does not hold. */
const SKIPPED_STEP_OUTPUT = /^Step execution skipped/;

/** Statuses of a step that did not succeed. */
const FAILED_STEP_STATUSES: readonly string[] = SSM_TERMINAL_STATUSES.filter((s) => s !== SUCCESS);

/**
 * The invocation of `commandId` on `instanceId`, with its steps (`ListCommandInvocations` with `Details`), or
 * undefined while SSM does not list it yet (the listing is eventually consistent right after SendCommand).
 *
 * Why not GetCommandInvocation: it "only gives the execution status of a plugin in a document", and on a document
 * with several steps (AWS-RunRemoteScript: downloadContent, then runShellScript or runPowerShellScript) it refuses a
 * call without the step's name (InvalidPluginName). ListCommandInvocations gives the invocation's own status (the
 * one the audit records) and every step's status, exit code and output in one call (docs/fidelity/ssm.md).
 */
export async function describeInvocation(ssm: SSMClient, commandId: string, instanceId: string): Promise<CommandInvocation | undefined> {
  try {
    const page = await ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, InstanceId: instanceId, Details: true }));
    return (page.CommandInvocations ?? []).find((inv) => inv.InstanceId === instanceId);
  } catch (err) {
    rethrowClassified(err, `ListCommandInvocations ${commandId} on ${instanceId}`);
  }
}

/** The steps that ran (not skipped by their platform precondition), in document order. */
function stepsThatRan(invocation: CommandInvocation | undefined): CommandPlugin[] {
  return (invocation?.CommandPlugins ?? []).filter((p) => !SKIPPED_STEP_OUTPUT.test(p.Output ?? ''));
}

/**
 * What the audit says about a step's output: the first step that did not succeed, named (a download that failed says
 * so, not the script step that then could not run), with the end of its output; else the last step that ran.
 */
export function outputExcerpt(invocation: CommandInvocation | undefined): string {
  const ran = stepsThatRan(invocation);
  const failed = ran.find((p) => FAILED_STEP_STATUSES.includes(p.Status ?? ''));
  const step = failed ?? ran[ran.length - 1];
  if (!step) {
    return '';
  }
  const code = typeof step.ResponseCode === 'number' && step.ResponseCode >= 0 ? `, exit code ${step.ResponseCode}` : '';
  const head = `step ${step.Name ?? '?'} ${step.Status ?? ''}${code}: `;
  // One line in the audit entry: the output's line breaks become " | ".
  const output = (step.Output ?? '').trim().replace(/\s*[\r\n]+\s*/g, ' | ');
  return `${head}${tail(output, Math.max(0, OUTPUT_EXCERPT_LENGTH - head.length))}`;
}

/** The exit code of the step that decided the invocation: the first that failed, else the last that ran; -1 unknown. */
function responseCodeOf(invocation: CommandInvocation | undefined): number {
  const ran = stepsThatRan(invocation);
  const step = ran.find((p) => FAILED_STEP_STATUSES.includes(p.Status ?? '')) ?? ran[ran.length - 1];
  return typeof step?.ResponseCode === 'number' ? step.ResponseCode : -1;
}

/** The invocation's status after `previous`, with `poll` as the wait's progress. */
export async function checkScript(ssm: SSMClient, previous: ScriptStatusResult, poll: PollState, log: Logger): Promise<ScriptStatusResult> {
  const { commandId, instanceId } = previous;

  const invocation = await describeInvocation(ssm, commandId, instanceId);
  if (!invocation) {
    // Right after SendCommand the invocation may not be listed yet: still pending, bounded by the poll.
    log.info('invocation not listed yet', { commandId, instanceId, attempt: poll.attempt });
  }

  const statusDetails = invocation?.StatusDetails ?? (invocation ? '' : SSM_PENDING);
  const status = invocation?.Status ?? (statusDetails || SSM_PENDING);
  const terminal = SSM_TERMINAL_STATUSES.includes(status)
    || (!invocation?.Status && SSM_TERMINAL_STATUS_DETAILS.includes(statusDetails));
  const responseCode = responseCodeOf(invocation);

  const base = {
    commandId,
    instanceId,
    timeoutSeconds: previous.timeoutSeconds,
    outputLocation: previous.outputLocation,
    responseCode,
    poll,
  };

  if (terminal) {
    log.info('script finished', { commandId, instanceId, status, statusDetails, responseCode });
    return { ...base, status, statusDetails, outputExcerpt: status === SUCCESS ? '' : outputExcerpt(invocation), done: true, ...safetyThawReport(invocation) };
  }

  if (poll.expired) {
    try {
      await ssm.send(new CancelCommandCommand({ CommandId: commandId, InstanceIds: [instanceId] }));
    } catch (err) {
      log.warn('could not cancel the command', { commandId, instanceId, error: err });
    }
    log.warn('script wait expired', { commandId, instanceId, lastStatus: status, elapsedSeconds: poll.elapsedSeconds });
    return {
      ...base,
      status: SSM_TIMED_OUT,
      statusDetails: `no final status within ${poll.elapsedSeconds} s (last status ${status}); command cancelled`,
      outputExcerpt: outputExcerpt(invocation),
      done: true,
    };
  }

  log.info('script still running', { commandId, instanceId, status, attempt: poll.attempt });
  return { ...base, status, statusDetails, outputExcerpt: '', done: false };
}
