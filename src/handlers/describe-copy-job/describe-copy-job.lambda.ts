import { BackupClient } from '@aws-sdk/client-backup';
import { checkCopyJob } from '../../runtime/backup-job';
import type { CopyJobResult, DescribeCopyJobEvent } from '../../runtime/contracts';
import { createLogger } from '../../runtime/log';
import { backupPolicy, nextPoll } from '../../runtime/poll';

const backup = new BackupClient({});
const log = createLogger('describe-copy-job');

/** Polls the copy job; done in a final state or when the bounded wait is over. */
export const handler = async (event: DescribeCopyJobEvent): Promise<CopyJobResult> => {
  const previous = event.previous;
  return checkCopyJob(backup, previous, nextPoll(previous.poll, backupPolicy(event.backup)), log);
};
