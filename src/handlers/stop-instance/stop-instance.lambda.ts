import { EC2Client } from '@aws-sdk/client-ec2';
import type { InstancePowerEvent, InstancePowerResult } from '../../runtime/contracts';
import { powerStep } from '../../runtime/instance-power';
import { createLogger } from '../../runtime/log';

const ec2 = new EC2Client({});
const log = createLogger('stop-instance');

/** Brings the instance to stopped, idempotently: polled until done, or waiting on EC2's state-change event. */
export const handler = async (event: InstancePowerEvent): Promise<InstancePowerResult> => {
  return powerStep(ec2, event, 'stopped', log);
};
