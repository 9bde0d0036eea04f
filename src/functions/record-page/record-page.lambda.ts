import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type AuditEntry } from '../../contract/audit-schema';
import { type DiscoveredInstance, type InstanceOutcome, type RunTally } from '../../contract/instance';
import { type RecordPageEvent } from '../../contract/messages';
import { isFailedOutcome, OUTCOME_FAILED, OUTCOME_SKIPPED, OUTCOME_SUCCEEDED } from '../../contract/status';
import {
  batchWrite, EXCLUDED_SAMPLE_SIZE, getInstanceItems, missingEntry, pickEntry, tallyOf, unrecordedResults,
} from '../../lambda-shared/audit-batch';
import { toAuditEntry } from '../../lambda-shared/audit-entry';
import { auditEnvironment, instanceItem, unknownInstance } from '../../lambda-shared/audit-item';
import { correlationOf, createLogger } from '../../lambda-shared/log';

const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
});
const log = createLogger('record-page');

function isOutcome(item: InstanceOutcome | DiscoveredInstance): item is InstanceOutcome {
  return typeof (item as InstanceOutcome).recorded === 'boolean';
}

/**
 * One page of the run is done: every instance of the page gets its audit entry in the table (those its chain
 * could not write are written here, from the chain's raw step results, in its outcome or left in its item; an entry
 * that is nowhere says so), and the
 * page's counts are added to the run's tally. Its input and output are bounded by the page size.
 */
export const handler = async (event: RecordPageEvent): Promise<RunTally> => {
  log.correlate(correlationOf(event));
  const env = auditEnvironment(false);
  const now = new Date();
  const { execution, config } = event;
  const tally = tallyOf(event.tally);

  const outcomes = new Map<string, InstanceOutcome>();
  // The Map failed: its items are still the discovered instances, without an outcome.
  const withoutOutcome = new Map<string, DiscoveredInstance>();
  for (const item of event.items ?? []) {
    if (!item || typeof item.instanceId !== 'string' || item.instanceId === '') {
      continue;
    }
    if (isOutcome(item)) {
      outcomes.set(item.instanceId, item);
    } else {
      withoutOutcome.set(item.instanceId, item);
    }
  }

  // 1. Entries the chains could not write, with their raw results in the outcome: derived from them.
  const entries = new Map<string, AuditEntry>();
  const toWrite: AuditEntry[] = [];
  for (const o of outcomes.values()) {
    if (o.recorded === false && o.steps) {
      const entry = toAuditEntry(o.instance ?? unknownInstance(o.instanceId), config, o.steps);
      entries.set(o.instanceId, entry);
      toWrite.push(entry);
    }
  }

  // 2. Every other instance's item, read back (consistent reads): the entry its chain wrote, or the raw results its
  // chain left in the item (the entry is derived from them here); an instance with neither says so.
  const lookFor = [...outcomes.values()].filter((o) => !entries.has(o.instanceId)).map((o) => o.instanceId)
    .concat([...withoutOutcome.keys()].filter((id) => !outcomes.has(id)));
  const found = lookFor.length > 0 ? await getInstanceItems(dynamo, env.tableName, execution.id, lookFor) : new Map();
  let lost = 0;
  let fromItems = 0;
  for (const id of lookFor) {
    const item = found.get(id);
    if (item?.Outcome) {
      entries.set(id, pickEntry(item));
      continue;
    }
    const outcome = outcomes.get(id);
    const raw = item ? unrecordedResults(item) : undefined;
    if (raw) {
      log.warn('entry written from the results its chain left in the table', { instanceId: id, reason: raw.reason });
      const entry = toAuditEntry(raw.instance ?? outcome?.instance ?? unknownInstance(id), config, raw.steps);
      entries.set(id, entry);
      toWrite.push(entry);
      fromItems++;
      continue;
    }
    lost++;
    const entry = outcome
      ? missingEntry({
        instanceId: id,
        instance: outcome.instance,
        outcome: outcome.succeeded ? OUTCOME_SUCCEEDED : outcome.skipped ? OUTCOME_SKIPPED : OUTCOME_FAILED,
      }, item ? 'its audit entry could not be read from the table' : 'its audit entry was not found in the table')
      : missingEntry({ instanceId: id, instance: withoutOutcome.get(id), outcome: OUTCOME_FAILED },
        'its chain did not finish: the run failed while the instance was worked on; check the instance');
    entries.set(id, entry);
    toWrite.push(entry);
  }
  if (toWrite.length > 0) {
    await batchWrite(dynamo, env.tableName, toWrite.map((e) => instanceItem(execution, e, env.retentionDays, now)));
    log.info('instance entries written', { count: toWrite.length, fromRawResults: fromItems, notFound: lost });
  }

  // 3. The page's counts and excluded instances added to the tally.
  const all = [...entries.values()];
  const failed = all.filter((e) => isFailedOutcome(e.Outcome)).length;
  const skipped = all.filter((e) => e.Outcome === OUTCOME_SKIPPED).length;
  const excluded = event.excluded ?? [];
  const next: RunTally = {
    pages: tally.pages + 1,
    instanceCount: tally.instanceCount + all.length,
    succeededCount: tally.succeededCount + all.length - failed - skipped,
    failedCount: tally.failedCount + failed,
    skippedCount: tally.skippedCount + skipped,
    maxStoppedSeconds: Math.max(tally.maxStoppedSeconds, ...all.map((e) => Number(e.StoppedSeconds) || 0)),
    maxFrozenSeconds: Math.max(tally.maxFrozenSeconds ?? 0, ...all.map((e) => Number(e.FrozenSeconds) || 0)),
    excludedCount: tally.excludedCount + (typeof event.excludedCount === 'number' ? event.excludedCount : excluded.length),
    excludedSample: [...tally.excludedSample, ...excluded].slice(0, EXCLUDED_SAMPLE_SIZE),
  };
  log.info('page recorded', { page: next.pages, instances: all.length, failed, skipped, excluded: next.excludedCount - tally.excludedCount });
  return next;
};
