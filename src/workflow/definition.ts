import { Token } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { dryRunChain } from './dry-run';
import { WorkflowFunctions } from './functions';
import { INSTANCE_ITEM_SELECTOR, instanceChain } from './instance-chain';
import { DYNAMODB_TRANSIENT_ERRORS, lambdaStep, retryWithBackoff } from './lambda-step';
import { RECOVERY_ITEM_SELECTOR, recoveryChain } from './recovery';
import { WaitSettings } from './waiting-task';
import {
  EXECUTION_NAME, FAILED_COUNT, INSTANCE_COUNT, PAGE_MANIFEST_ITEMS, PAGE_MANIFEST_KEY_PREFIX, PARTITION_KEY, RECORD_TYPE, RECORD_TYPE_PAGE,
  RECORD_TYPE_RUN, RUN_FAILURE_MESSAGE, RUN_STATUS, RUN_TALLY_JSON, START_TIME,
} from '../contract/audit-schema';
import { EntrySpread } from '../contract/fleet';
import { RUN_SUMMARY_DETAIL_TYPE, RUN_SUMMARY_SOURCE } from '../contract/run-summary-event';
import { emptyTally } from '../contract/run-tally';
import { OUTCOME_FAILED, OUTCOME_SUCCEEDED } from '../contract/status';
import { MAX_CONCURRENCY_LIMIT } from '../validation/props';

/** Each chain's input: the instance chain's, and the page's entry-spread window (docs/design.md "Fleet scale"). */
const PAGE_ITEM_SELECTOR = { ...INSTANCE_ITEM_SELECTOR, 'entrySpreadSeconds.$': '$.page.entrySpreadSeconds' };

export interface BackupWorkflowProps {
  readonly functions: WorkflowFunctions;
  /** How each instance's chain waits for scripts, stops, starts and jobs. */
  readonly waits: WaitSettings;
  /** Written directly by the state machine only when the record-run handler cannot write the run's record. */
  readonly auditTable: dynamodb.ITable;
  /** How many instances are worked on at the same time. */
  readonly maxConcurrency: number;
  /**
   * Whether the application is released at the point in time (the release loop looks every 10 s while frozen): a page's
   * chains then enter more slowly (docs/design.md "Fleet scale"). @default false
   */
  readonly releaseAtPointInTime?: boolean;
  /** Where each finished run's notification goes. @default - no notifications */
  readonly notificationTopic?: sns.ITopic;
  /** Whether runs that succeeded are notified too (failed runs always are, when there is a topic). */
  readonly notifyOnSuccess?: boolean;
  /** A central event bus every run's summary is sent to. @default - none */
  readonly forwardRunSummariesTo?: events.IEventBus;
}

/**
 * Fleet scale (docs/design.md "Fleet scale"): at most this many chains per second, on average, start their first
 * action when a page's wave of chains starts. Releasing at job completion: 2 (AWS Backup StartBackupJob 5/s and EC2
 * StartInstances 2 instances/s after its burst). Releasing at the point in time: 0.25, because every frozen chain
 * looks (DescribeBackupJob, 15/s for the account) every 10 s until its job's snapshots start.
 */
export const ENTRY_PER_SECOND = { jobCompletion: 2, pointInTime: 0.25 } as const;

/** What discover-instances needs to size each page's spread window (src/contract/fleet.ts). */
export function entrySpread(maxConcurrency: number, releaseAtPointInTime: boolean): EntrySpread {
  if (Token.isUnresolved(maxConcurrency)) return { maxConcurrency: MAX_CONCURRENCY_LIMIT, secondsPerChain: 1 / ENTRY_PER_SECOND.jobCompletion };
  return { maxConcurrency, secondsPerChain: 1 / (releaseAtPointInTime ? ENTRY_PER_SECOND.pointInTime : ENTRY_PER_SECOND.jobCompletion) };
}

/** The error the execution fails with when any instance failed or the run was rejected. */
export const RUN_FAILED_ERROR = 'BackupRunFailed';
/** The error the execution fails with when even the fallback audit write failed. */
export const AUDIT_FAILED_ERROR = 'AuditWriteFailed';

/**
 * The fleet level, page by page: input → validated run configuration → a page of tagged instances → one chain per
 * instance of the page → the page's audit entries and counts → the next page, while there is one → the run's
 * audit record → the execution's status.
 *
 * No state's input or output grows with the fleet: a page holds at most the discovery page size of instances
 * (their outcomes replace them at the same path), and what crosses pages is the tally (counts and a bounded sample
 * of excluded instances). Every instance's audit entry is in the table by the end of its page.
 *
 * The execution fails (so alarms fire) only after every instance's cleanup and the audit write.
 */
