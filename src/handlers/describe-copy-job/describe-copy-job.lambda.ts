import { BackupClient, DescribeCopyJobCommand } from '@aws-sdk/client-backup';
import type { CopyJobResult, DescribeCopyJobEvent } from '../../runtime/contracts';
import { rethrowClassified } from '../../runtime/errors';
import { createLogger } from '../../runtime/log';
import { backupPolicy, nextPoll } from '../../runtime/poll';

const backup = new BackupClient({});
const log = createLogger('describe-copy-job');

/** Whether a copy job state is final. Unknown states are logged and treated as still on their way. */
function isTerminal(state: string, copyJobId: string): boolean {
  switch (state) {
    case 'CREATED':
    case 'RUNNING':
      return false;
    case 'COMPLETED':
    case 'FAILED':
    case 'PARTIAL':
      return true;
    default:
      log.warn('unknown copy job state; treated as not final', { copyJobId, state });
      return false;
  }
}

/** Polls the copy job; done in a final state or when the bounded wait is over. */
export const handler = async (event: DescribeCopyJobEvent): Promise<CopyJobResult> => {
  const previous = event.previous;
  const copyJobId = previous.copyJobId;
  const poll = nextPoll(previous.poll, backupPolicy(event.backup));
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
  if (isTerminal(state, copyJobId)) {
    log.info('copy job finished', { copyJobId, state, statusMessage: result.statusMessage });
    return { ...result, done: true };
  }
  if (poll.expired) {
    log.warn('copy job wait expired', { copyJobId, state, elapsedSeconds: poll.elapsedSeconds });
    return { ...result, statusMessage: `still ${state} after ${poll.elapsedSeconds} s: the workflow stopped waiting`, done: true };
  }
  return { ...result, done: false };
};
