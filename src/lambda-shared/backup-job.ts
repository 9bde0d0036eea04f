/**
 * One look at an AWS Backup job (and at a copy job): its state, and the end of the wait when the bound is reached.
 * Shared by describe-backup-job / describe-copy-job (polling), start-backup-job / start-copy-job (waiting on events)
 * and resume-wait.
 */
// The Lambda runtime provides AWS SDK v3; the bundle leaves it external, so it is only a devDependency.
// eslint-disable-next-line import/no-extraneous-dependencies
import { type BackupClient, DescribeBackupJobCommand, DescribeCopyJobCommand } from '@aws-sdk/client-backup';
import { rethrowClassified } from './errors';
import type { Logger } from './log';
import { type BackupJobResult, type CopyJobResult, type PollState } from '../contract/messages';
import { BACKUP_JOB_FINAL_STATES, BACKUP_JOB_OPEN_STATES, COPY_JOB_FINAL_STATES, COPY_JOB_OPEN_STATES } from '../contract/status';


/** Whether a job state is final. Unknown states are logged and treated as still on their way. */
function isFinal(state: string, finalStates: readonly string[], openStates: readonly string[], log: Logger, job: Record<string, string>): boolean {
  if (finalStates.includes(state)) {
    return true;
  }
  if (!openStates.includes(state)) {
    log.warn('unknown job state; treated as not final', { ...job, state });
  }
  return false;
}

const stoppedWaiting = (state: string, poll: PollState) => `still ${state} after ${poll.elapsedSeconds} s: the workflow stopped waiting`;

/** The backup job's state after `previous`, with `poll` as the wait's progress. */
export async function checkBackupJob(backup: BackupClient, previous: BackupJobResult, poll: PollState, log: Logger): Promise<BackupJobResult> {
  const backupJobId = previous.backupJobId;
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

  if (isFinal(state, BACKUP_JOB_FINAL_STATES, BACKUP_JOB_OPEN_STATES, log, { backupJobId })) {
    log.info('backup job finished', { backupJobId, state, statusMessage: result.statusMessage });
    return { ...result, done: true };
  }
  if (poll.expired) {
    log.warn('backup job wait expired', { backupJobId, state, elapsedSeconds: poll.elapsedSeconds });
    return { ...result, statusMessage: stoppedWaiting(state, poll) + (result.statusMessage ? ` (${result.statusMessage})` : ''), done: true };
  }
  log.info('backup job in progress', { backupJobId, state, percentDone: result.percentDone, attempt: poll.attempt });
  return { ...result, done: false };
}

/** The copy job's state after `previous`, with `poll` as the wait's progress. */
export async function checkCopyJob(backup: BackupClient, previous: CopyJobResult, poll: PollState, log: Logger): Promise<CopyJobResult> {
  const copyJobId = previous.copyJobId;
  let output;
  try {
    output = await backup.send(new DescribeCopyJobCommand({ CopyJobId: copyJobId }));
  } catch (err) {
    rethrowClassified(err, `DescribeCopyJob ${copyJobId}`);
  }
  const job = output.CopyJob ?? {};
  const state = job.State ?? previous.state;
  const result = {
    copyJobId,
    state,
    statusMessage: job.StatusMessage ?? '',
    destinationRecoveryPointArn: job.DestinationRecoveryPointArn ?? previous.destinationRecoveryPointArn,
    poll,
  };

  if (isFinal(state, COPY_JOB_FINAL_STATES, COPY_JOB_OPEN_STATES, log, { copyJobId })) {
    log.info('copy job finished', { copyJobId, state, statusMessage: result.statusMessage });
    return { ...result, done: true };
  }
  if (poll.expired) {
    log.warn('copy job wait expired', { copyJobId, state, elapsedSeconds: poll.elapsedSeconds });
    return { ...result, statusMessage: stoppedWaiting(state, poll), done: true };
  }
  return { ...result, done: false };
}
