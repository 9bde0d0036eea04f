import { BackupClient } from '@aws-sdk/client-backup';
import { EC2Client } from '@aws-sdk/client-ec2';
import { type ObserveReleaseEvent, type ObserveReleaseResult } from '../../contract/messages';
import { waitClients } from '../../lambda-shared/event-wait';
import { correlationOf, createLogger } from '../../lambda-shared/log';
import { observeRelease } from '../../lambda-shared/release-point';
import { waitTableName } from '../../lambda-shared/wait-registry';

const backup = new BackupClient({});
const ec2 = new EC2Client({});
const log = createLogger('observe-release');

/**
 * One look at the backup job's point in time while the application is frozen (src/lambda-shared/release-point.ts):
 * captured, not yet, not observable, or the job ended. Throttling and 5xx are thrown as TransientError (retried).
 */
export const handler = async (event: ObserveReleaseEvent): Promise<ObserveReleaseResult> => {
  log.correlate(correlationOf(event));
  const result = await observeRelease({ backup, ec2, doc: waitClients().doc, tableName: waitTableName() }, event);
  log.info('release point observed', { state: result.state, reason: result.reason, jobId: result.backupJobId, jobState: result.jobState });
  return result;
};
