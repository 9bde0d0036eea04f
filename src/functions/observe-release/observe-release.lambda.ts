import { BackupClient } from '@aws-sdk/client-backup';
import { EC2Client } from '@aws-sdk/client-ec2';
import {
  type ConsistencyVerdict, JOB_END_LOOK_SECONDS, type ObserveReleaseEvent, type ObserveReleaseResult, type VerifyConsistencyEvent,
} from '../../contract/messages';
import { waitClients } from '../../lambda-shared/event-wait';
import { correlationOf, createLogger } from '../../lambda-shared/log';
import { nextLoopState, observeRelease, verifyAtJobEnd } from '../../lambda-shared/release-point';
import { waitTableName } from '../../lambda-shared/wait-registry';

const backup = new BackupClient({});
const ec2 = new EC2Client({});
const log = createLogger('observe-release');

/**
 * The backup's point in time (src/lambda-shared/release-point.ts). While the application is frozen, one look:
 * captured, not yet, not observable, or the job ended. At the job's end (`verify: true`), whether the recovery point
 * the job ended with was taken while the application was frozen. Both only read. Throttling and 5xx are thrown as
 * TransientError (retried).
 */
export const handler = async (event: ObserveReleaseEvent | VerifyConsistencyEvent): Promise<ObserveReleaseResult | ConsistencyVerdict> => {
  log.correlate(correlationOf(event));
  if ('verify' in event && event.verify) {
    const verdict = await verifyAtJobEnd(ec2, event);
    log.info('consistency verified', { consistency: verdict.consistency, reason: verdict.reason, jobState: event.jobState });
    return verdict;
  }
  const look = event as ObserveReleaseEvent;
  const { loop } = look;
  const query = loop ? { ...look, backupJobId: loop.backupJobId, volumeIds: loop.volumeIds, mode: loop.mode } : look;
  const result = await observeRelease({ backup, ec2, doc: waitClients().doc, tableName: waitTableName() }, query);
  log.info('release point observed', { state: result.state, reason: result.reason, jobId: result.backupJobId, jobState: result.jobState, looks: (loop?.looks ?? 0) + 1 });
  return loop ? nextLoopState(loop, result, JOB_END_LOOK_SECONDS) : result;
};
