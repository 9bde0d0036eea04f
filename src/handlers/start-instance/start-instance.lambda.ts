import { EC2Client } from '@aws-sdk/client-ec2';
import type { InstancePowerEvent, InstancePowerResult } from '../../runtime/contracts';
import { waitClients } from '../../runtime/event-wait';
import { powerStep } from '../../runtime/instance-power';
import { beginAction } from '../../runtime/journal';
import { journalTarget } from '../../runtime/journal-target';
import { createLogger } from '../../runtime/log';

const ec2 = new EC2Client({});
const log = createLogger('start-instance');

/** Brings the instance to running, idempotently: polled until done, or waiting on EC2's state-change event. */
export const handler = async (event: InstancePowerEvent): Promise<InstancePowerResult> => {
  // Journaled before any StartInstances (docs/workflow.md, "Recovering a chain that died"): should this chain die
  // afterwards, the run's recovery knows the instance may have been started again. Every look records it (the first intent stays).
  await beginAction(waitClients().doc, journalTarget(event.execution, event.instanceId), 'start', new Date());
  return powerStep(ec2, event, 'running', log);
};
