import { BackupClient, StopBackupJobCommand } from '@aws-sdk/client-backup';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { handler } from '../../../src/functions/stop-backup-job/stop-backup-job.lambda';
import { TransientError } from '../../../src/lambda-shared/errors';
import { awsError, EXECUTION, throttling } from '../../helpers/handler-fixtures';

const backup = mockClient(BackupClient);
const JOB = 'D1B2C3D4-0000-1111-2222-333344445555';
const event = { instanceId: 'i-0123456789abcdef0', execution: EXECUTION, backupJobId: JOB };

beforeEach(() => backup.reset());

describe('stop-backup-job', () => {
  test('stops exactly the job it is given', async () => {
    backup.on(StopBackupJobCommand).resolves({});
    await expect(handler(event)).resolves.toMatchObject({ backupJobId: JOB, outcome: 'stop-requested' });
    expect(backup).toHaveReceivedCommandTimes(StopBackupJobCommand, 1);
    expect(backup).toHaveReceivedCommandWith(StopBackupJobCommand, { BackupJobId: JOB });
  });

  test('a job that already ended (InvalidRequestException) is not an error: already-ended, with AWS\'s words', async () => {
    backup.on(StopBackupJobCommand).rejects(awsError('InvalidRequestException', 'Job is in a terminal state'));
    await expect(handler(event)).resolves.toMatchObject({ outcome: 'already-ended', message: expect.stringContaining('terminal state') });
  });

  test('throttling is transient (the workflow retries); anything else fails by its code', async () => {
    backup.on(StopBackupJobCommand).rejects(throttling());
    await expect(handler(event)).rejects.toBeInstanceOf(TransientError);
    backup.on(StopBackupJobCommand).rejects(awsError('ResourceNotFoundException', 'no such job'));
    await expect(handler(event)).rejects.toMatchObject({ name: expect.stringContaining('ResourceNotFound') });
  });
});
