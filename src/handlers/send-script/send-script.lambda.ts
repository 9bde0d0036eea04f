import { ListCommandInvocationsCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { ScriptStatusResult, SendScriptEvent } from '../../runtime/contracts';
import { rethrowClassified } from '../../runtime/errors';
import { awaitCompletion, waitClients } from '../../runtime/event-wait';
import { beginAction, recordResource } from '../../runtime/journal';
import { journalTarget } from '../../runtime/journal-target';
import { createLogger } from '../../runtime/log';
import { nextPoll, scriptPolicy } from '../../runtime/poll';
import { commandComment, outputKeyPrefix } from '../../runtime/script-command';
import { checkScript } from '../../runtime/script-status';
import { RUN_REMOTE_SCRIPT_DOCUMENT, SSM_PENDING } from '../../runtime/status';
import { scriptResourceId } from '../../runtime/waits';

const ssm = new SSMClient({});
const log = createLogger('send-script');

/** Seconds SSM may take to deliver the command to the instance before giving up (DeliveryTimedOut). */
export const DELIVERY_TIMEOUT_SECONDS = 600;

/** The command this execution already sent to the instance for the phase, if any (a retried invocation). */
async function existingCommandId(instanceId: string, comment: string, invokedAfter: string): Promise<string | undefined> {
  let nextToken: string | undefined;
  do {
    let page;
    try {
      page = await ssm.send(new ListCommandInvocationsCommand({
        InstanceId: instanceId,
        Filters: [{ key: 'InvokedAfter', value: invokedAfter }],
        MaxResults: 50,
        NextToken: nextToken,
      }));
    } catch (err) {
      rethrowClassified(err, `ListCommandInvocations ${instanceId}`);
    }
    const match = (page.CommandInvocations ?? []).find(
      (inv) => inv.Comment === comment && inv.DocumentName === RUN_REMOTE_SCRIPT_DOCUMENT && inv.CommandId,
    );
    if (match) {
      return match.CommandId;
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return undefined;
}

/**
 * Sends the phase's script to one instance through AWS-RunRemoteScript, once per execution, instance and phase.
 * With a task token, the wait for its end is registered too.
 */
export const handler = async (event: SendScriptEvent): Promise<ScriptStatusResult> => {
  const { instanceId, phase, script, execution } = event;
  const comment = commandComment(execution, phase);
  const bucket = script.outputS3BucketName;
  const prefix = bucket ? outputKeyPrefix(script.outputS3KeyPrefix, execution, phase) : '';
  const outputLocation = bucket ? `s3://${bucket}/${prefix}` : '';

  let commandId = await existingCommandId(instanceId, comment, execution.startTime);
  if (commandId) {
    log.info('command already sent; reusing it', { instanceId, phase, commandId });
  } else {
    const parameters: Record<string, string[]> = {
      sourceType: ['S3'],
      sourceInfo: [JSON.stringify({ path: script.sourceS3Path })],
      commandLine: [script.commandLine],
      executionTimeout: [String(script.timeoutSeconds)],
    };
    if (script.workingDirectory) {
      parameters.workingDirectory = [script.workingDirectory];
    }
    // RECOVERY (minimal, for the recovery's tests; the SSM change journals the command properly): the intent first.
    await beginAction(waitClients().doc, journalTarget(execution, instanceId), phase, new Date());
    try {
      const sent = await ssm.send(new SendCommandCommand({
        DocumentName: RUN_REMOTE_SCRIPT_DOCUMENT,
        InstanceIds: [instanceId],
        TimeoutSeconds: DELIVERY_TIMEOUT_SECONDS,
        Comment: comment,
        Parameters: parameters,
        ...(bucket ? { OutputS3BucketName: bucket, OutputS3KeyPrefix: prefix } : {}),
      }));
      commandId = sent.Command?.CommandId;
    } catch (err) {
      rethrowClassified(err, `SendCommand ${RUN_REMOTE_SCRIPT_DOCUMENT} to ${instanceId}`);
    }
    if (!commandId) {
      rethrowClassified(Object.assign(new Error('SendCommand returned no CommandId'), { name: 'InternalError' }), `SendCommand to ${instanceId}`);
    }
    await recordResource(waitClients().doc, journalTarget(execution, instanceId), phase, commandId!);
    log.info('command sent', { instanceId, phase, commandId, timeoutSeconds: script.timeoutSeconds, outputLocation });
  }

  const sent: ScriptStatusResult = {
    commandId,
    instanceId,
    status: SSM_PENDING,
    statusDetails: SSM_PENDING,
    responseCode: -1,
    timeoutSeconds: script.timeoutSeconds,
    outputLocation,
    outputExcerpt: '',
    done: false,
    poll: nextPoll(null, scriptPolicy(script.timeoutSeconds)),
  };
  if (!event.taskToken) {
    return sent;
  }
  // Waiting on events: SSM's status-change event of the invocation resumes the Task (or this look, when the
  // script is already over).
  return awaitCompletion(waitClients(), {
    kind: 'script',
    taskToken: event.taskToken,
    execution,
    instanceId,
    resourceId: scriptResourceId(commandId, instanceId),
    previous: sent,
    maxSeconds: scriptPolicy(script.timeoutSeconds).maxSeconds,
    check: (poll) => checkScript(ssm, sent, poll, log),
    log,
  });
};
