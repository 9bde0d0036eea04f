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
  EXECUTION_NAME, INSTANCE_COUNT, PAGE_MANIFEST_EXCLUDED, PAGE_MANIFEST_EXCLUDED_COUNT, PAGE_MANIFEST_ITEMS,
  PAGE_MANIFEST_KEY_PREFIX, PAGE_MANIFEST_RESULT, PAGE_RESULT_KEY_SUFFIX, PARTITION_KEY, RECORD_TYPE, RECORD_TYPE_PAGE,
  RECORD_TYPE_RUN, RUN_FAILURE_MESSAGE, RUN_STATUS, RUN_TALLY_JSON, START_TIME,
} from '../contract/audit-schema';
import { EntrySpread, PAGE_SIZE } from '../contract/fleet';
import { RUN_SUMMARY_DETAIL_TYPE, RUN_SUMMARY_SOURCE } from '../contract/run-summary-event';
import { emptyTally } from '../contract/run-tally';
import { OUTCOME_FAILED, OUTCOME_SUCCEEDED } from '../contract/status';
import { MAX_CONCURRENCY_LIMIT } from '../validation/props';

/** Each chain's input: the instance chain's, and its page's place in the entry schedule (docs/design.md "Fleet scale"). */
const PAGE_ITEM_SELECTOR = {
  ...INSTANCE_ITEM_SELECTOR,
  'entryFromSeconds.$': '$.page.entryFromSeconds',
  'entryToSeconds.$': '$.page.entryToSeconds',
};

/** Each page's input: the run's context and the page's descriptor (PageDescriptor, src/contract/fleet.ts). */
const PAGE_SELECTOR = {
  'execution.$': '$.execution',
  'config.$': '$.config',
  'descriptor.$': '$$.Map.Item.Value',
};

export interface BackupWorkflowProps {
  readonly functions: WorkflowFunctions;
  /** How each instance's chain waits for scripts, stops, starts and jobs. */
  readonly waits: WaitSettings;
  /** Written directly by the state machine only when the record-run handler cannot write the run's record. */
  readonly auditTable: dynamodb.ITable;
  /**
   * How many instances are worked on at the same time, at most: a page's Map runs min(this, the page size) chains at
   * once and floor(this / that) pages run at once.
   */
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
 * StartInstances 2 instances/s after its burst). Releasing at the point in time: 1.25, because AWS Backup's
 * DescribeBackupJob (15/s for the account) serves both the frozen chains' looks (one in six goes to AWS Backup, the
 * others read the run's snapshot view) and the job waits' fallback looks (one per job every 15 min): about 12.5/s.
 */
export const ENTRY_PER_SECOND = { jobCompletion: 2, pointInTime: 1.25 } as const;

/** How the fleet's chains run at once: per page, and pages at once (their product is at most maxConcurrency). */
export function concurrency(maxConcurrency: number): { perPage: number; pages: number } {
  if (Token.isUnresolved(maxConcurrency)) return { perPage: PAGE_SIZE, pages: MAX_CONCURRENCY_LIMIT / PAGE_SIZE };
  const perPage = Math.max(1, Math.min(maxConcurrency, PAGE_SIZE));
  return { perPage, pages: Math.max(1, Math.floor(maxConcurrency / perPage)) };
}

