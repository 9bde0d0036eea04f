import { EC2Client } from '@aws-sdk/client-ec2';
import type { InstancePowerEvent, InstancePowerResult } from '../../runtime/contracts';
import { waitClients } from '../../runtime/event-wait';
import { powerStep } from '../../runtime/instance-power';
import { beginAction } from '../../runtime/journal';
import { journalTarget } from '../../runtime/journal-target';
import { createLogger } from '../../runtime/log';

const ec2 = new EC2Client({});
const log = createLogger('stop-instance');

/** Brings the instance to stopped, idempotently: polled until done, or waiting on EC2's state-change event. */
export const handler = async (event: InstancePowerEvent): Promise<InstancePowerResult> => {
  // Journaled before any StopInstances (docs/workflow.md, "Recovering a chain that died"): should this chain die
  // afterwards, the run's recovery knows the instance may have been stopped by the run. Every look records it (the first intent stays).
  await beginAction(waitClients().doc, journalTarget(event.execution, event.instanceId), 'stop', new Date());
  return powerStep(ec2, event, 'stopped', log);
};
