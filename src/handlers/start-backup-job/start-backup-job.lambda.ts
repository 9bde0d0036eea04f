import { createHash } from 'crypto';
import { BackupClient, StartBackupJobCommand, type StartBackupJobCommandInput } from '@aws-sdk/client-backup';
import { checkBackupJob } from '../../runtime/backup-job';
import type { BackupJobResult, StartBackupJobEvent } from '../../runtime/contracts';
import { rethrowClassified } from '../../runtime/errors';
import { awaitCompletion, waitClients } from '../../runtime/event-wait';
import { beginAction, recordResource } from '../../runtime/journal';
import { journalTarget } from '../../runtime/journal-target';
import { createLogger } from '../../runtime/log';
import { backupPolicy, nextPoll } from '../../runtime/poll';
import { RECOVERY_POINT_TAG_EXECUTION_ID, RECOVERY_POINT_TAG_INSTANCE_ID } from '../../runtime/status';

const backup = new BackupClient({});
const log = createLogger('start-backup-job');

/** The idempotency token of the backup job of one execution and instance: a retried call starts no second job. */
export function idempotencyToken(executionId: string, instanceId: string): string {
  return createHash('sha256').update(`${executionId}\n${instanceId}`).digest('hex').slice(0, 64);
}

/** Starts the on-demand AWS Backup job of one instance. */
export const handler = async (event: StartBackupJobEvent): Promise<BackupJobResult> => {
  const { instanceId, platform, execution } = event;
  const settings = event.backup;
  const input: StartBackupJobCommandInput = {
    BackupVaultName: settings.vaultName,
    IamRoleArn: settings.roleArn,
    ResourceArn: `${settings.instanceArnPrefix}${instanceId}`,
    IdempotencyToken: idempotencyToken(execution.id, instanceId),
    ...(settings.startWindowMinutes > 0 ? { StartWindowMinutes: settings.startWindowMinutes } : {}),
    ...(settings.completeWindowMinutes > 0 ? { CompleteWindowMinutes: settings.completeWindowMinutes } : {}),
    ...(settings.deleteAfterDays > 0 || settings.moveToColdStorageAfterDays > 0
      ? {
        Lifecycle: {
          ...(settings.deleteAfterDays > 0 ? { DeleteAfterDays: settings.deleteAfterDays } : {}),
          ...(settings.moveToColdStorageAfterDays > 0 ? { MoveToColdStorageAfterDays: settings.moveToColdStorageAfterDays } : {}),
        },
      }
      : {}),
    ...(settings.windowsVss && platform === 'Windows' ? { BackupOptions: { WindowsVSS: 'enabled' } } : {}),
    RecoveryPointTags: {
      ...(settings.recoveryPointTags ?? {}),
      [RECOVERY_POINT_TAG_INSTANCE_ID]: instanceId,
      [RECOVERY_POINT_TAG_EXECUTION_ID]: execution.name,
    },
  };

  // RECOVERY (minimal, for the recovery's tests; the backup-job change journals the job exactly once): the intent first.
  await beginAction(waitClients().doc, journalTarget(execution, instanceId), 'backup', new Date());
  let output;
  try {
    output = await backup.send(new StartBackupJobCommand(input));
  } catch (err) {
    rethrowClassified(err, `StartBackupJob ${input.ResourceArn}`);
  }
  const backupJobId = output.BackupJobId ?? '';
  if (backupJobId) await recordResource(waitClients().doc, journalTarget(execution, instanceId), 'backup', backupJobId);
  log.info('backup job started', { instanceId, backupJobId, vault: settings.vaultName });
  const started: BackupJobResult = {
    backupJobId,
    state: 'CREATED',
    statusMessage: '',
    recoveryPointArn: output.RecoveryPointArn ?? '',
    percentDone: '0',
    done: false,
    poll: nextPoll(null, backupPolicy(settings)),
  };
  if (!event.taskToken) {
    return started;
  }
  // Waiting on events: AWS Backup's state-change event of the job resumes the Task (or this look, when the job is
  // already over).
  return awaitCompletion(waitClients(), {
    kind: 'backup',
    taskToken: event.taskToken,
    execution,
    instanceId,
    resourceId: backupJobId,
    previous: started,
    maxSeconds: backupPolicy(settings).maxSeconds,
    check: (poll) => checkBackupJob(backup, started, poll, log),
    log,
  });
};
