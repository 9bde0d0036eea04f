import { handler } from '../../../src/functions/validate-input/validate-input.lambda';
import { EXECUTION, SETTINGS } from '../../helpers/handler-fixtures';

describe('validate-input handler', () => {
  beforeEach(() => {
    process.env.SETTINGS = JSON.stringify(SETTINGS);
  });
  afterAll(() => {
    delete process.env.SETTINGS;
  });

  test('returns the run configuration of the input', async () => {
    const config = await handler({ input: { StartStopEC2Required: 'true', RunPostBackupScript: false }, execution: EXECUTION });
    expect(config.stopInstances).toBe(true);
    expect(config.postScript.enabled).toBe(false);
    expect(config.preScript.sourceS3Path).toBe('https://s3.eu-west-1.amazonaws.com/assets-bucket/scripts/freeze.sh');
  });

  test('reads SETTINGS at each invocation', async () => {
    process.env.SETTINGS = JSON.stringify({ ...SETTINGS, stopInstances: true });
    expect((await handler({ input: {}, execution: EXECUTION })).stopInstances).toBe(true);
  });

  test('throws InvalidInputError for a disallowed input', async () => {
    await expect(handler({ input: { BackupDetails: { BackupVaultName: 'x' } }, execution: EXECUTION }))
      .rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringContaining('BackupDetails.BackupVaultName') });
  });

  test('a missing SETTINGS is a configuration error, not an input error', async () => {
    delete process.env.SETTINGS;
    await expect(handler({ input: {}, execution: EXECUTION })).rejects.toMatchObject({ name: 'ConfigurationError' });
  });
});
