import { DescribeInstancesCommand, EC2Client, type Filter, type Instance } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, SSMClient } from '@aws-sdk/client-ssm';
import type {
  DiscoveredInstance,
  DiscoverInstancesEvent,
  DiscoverInstancesResult,
  ExcludedInstance,
} from '../../runtime/contracts';
import { InvalidInputError, rethrowClassified } from '../../runtime/errors';
import { createLogger } from '../../runtime/log';
import { EC2_GONE_STATES, EC2_STATES, SSM_NOT_CHECKED, SSM_NOT_MANAGED } from '../../runtime/status';

const ec2 = new EC2Client({});
const ssm = new SSMClient({});
const log = createLogger('discover-instances');

/** Most values EC2 accepts in one filter. */
export const INSTANCE_ID_FILTER_CHUNK = 200;
/** Most instance ids DescribeInstanceInformation accepts in its InstanceIds filter. */
export const SSM_INSTANCE_ID_CHUNK = 50;

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) {
    out.push(items.slice(i, i + size));
  }
  return out;
}

async function describeTagged(filters: Filter[]): Promise<Instance[]> {
  const instances: Instance[] = [];
  let nextToken: string | undefined;
  do {
    let page;
    try {
      page = await ec2.send(new DescribeInstancesCommand({ Filters: filters, MaxResults: 1000, NextToken: nextToken }));
    } catch (err) {
      rethrowClassified(err, 'DescribeInstances');
    }
    for (const reservation of page.Reservations ?? []) {
      instances.push(...(reservation.Instances ?? []));
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return instances;
}

async function pingStatuses(instanceIds: string[]): Promise<Map<string, string>> {
  const statuses = new Map<string, string>();
  for (const ids of chunks(instanceIds, SSM_INSTANCE_ID_CHUNK)) {
    let nextToken: string | undefined;
    do {
      let page;
      try {
        page = await ssm.send(new DescribeInstanceInformationCommand({
          Filters: [{ Key: 'InstanceIds', Values: ids }],
          MaxResults: 50,
          NextToken: nextToken,
        }));
      } catch (err) {
        rethrowClassified(err, 'DescribeInstanceInformation');
      }
      for (const info of page.InstanceInformationList ?? []) {
        if (info.InstanceId) {
          statuses.set(info.InstanceId, info.PingStatus ?? 'Unknown');
        }
      }
      nextToken = page.NextToken;
    } while (nextToken);
  }
  return statuses;
}

/** Finds the instances carrying the run's tag(s), restricted to the requested ids, with their SSM agent status. */
export const handler = async (event: DiscoverInstancesEvent): Promise<DiscoverInstancesResult> => {
  const config = event.config;
  const baseFilters: Filter[] = [
    { Name: `tag:${config.tagKey}`, Values: [config.tagValue] },
    { Name: 'instance-state-name', Values: [...EC2_STATES] },
  ];
  if (config.filterTagKey) {
    baseFilters.push({ Name: `tag:${config.filterTagKey}`, Values: [config.filterTagValue] });
  }
  const requested = config.instanceIds ?? [];

  // Filtering on instance-id (rather than passing InstanceIds) never fails on an id that does not exist.
  const found = new Map<string, Instance>();
  const filterSets = requested.length > 0
    ? chunks(requested, INSTANCE_ID_FILTER_CHUNK).map((ids) => [...baseFilters, { Name: 'instance-id', Values: ids }])
    : [baseFilters];
  for (const filters of filterSets) {
    for (const instance of await describeTagged(filters)) {
      if (instance.InstanceId) {
        found.set(instance.InstanceId, instance);
      }
    }
  }

  const tagText = `${config.tagKey}=${config.tagValue}${config.filterTagKey ? ` and ${config.filterTagKey}=${config.filterTagValue}` : ''}`;
  const missing = requested.filter((id) => !found.has(id));
  if (missing.length > 0) {
    const shown = missing.length > 20 ? `${missing.slice(0, 20).join(', ')} and ${missing.length - 20} more` : missing.join(', ');
    log.warn('requested instances not found', { missing: missing.length, tag: tagText });
    throw new InvalidInputError(`TargetEC2Instances: instances ${shown} do not carry the tag ${tagText} (or do not exist); no instance was touched`);
  }

  const instances: Array<Omit<DiscoveredInstance, 'ssmPingStatus'>> = [];
  const excluded: ExcludedInstance[] = [];
  for (const [instanceId, instance] of found) {
    const state = instance.State?.Name ?? 'unknown';
    if (EC2_GONE_STATES.includes(state)) {
      excluded.push({ instanceId, state, reason: `instance is ${state}: nothing to back up` });
      continue;
    }
    instances.push({ instanceId, state, platform: String(instance.Platform ?? '').toLowerCase() === 'windows' ? 'Windows' : 'Linux' });
  }
  instances.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
  excluded.sort((a, b) => a.instanceId.localeCompare(b.instanceId));

  const pings = config.scriptsEnabled && instances.length > 0
    ? await pingStatuses(instances.map((i) => i.instanceId))
    : undefined;
  const result: DiscoverInstancesResult = {
    instances: instances.map((i) => ({
      ...i,
      ssmPingStatus: pings ? pings.get(i.instanceId) ?? SSM_NOT_MANAGED : SSM_NOT_CHECKED,
    })),
    excluded,
  };
  log.info('instances discovered', {
    tag: tagText,
    instances: result.instances.length,
    excluded: excluded.length,
    requested: requested.length,
  });
  return result;
};
