import { createHash } from 'crypto';
import { BackupClient, StartBackupJobCommand, type StartBackupJobCommandInput } from '@aws-sdk/client-backup';
import { type BackupJobResult, type StartBackupJobEvent } from '../../contract/messages';
import { backupPolicy, nextPoll } from '../../contract/poll';
import { JOB_CREATED, RECOVERY_POINT_TAG_EXECUTION_ID, RECOVERY_POINT_TAG_INSTANCE_ID } from '../../contract/status';
import { checkBackupJob } from '../../lambda-shared/backup-job';
import { rethrowClassified } from '../../lambda-shared/errors';
import { awaitCompletion, waitClients } from '../../lambda-shared/event-wait';
import { findBackupJob, startOnce } from '../../lambda-shared/job-start';
import { correlationOf, createLogger } from '../../lambda-shared/log';
import { waitTableName } from '../../lambda-shared/wait-registry';

const backup = new BackupClient({});
const log = createLogger('start-backup-job');

/** The idempotency token of the backup job of one execution and instance: a retried call starts no second job. */
export function idempotencyToken(executionId: string, instanceId: string): string {
  return createHash('sha256').update(`${executionId}\n${instanceId}`).digest('hex').slice(0, 64);
}

/**
 * Starts the on-demand AWS Backup job of one instance, once per execution and instance (src/lambda-shared/job-start.ts):
 * a later invocation (a transient error's retry, a fallback look after the waiting Task's timeout) finds the job id in
 * the instance journal, or recovers it from ListBackupJobs, and only looks at the job.
 */
export const handler = async (event: StartBackupJobEvent): Promise<BackupJobResult> => {
  log.correlate(correlationOf(event));
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

  const { jobId: backupJobId, how } = await startOnce({
    doc: waitClients().doc,
    target: { tableName: waitTableName(), executionId: execution.id, instanceId },
    action: 'backup',
    now: new Date(),
    find: (createdAfter) => findBackupJob(backup, {
      resourceArn: input.ResourceArn!, vaultName: settings.vaultName, roleArn: settings.roleArn, createdAfter,
    }),
    start: async () => {
      let output;
      try {
        output = await backup.send(new StartBackupJobCommand(input));
      } catch (err) {
        rethrowClassified(err, `StartBackupJob ${input.ResourceArn}`);
      }
      if (!output.BackupJobId) {
        throw new Error(`StartBackupJob ${input.ResourceArn} answered no BackupJobId`);
      }
      log.info('backup job started', { instanceId, backupJobId: output.BackupJobId, vault: settings.vaultName });
      return output.BackupJobId;
    },
    log,
  });
  log.appendKeys({ jobId: backupJobId });
  if (how !== 'started') {
    log.info('backup job of this run found: looking only', { instanceId, backupJobId, how });
  }
  const started: BackupJobResult = {
    backupJobId,
    state: JOB_CREATED,
    statusMessage: '',
    // StartBackupJob answers RecoveryPointArn only for EFS and advanced DynamoDB: for EC2 the job's look gives it.
    recoveryPointArn: '',
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
    stillWaiting: (poll) => ({ ...started, poll }),
    deferFirstLook: true,
    log,
  });
};
