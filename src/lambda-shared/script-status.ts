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
import { SCRIPT_OUTPUT_TAIL_LENGTH } from '../contract/audit-schema';
import { type PollState, type ScriptStatusResult } from '../contract/messages';
import { FAILED, SSM_PENDING, SSM_TERMINAL_STATUSES, SSM_TERMINAL_STATUS_DETAILS, SSM_TIMED_OUT, SUCCESS } from '../contract/status';

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

/** The step that decided the invocation: the first that ran and did not succeed, else the last that ran. */
function decidingStep(invocation: CommandInvocation | undefined): CommandPlugin | undefined {
  const ran = stepsThatRan(invocation);
  return ran.find((p) => FAILED_STEP_STATUSES.includes(p.Status ?? '')) ?? ran[ran.length - 1];
}

/**
 * The end of the deciding step's output (CommandPlugin.Output: stdout, then the agent's `----------ERROR-------` line
 * and stderr, at most 2,500 characters as the API gives it), at most SCRIPT_OUTPUT_TAIL_LENGTH characters, line
 * breaks kept: what the audit entry keeps of a script that did not succeed.
 */
export function outputTail(invocation: CommandInvocation | undefined): string {
  const output = (decidingStep(invocation)?.Output ?? '').trimEnd();
  return output.length <= SCRIPT_OUTPUT_TAIL_LENGTH ? output : output.slice(output.length - SCRIPT_OUTPUT_TAIL_LENGTH);
}

/** `StatusDetails` given to an invocation that "succeeded" with every step skipped by its precondition. */
export const NO_STEP_RAN = 'NoStepRan';

/**
 * Whether every step of a finished invocation was skipped by its precondition: the agent reports such an invocation
 * Success having run nothing (a Linux-only document on a Windows instance).
 */
function noStepRan(invocation: CommandInvocation | undefined): boolean {
  const plugins = invocation?.CommandPlugins ?? [];
  return plugins.length > 0 && stepsThatRan(invocation).length === 0;
}

/** The exit code of the step that decided the invocation: the first that failed, else the last that ran; -1 unknown. */
function responseCodeOf(invocation: CommandInvocation | undefined): number {
  const ran = stepsThatRan(invocation);
  const step = ran.find((p) => FAILED_STEP_STATUSES.includes(p.Status ?? '')) ?? ran[ran.length - 1];
  return typeof step?.ResponseCode === 'number' ? step.ResponseCode : -1;
}

/**
 * When the invocation ended on AWS's clock: the latest ResponseFinishDateTime ("the time the plugin stopped running",
 * API reference of CommandPlugin) of the steps that ran; `lookedAt` when SSM gives none.
 */
export function endedAtOf(invocation: CommandInvocation | undefined, lookedAt: Date): string {
  const finishes = stepsThatRan(invocation)
    .map((p) => (p.ResponseFinishDateTime instanceof Date ? p.ResponseFinishDateTime.getTime() : Number.NaN))
    .filter((t) => Number.isFinite(t));
  return new Date(finishes.length > 0 ? Math.max(...finishes) : lookedAt.getTime()).toISOString();
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

  const requested = invocation?.RequestedDateTime instanceof Date ? invocation.RequestedDateTime.toISOString() : previous.requestedAt;
  const base = {
    commandId,
    instanceId,
    timeoutSeconds: previous.timeoutSeconds,
    outputLocation: previous.outputLocation,
    responseCode,
    poll,
    ...(requested ? { requestedAt: requested } : {}),
  };

  if (terminal && status === SUCCESS && noStepRan(invocation)) {
    // Nothing ran: not a script that succeeded (the application was never quiesced, or never released).
    const skipped = (invocation?.CommandPlugins ?? []).map((p) => p.Output ?? '').join(' | ');
    log.warn('every step of the document was skipped by its precondition', { commandId, instanceId });
    return {
      ...base,
      status: FAILED,
      statusDetails: NO_STEP_RAN,
      outputExcerpt: tail(`SSM reported Success but every step was skipped by its precondition (wrong platform?): ${skipped}`, OUTPUT_EXCERPT_LENGTH),
      outputTail: tail(skipped, SCRIPT_OUTPUT_TAIL_LENGTH),
      done: true,
    };
  }

  if (terminal) {
    log.info('script finished', { commandId, instanceId, status, statusDetails, responseCode });
    return {
      ...base,
      status,
      statusDetails,
      outputExcerpt: status === SUCCESS ? '' : outputExcerpt(invocation),
      ...(status === SUCCESS ? {} : { outputTail: outputTail(invocation) }),
      done: true,
      endedAt: endedAtOf(invocation, new Date()),
      ...safetyThawReport(invocation),
    };
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
      outputTail: outputTail(invocation),
      done: true,
      endedAt: endedAtOf(invocation, new Date()),
    };
  }

  log.info('script still running', { commandId, instanceId, status, attempt: poll.attempt });
  return { ...base, status, statusDetails, outputExcerpt: '', done: false };
}
