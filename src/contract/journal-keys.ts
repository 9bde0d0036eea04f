/**
 * The instance journal's keys and attribute names (src/lambda-shared/journal.ts reads and writes the items). Pure: the
 * construct loads it to scope the acting handlers' roles to journal items, so it must not import the AWS SDK.
 */

/** Prefix of every journal item's partition key (and of the only journal keys the acting handlers' roles may touch). */
export const JOURNAL_KEY_PREFIX = 'JOURNAL#';
/** `RecordType` of a journal item. */
export const RECORD_TYPE_JOURNAL = 'JOURNAL';
/** Seconds a journal item is kept after its last write (DynamoDB TTL deletes it then): longer than any chain. */
export const JOURNAL_ITEM_LIFETIME_SECONDS = 30 * 86_400;

/** What a run may do to an instance, each recorded once. */
export type JournalAction = 'pre' | 'stop' | 'backup' | 'start' | 'post' | 'copy';
export const JOURNAL_ACTIONS: readonly JournalAction[] = ['pre', 'stop', 'backup', 'start', 'post', 'copy'];

/** The resource id of a stop or start EC2 accepted (StopInstances / StartInstances answer no id of their own). */
export const POWER_REQUESTED = 'requested';

/** The attribute holding when the action was first about to be done (ISO-8601), e.g. `Pre_IntentAt`. */
export function intentAttribute(action: JournalAction): string {
  return `${capitalize(action)}_IntentAt`;
}
/** The attribute holding the id AWS answered for the action (command id, job id; `requested` for stop/start). */
export function resourceAttribute(action: JournalAction): string {
  return `${capitalize(action)}_ResourceId`;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The journal item key: `JOURNAL#<execution ARN>#<instance id>`. */
export function journalKey(executionId: string, instanceId: string): string {
  return `${JOURNAL_KEY_PREFIX}${executionId}#${instanceId}`;
}
