import { BackupClient } from '@aws-sdk/client-backup';
import { type CopyJobResult, type DescribeCopyJobEvent } from '../../contract/messages';
import { backupPolicy, nextPoll } from '../../contract/poll';
import { checkCopyJob } from '../../lambda-shared/backup-job';
import { correlationOf, createLogger } from '../../lambda-shared/log';

const backup = new BackupClient({});
const log = createLogger('describe-copy-job');

/** Polls the copy job; done in a final state or when the bounded wait is over. */
export const handler = async (event: DescribeCopyJobEvent): Promise<CopyJobResult> => {
  log.correlate(correlationOf(event));
  const previous = event.previous;
  return checkCopyJob(backup, previous, nextPoll(previous.poll, backupPolicy(event.backup)), log);
};
