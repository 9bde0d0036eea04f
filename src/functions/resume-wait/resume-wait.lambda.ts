import { BackupClient } from '@aws-sdk/client-backup';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { type StateChangeEvent, waitOf } from '../../contract/events';
import { type BackupJobResult, type CopyJobResult, type PolledResult, type ScriptStatusResult } from '../../contract/messages';
import { EC2_RUNNING, EC2_STOPPED } from '../../contract/status';
import { pollAtAttempt } from '../../contract/waits';
import { backoff } from '../../lambda-shared/backoff';
import { checkBackupJob, checkCopyJob } from '../../lambda-shared/backup-job';
import { waitClients } from '../../lambda-shared/event-wait';
import { ensurePowerState } from '../../lambda-shared/instance-power';
import { correlationOf, createLogger } from '../../lambda-shared/log';
import { checkScript } from '../../lambda-shared/script-status';
import { completeTask } from '../../lambda-shared/task-token';
import { clearWait, findWait, type RegisteredWait, waitTableName } from '../../lambda-shared/wait-registry';

const ec2 = new EC2Client({});
const ssm = new SSMClient({});
const backup = new BackupClient({});
const log = createLogger('resume-wait');

/** What resume-wait did with one event. */
export interface ResumeWaitResult {
  /** True when a waiting Task was answered. */
  readonly resumed: boolean;
  readonly reason: string;
}

/** One look at the resource of a registered wait; never ends a wait early (only the waiting handler does). */
async function look(wait: RegisteredWait): Promise<PolledResult> {
  const poll = { ...pollAtAttempt(wait.attempt, wait.kind, wait.maxSeconds), expired: false };
  switch (wait.kind) {
    case 'script':
      return checkScript(ssm, wait.previous as ScriptStatusResult, poll, log);
    case 'stop':
    case 'start':
      return ensurePowerState(ec2, { instanceId: wait.instanceId }, wait.kind === 'stop' ? EC2_STOPPED : EC2_RUNNING, log,
        { poll, mayRequestChange: false });
    case 'backup':
      return checkBackupJob(backup, wait.previous as BackupJobResult, poll, log);
    case 'copy':
      return checkCopyJob(backup, wait.previous as CopyJobResult, poll, log);
  }
}

/** Looks at a resource after its event, at most: a describe call may lag the event that the step ended by a moment. */
export const LOOKS_AFTER_EVENT = 3;
/** Before the second look; doubled before each further one (0.5 s, then 1 s: at most 1.5 s in all). */
const LOOK_AGAIN_MS = 500;

/**
 * Looks until the step is over, up to LOOKS_AFTER_EVENT times: the rules send only events of steps that ended, so a
 * look that disagrees is most likely a describe call behind its own event. Still not over after that (an instance
 * started again by someone else, say), the wait is left to the Task's fallback look.
 */
async function lookAfterEvent(wait: RegisteredWait): Promise<PolledResult> {
  let result = await look(wait);
  for (let n = 1; n < LOOKS_AFTER_EVENT && !result.done; n++) {
    await backoff(LOOK_AGAIN_MS, n);
    result = await look(wait);
  }
  return result;
}

/**
 * Resumes the Task waiting on the resource a state-change event (EC2, SSM Run Command, AWS Backup) is about: looks at
 * the resource with a describe call (the event only says where to look) and answers the Task once the step is over.
 * Events of resources no run waits on are ignored. Safe to receive twice: a stale token is ignored.
 */
export const handler = async (event: StateChangeEvent): Promise<ResumeWaitResult> => {
  log.correlate(correlationOf(event));
  const target = waitOf(event);
  if (!target) {
    return { resumed: false, reason: 'not an event any wait listens to' };
  }
  const { doc, sfn } = waitClients();
  const table = waitTableName();
  const wait = await findWait(doc, table, target.kind, target.resourceId);
  if (!wait) {
    log.debug('no task waits on this resource', target);
    return { resumed: false, reason: 'no task waits on this resource' };
  }
  const result = await lookAfterEvent(wait);
  if (!result.done) {
    log.info('event seen, step not over yet', { ...target, attempt: wait.attempt, looks: LOOKS_AFTER_EVENT });
    return { resumed: false, reason: 'the step is not over yet' };
  }
  const answered = await completeTask(sfn, wait.taskToken, result, log);
  await clearWait(doc, table, wait.kind, wait.resourceId, wait.taskToken);
  log.info(answered ? 'task resumed' : 'token no longer waited on; wait cleared', { ...target, executionId: wait.executionId });
  return { resumed: answered, reason: answered ? 'task resumed' : 'the token was no longer waited on' };
};
