import { type ConstructSettings } from '../../../src/contract/settings';
import { validateInput } from '../../../src/functions/validate-input/input';
import { SETTINGS } from '../../helpers/handler-fixtures';

/** Issue 15: a run whose scripts are Command documents (BackupScript.fromSsmDocument), with the output log group. */
const DOC = { name: 'AppTeam-FreezeThaw', version: '', parameters: { mountPoints: ['/data'] }, dlmConvention: true };
const settings: ConstructSettings = {
  ...SETTINGS,
  preScript: { bucketName: '', key: '', commandLine: '', workingDirectory: '', timeoutSeconds: 120, platform: 'Linux', document: DOC },
  outputLogGroupName: 'Consumer-ScriptOutputLogs-1A2B',
};

describe('validateInput with a Command document', () => {
  test('the run carries the document and the log group, and no S3 script', () => {
    const run = validateInput({}, settings);
    expect(run.preScript).toMatchObject({ enabled: true, document: DOC, sourceS3Path: '', outputLogGroupName: 'Consumer-ScriptOutputLogs-1A2B', timeoutSeconds: 120 });
    expect(run.postScript.document).toBeUndefined();
  });

  test.each([
    ['SourceS3Path', 's3://assets-bucket/scripts/freeze.sh', 'script file'],
    ['CommandToRun', '', 'command line'],
    ['WorkingDirectory', '/opt', 'working directory'],
  ])('%s is refused: the document has no %s to override', (field, value) => {
    expect(() => validateInput({ RemoteRunCommandDetails: { PreBackupScriptDetails: { [field]: value } } }, settings))
      .toThrow(/the configured pre-backup script is the SSM document "AppTeam-FreezeThaw"/);
  });

  test('TimeoutInSeconds still bounds the wait', () => {
    const run = validateInput({ RemoteRunCommandDetails: { PreBackupScriptDetails: { TimeoutInSeconds: 60 } } }, settings);
    expect(run.preScript.timeoutSeconds).toBe(60);
  });
});
