import {
  BACKUP_JOB_STATE_CHANGE, COPY_JOB_STATE_CHANGE, EC2_STATE_CHANGE, SSM_FINAL_EVENT_STATUSES, SSM_INVOCATION_STATUS_CHANGE,
  type StateChangeEvent, waitOf,
} from '../../src/contract/events';
import { SSM_NON_TERMINAL_STATUSES, SSM_TERMINAL_STATUS_DETAILS, SSM_TERMINAL_STATUSES } from '../../src/contract/status';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';
const INSTANCE = 'i-0123456789abcdef0';

/** The EventBridge envelope AWS services put on the default bus. */
function envelope(source: string, detailType: string, detail: Record<string, unknown>, resources: string[] = []): StateChangeEvent {
  return {
    'version': '0',
    'id': '7bf73129-1428-4cd3-a780-95db273d1602',
    'detail-type': detailType,
    source,
    'account': ACCOUNT,
    'time': '2024-05-01T02:03:04Z',
    'region': REGION,
    resources,
    detail,
  } as StateChangeEvent;
}

const ec2Event = (state: string, instanceId = INSTANCE) => envelope('aws.ec2', 'EC2 Instance State-change Notification',
  { 'instance-id': instanceId, state }, [`arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${instanceId}`]);

const ssmEvent = (status: string, detail: Record<string, unknown> = {}) => envelope('aws.ssm', 'EC2 Command Invocation Status-change Notification', {
  'command-id': 'e8d3c0e4-71f7-4491-898f-c9b35bee5f3b',
  'document-name': 'AWS-RunRemoteScript',
  'instance-id': INSTANCE,
  'requested-date-time': '2024-05-01T02:01:00.000Z',
  status,
  ...detail,
}, [`arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${INSTANCE}`]);

const backupEvent = (state: string) => envelope('aws.backup', 'Backup Job State Change', {
  backupJobId: '1B2C3D4E-5F6A-7B8C-9D0E-1F2A3B4C5D6E',
  backupVaultArn: `arn:aws:backup:${REGION}:${ACCOUNT}:backup-vault:app-vault`,
  backupVaultName: 'app-vault',
  resourceArn: `arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${INSTANCE}`,
  resourceType: 'EC2',
  state,
  creationDate: '2024-05-01T02:02:00.000Z',
  iamRoleArn: `arn:aws:iam::${ACCOUNT}:role/backup-role`,
  percentDone: '100.0',
}, [`arn:aws:ec2:${REGION}:${ACCOUNT}:instance/${INSTANCE}`]);

const copyEvent = (state: string) => envelope('aws.backup', 'Copy Job State Change', {
  copyJobId: '8C7B6A5F-4E3D-2C1B-0A9F-8E7D6C5B4A3F',
  sourceBackupVaultArn: `arn:aws:backup:${REGION}:${ACCOUNT}:backup-vault:app-vault`,
  destinationBackupVaultArn: `arn:aws:backup:us-west-2:${ACCOUNT}:backup-vault:dr-vault`,
  resourceType: 'EC2',
  state,
}, [`arn:aws:ec2:${REGION}::image/ami-0123456789abcdef0`]);

