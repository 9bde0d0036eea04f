import { AGENT_RECONNECT_WAIT_SECONDS } from '../../src/contract/poll';
import { SCRIPT_RETRY_WAIT_SECONDS } from '../../src/contract/settings';
import { allStates, AslDefinition, AslState, definitionOf } from '../helpers/definition';
import { fullProps, template } from '../helpers/stacks';

/** Issue 15: the name suffix of the pause between two attempts of a script. */
const RETRY_PAUSE = ': pause before the next attempt';
/** The pause before the first look at the SSM agent after a start (tested below). */
const RECONNECT_WAIT = 'Start instance: let the SSM agent reconnect';

const definition = definitionOf(template(fullProps()));
const states = allStates(definition);
const byName = new Map(states);
/** A page: a child execution of the pages' Map (its instances, their chains, its entries, its result). */
const page = definition.States['For each page'].ItemProcessor as AslDefinition;
const P = page.States;
const map = P['For each instance'];
const instanceChain = (map.ItemProcessor ?? map.Iterator) as AslDefinition;

function successors(state: AslState): string[] {
  return [
    state.Next, state.Default,
    ...(state.Choices ?? []).map(c => c.Next),
    ...(state.Catch ?? []).map(c => c.Next),
  ].filter((n): n is string => typeof n === 'string');
}

