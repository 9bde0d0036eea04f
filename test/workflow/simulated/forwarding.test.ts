import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { RUN_SUMMARY_DETAIL_TYPE, RUN_SUMMARY_SOURCE } from '../../../src/contract/run-summary-event';
import { consumerStack, fullProps } from '../../helpers/stacks';
import { Simulator } from '../../simulator/simulator';

const CENTRAL_BUS = 'arn:aws:events:eu-west-1:999988887777:event-bus/backup-central';
const TAG = { 'backup-job-pre-post-script': 'true' };

describe('forwarding run summaries to a central bus', () => {
  let sim: Simulator;
  const sent: any[] = [];

  beforeAll(async () => {
    const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'ppsb-forward-'));
    const app = new App({ outdir, context: { 'aws:cdk:enable-asset-metadata': true } });
    const central = events.EventBus.fromEventBusArn(new Stack(new App(), 'Central'), 'Bus', CENTRAL_BUS);
    const { stack } = consumerStack(fullProps({ forwardRunSummariesTo: central }), app);
    const template = app.synth().getStackByName(stack.stackName).template;
    sim = await Simulator.start({
      template,
      assetDir: outdir,
      env: { LOG_LEVEL: 'silent' },
      world: { stopPolls: 1, startPolls: 1 },
      taskHandlers: {
        'Forward run summary': (input: any) => {
          sent.push(input);
          return { Entries: [{ EventId: `event-${sent.length}` }], FailedEntryCount: 0 };
        },
      },
    });
  });
  afterAll(async () => sim?.stop());

  test('a successful run sends one summary with its counts to the central bus', async () => {
    sent.length = 0;
    sim.world.reset();
    sim.world.addInstances([{ id: 'i-00000000000000a01', tags: TAG }, { id: 'i-00000000000000a02', tags: TAG }]);
    const result = await sim.run({}, { executionName: 'forward-ok' });
    expect(result.status).toBe('SUCCEEDED');
    expect(sent).toHaveLength(1);
    const [entry] = sent[0].Entries;
    const record = await sim.getAuditItem(result.executionArn) as Record<string, any>;
    expect(entry).toMatchObject({ EventBusName: CENTRAL_BUS, Source: RUN_SUMMARY_SOURCE, DetailType: RUN_SUMMARY_DETAIL_TYPE });
    expect(entry.Detail).toEqual({
      executionArn: result.executionArn,
      account: '123456789012',
      region: 'us-east-1',
      status: 'SUCCEEDED',
      startTime: record.StartTime,
      endTime: record.EndTime,
      instanceCount: 2,
      succeededCount: 2,
      failedCount: 0,
      excludedCount: 0,
      failures: [],
      failuresTruncated: false,
      message: '',
    });
  });

  test('a failed run forwards its failures, each with the step statuses and the reason', async () => {
    sent.length = 0;
    sim.world.reset();
    sim.world.addInstances([
      { id: 'i-00000000000000b01', tags: TAG },
      { id: 'i-00000000000000b02', tags: TAG, faults: { backup: 'EXPIRED' } },
    ]);
    const result = await sim.run({}, { executionName: 'forward-failed' });
    expect(result.status).toBe('FAILED');
    expect(sent).toHaveLength(1);
    const detail = sent[0].Entries[0].Detail;
    expect(detail).toMatchObject({ status: 'FAILED', instanceCount: 2, succeededCount: 1, failedCount: 1, failuresTruncated: false });
    expect(detail.message).toBe('1 of 2 instances failed: i-00000000000000b02');
    expect(detail.failures).toEqual([{
      instanceId: 'i-00000000000000b02',
      failureMessage: expect.stringContaining('backup job EXPIRED'),
      preBackupScriptStatus: 'Success',
      stopEc2InstanceStatus: 'Success',
      backupJobStatus: 'EXPIRED',
      startEc2InstanceStatus: 'Success',
      postBackupScriptStatus: 'Success',
    }]);
    expect(sim.world.instanceStates()['i-00000000000000b02']).toBe('running');
  });

  test('a summary that cannot be sent does not change the run or its audit record', async () => {
    sent.length = 0;
    sim.world.reset();
    sim.world.addInstances([{ id: 'i-00000000000000c01', tags: TAG }]);
    const failing = sim as unknown as { options: { taskHandlers: Record<string, (input: any) => unknown> } };
    const original = failing.options.taskHandlers['Forward run summary'];
    failing.options.taskHandlers['Forward run summary'] = () => {
      throw Object.assign(new Error('AccessDeniedException: the central bus refused it'), { name: 'EventBridge.AccessDeniedException' });
    };
    try {
      const result = await sim.run({}, { executionName: 'forward-refused' });
      expect(result.status).toBe('SUCCEEDED');
      expect((await sim.getAuditItem(result.executionArn) as any).Run_Status).toBe('SUCCEEDED');
    } finally {
      failing.options.taskHandlers['Forward run summary'] = original;
    }
  });
});
