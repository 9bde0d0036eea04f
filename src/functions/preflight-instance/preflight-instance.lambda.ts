import { BackupClient } from '@aws-sdk/client-backup';
import { EC2Client } from '@aws-sdk/client-ec2';
import { SSMClient } from '@aws-sdk/client-ssm';
import { checkInstance, lookAtProbes } from './checks';
import { type PreflightInstanceEvent, type PreflightResult } from '../../contract/messages';
import { correlationOf, createLogger } from '../../lambda-shared/log';

const clients = { ec2: new EC2Client({}), ssm: new SSMClient({}), backup: new BackupClient({}) };
const log = createLogger('preflight-instance');

/**
 * A dry run's check of one instance (issue 15, docs/workflow.md "A dry run"): `check` makes every check and sends the
 * script probes, `look` follows the probes until they end. Nothing is frozen, stopped, started or backed up.
 */
export const handler = async (event: PreflightInstanceEvent): Promise<PreflightResult> => {
  log.correlate(correlationOf(event));
  const result = event.action === 'look' ? await lookAtProbes(clients, event) : await checkInstance(clients, event, new Date());
  log.info('instance checked', {
    instanceId: event.instance.instanceId,
    action: event.action,
    verdict: result.verdict,
    done: result.done,
    failed: result.checks.filter((c) => !c.ok).map((c) => c.name),
    probes: result.probes.map((p) => `${p.phase}:${p.status}`),
  });
  return result;
};
