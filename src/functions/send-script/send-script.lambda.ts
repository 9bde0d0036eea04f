import { paginateListCommandInvocations, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { scriptJournalAction } from '../../contract/audit-schema';
import { type ScriptStatusResult, type SendScriptEvent } from '../../contract/messages';
import { nextPoll, scriptPolicy } from '../../contract/poll';
import { FAILED, SSM_PENDING } from '../../contract/status';
import { scriptResourceId } from '../../contract/waits';
import { backoff } from '../../lambda-shared/backoff';
import { rethrowClassified } from '../../lambda-shared/errors';
import { awaitCompletion, waitClients } from '../../lambda-shared/event-wait';
import { abandonAction, beginAction, type JournalTarget, recordResource } from '../../lambda-shared/journal';
import { correlationOf, createLogger } from '../../lambda-shared/log';
import { commandComment, invokedAfterValue, isScriptDocument, outputKeyPrefix, scriptCommand } from '../../lambda-shared/script-command';
import { checkScript } from '../../lambda-shared/script-status';
import { completeTask } from '../../lambda-shared/task-token';

const ssm = new SSMClient({});
/**
 * SendCommand has no idempotency token: the SDK's own retry of a call whose answer was lost would send the script a
 * second time, so SendCommand is tried once per invocation and the journal decides what a retried invocation does.
 */
const ssmSendOnce = new SSMClient({ maxAttempts: 1 });
const log = createLogger('send-script');

/** Seconds SSM may take to deliver the command to the instance before giving up (DeliveryTimedOut). */
export const DELIVERY_TIMEOUT_SECONDS = 600;

/** Listings of the instance's commands when an earlier invocation sent a command whose id was lost. */
export const RECOVERY_LOOKS = 4;
/** Before the second listing; doubled before each further one (1 s, 2 s, 4 s: at most 7 s in all). */
const RECOVERY_LOOK_AGAIN_MS = 1000;

/** `statusDetails` of a step whose command was sent but whose fate cannot be learned: nothing is sent again. */
export const COMMAND_FATE_UNKNOWN = 'CommandFateUnknown';

/** The command this execution sent to the instance for the phase, as SSM lists it (paged), if listed yet. */
async function findSentCommand(instanceId: string, comment: string, invokedAfter: string, documentName: string): Promise<string | undefined> {
  try {
    const pages = paginateListCommandInvocations({ client: ssm, pageSize: 50 }, {
      InstanceId: instanceId,
      Filters: [{ key: 'InvokedAfter', value: invokedAfter }],
    });
    for await (const page of pages) {
      const match = (page.CommandInvocations ?? []).find(
        (inv) => inv.Comment === comment && isScriptDocument(inv.DocumentName, documentName) && inv.CommandId,
      );
      if (match) {
        return match.CommandId;
      }
    }
  } catch (err) {
    rethrowClassified(err, `ListCommandInvocations ${instanceId}`);
  }
  return undefined;
}

/** Looks for the lost command up to RECOVERY_LOOKS times (SSM's listing lags SendCommand). */
async function recoverSentCommand(instanceId: string, comment: string, invokedAfter: string, documentName: string): Promise<string | undefined> {
  for (let look = 1; look <= RECOVERY_LOOKS; look++) {
    if (look > 1) {
      await backoff(RECOVERY_LOOK_AGAIN_MS, look - 1);
    }
    const found = await findSentCommand(instanceId, comment, invokedAfter, documentName);
    if (found) {
      return found;
    }
  }
  return undefined;
}

/** Whether AWS refused the call for certain (a 4xx answer): nothing was done. A 5xx or no answer leaves it unknown. */
function refusedForCertain(err: unknown): boolean {
  const status = (err as { $metadata?: { httpStatusCode?: number } } | undefined)?.$metadata?.httpStatusCode;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/**
 * Sends the phase's script to one instance, once per execution, instance and phase: an S3 script through
 * AWS-RunRemoteScript, or the configured Command document (with DLM's `command` / `executionId` parameters).
 * With a task token, the wait for its end is registered too.
 */
export const handler = async (event: SendScriptEvent): Promise<ScriptStatusResult> => {
  log.correlate(correlationOf(event));
  const { instanceId, phase, script, execution } = event;
  // Issue 15: each attempt of a retried script is its own command, journaled apart (a retried invocation of the same
  // attempt still finds that attempt's command and never sends a second).
  const attempt = event.attempt ?? 1;
  const action = scriptJournalAction(phase, attempt);
  const comment = commandComment(execution, phase, attempt);
  const bucket = script.outputS3BucketName;
  const prefix = bucket ? outputKeyPrefix(script.outputS3KeyPrefix, execution, phase) : '';
  const outputLocation = bucket ? `s3://${bucket}/${prefix}` : '';
  const command = scriptCommand(script, phase, execution, instanceId);
  const logGroupName = script.outputLogGroupName ?? '';

  const journal: JournalTarget = { tableName: process.env.AUDIT_TABLE_NAME ?? '', executionId: execution.id, instanceId };
  const { doc } = waitClients();
  // The intent first (docs/workflow.md, "Exactly once"): a retried invocation learns that a command may have been sent.
  const begun = await beginAction(doc, journal, action, new Date());
  let commandId = begun.resourceId;
  if (commandId) {
    log.info('command already sent; looking at it', { instanceId, phase, commandId });
  } else if (begun.repeated) {
    // An earlier invocation was about to send (its answer lost, or the Lambda stopped before the id was recorded):
    // find that command; never send a second one.
    commandId = await recoverSentCommand(instanceId, comment, invokedAfterValue(execution.startTime), command.documentName);
    if (!commandId) {
      return fateUnknown(event, outputLocation, begun.intentAt);
    }
    await recordResource(doc, journal, action, commandId);
    log.warn('command recovered from SSM after a lost answer', { instanceId, phase, commandId });
  } else {
    try {
      const sent = await ssmSendOnce.send(new SendCommandCommand({
        DocumentName: command.documentName,
        ...(command.documentVersion ? { DocumentVersion: command.documentVersion } : {}),
        InstanceIds: [instanceId],
        TimeoutSeconds: DELIVERY_TIMEOUT_SECONDS,
        Comment: comment,
        Parameters: command.parameters,
        ...(bucket ? { OutputS3BucketName: bucket, OutputS3KeyPrefix: prefix } : {}),
        // The full output of every step, to the construct's log group (streams <command>/<instance>/<step>/stdout|stderr).
        ...(logGroupName ? { CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: logGroupName } } : {}),
      }));
      commandId = sent.Command?.CommandId;
    } catch (err) {
      if (refusedForCertain(err)) {
        // Refused (throttled, invalid...): no command exists, so a retry may send it.
        await abandonAction(doc, journal, action, begun.intentAt);
      }
      rethrowClassified(err, `SendCommand ${command.documentName} to ${instanceId}`);
    }
    if (!commandId) {
      rethrowClassified(Object.assign(new Error('SendCommand returned no CommandId'), { name: 'InternalError' }), `SendCommand to ${instanceId}`);
    }
    await recordResource(doc, journal, action, commandId);
    log.info('command sent', { instanceId, phase, attempt, commandId, timeoutSeconds: script.timeoutSeconds, outputLocation });
  }

  log.appendKeys({ commandId });
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
    // The command is sent (and journaled) before the wait, so a look only looks until the bound (where a script still
    // running is cancelled, and a refused look fails for the Task's retry): a look refused by SSM's read rate, which
    // every chain's looks share, leaves the wait going on for the event or the next look.
    stillWaiting: (poll) => ({ ...sent, poll }),
    deferFirstLook: true,
    log,
  });
};

/**
 * The end of a step whose command an earlier invocation may have sent but SSM does not list (after RECOVERY_LOOKS
 * listings): Failed, saying so. Sending again could run the script twice; for a pre-script the workflow still runs the
 * post-script, as after any failed pre-script.
 */
async function fateUnknown(event: SendScriptEvent, outputLocation: string, intentAt: string): Promise<ScriptStatusResult> {
  const { instanceId, phase, script } = event;
  const result: ScriptStatusResult = {
    commandId: '',
    instanceId,
    status: FAILED,
    statusDetails: COMMAND_FATE_UNKNOWN,
    responseCode: -1,
    timeoutSeconds: script.timeoutSeconds,
    outputLocation,
    outputExcerpt: `the ${phase}-script command was sent at ${intentAt} but its answer was lost and SSM does not list it `
      + `(${RECOVERY_LOOKS} looks): its fate is unknown, so it was not sent again`,
    done: true,
    poll: nextPoll(null, scriptPolicy(script.timeoutSeconds)),
  };
  log.error('command fate unknown; not sending again', { instanceId, phase, intentAt });
  if (event.taskToken) {
    await completeTask(waitClients().sfn, event.taskToken, result, log);
  }
  return result;
}
