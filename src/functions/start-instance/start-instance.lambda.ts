import { EC2Client } from '@aws-sdk/client-ec2';
import { type InstancePowerEvent, type InstancePowerResult } from '../../contract/messages';
import { EC2_RUNNING } from '../../contract/status';
import { waitClients } from '../../lambda-shared/event-wait';
import { powerStep } from '../../lambda-shared/instance-power';
import { beginAction } from '../../lambda-shared/journal';
import { journalTarget } from '../../lambda-shared/journal-target';
import { correlationOf, createLogger } from '../../lambda-shared/log';

const ec2 = new EC2Client({});
const log = createLogger('start-instance');

/** Brings the instance to running, idempotently: polled until done, or waiting on EC2's state-change event. */
export const handler = async (event: InstancePowerEvent): Promise<InstancePowerResult> => {
  log.correlate(correlationOf(event));
  // Journaled before any StartInstances (docs/workflow.md, "Recovering a chain that died"): should this chain die
  // afterwards, the run's recovery knows the instance may have been started again. Every look records it (the first intent stays).
  await beginAction(waitClients().doc, journalTarget(event.execution, event.instanceId), 'start', new Date());
  return powerStep(ec2, event, EC2_RUNNING, log);
};