describe('the state machine definition', () => {
  test('uses JSONPath only: no JSONata anywhere', () => {
    const text = JSON.stringify(definition);
    expect(text).not.toMatch(/JSONata/i);
    expect(text).not.toContain('{%');
    expect(definition.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
  });

  test('every Task retries transient errors with backoff and catches everything else', () => {
    const tasks = states.filter(([, s]) => s.Type === 'Task');
    expect(tasks.length).toBeGreaterThan(15);
    for (const [name, task] of tasks) {
      expect({ name, retry: (task.Retry ?? []).length > 0 }).toEqual({ name, retry: true });
      for (const retry of task.Retry!) {
        expect(retry.MaxAttempts).toBeGreaterThan(0);
        // A waiting Task's timeout is its fallback look: retried up to its bound (tested in waiting-task.test.ts).
        if (!(String(task.Resource).endsWith('.waitForTaskToken') && retry.ErrorEquals.join() === 'States.Timeout')) {
          expect(retry.MaxAttempts).toBeLessThanOrEqual(6);
        }
      }
      expect({ name, catchAll: (task.Catch ?? []).some(c => c.ErrorEquals.includes('States.ALL')) })
        .toEqual({ name, catchAll: true });
    }
    const lambdaTasks = tasks.filter(([, s]) => String(s.Resource).includes('lambda'));
    for (const [name, task] of lambdaTasks) {
      const errors = task.Retry!.flatMap(r => r.ErrorEquals);
      expect({ name, errors }).toEqual({ name, errors: expect.arrayContaining(['TransientError', 'Lambda.TooManyRequestsException']) });
      expect(task.TimeoutSeconds).toBeDefined();
    }
  });

  test('the polled waits (the SSM agent\'s) are bounded polls: Wait → check → Choice leaving on done or expired', () => {
    // Issue 15's pauses between two script attempts are tested below.
    const waits = states.filter(([name, s]) => s.Type === 'Wait' && !name.endsWith(RETRY_PAUSE) && name !== 'Release: wait'
      && name !== 'Instance: wait for its turn' && !name.endsWith(RECONNECT_WAIT));
    // Before the pre-script, after the start, before the crash-consistent post-script, after the recovery's start, and
    // the dry run's script probes (the entry spread's Wait is not a poll).
    expect(waits.map(([name]) => name).sort()).toEqual([
      'Crash-consistent: post-backup script: SSM agent: wait', 'Dry run: script probes: wait', 'Post-backup script: SSM agent: wait',
      'Pre-backup script: SSM agent: wait', 'Recovery: post-backup script: SSM agent: wait', 'Released: Post-backup script: SSM agent: wait',
    ]);
    for (const [name, wait] of waits) {
      expect({ name, path: wait.SecondsPath }).toEqual({ name, path: expect.stringMatching(/\.poll\.nextWaitSeconds$/) });
      const check = byName.get(wait.Next!)!;
      expect(check.Type).toBe('Task');
      const choice = byName.get(check.Next!)!;
      expect(choice.Type).toBe('Choice');
      const conditions = JSON.stringify(choice.Choices);
      expect(conditions).toContain('.done');
      expect(conditions).toContain('.poll.expired');
      expect(choice.Default).toBe(name);
    }
  });

  test('issue 15: a failed script attempt is tried again only while attempts <= retries, after a fixed pause, from the agent check', () => {
    const pauses = states.filter(([name, s]) => s.Type === 'Wait' && name.endsWith(RETRY_PAUSE));
    // Pre-script, post-script, the crash-consistent post-script and the recovery's post-script.
    expect(pauses.map(([name]) => name).sort()).toEqual([
      `Crash-consistent: post-backup script${RETRY_PAUSE}`, `Post-backup script${RETRY_PAUSE}`,
      `Pre-backup script${RETRY_PAUSE}`, `Recovery: post-backup script${RETRY_PAUSE}`, `Released: Post-backup script${RETRY_PAUSE}`,
    ]);
    for (const [name, pause] of pauses) {
      const prefix = name.slice(0, -RETRY_PAUSE.length);
      expect(pause.Seconds).toBe(SCRIPT_RETRY_WAIT_SECONDS);
      // The whole attempt again: the agent check first.
      expect(pause.Next).toBe(`${prefix}: check SSM agent`);
      // Counted before the pause.
      const tryAgain = byName.get(`${prefix}: attempt failed, try again`)!;
      expect(tryAgain.Next).toBe(name);
      expect(JSON.stringify(tryAgain.Parameters)).toContain('States.MathAdd');
      // Entered only from the "succeeded?" Choice, on a retryable failure within the retries.
      const succeeded = byName.get(`${prefix}: succeeded?`)!;
      const retry = succeeded.Choices!.find((c) => c.Next === `${prefix}: attempt failed, try again`);
      const rule = JSON.stringify(retry);
      expect(rule).toContain('"NumericLessThanEqualsPath":"$.config.');
      expect(rule).toContain('"StringEquals":"ExecutionTimedOut"');
      expect(rule).not.toContain('DeliveryTimedOut');
      // Every attempt starts counted: attempt 1 in the chain's input (the Map's ItemSelector), or a Pass before the first
      // agent check where the input has no counter (the recovery of a chain that died).
      const first = byName.get(`${prefix}: attempt 1`);
      if (prefix.startsWith('Recovery')) expect(first!.Next).toBe(`${prefix}: check SSM agent`);
      else expect(first).toBeUndefined();
    }
  });

  test('issue 15: a failed pre-script goes to the failure policy: crash-consistent (post-script, then stop) or the skip path', () => {
    const chain = instanceChain.States;
    expect(chain['Pre-backup script: succeeded?'].Default).toBe('Pre-backup script failed: back up crash-consistent?');
    const policy = chain['Pre-backup script failed: back up crash-consistent?'];
    expect(JSON.stringify(policy.Choices)).toContain('"StringEquals":"backup-crash-consistent"');
    expect(policy.Choices![0].Next).toBe('Crash-consistent: post-backup script enabled?');
    expect(policy.Default).toBe('Post-backup script enabled?');
    // The crash-consistent post-script leads to the stop whatever its outcome; the release tail skips a post-script
    // that already ran.
    expect(chain['Crash-consistent: post-backup script: succeeded?'].Choices![0].Next).toBe('Stop instance enabled?');
    expect(chain['Post-backup script enabled?'].Choices![0]).toMatchObject({ Variable: '$.steps.post', IsPresent: true });
  });

  test('every Choice has a default', () => {
    for (const [name, choice] of states.filter(([, s]) => s.Type === 'Choice')) {
      expect({ name, default: typeof choice.Default }).toEqual({ name, default: 'string' });
    }
  });

  test('every path of an instance ends with its audit entry', () => {
    const ends = Object.entries(instanceChain.States).filter(([, s]) => s.End === true || successors(s).length === 0);
    expect(ends.map(([n]) => n).sort())
      .toEqual(['Instance: audit entry left to the page', 'Instance: audit entry not written', 'Instance: write audit entry']);
    expect(instanceChain.States['Instance: write audit entry'].Catch![0].Next).toBe('Instance: keep step results for the page');
  });

  test('an entry record-instance cannot write: the raw results go to the instance item, the outcome stays small', () => {
    const keep = instanceChain.States['Instance: keep step results for the page'];
    expect(keep.Resource).toBe('arn:<Ref:AWS::Partition>:states:::dynamodb:putItem');
    expect(keep.ResultPath).toBeNull();
    const item = (keep.Parameters as { Item: Record<string, Record<string, unknown>> }).Item;
    // The instance item's key (src/lambda-shared/audit-item.ts instanceItemKey), the results as JSON, and why.
    expect(item.SM_Execution_ID['S.$']).toBe("States.Format('{}#{}', $.execution.id, $.instance.instanceId)");
    expect(item.RecordType).toEqual({ S: 'INSTANCE' });
    expect(item.Unrecorded_Steps_Json['S.$']).toBe('States.JsonToString($.steps)');
    expect(item.Unrecorded_Instance_Json['S.$']).toBe('States.JsonToString($.instance)');
    expect(keep.Retry![0].ErrorEquals).toEqual(expect.arrayContaining(['DynamoDB.ThrottlingException', 'DynamoDB.ProvisionedThroughputExceededException']));
    expect(keep.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'Instance: audit entry not written' })]);
    // Written: the small outcome, no step results in it.
    const left = instanceChain.States[keep.Next!];
    expect(left.Parameters).toEqual({ 'instanceId.$': '$.instance.instanceId', 'succeeded': false, 'recorded': false, 'stepsInTable': true });
    // Not written either: the raw results travel in the outcome.
    expect(instanceChain.States['Instance: audit entry not written'].Parameters).toMatchObject({ 'steps.$': '$.steps', 'recorded': false });
  });

  test('the run fails only after the audit write', () => {
    const fails = Object.entries(definition.States).filter(([, s]) => s.Type === 'Fail').map(([n]) => n);
    expect(fails.sort()).toEqual(['Audit record not written', 'Only a fallback audit record written', 'Run failed']);
    const predecessors = (target: string) => Object.entries(definition.States)
      .filter(([, s]) => successors(s).includes(target)).map(([n]) => n);
    expect(predecessors('Run failed')).toEqual(['Every instance succeeded?']);
    expect(predecessors('Every instance succeeded?')).toEqual(['Write run audit record']);
    expect(predecessors('Audit record not written')).toEqual(['Write fallback audit record']);
    expect(predecessors('Only a fallback audit record written')).toEqual(['Write fallback audit record']);
    expect(predecessors('Write fallback audit record')).toEqual(['Write run audit record']);
    // A page fails (its child execution only) when it cannot read its manifest or write its result: the run's record
    // then says the page ended early (record-run).
    expect(Object.entries(P).filter(([, s]) => s.Type === 'Fail').map(([n]) => n).sort()).toEqual(['Page manifest not read', 'Page result not written']);
  });

  test('every failure before the instances goes to the run audit record, no page run; a page\'s failures to its result', () => {
    for (const name of ['Discover instances', 'Write page manifest']) {
      expect(definition.States[name].Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'No page runs', ResultPath: '$.runError' })]);
    }
    expect(definition.States['No page runs']).toMatchObject({ Result: [], ResultPath: '$.page.pages', Next: 'Write run audit record' });
    expect(definition.States['Validate input'].Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'Write run audit record', ResultPath: '$.runError' })]);
    expect(definition.States['For each page'].Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'Write run audit record', ResultPath: '$.runError' })]);
    expect(P['For each instance'].Catch).toEqual([
      expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'Find instances whose chain died', ResultPath: '$.runError' }),
    ]);
    expect(P['Write page audit entries'].Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'Page result', ResultPath: '$.runError' })]);
  });

  test('discovery first, page by page, keeping only each page\'s descriptor; then the pages, several at once', () => {
    const S = definition.States;
    expect(S['Validate input'].Next).toBe('Discover instances');
    expect(S['Discover instances']).toMatchObject({
      Next: 'Write page manifest',
      ResultPath: '$.page',
      Parameters: { 'config.$': '$.config', 'nextToken.$': '$.page.nextToken', 'pageNumber.$': 'States.ArrayLength($.page.pages)', 'pages.$': '$.page.pages' },
    });
    expect(S['Write page manifest'].Next).toBe('Page discovered');
    // The page's instances leave the state (they are in its manifest); its descriptor stays.
    expect(S['Page discovered']).toMatchObject({
      ResultPath: '$.page',
      Parameters: { 'items': [], 'excluded': [], 'excludedCount': 0, 'nextToken.$': '$.page.nextToken', 'pages.$': '$.page.pages' },
      Next: 'More instances to discover?',
    });
    const more = S['More instances to discover?'];
    expect(more.Choices).toEqual([
      { Variable: '$.runError.Error', IsPresent: true, Next: 'No page runs' },
      { Variable: '$.page.nextToken', StringEquals: '', Next: 'For each page' },
    ]);
    expect(more.Default).toBe('Discover instances');
    // The pages: a distributed Map over the descriptors, every failure tolerated, no result kept.
    expect(S['For each page']).toMatchObject({
      ItemsPath: '$.page.pages',
      ItemSelector: { 'execution.$': '$.execution', 'config.$': '$.config', 'descriptor.$': '$$.Map.Item.Value' },
      MaxConcurrency: 10,
      ToleratedFailurePercentage: 100,
      ResultPath: null,
      Next: 'Write run audit record',
    });
    // A page: its manifest → the page as the fleet level used to hold it → the instances → the chains that died →
    // its entries → its result on its manifest.
    expect(page.StartAt).toBe('Read page manifest');
    expect(P['Read page manifest']).toMatchObject({ Next: 'Page set up', ResultPath: '$.manifest' });
    expect(P['Page set up'].Next).toBe('Dry run?');
    // Issue 15: a dry run checks the page's instances instead (the 'a dry run' tests below).
    expect(P['Dry run?'].Default).toBe('For each instance');
    expect(P['For each instance'].Next).toBe('Find instances whose chain died');
    expect(P['Find instances whose chain died']).toMatchObject({ Next: 'Any chain died?', ResultPath: '$.page' });
    expect(P['Any chain died?']).toMatchObject({
      Choices: [{ Variable: '$.page.unfinishedCount', NumericGreaterThan: 0, Next: 'For each instance whose chain died' }],
      Default: 'Write page audit entries',
    });
    expect(P['For each instance whose chain died'].Next).toBe('Write page audit entries');
    expect(P['Write page audit entries']).toMatchObject({
      Next: 'Page result',
      ResultPath: '$.tally',
      Parameters: expect.objectContaining({ 'items.$': '$.page.items', 'tally.$': '$.tally' }),
    });
    expect(P['Page result']).toMatchObject({ Parameters: { 'tally.$': '$.tally', 'runError.$': '$.runError' }, Next: 'Write page result' });
    expect(P['Write page result']).toMatchObject({ OutputPath: '$.pageNumber', End: true });
    // The run record gets the run's tally and the number of pages (it reads each page's result), never a list of the fleet.
    expect(S['Write run audit record'].Parameters).toEqual({
      'execution.$': '$.execution',
      'input.$': '$.input',
      'config.$': '$.config',
      'tally.$': '$.tally',
      'runError.$': '$.runError',
      'pageCount.$': 'States.ArrayLength($.page.pages)',
    });
    expect(S['Start run'].Parameters).toMatchObject({
      page: { items: [], excluded: [], excludedCount: 0, nextToken: '', pages: [] },
      tally: { pages: 0, instanceCount: 0, excludedSample: [] },
    });
  });

  test('one iteration per instance, with its own input only, concurrency bounded; outcomes replace the page\'s instances', () => {
    expect(map.MaxConcurrency).toBe(1000);
    expect(map.ItemsPath).toBe('$.page.items');
    expect(map.ResultPath).toBe('$.page.items');
    expect(map.ItemSelector).toEqual({
      'instance.$': '$$.Map.Item.Value',
      'config.$': '$.config',
      'execution.$': '$.execution',
      // Issue 15: each script's attempt counter starts at attempt 1.
      'steps': { errors: {}, preAttempts: { count: 1, failed: '' }, postAttempts: { count: 1, failed: '' } },
      // Fleet scale: the page's place in the fleet's entry schedule, from discover-instances.
      'entryFromSeconds.$': '$.page.entryFromSeconds',
      'entryToSeconds.$': '$.page.entryToSeconds',
    });
    // Releasing at the point in time (the default, this stack): 1.25 chains per s, so 0.8 s of window per chain, at
    // most 1,000 chains a page, 10 pages at once (the default maxConcurrency, 10,000).
    expect(definition.States['Discover instances'].Parameters).toMatchObject({ entry: { maxConcurrency: 1000, secondsPerChain: 0.8, concurrentPages: 10 } });
  });

  test('an instance this run tried to stop is always started again: stop failures lead to the start step', () => {
    const stopStates = Object.entries(instanceChain.States).filter(([n]) => n.startsWith('Stop instance') && n !== 'Stop instance: skipped' && n !== 'Stop instance enabled?');
    for (const [name, state] of stopStates) {
      const exits = successors(state).filter(n => !n.startsWith('Stop instance'));
      for (const exit of exits) {
        expect({ name, exit }).toEqual({ name, exit: expect.stringMatching(/^(Instance stopped by this run\?|Backup: start job)$/) });
      }
    }
    // The job's start leads to the release loop, or (not started) to the start step at once; the release loop only
    // to the release's start step (issue 14); the check at the job's end comes after the release, before the lease.
    const startJob = instanceChain.States['Backup: start job'];
    expect(new Set(successors(startJob))).toEqual(new Set(['Release: begin', 'Instance stopped by this run?']));
    const releaseExits = Object.entries(instanceChain.States).filter(([n]) => n.startsWith('Release:'))
      .flatMap(([, s]) => successors(s)).filter(n => !n.startsWith('Release:'));
    expect(new Set(releaseExits)).toEqual(new Set(['Released: Instance stopped by this run?']));
  });
});

