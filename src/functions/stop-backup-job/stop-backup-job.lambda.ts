import { BackupClient, StopBackupJobCommand } from '@aws-sdk/client-backup';
import { type StopBackupJobEvent, type StopBackupJobResult } from '../../contract/messages';
import { errorCode, rethrowClassified } from '../../lambda-shared/errors';
import { correlationOf, createLogger } from '../../lambda-shared/log';

const backup = new BackupClient({});
const log = createLogger('stop-backup-job');

/**
 * AWS Backup's answer to StopBackupJob on a job that can no longer be stopped. The API reference lists
 * InvalidRequestException ("something is wrong with the input to the request") without naming the states it refuses;
 * the stand-in refuses a job that has ended or is ending with it (docs/fidelity/backup.md).
 */
const CANNOT_STOP = 'InvalidRequestException';

/**
 * The freeze budget was spent and the construct was told to stop the job (FreezeBudgetAction.STOP_BACKUP_JOB): one
 * StopBackupJob of the job this run started. Idempotent: a job that already ended (or is ending) is `already-ended`.
 * Throttling and 5xx are thrown as TransientError (the workflow retries); the job's end is then waited for as always.
 */
export const handler = async (event: StopBackupJobEvent): Promise<StopBackupJobResult> => {
  log.correlate(correlationOf(event));
  const { backupJobId } = event;
  try {
    await backup.send(new StopBackupJobCommand({ BackupJobId: backupJobId }));
  } catch (err) {
    if (errorCode(err) === CANNOT_STOP) {
      log.info('backup job could not be stopped: already ended', { jobId: backupJobId, error: (err as Error).message });
      return { backupJobId, outcome: 'already-ended', message: `StopBackupJob refused: ${(err as Error).message}` };
    }
    rethrowClassified(err, `StopBackupJob ${backupJobId}`);
  }
  log.info('backup job stop requested', { jobId: backupJobId });
  return { backupJobId, outcome: 'stop-requested', message: 'freeze budget spent: StopBackupJob accepted' };
};
