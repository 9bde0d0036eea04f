import { createHash } from 'crypto';
import { BackupClient, StartCopyJobCommand } from '@aws-sdk/client-backup';
import { checkCopyJob } from '../../runtime/backup-job';
import type { CopyJobResult, StartCopyJobEvent } from '../../runtime/contracts';
import { rethrowClassified } from '../../runtime/errors';
import { awaitCompletion, waitClients } from '../../runtime/event-wait';
import { beginAction, recordResource } from '../../runtime/journal';
import { journalTarget } from '../../runtime/journal-target';
import { createLogger } from '../../runtime/log';
import { backupPolicy, nextPoll } from '../../runtime/poll';

const backup = new BackupClient({});
const log = createLogger('start-copy-job');

/** The idempotency token of the copy of one execution's recovery point of one instance. */
export function copyIdempotencyToken(executionId: string, instanceId: string): string {
  return createHash('sha256').update(`copy\n${executionId}\n${instanceId}`).digest('hex').slice(0, 64);
}

/** Copies the instance's new recovery point into the configured copy vault (another Region or account). */
export const handler = async (event: StartCopyJobEvent): Promise<CopyJobResult> => {
  const { instanceId, recoveryPointArn, execution } = event;
  const settings = event.backup;
  // RECOVERY (minimal, for the recovery's tests; the copy-job change journals the job exactly once): the intent first.
  await beginAction(waitClients().doc, journalTarget(execution, instanceId), 'copy', new Date());
  let output;
  try {
    output = await backup.send(new StartCopyJobCommand({
      RecoveryPointArn: recoveryPointArn,
      SourceBackupVaultName: settings.vaultName,
      DestinationBackupVaultArn: settings.copyVaultArn,
      IamRoleArn: settings.roleArn,
      IdempotencyToken: copyIdempotencyToken(execution.id, instanceId),
      ...(settings.copyDeleteAfterDays > 0 ? { Lifecycle: { DeleteAfterDays: settings.copyDeleteAfterDays } } : {}),
    }));
  } catch (err) {
    rethrowClassified(err, `StartCopyJob ${recoveryPointArn} to ${settings.copyVaultArn}`);
  }
  const copyJobId = output.CopyJobId ?? '';
  if (copyJobId) await recordResource(waitClients().doc, journalTarget(execution, instanceId), 'copy', copyJobId);
  log.info('copy job started', { instanceId, copyJobId, destination: settings.copyVaultArn });
  const started: CopyJobResult = {
    copyJobId,
    state: 'CREATED',
    statusMessage: '',
    destinationRecoveryPointArn: '',
    done: false,
    poll: nextPoll(null, backupPolicy(settings)),
  };
  if (!event.taskToken) {
    return started;
  }
  // Waiting on events: AWS Backup's state-change event of the job resumes the Task (or this look, when the job is
  // already over).
  return awaitCompletion(waitClients(), {
    kind: 'copy',
    taskToken: event.taskToken,
    execution,
    instanceId,
    resourceId: copyJobId,
    previous: started,
    maxSeconds: backupPolicy(settings).maxSeconds,
    check: (poll) => checkCopyJob(backup, started, poll, log),
    log,
  });
};
