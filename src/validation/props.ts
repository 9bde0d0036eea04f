import { Duration, Token } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as events from 'aws-cdk-lib/aws-events';
import * as sns from 'aws-cdk-lib/aws-sns';
import { PropsCheck } from './errors';

/**
 * Prop checks of the constructs. Each reports through `PropsCheck`, so every error is a `PropValidationError` naming
 * the construct's path and the prop, what is wrong and how to fix it. Values that are unresolved tokens are only known
 * at deploy time and are skipped.
 */

const TAG_CHARS = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;

export function validateTag(check: PropsCheck, tagKey: string, tagValue: string): void {
  if (!Token.isUnresolved(tagKey)) {
    if (tagKey.length === 0 || tagKey.length > 128) {
      check.fail('tagKey', `tagKey must be 1 to 128 characters long; got ${tagKey.length}.`);
    }
    if (tagKey.toLowerCase().startsWith('aws:')) {
      check.fail('tagKey', `tagKey '${tagKey}' uses the reserved 'aws:' prefix; choose a key of your own, such as 'backup-job-pre-post-script'.`);
    }
    if (!TAG_CHARS.test(tagKey)) {
      check.fail('tagKey', `tagKey '${tagKey}' has characters EC2 tags do not allow; use letters, digits, spaces and _ . : / = + - @.`);
    }
  }
  if (!Token.isUnresolved(tagValue)) {
    if (tagValue.length === 0 || tagValue.length > 256) {
      check.fail('tagValue', `tagValue must be 1 to 256 characters long; got ${tagValue.length}. An empty value would select instances by key alone.`);
    }
    if (!TAG_CHARS.test(tagValue)) {
      check.fail('tagValue', `tagValue '${tagValue}' has characters EC2 tags do not allow; use letters, digits, spaces and _ . : / = + - @.`);
    }
  }
}

export function validateScriptToggle(check: PropsCheck, prop: 'runPreScript' | 'runPostScript', toggle: boolean | undefined, scriptProp: string, hasScript: boolean): void {
  if (toggle === true && !hasScript) {
    check.fail(prop, `${prop} is true but no ${scriptProp} is set. Set ${scriptProp} (for example BackupScript.fromAsset('scripts/x.sh')) or leave ${prop} unset.`);
  }
}

/** Runs closer than this would overlap: a backup job alone can take longer. */
const MIN_SCHEDULE_INTERVAL = Duration.hours(1);

export function validateSchedule(check: PropsCheck, schedule: events.Schedule | undefined): void {
  if (!schedule || Token.isUnresolved(schedule.expressionString)) {
    return;
  }
  const expression = schedule.expressionString;
  const rate = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (rate) {
    const unitMinutes = rate[2].startsWith('minute') ? 1 : rate[2].startsWith('hour') ? 60 : 1440;
    if (Number(rate[1]) * unitMinutes < MIN_SCHEDULE_INTERVAL.toMinutes()) {
      check.fail('schedule', `schedule '${expression}' runs more often than once an hour, so runs would overlap on the same instances. Use at least Schedule.rate(Duration.hours(1)).`);
    }
    return;
  }
  const cron = /^cron\((.+)\)$/.exec(expression);
  if (cron) {
    const minute = cron[1].trim().split(/\s+/)[0];
    if (minute === '*' || minute.includes('/') || minute.includes('-') || minute.includes(',')) {
      check.fail('schedule', `schedule '${expression}' runs several times an hour (minute field '${minute}'), so runs would overlap. Give a single minute, for example Schedule.cron({ hour: '2', minute: '0' }).`);
    }
    return;
  }
  // A scheduled EventBridge rule takes only cron(...) or rate(...) (EventBridge user guide, "Setting a schedule pattern
  // for scheduled rules"); at(...) is EventBridge Scheduler's one-time schedule, which a rule refuses at deploy time.
  if (expression.startsWith('at(')) {
    check.fail('schedule', `schedule '${expression}' is a one-time at(...) expression, which EventBridge rules do not accept `
      + '(only EventBridge Scheduler does). Give a recurring schedule with events.Schedule.cron or events.Schedule.rate, '
      + 'or start a single run yourself (StartExecution on stateMachine, or an event on eventBus).');
  }
  check.fail('schedule', `schedule '${expression}' is not a rate(...) or cron(...) expression; build it with events.Schedule.rate or events.Schedule.cron.`);
}

