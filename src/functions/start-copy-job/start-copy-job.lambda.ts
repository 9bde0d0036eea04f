import { createHash } from 'crypto';
import { BackupClient, StartCopyJobCommand } from '@aws-sdk/client-backup';
import { type CopyJobResult, type StartCopyJobEvent } from '../../contract/messages';
import { backupPolicy, nextPoll } from '../../contract/poll';
import { JOB_CREATED } from '../../contract/status';
import { checkCopyJob } from '../../lambda-shared/backup-job';
import { rethrowClassified } from '../../lambda-shared/errors';
import { awaitCompletion, waitClients } from '../../lambda-shared/event-wait';
import { findCopyJob, startOnce } from '../../lambda-shared/job-start';
import { correlationOf, createLogger } from '../../lambda-shared/log';
import { waitTableName } from '../../lambda-shared/wait-registry';

const backup = new BackupClient({});
const log = createLogger('start-copy-job');

/** The idempotency token of the copy of one execution's recovery point of one instance. */
export function copyIdempotencyToken(executionId: string, instanceId: string): string {
  return createHash('sha256').update(`copy\n${executionId}\n${instanceId}`).digest('hex').slice(0, 64);
}

/**
 * Copies the instance's new recovery point into the configured copy vault (another Region or account), once per
 * execution and instance (src/lambda-shared/job-start.ts): a later invocation finds the copy job id in the instance journal,
 * or recovers it from ListCopyJobs, and only looks at the job.
 */
export const handler = async (event: StartCopyJobEvent): Promise<CopyJobResult> => {
  log.correlate(correlationOf(event));
  const { instanceId, recoveryPointArn, execution } = event;
  const settings = event.backup;
  const { jobId: copyJobId, how } = await startOnce({
    doc: waitClients().doc,
    target: { tableName: waitTableName(), executionId: execution.id, instanceId },
    action: 'copy',
    now: new Date(),
    find: (createdAfter) => findCopyJob(backup, {
      resourceArn: `${settings.instanceArnPrefix}${instanceId}`,
      sourceRecoveryPointArn: recoveryPointArn,
      destinationVaultArn: settings.copyVaultArn,
      createdAfter,
    }),
    start: async () => {
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
      if (!output.CopyJobId) {
        throw new Error(`StartCopyJob ${recoveryPointArn} answered no CopyJobId`);
      }
      log.info('copy job started', { instanceId, copyJobId: output.CopyJobId, destination: settings.copyVaultArn });
      return output.CopyJobId;
    },
    log,
  });
  log.appendKeys({ jobId: copyJobId });
  if (how !== 'started') {
    log.info('copy job of this run found: looking only', { instanceId, copyJobId, how });
  }
  const started: CopyJobResult = {
    copyJobId,
    state: JOB_CREATED,
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
    stillWaiting: (poll) => ({ ...started, poll }),
    deferFirstLook: true,
    log,
  });
};
