import { CancelCommandCommand, GetCommandInvocationCommand, GetCommandInvocationCommandOutput, SSMClient } from '@aws-sdk/client-ssm';
import type { GetScriptStatusEvent, ScriptStatusResult } from '../../runtime/contracts';
import { errorCode, rethrowClassified } from '../../runtime/errors';
import { createLogger } from '../../runtime/log';
import { nextPoll, scriptPolicy } from '../../runtime/poll';
import { tail } from '../../runtime/script-command';
import {
  SSM_PENDING,
  SSM_TERMINAL_STATUSES,
  SSM_TERMINAL_STATUS_DETAILS,
  SSM_TIMED_OUT,
} from '../../runtime/status';

const ssm = new SSMClient({});
const log = createLogger('get-script-status');

/** Most characters of output kept in the result (and the audit entry). */
export const OUTPUT_EXCERPT_LENGTH = 500;

/** Polls a script invocation; when the bounded wait is over without a final status, cancels the command. */
export const handler = async (event: GetScriptStatusEvent): Promise<ScriptStatusResult> => {
  const previous = event.previous;
  const { commandId, instanceId } = previous;
  const poll = nextPoll(previous.poll, scriptPolicy(previous.timeoutSeconds));

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
    const result: ScriptStatusResult = {
      ...base,
      status,
      statusDetails,
      outputExcerpt: status === 'Success' ? '' : excerpt(),
      done: true,
    };
    log.info('script finished', { commandId, instanceId, status, statusDetails, responseCode });
    return result;
  }

  if (poll.expired) {
    try {
      await ssm.send(new CancelCommandCommand({ CommandId: commandId, InstanceIds: [instanceId] }));
    } catch (err) {
      log.warn('could not cancel the command', { commandId, instanceId, error: err });
    }
    const result: ScriptStatusResult = {
      ...base,
      status: SSM_TIMED_OUT,
      statusDetails: `no final status within ${poll.elapsedSeconds} s (last status ${status}); command cancelled`,
      outputExcerpt: excerpt(),
      done: true,
    };
    log.warn('script wait expired', { commandId, instanceId, lastStatus: status, elapsedSeconds: poll.elapsedSeconds });
    return result;
  }

  log.info('script still running', { commandId, instanceId, status, attempt: poll.attempt });
  return { ...base, status, statusDetails, outputExcerpt: '', done: false };
};