describe('per-instance leases', () => {
  const chain = instanceChain.States;
  const ACQUIRE = 'Instance: acquire lease';
  const RELEASE = 'Instance: release lease';
  const RECORD = 'Instance: write audit entry';
  const HELD = 'Instance: held by another run';
  const DECIDE = 'Instance: what to do?';

  /** Every state reachable from `from`, not going through `stopAt`. */
  function reachable(from: string, stopAt: Set<string>): Set<string> {
    const seen = new Set<string>();
    const todo = [from];
    while (todo.length > 0) {
      const name = todo.pop()!;
      if (seen.has(name) || stopAt.has(name)) continue;
      seen.add(name);
      todo.push(...successors(chain[name]));
    }
    return seen;
  }

  test('the first state of an instance chain takes its lease, with retries, passing the run\'s lease duration', () => {
    // After the entry spread (docs/design.md "Fleet scale"): a random wait within the page's window of the fleet's schedule.
    expect(instanceChain.StartAt).toBe('Instance: draw its turn');
    expect(chain['Instance: draw its turn']).toMatchObject({ Type: 'Pass', Parameters: { 'seconds.$': 'States.MathRandom($.entryFromSeconds, $.entryToSeconds)' } });
    expect(chain['Instance: wait for its turn']).toMatchObject({ Type: 'Wait', SecondsPath: '$.entry.seconds', Next: ACQUIRE });
    const acquire = chain[ACQUIRE];
    expect(acquire.Retry![0].ErrorEquals).toContain('TransientError');
    // payloadResponseOnly: the Lambda ARN is the Resource and Parameters are the payload itself.
    expect(acquire.Parameters).toEqual({ 'instanceId.$': '$.instance.instanceId', 'execution.$': '$.execution', 'leaseSeconds.$': '$.config.leaseSeconds' });
    expect(acquire.ResultPath).toBe('$.lease');
    // A failure to take it touches nothing: the harmless release, then the entry.
    expect(acquire.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: RELEASE, ResultPath: '$.steps.errors.eligibility' })]);
    // Then one Choice decides; its first rule: a lease not acquired goes to HELD, before anything touches the instance.
    const decide = chain[acquire.Next!];
    expect(acquire.Next).toBe(DECIDE);
    expect(decide.Choices![0]).toEqual({ Not: { Variable: '$.lease.acquired', BooleanEquals: true }, Next: HELD });
  });

  test('a lease held by another run goes straight to the audit entry, touching nothing', () => {
    expect(chain[HELD]).toMatchObject({ Type: 'Pass', ResultPath: '$.steps.eligibility', Next: RECORD });
    expect((chain[HELD].Parameters as Record<string, string>).status).toBe('SkippedLeaseHeld');
    expect((chain[HELD].Parameters as Record<string, string>)['message.$']).toMatch(/^States\.Format\('instance is being worked on by run \{\} until \{\}'/);
  });

  test('every path that took the lease releases it before the audit entry; a failed release is caught and continues', () => {
    // Stop at the release: from the instance's first step on, the audit entry cannot be reached without it.
    const acquired = successors(chain[DECIDE]).filter((n) => n !== HELD);
    expect(acquired.length).toBeGreaterThanOrEqual(6);
    for (const first of acquired) {
      const afterAcquired = reachable(first, new Set([RELEASE]));
      expect({ first, record: afterAcquired.has(RECORD) }).toEqual({ first, record: false });
      expect(afterAcquired.has('Instance: audit entry not written')).toBe(false);
    }
    const release = chain[RELEASE];
    expect(release.Next).toBe(RECORD);
    expect(release.ResultPath).toBeNull();
    expect(release.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: RECORD, ResultPath: '$.steps.errors.leaseRelease' })]);
    const intoRecord = Object.entries(chain).filter(([, s]) => successors(s).includes(RECORD)).map(([n]) => n).sort();
    expect(intoRecord).toEqual([HELD, RELEASE]);
  });
});