/** What discover-instances needs to place each page in the entry schedule (src/contract/fleet.ts). */
export function entrySpread(maxConcurrency: number, releaseAtPointInTime: boolean): EntrySpread {
  const { perPage, pages } = concurrency(maxConcurrency);
  const rate = Token.isUnresolved(maxConcurrency) || !releaseAtPointInTime ? ENTRY_PER_SECOND.jobCompletion : ENTRY_PER_SECOND.pointInTime;
  return { maxConcurrency: perPage, secondsPerChain: 1 / rate, concurrentPages: pages };
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
      // The page being discovered (DiscoverInstancesResult, src/contract/messages.ts); its instances go to its manifest.
      // `pages`: the pages discovered (PageDescriptor, src/contract/fleet.ts): about 100 bytes each, never their instances.
      'page': { items: [], excluded: [], excludedCount: 0, nextToken: '', pages: [], discovered: { instanceCount: 0, excludedCount: 0 } },
      // The run's tally before any page (each page records its own beside its manifest; record-run adds them up).
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
      // What discovery found (each page's counts by outcome are beside its manifest, each instance's entry in the table).
      [INSTANCE_COUNT]: tasks.DynamoAttributeValue.numberFromString(
        sfn.JsonPath.jsonToString(sfn.JsonPath.numberAt('$.page.discovered.instanceCount'))),
      [RUN_TALLY_JSON]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.page.discovered'))),
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
      'pageCount.$': 'States.ArrayLength($.page.pages)',
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
  // No page runs when discovery did not finish: the run ends with the reason in its record, no instance touched.
  const noPageRuns = new sfn.Pass(scope, 'No page runs', { result: sfn.Result.fromArray([]), resultPath: '$.page.pages' });
  noPageRuns.next(recordRun);

  // Discovery first, page by page (DescribeInstances pages; the page size is the discover function's
  // DISCOVERY_PAGE_SIZE, default 1000): each page's instances go to its manifest, and only its descriptor stays in the
  // state. Then the pages run, several at once, each in a child execution of its own (runPages).
  const discover = lambdaStep(scope, 'Discover instances', {
    fn: functions.discoverInstances,
    payload: {
      'config.$': '$.config',
      'nextToken.$': '$.page.nextToken',
      'pageNumber.$': 'States.ArrayLength($.page.pages)',
      'entry': entrySpread(props.maxConcurrency, props.releaseAtPointInTime ?? false),
      'pages.$': '$.page.pages',
    },
    resultPath: '$.page',
    onError: { next: noPageRuns, errorPath: '$.runError' },
  });

  // The page's instances, written before any of them is touched: whatever happens to the page, the run knows them.
  const writeManifest = new tasks.DynamoPutItem(scope, 'Write page manifest', {
    table: props.auditTable,
    item: {
      [PARTITION_KEY]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.format(`${PAGE_MANIFEST_KEY_PREFIX}{}#{}`,
        sfn.JsonPath.stringAt('$.execution.id'), sfn.JsonPath.stringAt('$.page.pageNumber'))),
      [RECORD_TYPE]: tasks.DynamoAttributeValue.fromString(RECORD_TYPE_PAGE),
      [PAGE_MANIFEST_ITEMS]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.page.items'))),
      [PAGE_MANIFEST_EXCLUDED]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.page.excluded'))),
      [PAGE_MANIFEST_EXCLUDED_COUNT]: tasks.DynamoAttributeValue.numberFromString(
        sfn.JsonPath.jsonToString(sfn.JsonPath.numberAt('$.page.excludedCount'))),
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  retryWithBackoff(writeManifest, DYNAMODB_TRANSIENT_ERRORS);
  writeManifest.addCatch(noPageRuns, { errors: [sfn.Errors.ALL], resultPath: '$.runError' });

  // The page's descriptor joins the list; its instances leave the state (they are in the manifest).
  const pageQueued = new sfn.Pass(scope, 'Page discovered', {
    parameters: {
      'items': [],
      'excluded': [],
      'excludedCount': 0,
      'nextToken.$': '$.page.nextToken',
      'pages.$': '$.page.pages',
      'discovered.$': '$.page.discovered',
    },
    resultPath: '$.page',
  });
  const runEachPage = runPages(scope, props, recordRun);
  const morePages = new sfn.Choice(scope, 'More instances to discover?')
    .when(sfn.Condition.isPresent('$.runError.Error'), noPageRuns)
    .when(sfn.Condition.stringEquals('$.page.nextToken', ''), runEachPage)
    .otherwise(discover);
  writeManifest.next(pageQueued).next(morePages);

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
 * The pages, several at once (`concurrency(maxConcurrency).pages`), each a child execution of a distributed Map:
 * its instances from its manifest → one chain per instance (a distributed Map of its own) → the instances whose chain
 * died, recovered → the page's audit entries → the page's result (tally and error) beside its manifest, where record-run
 * reads it. The pages' chains share one entry schedule (each page's window starts where the previous page's ends), so
 * the fleet enters at one rate for the whole night instead of page after page.
 *
 * A page that fails where no Catch sees it does not fail the others (every failure is tolerated); it leaves no result
 * beside its manifest, and the run fails saying so.
 */
function runPages(scope: Construct, props: BackupWorkflowProps, recordRun: sfn.IChainable): sfn.IChainable {
  const { functions } = props;
  const { perPage, pages } = concurrency(props.maxConcurrency);

  const readManifest = new tasks.DynamoGetItem(scope, 'Read page manifest', {
    table: props.auditTable,
    key: {
      [PARTITION_KEY]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.format(`${PAGE_MANIFEST_KEY_PREFIX}{}#{}`,
        sfn.JsonPath.stringAt('$.execution.id'), sfn.JsonPath.stringAt('$.descriptor.pageNumber'))),
    },
    consistentRead: true,
    resultSelector: {
      'items.$': `States.StringToJson($.Item.${PAGE_MANIFEST_ITEMS}.S)`,
      'excluded.$': `States.StringToJson($.Item.${PAGE_MANIFEST_EXCLUDED}.S)`,
      'excludedCount.$': `States.StringToJson($.Item.${PAGE_MANIFEST_EXCLUDED_COUNT}.N)`,
    },
    resultPath: '$.manifest',
  });
  retryWithBackoff(readManifest, DYNAMODB_TRANSIENT_ERRORS);
  // The page, as the fleet level used to hold it (DiscoverInstancesResult), and an empty tally of its own.
  const setUp = new sfn.Pass(scope, 'Page set up', {
    parameters: {
      'execution.$': '$.execution',
      'config.$': '$.config',
      // Beside the page: find-unfinished's result replaces `page`.
      'pageNumber.$': '$.descriptor.pageNumber',
      'page': {
        'entryFromSeconds.$': '$.descriptor.entryFromSeconds',
        'entryToSeconds.$': '$.descriptor.entryToSeconds',
        'items.$': '$.manifest.items',
        'excluded.$': '$.manifest.excluded',
        'excludedCount.$': '$.manifest.excludedCount',
        'nextToken': '',
      },
      'tally': emptyTally(),
      'runError': {},
    },
  });

  // The page's result beside its manifest: what record-run adds up. A page that cannot write it ends early (no result).
  const result = new sfn.Pass(scope, 'Page result', {
    parameters: { 'tally.$': '$.tally', 'runError.$': '$.runError' },
    resultPath: '$.result',
  });
  // A new item beside the manifest (PutItem, like the manifest's): the state machine never updates an audit item.
  const writeResult = new tasks.DynamoPutItem(scope, 'Write page result', {
    table: props.auditTable,
    item: {
      [PARTITION_KEY]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.format(`${PAGE_MANIFEST_KEY_PREFIX}{}#{}${PAGE_RESULT_KEY_SUFFIX}`,
        sfn.JsonPath.stringAt('$.execution.id'), sfn.JsonPath.stringAt('$.pageNumber'))),
      [RECORD_TYPE]: tasks.DynamoAttributeValue.fromString(RECORD_TYPE_PAGE),
      [PAGE_MANIFEST_RESULT]: tasks.DynamoAttributeValue.fromString(sfn.JsonPath.jsonToString(sfn.JsonPath.objectAt('$.result'))),
    },
    resultPath: sfn.JsonPath.DISCARD,
    // The page's output stays small whatever the page held (the pages' Map keeps no results).
    outputPath: '$.pageNumber',
  });
  retryWithBackoff(writeResult, DYNAMODB_TRANSIENT_ERRORS);
  const pageEndedEarly = new sfn.Fail(scope, 'Page result not written', {
    error: 'PageResultNotWritten',
    cause: 'The page\'s result could not be written to its manifest; the run\'s record says the page ended early.',
  });
  writeResult.addCatch(pageEndedEarly, { errors: [sfn.Errors.ALL], resultPath: '$.resultError' });
  const noManifest = new sfn.Fail(scope, 'Page manifest not read', {
    error: 'PageManifestNotRead',
    cause: 'The page\'s manifest could not be read: none of its instances was touched; the run\'s record says the page ended early.',
  });
  readManifest.addCatch(noManifest, { errors: [sfn.Errors.ALL], resultPath: '$.manifestError' });
  result.next(writeResult);

  const pageError = { next: result, errorPath: '$.runError' };

  // The page's entries are in the table (written here when a chain could not write its own) and its counts are in
  // its tally.
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
    onError: pageError,
  });
  recordPage.next(result);

  // A distributed Map: every instance's chain is a child execution with a history of its own, so the page's history
  // stays small however large the page (a Standard execution holds 25,000 events). The outcomes replace the page's
  // instances at the same path: the state never holds both.
  //
  // A child that fails where no Catch sees it (States.Runtime, States.DataLimitExceeded, a Lambda killed at its timeout
  // outside a Catch) must not fail the Map Run: with Step Functions' default (no failure tolerated) the Map Run would
  // fail and Step Functions would stop every other running chain mid-way, leaving instances stopped or frozen. Every
  // failure is tolerated; the instances whose chain died are then recovered (docs/workflow.md).
  const forEachInstance = new sfn.DistributedMap(scope, 'For each instance', {
    itemsPath: '$.page.items',
    itemSelector: PAGE_ITEM_SELECTOR,
    maxConcurrency: perPage,
    mapExecutionType: sfn.StateMachineType.STANDARD,
    label: 'Instance',
    toleratedFailurePercentage: 100,
    resultPath: '$.page.items',
  });
  forEachInstance.itemProcessor(instanceChain(scope, functions, props.waits, props.auditTable, { spreadEntry: true }));

  // After the Map (also when it failed as a whole): the instances of the page whose chain ended without its audit
  // entry, from the page's manifest; each is recovered in a child execution of its own (no inline Map over up to
  // 1,000 instances here). The page then records every entry.
  const recoverEach = new sfn.DistributedMap(scope, 'For each instance whose chain died', {
    itemsPath: '$.page.unfinished',
    itemSelector: RECOVERY_ITEM_SELECTOR,
    maxConcurrency: perPage,
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
      'pageNumber.$': '$.pageNumber',
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

  readManifest.next(setUp).next(dryRunOrNot(scope, props, forEachInstance, findUnfinished, perPage));

  const forEachPage = new sfn.DistributedMap(scope, 'For each page', {
    itemsPath: '$.page.pages',
    itemSelector: PAGE_SELECTOR,
    maxConcurrency: pages,
    mapExecutionType: sfn.StateMachineType.STANDARD,
    label: 'Page',
    toleratedFailurePercentage: 100,
    resultPath: sfn.JsonPath.DISCARD,
  });
  forEachPage.itemProcessor(readManifest);
  forEachPage.addCatch(recordRun, { errors: [sfn.Errors.ALL], resultPath: '$.runError' });
  forEachPage.next(recordRun);
  return forEachPage;
}

/**
 * Issue 15: a dry run (validated input `DryRun: true`, `$.config.dryRun`) checks the page's instances with the dry-run
 * chain (src/workflow/dry-run.ts) instead of backing them up; everything around the page (discovery, manifest, finding a
 * chain that died, the page's entries, the run's record) is the real run's.
 */
function dryRunOrNot(scope: Construct, props: BackupWorkflowProps, forEachInstance: sfn.IChainable, afterMap: sfn.IChainable,
  perPage: number): sfn.IChainable {
  const checkEach = new sfn.DistributedMap(scope, 'Dry run: for each instance', {
    itemsPath: '$.page.items',
    itemSelector: PAGE_ITEM_SELECTOR,
    maxConcurrency: perPage,
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
