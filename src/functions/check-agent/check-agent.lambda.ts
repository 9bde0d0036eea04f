import { paginateDescribeInstanceInformation, SSMClient } from '@aws-sdk/client-ssm';
import { type CheckAgentEvent, type CheckAgentResult } from '../../contract/messages';
import { AGENT_AFTER_START_POLICY, AGENT_BEFORE_SCRIPT_POLICY, nextPoll } from '../../contract/poll';
import { SSM_NOT_MANAGED, SSM_PING_ONLINE } from '../../contract/status';
import { rethrowClassified } from '../../lambda-shared/errors';
import { correlationOf, createLogger } from '../../lambda-shared/log';

const ssm = new SSMClient({});
const log = createLogger('check-agent');

/** Is the SSM agent of the instance online? Done when online or when the bounded wait is over. */
export const handler = async (event: CheckAgentEvent): Promise<CheckAgentResult> => {
  log.correlate(correlationOf(event));
  const policy = event.purpose === 'afterStart' ? AGENT_AFTER_START_POLICY : AGENT_BEFORE_SCRIPT_POLICY;
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
    rethrowClassified(err, `DescribeInstanceInformation ${event.instanceId}`);
  }

  const online = pingStatus === SSM_PING_ONLINE;
  const poll = nextPoll(event.poll, policy);
  const result: CheckAgentResult = { online, pingStatus, done: online || poll.expired, poll };
  log.info('agent checked', { instanceId: event.instanceId, purpose: event.purpose, pingStatus, attempt: poll.attempt, done: result.done });
  return result;
};
