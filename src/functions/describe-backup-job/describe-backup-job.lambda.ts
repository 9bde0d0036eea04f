import { BackupClient } from '@aws-sdk/client-backup';
import { type BackupJobResult, type DescribeBackupJobEvent } from '../../contract/messages';
import { backupPolicy, nextPoll } from '../../contract/poll';
import { checkBackupJob } from '../../lambda-shared/backup-job';
import { correlationOf, createLogger } from '../../lambda-shared/log';

const backup = new BackupClient({});
const log = createLogger('describe-backup-job');

/** Polls the backup job; done in a final state or when the bounded wait is over. */
export const handler = async (event: DescribeBackupJobEvent): Promise<BackupJobResult> => {
  log.correlate(correlationOf(event));
  const previous = event.previous;
  const poll = nextPoll(previous.poll, backupPolicy(event.backup ?? { startWindowMinutes: 0, completeWindowMinutes: 0 }));
  return checkBackupJob(backup, previous, poll, log);
};