describe('a chain that dies where no Catch sees it', () => {
  const S = P;
  const recovery = (S['For each instance whose chain died'].ItemProcessor) as AslDefinition;

  test('no Map Run fails because some children did: every failure is tolerated (AWS\'s default tolerates none)', () => {
    for (const name of ['For each instance', 'For each instance whose chain died']) {
      expect(S[name]).toMatchObject({ ToleratedFailurePercentage: 100, ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } } });
    }
    // Nor does the pages' Map because a page did (its instances' entries are then checked by record-run).
    expect(definition.States['For each page']).toMatchObject({ ToleratedFailurePercentage: 100, ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED' } } });
  });

  test('the page\'s instances are written before any of them is touched, keyed by execution and page; the page reads them back', () => {
    const manifest = definition.States['Write page manifest'];
    expect(manifest.Resource).toBe('arn:<Ref:AWS::Partition>:states:::dynamodb:putItem');
    const item = (manifest.Parameters as { Item: Record<string, Record<string, unknown>> }).Item;
    expect(item.SM_Execution_ID['S.$']).toBe("States.Format('PAGE#{}#{}', $.execution.id, $.page.pageNumber)");
    expect(item.Page_Items_Json['S.$']).toBe('States.JsonToString($.page.items)');
    expect(item.Page_Excluded_Json['S.$']).toBe('States.JsonToString($.page.excluded)');
    expect(manifest.Retry![0].ErrorEquals).toEqual(expect.arrayContaining(['DynamoDB.ThrottlingException']));
    const read = S['Read page manifest'];
    expect(read.Resource).toBe('arn:<Ref:AWS::Partition>:states:::dynamodb:getItem');
    expect(read.Parameters).toMatchObject({ ConsistentRead: true, Key: { SM_Execution_ID: { 'S.$': "States.Format('PAGE#{}#{}', $.execution.id, $.descriptor.pageNumber)" } } });
    expect(read.ResultSelector).toEqual({
      'items.$': 'States.StringToJson($.Item.Page_Items_Json.S)',
      'excluded.$': 'States.StringToJson($.Item.Page_Excluded_Json.S)',
      'excludedCount.$': 'States.StringToJson($.Item.Page_Excluded_Count.N)',
    });
    expect(S['Find instances whose chain died'].Parameters).toMatchObject({ 'pageNumber.$': '$.pageNumber', 'items.$': '$.page.items', 'mapError.$': '$.runError' });
    // The page's result: a new item beside the manifest (the state machine never updates an audit item).
    const result = S['Write page result'];
    expect(result.Resource).toBe('arn:<Ref:AWS::Partition>:states:::dynamodb:putItem');
    expect(result.Parameters).toMatchObject({
      Item: {
        SM_Execution_ID: { 'S.$': "States.Format('PAGE#{}#{}#RESULT', $.execution.id, $.pageNumber)" },
        RecordType: { S: 'PAGE' },
        Page_Result_Json: { 'S.$': 'States.JsonToString($.result)' },
      },
    });
  });

  test('each instance whose chain died: inspect → start (if needed) → post-script (if needed) → lease released → entry', () => {
    expect(S['For each instance whose chain died']).toMatchObject({ ItemsPath: '$.page.unfinished', ResultPath: null, MaxConcurrency: 1000 });
    expect(recovery.StartAt).toBe('Recovery: inspect the instance');
    const R = recovery.States;
    expect(R['Recovery: inspect the instance'].Next).toBe('Recovery: steps so far');
    expect(R['Recovery: steps so far'].Next).toBe('Recovery: start needed?');
    expect(R['Recovery: start needed?']).toMatchObject({
      Choices: [{ Variable: '$.recovery.needs.start', BooleanEquals: true, Next: 'Recovery: start instance' }],
      Default: 'Recovery: post-backup script needed?',
    });
    expect(R['Recovery: post-backup script needed?']).toMatchObject({
      Choices: [{ Variable: '$.recovery.needs.post', BooleanEquals: true, Next: 'Recovery: post-backup script: attempt 1' }],
      Default: 'Recovery: release lease',
    });
    expect(R['Recovery: release lease'].Next).toBe('Recovery: write audit entry');
    const ends = Object.entries(R).filter(([, s]) => s.End === true || successors(s).length === 0).map(([n]) => n).sort();
    expect(ends).toEqual(['Recovery: audit entry not written', 'Recovery: write audit entry']);
  });
});