export interface BackupWindows {
  readonly startWindow?: Duration;
  readonly completionWindow?: Duration;
  readonly deleteAfter?: Duration;
  readonly moveToColdStorageAfter?: Duration;
  readonly copyDeleteAfter?: Duration;
}

export function validateBackupWindows(check: PropsCheck, w: BackupWindows): void {
  checkDuration(check, w.startWindow, 'backupStartWindow', d => d.toMinutes() >= 60 && d.toMinutes() <= 7 * 24 * 60,
    'must be between 1 hour (AWS Backup\'s minimum) and 7 days');
  checkDuration(check, w.completionWindow, 'backupCompletionWindow', d => d.toMinutes() >= 60 && d.toMinutes() <= 100 * 24 * 60,
    'must be between 1 hour and 100 days');
  checkDuration(check, w.deleteAfter, 'backupDeleteAfter', d => d.toDays({ integral: false }) >= 1 && Number.isInteger(d.toDays({ integral: false })),
    'must be a whole number of days, at least 1');
  checkDuration(check, w.copyDeleteAfter, 'copyDeleteAfter', d => d.toDays({ integral: false }) >= 1 && Number.isInteger(d.toDays({ integral: false })),
    'must be a whole number of days, at least 1');
  // AWS Backup moves to cold storage only the resource types its "Feature availability by resource" table lists, and
  // ignores the setting for the others (Lifecycle, AWS Backup API reference). An EC2 recovery point is an AMI, and EBS
  // archives no snapshot of an enabled AMI: this construct's recovery points would never move, silently.
  if (w.moveToColdStorageAfter !== undefined) {
    check.fail('backupMoveToColdStorageAfter', 'backupMoveToColdStorageAfter is not supported: the recovery points of EC2 instances (AMIs) '
      + 'do not move to cold storage, and AWS Backup silently ignores the setting for them '
      + '(https://docs.aws.amazon.com/aws-backup/latest/devguide/backup-feature-availability.html#features-by-resource). '
      + 'Remove it; use backupDeleteAfter to bound how long recovery points are kept.');
  }
}

/**
 * The default of the `maxConcurrency` prop (docs/design.md "Fleet scale"): ten pages of 1,000 at once. The entry
 * schedule, not this cap, keeps the request rates within AWS's quotas.
 */
export const DEFAULT_MAX_CONCURRENCY = 10_000;
/** Its limit: Step Functions runs at most 10,000 child executions of one Map Run at once (the pages' Map). */
export const MAX_CONCURRENCY_LIMIT = 10_000;

export function validateConcurrency(check: PropsCheck, maxConcurrency: number): void {
  if (Token.isUnresolved(maxConcurrency)) {
    return;
  }
  if (!Number.isInteger(maxConcurrency) || maxConcurrency < 1 || maxConcurrency > MAX_CONCURRENCY_LIMIT) {
    check.fail('maxConcurrency', `maxConcurrency must be a whole number from 1 to ${MAX_CONCURRENCY_LIMIT}; got ${maxConcurrency}.`);
  }
}

export function validateKeyPrefix(check: PropsCheck, prefix: string | undefined): void {
  if (prefix === undefined || Token.isUnresolved(prefix)) {
    return;
  }
  if (prefix.startsWith('/') || prefix.includes('..') || prefix.length > 500) {
    check.fail('scriptOutputKeyPrefix', `scriptOutputKeyPrefix '${prefix}' must not start with '/', contain '..' or exceed 500 characters.`);
  }
}

export function validateRecoveryPointTags(check: PropsCheck, tags: { [key: string]: string } | undefined): void {
  for (const key of Object.keys(tags ?? {})) {
    if (!Token.isUnresolved(key) && key.toLowerCase().startsWith('aws:')) {
      check.fail('recoveryPointTags', `recoveryPointTags key '${key}' uses the reserved 'aws:' prefix.`);
    }
  }
}

