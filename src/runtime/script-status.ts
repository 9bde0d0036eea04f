/**
 * One look at a script invocation: its status, and the end of the wait when the bound is reached (the command is
 * then cancelled). Shared by get-script-status (polling), send-script (waiting on events) and resume-wait.
 */
// The Lambda runtime provides AWS SDK v3; the bundle leaves it external, so it is only a devDependency.
// eslint-disable-next-line import/no-extraneous-dependencies
import { CancelCommandCommand, GetCommandInvocationCommand, type GetCommandInvocationCommandOutput, type SSMClient } from '@aws-sdk/client-ssm';
import type { PollState, ScriptStatusResult } from './contracts';
import { errorCode, rethrowClassified } from './errors';
import type { Logger } from './log';
import { tail } from './script-command';
import { SSM_PENDING, SSM_TERMINAL_STATUSES, SSM_TERMINAL_STATUS_DETAILS, SSM_TIMED_OUT } from './status';

/** Most characters of output kept in the result (and the audit entry). */
export const OUTPUT_EXCERPT_LENGTH = 500;

/** The invocation's status after `previous`, with `poll` as the wait's progress. */
export async function checkScript(ssm: SSMClient, previous: ScriptStatusResult, poll: PollState, log: Logger): Promise<ScriptStatusResult> {
  const { commandId, instanceId } = previous;

  let invocation: GetCommandInvocationCommandOutput | undefined;
  try {
    invocation = await ssm.send(new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }));
  } catch (err) {
    // Right after SendCommand the invocation may not be registered yet: still pending, bounded by the poll.
    if (errorCode(err) !== 'InvocationDoesNotExist') {
      rethrowClassified(err, `GetCommandInvocation ${commandId} on ${instanceId}`);
    }
    log.info('invocation not registered yet', { commandId, instanceId, attempt: poll.attempt });
  }

  const statusDetails = invocation?.StatusDetails ?? (invocation ? '' : SSM_PENDING);
  const status = invocation?.Status ?? (statusDetails || SSM_PENDING);
  const terminal = SSM_TERMINAL_STATUSES.includes(status)
    || (!invocation?.Status && SSM_TERMINAL_STATUS_DETAILS.includes(statusDetails));
  const responseCode = typeof invocation?.ResponseCode === 'number' ? invocation.ResponseCode : -1;
  const excerpt = (): string => {
    const stderr = invocation?.StandardErrorContent ?? '';
    return tail(stderr.trim() ? stderr : invocation?.StandardOutputContent, OUTPUT_EXCERPT_LENGTH);
  };

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
    return { ...base, status, statusDetails, outputExcerpt: status === 'Success' ? '' : excerpt(), done: true };
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
      outputExcerpt: excerpt(),
      done: true,
    };
  }

  log.info('script still running', { commandId, instanceId, status, attempt: poll.attempt });
  return { ...base, status, statusDetails, outputExcerpt: '', done: false };
}
