import { BackupClient } from '@aws-sdk/client-backup';
import { checkBackupJob } from '../../runtime/backup-job';
import type { BackupJobResult, DescribeBackupJobEvent } from '../../runtime/contracts';
import { createLogger } from '../../runtime/log';
import { backupPolicy, nextPoll } from '../../runtime/poll';

const backup = new BackupClient({});
const log = createLogger('describe-backup-job');

/** Polls the backup job; done in a final state or when the bounded wait is over. */
export const handler = async (event: DescribeBackupJobEvent): Promise<BackupJobResult> => {
  const previous = event.previous;
  const poll = nextPoll(previous.poll, backupPolicy(event.backup ?? { startWindowMinutes: 0, completeWindowMinutes: 0 }));
  return checkBackupJob(backup, previous, poll, log);
};