describe('issue 15: a dry run (DryRun: true)', () => {
  const S = P;
  const dryRunMap = byName.get('Dry run: for each instance')!;
  const chain = (dryRunMap.ItemProcessor ?? dryRunMap.Iterator) as AslDefinition;
  const chainStates = Object.entries(chain.States);

  test('the fleet level chooses the dry-run chain only when the validated configuration says dryRun true', () => {
    expect(S['Dry run?'].Choices).toEqual([{
      And: [{ Variable: '$.config.dryRun', IsPresent: true }, { Variable: '$.config.dryRun', BooleanEquals: true }],
      Next: 'Dry run: for each instance',
    }]);
    expect(S['Dry run?'].Default).toBe('For each instance');
  });

  test('its Map is the real one\'s: same items, same per-instance input, tolerated failures, then the same page recording', () => {
    const real = S['For each instance'];
    expect(dryRunMap).toMatchObject({
      ItemsPath: real.ItemsPath,
      ItemSelector: real.ItemSelector,
      MaxConcurrency: real.MaxConcurrency,
      ToleratedFailurePercentage: 100,
      ResultPath: '$.page.items',
      Next: 'Find instances whose chain died',
    });
    expect(dryRunMap.Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'Find instances whose chain died', ResultPath: '$.runError' })]);
  });

  test('the chain: check → bounded look at the probes → audit entry; no lease, no script, no stop, no backup', () => {
    expect(chain.StartAt).toBe('Dry run: check instance');
    const names = chainStates.map(([n]) => n).sort();
    expect(names).toEqual([
      'Dry run: audit entry not written', 'Dry run: check instance', 'Dry run: look at script probes', 'Dry run: script probes: done?',
      'Dry run: script probes: wait', 'Dry run: write audit entry',
    ]);
    const lambdas = chainStates.filter(([, s]) => s.Type === 'Task').map(([, s]) => JSON.stringify(s.Resource));
    for (const fn of lambdas) expect(fn).toMatch(/PreflightInstance|RecordInstance/);
    expect(chain.States['Dry run: check instance']).toMatchObject({
      ResultPath: '$.steps.preflight',
      Parameters: { 'action': 'check', 'execution.$': '$.execution', 'instance.$': '$.instance', 'config.$': '$.config' },
      Next: 'Dry run: script probes: done?',
    });
    expect(chain.States['Dry run: look at script probes']).toMatchObject({
      ResultPath: '$.steps.preflight',
      Parameters: expect.objectContaining({ 'action': 'look', 'previous.$': '$.steps.preflight' }),
    });
    // A check that fails after its retries still ends in the entry, with the error.
    for (const name of ['Dry run: check instance', 'Dry run: look at script probes']) {
      expect(chain.States[name].Catch).toEqual([expect.objectContaining({ ErrorEquals: ['States.ALL'], Next: 'Dry run: write audit entry', ResultPath: '$.steps.errors.preflight' })]);
    }
    expect(chain.States['Dry run: write audit entry'].End).toBe(true);
  });
});

describe('the stop path\'s start', () => {
  test.each(['', 'Released: '])('%safter a start it made, the chain waits 20 s before looking at the SSM agent; not after a start not needed', (label) => {
    const C = instanceChain.States;
    expect(C[`${label}Start instance: reached?`]).toMatchObject({
      Choices: [{ Variable: '$.steps.start.status', StringEquals: 'Success', Next: `${label}Start instance: started by this step?` }],
    });
    expect(C[`${label}Start instance: started by this step?`]).toMatchObject({
      Choices: [{ Variable: '$.steps.start.notRun', IsPresent: true, Next: `${label}Post-backup script enabled?` }],
      Default: `${label}Start instance: let the SSM agent reconnect`,
    });
    expect(C[`${label}Start instance: let the SSM agent reconnect`]).toEqual({
      Type: 'Wait', Seconds: AGENT_RECONNECT_WAIT_SECONDS, Next: `${label}Post-backup script enabled?`,
    });
    expect(AGENT_RECONNECT_WAIT_SECONDS).toBe(20);
  });
});
