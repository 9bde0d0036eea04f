import { paginateDescribeInstanceInformation, SSMClient } from '@aws-sdk/client-ssm';
import { type CheckAgentEvent, type CheckAgentResult } from '../../contract/messages';
import { AGENT_AFTER_START_POLICY, AGENT_BEFORE_SCRIPT_POLICY, nextPoll } from '../../contract/poll';
import { SSM_AGENT_NOT_SEEN, SSM_NOT_MANAGED, SSM_PING_ONLINE } from '../../contract/status';
import { isTransient, rethrowClassified } from '../../lambda-shared/errors';
import { correlationOf, createLogger } from '../../lambda-shared/log';

const ssm = new SSMClient({});
const log = createLogger('check-agent');

/** Is the SSM agent of the instance online? Done when online or when the bounded wait is over. */
export const handler = async (event: CheckAgentEvent): Promise<CheckAgentResult> => {
  log.correlate(correlationOf(event));
  const policy = event.purpose === 'afterStart' ? AGENT_AFTER_START_POLICY : AGENT_BEFORE_SCRIPT_POLICY;
  const poll = nextPoll(event.poll, policy);
  let pingStatus = SSM_NOT_MANAGED;
  try {
    for await (const page of paginateDescribeInstanceInformation({ client: ssm }, { Filters: [{ Key: 'InstanceIds', Values: [event.instanceId] }] })) {
      const info = (page.InstanceInformationList ?? []).find((i) => i.InstanceId === event.instanceId);
      if (info) {
        pingStatus = info.PingStatus ?? 'Unknown';
        break;
      }
    }
  } catch (err) {
    // A look refused on a transient error (SSM throttling: its read quota is shared by every chain's looks) before the
    // wait's bound is a look that did not see the agent yet: the loop looks again after its next wait. Failing it
    // would spend the Task's retries and, after them, fail the step (the post-script not run) for want of a look. The
    // look at the bound still fails for the Task's retry: it decides.
    if (poll.expired || !isTransient(err)) rethrowClassified(err, `DescribeInstanceInformation ${event.instanceId}`);
    log.warn('agent look refused: looking again', {
      instanceId: event.instanceId, purpose: event.purpose, attempt: poll.attempt, error: err instanceof Error ? err.message : String(err),
    });
    return { online: false, pingStatus: SSM_AGENT_NOT_SEEN, done: false, poll };
  }

  const online = pingStatus === SSM_PING_ONLINE;
  const result: CheckAgentResult = { online, pingStatus, done: online || poll.expired, poll };
  log.info('agent checked', { instanceId: event.instanceId, purpose: event.purpose, pingStatus, attempt: poll.attempt, done: result.done });
  return result;
};
