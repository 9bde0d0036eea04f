import { BackupClient } from '@aws-sdk/client-backup';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { JOURNAL_ACTIONS, POWER_REQUESTED } from '../../contract/audit-schema';
import { type InstanceSteps, type StepOutcome } from '../../contract/instance';
import { type BackupJobResult, type CheckAgentResult, type CopyJobResult, type InspectChainEvent, type InspectChainResult, type InstancePowerResult, type ScriptStatusResult } from '../../contract/messages';
import { AGENT_AFTER_START_POLICY, AGENT_BEFORE_SCRIPT_POLICY, backupPolicy, INSTANCE_POWER_POLICY, nextPoll, scriptPolicy } from '../../contract/poll';
import { EC2_GONE_STATES, EC2_RUNNING, EC2_STOPPED, EC2_STOPPING, FAILED, IN_PROGRESS, JOB_CREATED, SSM_PENDING, SSM_PING_ONLINE, SUCCESS } from '../../contract/status';
import { checkBackupJob, checkCopyJob } from '../../lambda-shared/backup-job';
import { waitClients } from '../../lambda-shared/event-wait';
import { lookAt } from '../../lambda-shared/instance-power';
import { type InstanceJournal, type JournalRecord, readJournal } from '../../lambda-shared/journal';
import { journalTarget } from '../../lambda-shared/journal-target';
import { correlationOf, createLogger } from '../../lambda-shared/log';
import { checkScript } from '../../lambda-shared/script-status';

const ec2 = new EC2Client({});
const ssm = new SSMClient({});
const backup = new BackupClient({});
const log = createLogger('inspect-chain');

/** The status of a step whose action was journaled but whose resource id was not: it may or may not have happened. */
export const UNKNOWN = 'Unknown';

const unknown = (what: string): StepOutcome => ({
  status: UNKNOWN,
  message: `${what} was about to be done when the instance's chain died; AWS's answer was not recorded`,
});

async function script(record: JournalRecord, instanceId: string, timeoutSeconds: number, what: string): Promise<ScriptStatusResult | StepOutcome> {
  if (!record.resourceId) {
    return unknown(what);
  }
  const policy = scriptPolicy(timeoutSeconds);
  const sent: ScriptStatusResult = {
    commandId: record.resourceId,
    instanceId,
    status: SSM_PENDING,
    statusDetails: SSM_PENDING,
    responseCode: -1,
    timeoutSeconds,
    outputLocation: '',
    outputExcerpt: '',
    done: false,
    poll: nextPoll(null, policy),
  };
  // One look, never at the bound (a look at the bound would cancel the command).
  return checkScript(ssm, sent, nextPoll(null, policy), log);
}

/** The job a journal record holds, looked at with `look`; unknown when the record has no job id. */
async function lookAtJob<R>(record: JournalRecord, what: string, look: (jobId: string) => Promise<R>): Promise<R | StepOutcome> {
  return record.resourceId ? look(record.resourceId) : unknown(what);
}

const online = (purpose: 'before' | 'after'): CheckAgentResult => ({
  online: true,
  pingStatus: SSM_PING_ONLINE,
  done: true,
  poll: nextPoll(null, purpose === 'before' ? AGENT_BEFORE_SCRIPT_POLICY : AGENT_AFTER_START_POLICY),
});

/**
 * The first state of a recovery: what this run did to an instance whose chain died, as its journal (written before
 * each action) and AWS (each recorded resource looked at once) show it, and what the instance still needs: started
 * again when this run stopped it (or was about to) and it is not running; its post-script when its pre-script was sent
 * (or about to be) and the post-script was not, with the post-script on.
 */
export const handler = async (event: InspectChainEvent): Promise<InspectChainResult> => {
  log.correlate(correlationOf(event));
  const { instance, execution, config } = event;
  const instanceId = instance.instanceId;
  const journal: InstanceJournal = await readJournal(waitClients().doc, journalTarget(execution, instanceId));
  const a = journal.actions;
  const state = (await lookAt(ec2, instanceId))?.state ?? 'unknown';
  const steps: { -readonly [K in keyof InstanceSteps]: InstanceSteps[K] } = { errors: {} };
  const power = (status: InstancePowerResult['status'], message = '', observed = false): InstancePowerResult => ({
    instanceId,
    state,
    status,
    message,
    done: true,
    poll: nextPoll(null, INSTANCE_POWER_POLICY),
    ...(observed ? { observedAt: new Date().toISOString() } : {}),
  });

  if (a.pre) {
    steps.agent = online('before'); // a script is only sent to an online agent
    steps.pre = await script(a.pre, instanceId, config.preScript.timeoutSeconds, 'the pre-backup script');
  }
  if (a.stop) {
    if (a.start?.resourceId === POWER_REQUESTED || state === EC2_STOPPED) {
      // A start is only asked of a stopped instance: the stop did reach stopped.
      steps.stop = power(SUCCESS, '', state === EC2_STOPPED);
    } else if (a.stop.resourceId === POWER_REQUESTED) {
      steps.stop = state === EC2_STOPPING
        ? power(IN_PROGRESS, 'the instance was still stopping when its chain died')
        : { status: UNKNOWN, message: `EC2 accepted the stop; the instance is ${state} and its stop was not seen by the chain` };
    } else {
      steps.stop = power(FAILED, 'the instance\'s chain died while stopping it, before EC2 was asked to');
    }
  }
  // A recorded job is looked at once, from its first state; an intent without a job id is unknown.
  const jobPoll = nextPoll(null, backupPolicy(config.backup));
  const created = { state: JOB_CREATED, statusMessage: '', done: false, poll: jobPoll };
  if (a.backup) {
    steps.backup = await lookAtJob(a.backup, 'the backup job', (backupJobId) => checkBackupJob(backup, {
      ...created, backupJobId, recoveryPointArn: '', percentDone: '0',
    } satisfies BackupJobResult, jobPoll, log));
  }
  if (a.start && state === EC2_RUNNING) {
    steps.start = power(SUCCESS, '', true);
  }
  if (a.post) {
    steps.agentAfterStart = online('after');
    steps.post = await script(a.post, instanceId, config.postScript.timeoutSeconds, 'the post-backup script');
  }
  if (a.copy) {
    steps.copy = await lookAtJob(a.copy, 'the copy job', (copyJobId) => checkCopyJob(backup, {
      ...created, copyJobId, destinationRecoveryPointArn: '',
    } satisfies CopyJobResult, jobPoll, log));
  }

  const gone = EC2_GONE_STATES.includes(state) || state === 'unknown';
  const needs = {
    start: a.stop !== undefined && state !== EC2_RUNNING && !gone,
    post: config.postScript.enabled && a.pre !== undefined && a.post === undefined && !gone,
  };
  const journaled = JOURNAL_ACTIONS.filter((action) => a[action] !== undefined);
  log.info('chain inspected', { instanceId, state, journaled, needs });
  return { steps, needs, state, journaled };
};