export function backupWorkflow(scope: Construct, props: BackupWorkflowProps): sfn.IChainable {
  const { functions } = props;

  // Every later state reads these paths, so they exist from the start on every path.
  const startRun = new sfn.Pass(scope, 'Start run', {
    parameters: {
      'input.$': '$',
      'execution': {
        'id.$': '$$.Execution.Id',
        'name.$': '$$.Execution.Name',
        'startTime.$': '$$.Execution.StartTime',
      },
      'config': {},
      // The current page: its instances, then their outcomes (DiscoverInstancesResult, src/contract/shapes.ts).
      'page': { items: [], excluded: [], excludedCount: 0, nextToken: '' },
      // What the pages recorded so far (RunTally): counts and a bounded sample, never a list of the fleet.
      'tally': emptyTally(),
      'runError': {},
    },
  });

  const runFailed = new sfn.Fail(scope, 'Run failed', {
    error: RUN_FAILED_ERROR,
    causePath: '$.result.message',
  });
  const runSucceeded = new sfn.Succeed(scope, 'Run succeeded');

  const auditFailed = new sfn.Fail(scope, 'Audit record not written', {
    error: AUDIT_FAILED_ERROR,
    cause: 'Neither the audit record nor its fallback could be written; see the execution history.',
  });
  const fallbackWritten = new sfn.Fail(scope, 'Only a fallback audit record written', {
    error: AUDIT_FAILED_ERROR,
    cause: 'The full audit record could not be written; a fallback record (Run_FailureMessage says why) and the per-instance entries were.',
  });
  const fallbackAudit = new tasks.DynamoPutItem(scope, 'Write fallback audit record', {
    table: props.auditTable,
    item: {
      [PARTITION_KEY]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.execution.id')),
      [RECORD_TYPE]: tasks.DynamoAttributeValue.fromString(RECORD_TYPE_RUN),
      [EXECUTION_NAME]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.execution.name')),
      [START_TIME]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.stringAt('$.execution.startTime')),
      [RUN_STATUS]: tasks.DynamoAttributeValue.fromString(OUTCOME_FAILED),
      [RUN_FAILURE_MESSAGE]: tasks.DynamoAttributeValue.fromString(
        sfn.JsonPath.format('The full audit record could not be written ({}): {}',
          sfn.JsonPath.stringAt('$.auditError.Error'), sfn.JsonPath.stringAt('$.auditError.Cause')),
      ),
      // The pages' counts; each instance's own entry is in the table already (written page by page).
      [INSTANCE_COUNT]: tasks.DynamoAttributeValue.numberFromString(sfn.JsonPath.jsonToString(sfn.JsonPath.numberAt('$.tally.instanceCount'))),
      [FAILED_COUNT]: tasks.DynamoAttributeValue.numberFromString(sfn.JsonPath.jsonToString(sfn.JsonPath.numberAt('$.tally.failedCount'))),
      [RUN_TALLY_JSON]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.tally'))),
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  retryWithBackoff(fallbackAudit, DYNAMODB_TRANSIENT_ERRORS);
  fallbackAudit.addCatch(auditFailed, { errors: [sfn.Errors.ALL], resultPath: '$.fallbackError' });
  fallbackAudit.next(fallbackWritten);

  const recordRun = lambdaStep(scope, 'Write run audit record', {
    fn: functions.recordRun,
    payload: {
      'execution.$': '$.execution',
      'input.$': '$.input',
      'config.$': '$.config',
      'tally.$': '$.tally',
      'runError.$': '$.runError',
    },
    resultPath: '$.result',
    onError: { next: fallbackAudit, errorPath: '$.auditError' },
  });
  const decide = new sfn.Choice(scope, 'Every instance succeeded?')
    .when(sfn.Condition.stringEquals('$.result.status', OUTCOME_SUCCEEDED), runSucceeded)
    .otherwise(runFailed);
  const afterForwarding = props.notificationTopic ? notify(scope, props.notificationTopic, props.notifyOnSuccess ?? false, decide) : decide;
  recordRun.next(props.forwardRunSummariesTo ? forward(scope, props.forwardRunSummariesTo, afterForwarding) : afterForwarding);

  const runError = { next: recordRun, errorPath: '$.runError' };

  // One page of instances at a time (DescribeInstances pages; the page size is the discover function's
  // DISCOVERY_PAGE_SIZE, default 1000), so no state holds the whole fleet.
  const discover = lambdaStep(scope, 'Discover instances', {
    fn: functions.discoverInstances,
    payload: {
      'config.$': '$.config',
      'nextToken.$': '$.page.nextToken',
      'pageNumber.$': '$.tally.pages',
      'entry': entrySpread(props.maxConcurrency, props.releaseAtPointInTime ?? false),
    },
    resultPath: '$.page',
    onError: runError,
  });

  // The page's entries are in the table (written here when a chain could not write its own) and its counts are
  // added to the tally; a failure here fails the run (after the run's record), with the pages recorded so far.
  const recordPage = lambdaStep(scope, 'Write page audit entries', {
    fn: functions.recordPage,
    payload: {
      'execution.$': '$.execution',
      'config.$': '$.config',
      'items.$': '$.page.items',
      'excluded.$': '$.page.excluded',
      'excludedCount.$': '$.page.excludedCount',
      'tally.$': '$.tally',
    },
    resultPath: '$.tally',
    onError: runError,
  });
  const morePages = new sfn.Choice(scope, 'More instances to discover?')
    // A Map that failed as a whole ends the run: its page is recorded, later pages are not started.
    .when(sfn.Condition.isPresent('$.runError.Error'), recordRun)
    .when(sfn.Condition.stringEquals('$.page.nextToken', ''), recordRun)
    .otherwise(discover);
  recordPage.next(morePages);

  // A distributed Map: every instance's chain is a child execution with a history of its own, so the
  // parent's history stays small however large the fleet (a Standard execution holds 25,000 events).
  // The outcomes replace the page's instances at the same path: the state never holds both.
  //
  // A child that fails where no Catch sees it (States.Runtime, States.DataLimitExceeded, a Lambda killed at its timeout
  // outside a Catch) must not fail the Map Run: with Step Functions' default (no failure tolerated) the Map Run would
  // fail and Step Functions would stop every other running chain mid-way, leaving instances stopped or frozen. Every
  // failure is tolerated; the instances whose chain died are then recovered (docs/workflow.md).
  const forEachInstance = new sfn.DistributedMap(scope, 'For each instance', {
    itemsPath: '$.page.items',
    itemSelector: PAGE_ITEM_SELECTOR,
    maxConcurrency: props.maxConcurrency,
    mapExecutionType: sfn.StateMachineType.STANDARD,
    label: 'Instance',
    toleratedFailurePercentage: 100,
    resultPath: '$.page.items',
  });
  forEachInstance.itemProcessor(instanceChain(scope, functions, props.waits, props.auditTable, { spreadEntry: true }));

  // After the Map (also when it failed as a whole): the instances of the page whose chain ended without its audit
  // entry, from the page's manifest; each is recovered in a child execution of its own (the parent's history holds
  // 25,000 events: no inline Map over up to 1,000 instances here). The page then records every entry.
  const recoverEach = new sfn.DistributedMap(scope, 'For each instance whose chain died', {
    itemsPath: '$.page.unfinished',
    itemSelector: RECOVERY_ITEM_SELECTOR,
    maxConcurrency: props.maxConcurrency,
    mapExecutionType: sfn.StateMachineType.STANDARD,
    label: 'Recovery',
    toleratedFailurePercentage: 100,
    resultPath: sfn.JsonPath.DISCARD,
  });
  recoverEach.itemProcessor(recoveryChain(scope, functions, props.waits));
  // A recovery that could not run leaves its instances without an entry: the page writes one that says so.
  recoverEach.addCatch(recordPage, { errors: [sfn.Errors.ALL], resultPath: '$.recoveryError' });
  recoverEach.next(recordPage);
  const anyDied = new sfn.Choice(scope, 'Any chain died?')
    .when(sfn.Condition.numberGreaterThan('$.page.unfinishedCount', 0), recoverEach)
    .otherwise(recordPage);
  const findUnfinished = lambdaStep(scope, 'Find instances whose chain died', {
    fn: functions.findUnfinished,
    payload: {
      'execution.$': '$.execution',
      'pageNumber.$': '$.tally.pages',
      'items.$': '$.page.items',
      'excluded.$': '$.page.excluded',
      'excludedCount.$': '$.page.excludedCount',
      'nextToken.$': '$.page.nextToken',
      'mapError.$': '$.runError',
    },
    resultPath: '$.page',
    // The page's instances are then recorded as the Map left them, and the run fails.
    onError: { next: recordPage, errorPath: '$.runError' },
  });
  findUnfinished.next(anyDied);
  forEachInstance.addCatch(findUnfinished, { errors: [sfn.Errors.ALL], resultPath: '$.runError' });
  forEachInstance.next(findUnfinished);

  // The page's instances, written before any of them is touched: whatever the Map returns, the run knows the page.
  const writeManifest = new tasks.DynamoPutItem(scope, 'Write page manifest', {
    table: props.auditTable,
    item: {
      SM_Execution_ID: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.format(`${PAGE_MANIFEST_KEY_PREFIX}{}#{}`,
        sfn.JsonPath.stringAt('$.execution.id'), sfn.JsonPath.stringAt('$.tally.pages'))),
      RecordType: tasks.DynamoAttributeValue.fromString(RECORD_TYPE_PAGE),
      [PAGE_MANIFEST_ITEMS]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.page.items'))),
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  retryWithBackoff(writeManifest, DYNAMODB_TRANSIENT_ERRORS);
  // No instance of the page was touched: the run ends with the reason in its record.
  writeManifest.addCatch(recordRun, { errors: [sfn.Errors.ALL], resultPath: '$.runError' });
  writeManifest.next(dryRunOrNot(scope, props, forEachInstance, findUnfinished));

  const validate = lambdaStep(scope, 'Validate input', {
    fn: functions.validateInput,
    payload: { 'input.$': '$.input', 'execution.$': '$.execution' },
    resultPath: '$.config',
    onError: runError,
  });

  discover.next(writeManifest);
  startRun.next(validate).next(discover);
  return startRun;
}

/**
 * Issue 15: a dry run (validated input `DryRun: true`, `$.config.dryRun`) checks the page's instances with the dry-run
 * chain (src/workflow/dry-run.ts) instead of backing them up; everything around the page (discovery, manifest, finding a
 * chain that died, the page's entries, the run's record) is the real run's.
 */
function dryRunOrNot(scope: Construct, props: BackupWorkflowProps, forEachInstance: sfn.IChainable, afterMap: sfn.IChainable): sfn.IChainable {
  const checkEach = new sfn.DistributedMap(scope, 'Dry run: for each instance', {
    itemsPath: '$.page.items',
    itemSelector: PAGE_ITEM_SELECTOR,
    maxConcurrency: props.maxConcurrency,
    mapExecutionType: sfn.StateMachineType.STANDARD,
    label: 'DryRun',
    toleratedFailurePercentage: 100,
    resultPath: '$.page.items',
  });
  checkEach.itemProcessor(dryRunChain(scope, props.functions));
  checkEach.addCatch(afterMap, { errors: [sfn.Errors.ALL], resultPath: '$.runError' });
  checkEach.next(afterMap);
  return new sfn.Choice(scope, 'Dry run?')
    .when(sfn.Condition.and(sfn.Condition.isPresent('$.config.dryRun'), sfn.Condition.booleanEquals('$.config.dryRun', true)), checkEach)
    .otherwise(forEachInstance);
}

/**
 * Publishes the run's notification (written by the record-run handler) to the topic: for every failed run,
 * and for successful ones when asked. A notification that cannot be sent does not change the run's outcome.
 */
function notify(scope: Construct, topic: sns.ITopic, notifyOnSuccess: boolean, next: sfn.IChainable): sfn.IChainable {
  const publish = new tasks.SnsPublish(scope, 'Notify', {
    topic,
    subject: sfn.JsonPath.stringAt('$.result.notificationSubject'),
    message: sfn.TaskInput.fromJsonPathAt('$.result.notificationMessage'),
    resultPath: sfn.JsonPath.DISCARD,
  });
  retryWithBackoff(publish, ['SNS.ThrottledException', 'SNS.InternalErrorException', 'SNS.KMSThrottlingException', sfn.Errors.TIMEOUT]);
  publish.addCatch(next, { errors: [sfn.Errors.ALL], resultPath: '$.notificationError' });
  publish.next(next);
  if (notifyOnSuccess) {
    return publish;
  }
  return new sfn.Choice(scope, 'Run failed: notify?')
    .when(sfn.Condition.stringEquals('$.result.status', OUTCOME_SUCCEEDED), next)
    .otherwise(publish);
}

/**
 * Sends the run's summary (written by the record-run handler) to the central bus. A summary that cannot be sent
 * does not change the run's outcome; the run's own audit record has everything.
 */
function forward(scope: Construct, bus: events.IEventBus, next: sfn.IChainable): sfn.IChainable {
  const put = new tasks.EventBridgePutEvents(scope, 'Forward run summary', {
    entries: [{
      eventBus: bus,
      source: RUN_SUMMARY_SOURCE,
      detailType: RUN_SUMMARY_DETAIL_TYPE,
      detail: sfn.TaskInput.fromJsonPathAt('$.result.summary'),
    }],
    resultPath: sfn.JsonPath.DISCARD,
  });
  retryWithBackoff(put, ['EventBridge.EventBridgeException', 'EventBridge.InternalException', 'EventBridge.ThrottlingException', sfn.Errors.TIMEOUT]);
  put.addCatch(next, { errors: [sfn.Errors.ALL], resultPath: '$.forwardError' });
  put.next(next);
  return put;
}