describe('waitOf', () => {
  test('the constants are the real sources and detail types', () => {
    expect(EC2_STATE_CHANGE).toEqual({ source: 'aws.ec2', detailType: 'EC2 Instance State-change Notification' });
    expect(SSM_INVOCATION_STATUS_CHANGE).toEqual({ source: 'aws.ssm', detailType: 'EC2 Command Invocation Status-change Notification' });
    expect(BACKUP_JOB_STATE_CHANGE).toEqual({ source: 'aws.backup', detailType: 'Backup Job State Change' });
    expect(COPY_JOB_STATE_CHANGE).toEqual({ source: 'aws.backup', detailType: 'Copy Job State Change' });
  });

  test('EC2: stopped resumes the stop wait, running the start wait, of that instance', () => {
    expect(waitOf(ec2Event('stopped'))).toEqual({ kind: 'stop', resourceId: INSTANCE });
    expect(waitOf(ec2Event('running'))).toEqual({ kind: 'start', resourceId: INSTANCE });
    expect(waitOf(ec2Event('running', 'i-0fedcba9876543210'))).toEqual({ kind: 'start', resourceId: 'i-0fedcba9876543210' });
  });

  test.each(['stopping', 'pending', 'shutting-down', 'terminated', ''])('EC2: %p resumes nothing', (state) => {
    expect(waitOf(ec2Event(state))).toBeUndefined();
  });

  test('EC2: no instance id, nothing', () => {
    expect(waitOf(envelope('aws.ec2', 'EC2 Instance State-change Notification', { state: 'stopped' }))).toBeUndefined();
  });

  test('SSM: the invocation of one command on one instance (<command id>:<instance id>)', () => {
    expect(waitOf(ssmEvent('Success'))).toEqual({ kind: 'script', resourceId: `e8d3c0e4-71f7-4491-898f-c9b35bee5f3b:${INSTANCE}` });
    expect(waitOf(ssmEvent('Failed', { 'instance-id': 'i-0fedcba9876543210' })))
      .toEqual({ kind: 'script', resourceId: 'e8d3c0e4-71f7-4491-898f-c9b35bee5f3b:i-0fedcba9876543210' });
  });

  test('SSM: without a command id or an instance id (or with non-string ones), nothing', () => {
    expect(waitOf(ssmEvent('Success', { 'command-id': undefined }))).toBeUndefined();
    expect(waitOf(ssmEvent('Success', { 'instance-id': '' }))).toBeUndefined();
    expect(waitOf(ssmEvent('Success', { 'instance-id': 42 }))).toBeUndefined();
  });

  test('SSM: the command-level status-change event (no instance) is not an invocation event', () => {
    const commandEvent = envelope('aws.ssm', 'EC2 Command Status-change Notification', {
      'command-id': 'e8d3c0e4-71f7-4491-898f-c9b35bee5f3b', 'document-name': 'AWS-RunRemoteScript', 'status': 'Success',
    });
    expect(waitOf(commandEvent)).toBeUndefined();
  });

  test('SSM: the final event statuses cover every terminal invocation status and no status still on its way', () => {
    for (const status of SSM_TERMINAL_STATUSES) {
      expect(SSM_FINAL_EVENT_STATUSES).toContain(status);
    }
    for (const status of SSM_NON_TERMINAL_STATUSES) {
      expect(SSM_FINAL_EVENT_STATUSES).not.toContain(status);
    }
  });

  test('SSM: the final words are defined once, in status.ts, and the three spellings derive from them', () => {
    expect(SSM_FINAL_EVENT_STATUSES).toEqual([
      'Success', 'Failed', 'TimedOut', 'Cancelled', 'Delivery Timed Out', 'Execution Timed Out', 'Undeliverable', 'Terminated',
    ]);
    expect(SSM_TERMINAL_STATUS_DETAILS).toEqual([
      'Success', 'Failed', 'Cancelled', 'DeliveryTimedOut', 'ExecutionTimedOut', 'Undeliverable', 'Terminated', 'InvalidPlatform', 'AccessDenied',
    ]);
  });

  test('Backup Job State Change: the backup wait of that job', () => {
    expect(waitOf(backupEvent('COMPLETED'))).toEqual({ kind: 'backup', resourceId: '1B2C3D4E-5F6A-7B8C-9D0E-1F2A3B4C5D6E' });
    expect(waitOf(backupEvent('FAILED'))).toEqual({ kind: 'backup', resourceId: '1B2C3D4E-5F6A-7B8C-9D0E-1F2A3B4C5D6E' });
  });

  test('Copy Job State Change: the copy wait of that job, never a backup wait', () => {
    expect(waitOf(copyEvent('COMPLETED'))).toEqual({ kind: 'copy', resourceId: '8C7B6A5F-4E3D-2C1B-0A9F-8E7D6C5B4A3F' });
    // A copy event carries no backupJobId; a backup event no copyJobId.
    const mixed = envelope('aws.backup', 'Copy Job State Change', { backupJobId: 'job-1', state: 'COMPLETED' });
    expect(waitOf(mixed)).toBeUndefined();
  });

  test('unrelated events: nothing', () => {
    const unrelated: StateChangeEvent[] = [
      envelope('aws.backup', 'Restore Job State Change', { restoreJobId: 'r-1', state: 'COMPLETED' }),
      envelope('aws.backup', 'Recovery Point State Change', { status: 'COMPLETED' }),
      envelope('aws.ec2', 'EC2 Spot Instance Interruption Warning', { 'instance-id': INSTANCE, 'instance-action': 'stop' }),
      envelope('aws.ssm', 'EC2 Automation Execution Status-change Notification', { ExecutionId: 'x', Status: 'Success' }),
      // A custom event that imitates a source with the wrong detail type, and the right detail type from another source.
      envelope('my.app', 'EC2 Instance State-change Notification', { 'instance-id': INSTANCE, 'state': 'stopped' }),
      envelope('aws.ec2', 'Backup Job State Change', { backupJobId: 'job-1', state: 'COMPLETED' }),
      envelope('pre-post-script-backup', 'Run pre/post-script backup', {}),
      {},
      { 'source': 'aws.ec2', 'detail-type': 'EC2 Instance State-change Notification' },
    ];
    for (const event of unrelated) {
      expect(waitOf(event)).toBeUndefined();
    }
  });
});
