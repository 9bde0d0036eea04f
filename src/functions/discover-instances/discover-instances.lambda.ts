import { DescribeInstancesCommand, EC2Client, type Filter, type Instance, paginateDescribeInstances } from '@aws-sdk/client-ec2';
import { paginateDescribeInstanceInformation, SSMClient } from '@aws-sdk/client-ssm';
import { discoveredCounts, PAGE_SIZE, type PageDescriptor, pageEntry } from '../../contract/fleet';
import { type DiscoveredInstance, type ExcludedInstance } from '../../contract/instance';
import { type DiscoverInstancesEvent, type DiscoverInstancesResult } from '../../contract/messages';
import { type RunConfig } from '../../contract/settings';
import { EC2_GONE_STATES, EC2_STATES, SSM_NOT_CHECKED, SSM_NOT_MANAGED } from '../../contract/status';
import { chunks, EXCLUDED_SAMPLE_SIZE } from '../../lambda-shared/audit-batch';
import { ConfigurationError, InvalidInputError, rethrowClassified } from '../../lambda-shared/errors';
import { correlationOf, createLogger } from '../../lambda-shared/log';

const ec2 = new EC2Client({});
const ssm = new SSMClient({});
const log = createLogger('discover-instances');

/** Most values EC2 accepts in one filter. */
export const INSTANCE_ID_FILTER_CHUNK = 200;
/** Most instance ids DescribeInstanceInformation accepts in its InstanceIds filter. */
export const SSM_INSTANCE_ID_CHUNK = 50;
/** DescribeInstances' MaxResults bounds: a page size outside them is brought inside. */
export const MIN_PAGE_SIZE = 5;
export const MAX_PAGE_SIZE = 1000;
/**
 * Most pages one run discovers (200,000 instances at the default page size): the fleet level keeps one descriptor of
 * about 100 bytes per page in its state, beside the page being discovered (up to about 150 KB of instances), under
 * Step Functions' 256 KiB; its history holds about 15 events a page of its 25,000.
 */
export const MAX_DISCOVERY_PAGES = 200;

/** Where a page starts: `tag:<EC2 NextToken>` when scanning by tag, `ids:<offset>` when the input listed instances. */
const TAG_TOKEN = 'tag:';
const IDS_TOKEN = 'ids:';

/** The run asked for more pages than MAX_DISCOVERY_PAGES. */
export class DiscoveryLimitError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiscoveryLimitError';
  }
}

/** The page size: `DISCOVERY_PAGE_SIZE` from the environment (default 1000), within DescribeInstances' 5..1000. */
export function pageSize(): number {
  const raw = (process.env.DISCOVERY_PAGE_SIZE ?? '').trim();
  if (raw === '') {
    return PAGE_SIZE;
  }
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    throw new ConfigurationError(`DISCOVERY_PAGE_SIZE must be a whole number of instances, got ${JSON.stringify(raw)}`);
  }
  return Math.min(MAX_PAGE_SIZE, Math.max(MIN_PAGE_SIZE, n));
}

async function describePage(
  filters: Filter[], maxResults: number, nextToken: string | undefined,
): Promise<{ instances: Instance[]; nextToken?: string }> {
  let page;
  try {
    page = await ec2.send(new DescribeInstancesCommand({ Filters: filters, MaxResults: maxResults, NextToken: nextToken }));
  } catch (err) {
    rethrowClassified(err, 'DescribeInstances');
  }
  const instances: Instance[] = [];
  for (const reservation of page.Reservations ?? []) {
    instances.push(...(reservation.Instances ?? []));
  }
  return { instances, nextToken: page.NextToken || undefined };
}

/** Every instance matching the filters, every page (the SDK's paginator follows NextToken). */
async function describeAll(filters: Filter[]): Promise<Instance[]> {
  const instances: Instance[] = [];
  try {
    for await (const page of paginateDescribeInstances({ client: ec2, pageSize: MAX_PAGE_SIZE }, { Filters: filters })) {
      for (const reservation of page.Reservations ?? []) {
        instances.push(...(reservation.Instances ?? []));
      }
    }
  } catch (err) {
    rethrowClassified(err, 'DescribeInstances');
  }
  return instances;
}

/** The listed instances that carry the tag(s), by id: instance-id filters of at most 200 values each. */
async function describeIds(baseFilters: Filter[], ids: string[]): Promise<Map<string, Instance>> {
  // Filtering on instance-id (rather than passing InstanceIds) never fails on an id that does not exist.
  const found = new Map<string, Instance>();
  for (const chunk of chunks(ids, INSTANCE_ID_FILTER_CHUNK)) {
    for (const instance of await describeAll([...baseFilters, { Name: 'instance-id', Values: chunk }])) {
      if (instance.InstanceId) {
        found.set(instance.InstanceId, instance);
      }
    }
  }
  return found;
}

async function pingStatuses(instanceIds: string[]): Promise<Map<string, string>> {
  const statuses = new Map<string, string>();
  for (const ids of chunks(instanceIds, SSM_INSTANCE_ID_CHUNK)) {
    try {
      for await (const page of paginateDescribeInstanceInformation({ client: ssm, pageSize: 50 }, { Filters: [{ Key: 'InstanceIds', Values: ids }] })) {
        for (const info of page.InstanceInformationList ?? []) {
          if (info.InstanceId) {
            statuses.set(info.InstanceId, info.PingStatus ?? 'Unknown');
          }
        }
      }
    } catch (err) {
      rethrowClassified(err, 'DescribeInstanceInformation');
    }
  }
  return statuses;
}

function tagText(config: RunConfig): string {
  return `${config.tagKey}=${config.tagValue}${config.filterTagKey ? ` and ${config.filterTagKey}=${config.filterTagValue}` : ''}`;
}

