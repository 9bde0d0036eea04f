import { BackupClient, DescribeBackupJobCommand } from '@aws-sdk/client-backup';
import type { BackupJobResult, DescribeBackupJobEvent } from '../../runtime/contracts';
import { rethrowClassified } from '../../runtime/errors';
import { createLogger } from '../../runtime/log';
import { backupPolicy, nextPoll } from '../../runtime/poll';

const backup = new BackupClient({});
const log = createLogger('describe-backup-job');

/** Whether a backup job state is final. Unknown states are logged and treated as still on their way. */
function isTerminal(state: string, backupJobId: string): boolean {
  switch (state) {
    case 'CREATED':
    case 'PENDING':
    case 'RUNNING':
    case 'ABORTING':
      return false;
    case 'ABORTED':
    case 'COMPLETED':
    case 'FAILED':
    case 'EXPIRED':
    case 'PARTIAL':
      return true;
    default:
      log.warn('unknown backup job state; treated as not final', { backupJobId, state });
      return false;
  }
}

/** Polls the backup job; done in a final state or when the bounded wait is over. */
export const handler = async (event: DescribeBackupJobEvent): Promise<BackupJobResult> => {
  const previous = event.previous;
  const backupJobId = previous.backupJobId;
  const poll = nextPoll(previous.poll, backupPolicy(event.backup ?? { startWindowMinutes: 0, completeWindowMinutes: 0 }));

  let job;
  try {
    job = await backup.send(new DescribeBackupJobCommand({ BackupJobId: backupJobId }));
  } catch (err) {
    rethrowClassified(err, `DescribeBackupJob ${backupJobId}`);
  }
  const state = job.State ?? previous.state;
  const result = {
    backupJobId,
    state,
    statusMessage: job.StatusMessage ?? '',
    recoveryPointArn: job.RecoveryPointArn ?? previous.recoveryPointArn ?? '',
    percentDone: job.PercentDone ?? previous.percentDone ?? '',
    poll,
  };

  if (isTerminal(state, backupJobId)) {
    log.info('backup job finished', { backupJobId, state, statusMessage: result.statusMessage });
    return { ...result, done: true };
  }
  if (poll.expired) {
    const statusMessage = `still ${state} after ${poll.elapsedSeconds} s: the workflow stopped waiting`
      + (result.statusMessage ? ` (${result.statusMessage})` : '');
    log.warn('backup job wait expired', { backupJobId, state, elapsedSeconds: poll.elapsedSeconds });
    return { ...result, statusMessage, done: true };
  }
  log.info('backup job in progress', { backupJobId, state, percentDone: result.percentDone, attempt: poll.attempt });
  return { ...result, done: false };
};
