import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type AuditEntry } from '../../contract/audit-schema';
import { type CaughtError, type InstanceOutcome, type InstanceSteps } from '../../contract/instance';
import { type RecordRecoveredEvent } from '../../contract/messages';
import { OUTCOME_FAILED } from '../../contract/status';
import { causeMessage, toAuditEntry } from '../../lambda-shared/audit-entry';
import { auditEnvironment, instanceItem } from '../../lambda-shared/audit-item';
import { rethrowClassified } from '../../lambda-shared/errors';
import { correlationOf, createLogger } from '../../lambda-shared/log';

const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
});
const log = createLogger('record-recovered');

/** The start of the FailureMessage of every recovered instance. */
export const CHAIN_DIED = 'the instance\'s chain died';
/** On the instance item of a recovered instance: the error its chain died with (`<Error>: <Cause>`). */
export const RECOVERED_FROM = 'Recovered_From';

function isError(e: CaughtError | Record<string, never> | undefined): e is CaughtError {
  return typeof (e as CaughtError | undefined)?.Error === 'string' && (e as CaughtError).Error !== '';
}

/** What the recovery itself did, from the steps it added. */
function recoveryActions(event: RecordRecoveredEvent, steps: InstanceSteps): string {
  const done: string[] = [];
  const status = (value: unknown) => (value as { status?: string } | undefined)?.status ?? 'not reached';
  if (event.recovery.needs.start) {
    const error = steps.errors?.start;
    done.push(`started the instance again (${error ? `Failed: ${causeMessage(error)}` : status(steps.start)})`);
  }
  if (event.recovery.needs.post) {
    const error = steps.errors?.post ?? steps.errors?.agentAfterStart;
    done.push(`ran the post-backup script (${error ? `Failed: ${causeMessage(error)}` : status(steps.post)})`);
  }
  if (event.recovery.inspectFailed) {
    return 'the run\'s recovery could not read what the run did to it (its journal): check the instance';
  }
  return done.length > 0 ? `the run's recovery ${done.join(' and ')}` : 'the run\'s recovery found nothing left to undo';
}

/**
 * The audit entry of an instance whose chain died where no Catch sees it: the steps as the journal and AWS showed them
 * (and the recovery's own start and post-script), a FailureMessage that says the chain died, with its error, and what the
 * recovery did. Always a failure: the run fails (after its record) so that alarms fire.
 */
export const handler = async (event: RecordRecoveredEvent): Promise<InstanceOutcome> => {
  log.correlate(correlationOf(event));
  const env = auditEnvironment(false);
  const steps = event.steps ?? {};
  const base = toAuditEntry(event.instance, event.config, steps);
  const error = isError(event.chainError) ? event.chainError : isError(event.mapError) ? event.mapError : undefined;
  const died = error
    ? `${CHAIN_DIED} (${causeMessage(error)})`
    : `${CHAIN_DIED} (it ended without its audit entry; its error is in its child execution's history)`;
  const entry: AuditEntry = {
    ...base,
    Outcome: OUTCOME_FAILED,
    FailureMessage: [`${died}; ${recoveryActions(event, steps)}`, base.FailureMessage].filter((m) => m).join('; '),
    Notes: [base.Notes, `journaled by the run before the chain died: ${event.recovery.journaled.join(', ') || 'nothing'}`]
      .filter((n) => n).join('; '),
  };
  const item = {
    ...instanceItem(event.execution, entry, env.retentionDays, new Date()),
    [RECOVERED_FROM]: error ? `${error.Error}: ${error.Cause ?? ''}`.slice(0, 1000) : 'unknown',
  };
  try {
    await dynamo.send(new PutCommand({ TableName: env.tableName, Item: item }));
  } catch (err) {
    rethrowClassified(err, `PutItem audit entry of ${entry.InstanceId}`);
  }
  log.info('recovered instance recorded', { instanceId: entry.InstanceId, failure: entry.FailureMessage });
  return { instanceId: entry.InstanceId, succeeded: false, recorded: true };
};