function checkDuration(check: PropsCheck, value: Duration | undefined, prop: string, ok: (d: Duration) => boolean, rule: string): void {
  if (value && !value.isUnresolved() && !ok(value)) {
    check.fail(prop, `${prop} ${rule}; got ${value.toHumanString()}.`);
  }
}

export function validateVaultLock(check: PropsCheck, lock: backup.LockConfiguration | undefined, deleteAfter: Duration | undefined): void {
  if (!lock || !deleteAfter || deleteAfter.isUnresolved() || lock.minRetention.isUnresolved()) {
    return;
  }
  if (deleteAfter.toDays({ integral: false }) < lock.minRetention.toDays({ integral: false })) {
    check.fail('backupDeleteAfter', `backupDeleteAfter (${deleteAfter.toHumanString()}) is shorter than the vault lock's minRetention (${lock.minRetention.toHumanString()}); AWS Backup would reject every job. Keep recovery points at least that long.`);
  }
  const max = lock.maxRetention;
  if (max && !max.isUnresolved() && deleteAfter.toDays({ integral: false }) > max.toDays({ integral: false })) {
    check.fail('backupDeleteAfter', `backupDeleteAfter (${deleteAfter.toHumanString()}) is longer than the vault lock's maxRetention (${max.toHumanString()}); AWS Backup would reject every job.`);
  }
}

const ORGANIZATION_ID = /^o-[a-z0-9]{10,32}$/;

/** An AWS Organizations id prop (`organizationId`, `allowStartFromOrganization`): `o-` and 10 to 32 lowercase letters or digits. */
export function validateOrganizationId(check: PropsCheck, prop: string, organizationId: string | undefined): void {
  if (organizationId === undefined || Token.isUnresolved(organizationId) || ORGANIZATION_ID.test(organizationId)) {
    return;
  }
  check.fail(prop, `${prop} '${organizationId}' is not an organization id; it looks like 'o-a1b2c3d4e5': ${prop} must be your AWS `
    + 'Organizations id, \'o-\' followed by 10 to 32 lowercase letters or digits (find it in the AWS Organizations console, or with '
    + '`aws organizations describe-organization --query Organization.Id --output text`).');
}

/** The notification props every construct shares: a topic given while notifications are switched off is a contradiction. */
export interface NotificationProps {
  readonly enableNotifications?: boolean;
  readonly notificationTopic?: sns.ITopic;
}

export function validateNotifications(check: PropsCheck, props: NotificationProps): void {
  if (props.enableNotifications === false && props.notificationTopic) {
    check.fail('notificationTopic', 'notificationTopic is set but enableNotifications is false; remove one of them.');
  }
}

export function validateAuditRetention(check: PropsCheck, retention: Duration | undefined): void {
  if (retention && !retention.isUnresolved() && retention.toDays({ integral: false }) < 1) {
    check.fail('auditRetention', 'auditRetention must be at least 1 day; leave it unset to keep audit records.');
  }
}

/** EventBridge's rule for a custom event bus name (as aws-cdk-lib's EventBus checks it, but before any resource). */
const EVENT_BUS_NAME = /^[/.\-_A-Za-z0-9]{1,256}$/;

export function validateEventBusName(check: PropsCheck, name: string | undefined): void {
  if (name === undefined || Token.isUnresolved(name)) {
    return;
  }
  if (name === 'default') {
    check.fail('eventBusName', 'eventBusName must not be \'default\' (the account\'s default bus): give the central bus a name of its own, such as \'pre-post-script-backup-runs\'.');
  }
  if (name.includes('/')) {
    check.fail('eventBusName', `eventBusName '${name}' must not contain '/'; use letters, digits and . - _ only.`);
  }
  if (!EVENT_BUS_NAME.test(name)) {
    check.fail('eventBusName', `eventBusName '${name}' must be 1 to 256 letters, digits and . - _ characters.`);
  }
}