interface RawPage {
  /** The page's instances by id; `undefined` for a listed id that is no longer found. */
  readonly found: Array<[string, Instance | undefined]>;
  readonly nextToken: string;
}

/** A page of the tag scan: one DescribeInstances call of at most `size` instances. */
async function tagPage(filters: Filter[], size: number, token: string): Promise<RawPage> {
  const page = await describePage(filters, size, token === '' ? undefined : token);
  const found: Array<[string, Instance]> = [];
  for (const instance of page.instances) {
    if (instance.InstanceId) {
      found.push([instance.InstanceId, instance]);
    }
  }
  return { found, nextToken: page.nextToken ? `${TAG_TOKEN}${page.nextToken}` : '' };
}

/**
 * A page of the instances the input listed. The first page checks every listed id (no instance is touched when
 * one does not carry the tag); each page then describes its own ids again, so it sees their current state.
 */
async function idsPage(config: RunConfig, filters: Filter[], size: number, offset: number): Promise<RawPage> {
  const requested = [...new Set(config.instanceIds)].sort();
  const ids = requested.slice(offset, offset + size);
  let found: Map<string, Instance>;
  if (offset === 0) {
    found = await describeIds(filters, requested);
    const missing = requested.filter((id) => !found.has(id));
    if (missing.length > 0) {
      const shown = missing.length > 20 ? `${missing.slice(0, 20).join(', ')} and ${missing.length - 20} more` : missing.join(', ');
      log.warn('requested instances not found', { missing: missing.length, tag: tagText(config) });
      throw new InvalidInputError(`TargetEC2Instances: instances ${shown} do not carry the tag ${tagText(config)} (or do not exist); no instance was touched`);
    }
  } else {
    found = await describeIds(filters, ids);
  }
  const next = offset + size < requested.length ? `${IDS_TOKEN}${offset + size}` : '';
  return { found: ids.map((id) => [id, found.get(id)]), nextToken: next };
}

/**
 * One page of the instances carrying the run's tag(s) (restricted to the requested ids), with their SSM agent
 * status. The page holds at most the page size of instances; `nextToken` says where the next one starts.
 */
export const handler = async (event: DiscoverInstancesEvent): Promise<DiscoverInstancesResult> => {
  log.correlate(correlationOf(event));
  const config = event.config;
  const pageNumber = event.pageNumber ?? 0;
  if (pageNumber >= MAX_DISCOVERY_PAGES) {
    throw new DiscoveryLimitError(`discovery stopped after ${MAX_DISCOVERY_PAGES} pages; raise DISCOVERY_PAGE_SIZE or split the fleet between runs`);
  }
  const size = pageSize();
  const filters: Filter[] = [
    { Name: `tag:${config.tagKey}`, Values: [config.tagValue] },
    { Name: 'instance-state-name', Values: [...EC2_STATES] },
  ];
  if (config.filterTagKey) {
    filters.push({ Name: `tag:${config.filterTagKey}`, Values: [config.filterTagValue] });
  }
  const requested = config.instanceIds ?? [];
  const token = event.nextToken ?? '';
  let raw: RawPage;
  if (requested.length > 0) {
    if (token !== '' && !token.startsWith(IDS_TOKEN)) {
      throw new ConfigurationError(`discover-instances: unexpected page token ${JSON.stringify(token.slice(0, 40))}`);
    }
    const offset = token === '' ? 0 : Number(token.slice(IDS_TOKEN.length));
    if (!Number.isInteger(offset) || offset < 0) {
      throw new ConfigurationError(`discover-instances: unexpected page token ${JSON.stringify(token.slice(0, 40))}`);
    }
    raw = await idsPage(config, filters, size, offset);
  } else {
    if (token !== '' && !token.startsWith(TAG_TOKEN)) {
      throw new ConfigurationError(`discover-instances: unexpected page token ${JSON.stringify(token.slice(0, 40))}`);
    }
    raw = await tagPage(filters, size, token.slice(TAG_TOKEN.length));
  }

  const instances: Array<Omit<DiscoveredInstance, 'ssmPingStatus'>> = [];
  const excluded: ExcludedInstance[] = [];
  const seen = new Set<string>();
  for (const [instanceId, instance] of raw.found) {
    if (seen.has(instanceId)) {
      continue;
    }
    seen.add(instanceId);
    if (!instance) {
      excluded.push({ instanceId, state: 'unknown', reason: `instance no longer carries the tag ${tagText(config)} or no longer exists` });
      continue;
    }
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
  const previous: PageDescriptor[] = Array.isArray(event.pages) ? event.pages : [];
  const entry = pageEntry(pageNumber, instances.length, event.entry, previous[previous.length - 1]);
  const result: DiscoverInstancesResult = {
    pageNumber,
    items: instances.map((i) => ({
      ...i,
      ssmPingStatus: pings ? pings.get(i.instanceId) ?? SSM_NOT_MANAGED : SSM_NOT_CHECKED,
    })),
    excluded: excluded.slice(0, EXCLUDED_SAMPLE_SIZE),
    excludedCount: excluded.length,
    nextToken: raw.nextToken,
    ...entry,
    pages: [...previous, { pageNumber, instanceCount: instances.length, excludedCount: excluded.length, ...entry }],
    discovered: discoveredCounts([...previous, { pageNumber, instanceCount: instances.length, excludedCount: excluded.length, ...entry }]),
  };
  log.info('page discovered', {
    tag: tagText(config),
    page: pageNumber + 1,
    instances: result.items.length,
    excluded: excluded.length,
    requested: requested.length,
    more: result.nextToken !== '',
  });
  return result;
};
