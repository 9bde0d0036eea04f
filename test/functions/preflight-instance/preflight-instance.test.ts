import { BackupClient, DescribeBackupVaultCommand } from '@aws-sdk/client-backup';
import { DescribeInstancesCommand, EC2Client, StartInstancesCommand, StopInstancesCommand } from '@aws-sdk/client-ec2';
import { DescribeInstanceInformationCommand, ListCommandInvocationsCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { type DiscoveredInstance, type InstanceSteps } from '../../../src/contract/instance';
import { type PreflightInstanceEvent, type PreflightResult } from '../../../src/contract/messages';
import { type RunConfig } from '../../../src/contract/settings';
import { forgetVaultAnswers } from '../../../src/functions/preflight-instance/checks';
import { handler } from '../../../src/functions/preflight-instance/preflight-instance.lambda';
import { probeCommandLine, probeComment, probeRequest } from '../../../src/functions/preflight-instance/probe';
import { toAuditEntry } from '../../../src/lambda-shared/audit-entry';
import { scriptCommand } from '../../../src/lambda-shared/script-command';
import { awsError, EXECUTION, runConfig, throttling } from '../../helpers/handler-fixtures';

const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);
const backup = mockClient(BackupClient);
const ID = 'i-0123456789abcdef0';
const INSTANCE: DiscoveredInstance = { instanceId: ID, state: 'running', platform: 'Linux', ssmPingStatus: 'Online' };

function dryRunConfig(overrides: Partial<RunConfig> = {}): RunConfig {
  return runConfig({ dryRun: true, stopInstances: true, ...overrides });
}

function event(overrides: Partial<PreflightInstanceEvent> = {}): PreflightInstanceEvent {
  return { action: 'check', execution: EXECUTION, instance: INSTANCE, config: dryRunConfig(), ...overrides };
}

function described(state = 'running', tags: Record<string, string> = { 'backup-job-pre-post-script': 'true' }, rootDeviceType = 'ebs') {
  return {
    Reservations: [{
      Instances: [{
        InstanceId: ID,
        State: { Name: state as any },
        RootDeviceType: rootDeviceType as any,
        Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
      }],
    }],
  };
}

const DRY_RUN_OK = () => awsError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', { $metadata: { httpStatusCode: 412 } });
const UNAUTHORIZED = () => awsError('UnauthorizedOperation', 'You are not authorized to perform this operation.', { $metadata: { httpStatusCode: 403 } });

/** Every answer a ready instance gets. */
function allReady(): void {
  ec2.on(DescribeInstancesCommand).resolves(described());
  ec2.on(StopInstancesCommand).rejects(DRY_RUN_OK());
  ec2.on(StartInstancesCommand).rejects(DRY_RUN_OK());
  ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: ID, PingStatus: 'Online', PlatformType: 'Linux' }] });
  let n = 0;
  ssm.on(SendCommandCommand).callsFake(() => ({ Command: { CommandId: `00000000-0000-4000-8000-00000000000${++n}` } }));
  backup.on(DescribeBackupVaultCommand).resolves({ BackupVaultName: 'vault', VaultState: 'AVAILABLE', Locked: false });
}

function failed(result: PreflightResult): Record<string, string> {
  return Object.fromEntries(result.checks.filter((c) => !c.ok).map((c) => [c.name, c.detail]));
}

beforeEach(() => {
  ec2.reset();
  ssm.reset();
  backup.reset();
  forgetVaultAnswers();
});

describe('preflight-instance: check', () => {
  test('a ready instance: every check passes, one probe per script is sent, the stop and start asked with DryRun only', async () => {
    allReady();
    const result = await handler(event());
    expect(result.checks.map((c) => [c.name, c.ok])).toEqual([
      ['tag', true], ['state', true], ['agent', true], ['platform', true], ['stop-permission', true], ['vault', true],
    ]);
    expect(result.probes).toEqual([
      { phase: 'pre', commandId: '00000000-0000-4000-8000-000000000001', status: 'Pending', detail: '' },
      { phase: 'post', commandId: '00000000-0000-4000-8000-000000000002', status: 'Pending', detail: '' },
    ]);
    expect(result).toMatchObject({ done: false, verdict: 'not-ready', poll: { attempt: 1, nextWaitSeconds: 5 } });
    // Never a stop or start that is not a dry run.
    expect(ec2).toHaveReceivedCommandTimes(StopInstancesCommand, 1);
    expect(ec2).toHaveReceivedCommandWith(StopInstancesCommand, { InstanceIds: [ID], DryRun: true });
    expect(ec2).toHaveReceivedCommandWith(StartInstancesCommand, { InstanceIds: [ID], DryRun: true });
    for (const call of [...ec2.commandCalls(StopInstancesCommand), ...ec2.commandCalls(StartInstancesCommand)]) {
      expect(call.args[0].input.DryRun).toBe(true);
    }
    // The probe: the script's own download, then a file test; never the script's command line.
    const sent = ssm.commandCalls(SendCommandCommand).map((c) => c.args[0].input);
    expect(sent[0]).toEqual({
      DocumentName: 'AWS-RunRemoteScript',
      InstanceIds: [ID],
      Comment: 'ppsb:run-1:dry-run-pre',
      TimeoutSeconds: 60,
      Parameters: {
        sourceType: ['S3'],
        sourceInfo: [JSON.stringify({ path: runConfig().preScript.sourceS3Path })],
        commandLine: ["if test -f 'freeze.sh' && test -r 'freeze.sh'; then echo \"ppsb dry run: \"'freeze.sh'\" downloaded\"; else echo \"ppsb dry run: \"'freeze.sh'\" not found after the download\" >&2; exit 1; fi"],
        executionTimeout: ['60'],
      },
    });
    expect(sent[1].Comment).toBe('ppsb:run-1:dry-run-post');
    expect(sent.map((s) => s.Parameters!.commandLine[0])).not.toContain(runConfig().preScript.commandLine);
    expect(backup).toHaveReceivedCommandWith(DescribeBackupVaultCommand, { BackupVaultName: runConfig().backup.vaultName });
  });

  test('EC2 answers UnauthorizedOperation to the DryRun stop: not ready, with the action named', async () => {
    allReady();
    ec2.on(StopInstancesCommand).rejects(UNAUTHORIZED());
    const result = await handler(event());
    expect(failed(result)).toEqual({ 'stop-permission': 'StopInstances not permitted (UnauthorizedOperation)' });
  });

  test('EC2 answers success to a DryRun request: reported, never taken for a permission', async () => {
    allReady();
    ec2.on(StartInstancesCommand).resolves({ StartingInstances: [] });
    const result = await handler(event());
    expect(failed(result)).toEqual({ 'stop-permission': 'StartInstances with DryRun answered success instead of DryRunOperation' });
  });

  test('DryRun throttled: the error is thrown for the workflow to retry', async () => {
    allReady();
    ec2.on(StopInstancesCommand).rejects(throttling());
    await expect(handler(event())).rejects.toMatchObject({ name: 'TransientError' });
  });

  test('no stop in the run: no DryRun stop asked', async () => {
    allReady();
    const result = await handler(event({ config: dryRunConfig({ stopInstances: false }) }));
    expect(result.checks.map((c) => c.name)).not.toContain('stop-permission');
    expect(ec2).not.toHaveReceivedCommand(StopInstancesCommand);
  });

  test('agent offline or not managed: not ready, and no probe is sent', async () => {
    allReady();
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [{ InstanceId: ID, PingStatus: 'ConnectionLost' }] });
    let result = await handler(event());
    expect(failed(result)).toEqual({ agent: 'SSM agent not online (PingStatus ConnectionLost): a real run would not run its scripts' });
    expect(result).toMatchObject({ done: true, verdict: 'not-ready', probes: [] });
    ssm.on(DescribeInstanceInformationCommand).resolves({ InstanceInformationList: [] });
    result = await handler(event());
    expect(failed(result).agent).toMatch(/^not a managed node/);
    expect(ssm).not.toHaveReceivedCommand(SendCommandCommand);
  });

  test('DescribeInstanceInformation AccessDenied: the agent check fails with the reason', async () => {
    allReady();
    ssm.on(DescribeInstanceInformationCommand).rejects(awsError('AccessDeniedException', 'User is not authorized to perform: ssm:DescribeInstanceInformation'));
    const result = await handler(event());
    expect(failed(result).agent).toBe('DescribeInstanceInformation failed: AccessDeniedException: User is not authorized to perform: ssm:DescribeInstanceInformation');
  });

  test('a Windows instance with Linux scripts: not ready, no probe', async () => {
    allReady();
    const result = await handler(event({ instance: { ...INSTANCE, platform: 'Windows' } }));
    expect(failed(result)).toEqual({ platform: 'the instance runs Windows, the pre-backup script is for Linux and the post-backup script is for Linux' });
    expect(ssm).not.toHaveReceivedCommand(SendCommandCommand);
  });

  test('a stopped instance: ready for a backup without scripts; no agent, probe or stop asked', async () => {
    allReady();
    ec2.on(DescribeInstancesCommand).resolves(described('stopped'));
    const result = await handler(event({ instance: { ...INSTANCE, state: 'stopped' } }));
    expect(result.checks.map((c) => [c.name, c.ok])).toEqual([['tag', true], ['state', true], ['vault', true]]);
    expect(result).toMatchObject({ done: true, verdict: 'ready', probes: [] });
    expect(ssm).not.toHaveReceivedCommand(DescribeInstanceInformationCommand);
    expect(ec2).not.toHaveReceivedCommand(StopInstancesCommand);
  });

  test('a pending instance, a lost tag, an instance-store root: not ready, each with its reason', async () => {
    allReady();
    ec2.on(DescribeInstancesCommand).resolves(described('pending'));
    expect(failed(await handler(event()))).toEqual({ state: 'pending: a real run would not touch it (only running and stopped instances are backed up)' });
    ec2.on(DescribeInstancesCommand).resolves(described('running', { other: 'x' }));
    expect(failed(await handler(event()))).toEqual({ tag: 'does not carry backup-job-pre-post-script=true any more: a real run would not select it' });
    ec2.on(DescribeInstancesCommand).resolves(described('running', undefined, 'instance-store'));
    expect(failed(await handler(event())).state).toMatch(/instance-store root device: it cannot be stopped/);
  });

  test('DescribeInstances refused: tag and state not ready with the error', async () => {
    allReady();
    ec2.on(DescribeInstancesCommand).rejects(UNAUTHORIZED());
    const result = await handler(event());
    expect(failed(result).tag).toBe('DescribeInstances failed: UnauthorizedOperation: You are not authorized to perform this operation.');
  });

  test('the vault: AccessDenied and not found are not ready; answered once per run and environment', async () => {
    allReady();
    backup.on(DescribeBackupVaultCommand).rejects(awsError('AccessDeniedException', 'Insufficient privileges to perform this action.'));
    expect(failed(await handler(event())).vault).toMatch(/DescribeBackupVault failed: AccessDeniedException: Insufficient privileges/);
    await handler(event());
    expect(backup).toHaveReceivedCommandTimes(DescribeBackupVaultCommand, 1);
    backup.on(DescribeBackupVaultCommand).rejects(awsError('ResourceNotFoundException', 'not found'));
    const other = await handler(event({ execution: { ...EXECUTION, id: `${EXECUTION.id}-2` } }));
    expect(failed(other).vault).toMatch(/ResourceNotFoundException/);
  });

  test('Vault Lock against the run\'s lifecycle: a job AWS Backup would fail is not ready', async () => {
    allReady();
    const deleteAfter = (days: number) => event({ config: dryRunConfig({ backup: { ...runConfig().backup, deleteAfterDays: days } }) });
    backup.on(DescribeBackupVaultCommand).resolves({ BackupVaultName: 'vault', VaultState: 'AVAILABLE', Locked: true, MinRetentionDays: 30 });
    expect(failed(await handler(deleteAfter(7))).vault).toMatch(/Vault Lock keeps recovery points at least 30 days, the run deletes them after 7/);
    forgetVaultAnswers();
    expect(failed(await handler(deleteAfter(30)))).toEqual({});
    forgetVaultAnswers();
    expect(failed(await handler(deleteAfter(0)))).toEqual({});
    forgetVaultAnswers();
    backup.on(DescribeBackupVaultCommand).resolves({ BackupVaultName: 'vault', VaultState: 'AVAILABLE', Locked: true, MaxRetentionDays: 365 });
    expect(failed(await handler(deleteAfter(0))).vault).toMatch(/at most 365 days, the run keeps them forever/);
    forgetVaultAnswers();
    expect(failed(await handler(deleteAfter(400))).vault).toMatch(/at most 365 days, the run keeps them 400 days/);
    forgetVaultAnswers();
    expect(failed(await handler(deleteAfter(365)))).toEqual({});
  });

  test('SendCommand refused: the probe failed with the reason; the other checks stand', async () => {
    allReady();
    ssm.on(SendCommandCommand).rejects(awsError('InvalidInstanceId', 'Instances not in a valid state'));
    const result = await handler(event());
    expect(result.probes[0]).toEqual({ phase: 'pre', commandId: '', status: 'Failed', detail: 'SendCommand refused: InvalidInstanceId: Instances not in a valid state' });
    expect(result).toMatchObject({ done: true, verdict: 'not-ready' });
  });
});

describe('preflight-instance: look', () => {
  async function sent(): Promise<PreflightResult> {
    allReady();
    return handler(event());
  }

  test('both probes succeed: ready', async () => {
    const first = await sent();
    ssm.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [{ InstanceId: ID, Status: 'Success' }] });
    const result = await handler(event({ action: 'look', previous: first }));
    expect(result).toMatchObject({ done: true, verdict: 'ready' });
    expect(ssm).toHaveReceivedCommandWith(ListCommandInvocationsCommand, { CommandId: first.probes[0].commandId, InstanceId: ID, Details: true });
  });

  test('the download failed: not ready, the failed step and its output in the detail', async () => {
    const first = await sent();
    ssm.on(ListCommandInvocationsCommand).resolves({
      CommandInvocations: [{
        InstanceId: ID,
        Status: 'Failed',
        CommandPlugins: [
          { Name: 'downloadContent', Status: 'Failed', ResponseCode: 1, Output: '----------ERROR-------\nAccessDenied: HeadObject 403' },
          { Name: 'runShellScript', Status: 'Failed', ResponseCode: 1, Output: 'ppsb dry run: freeze.sh not found after the download' },
        ],
      }],
    });
    const result = await handler(event({ action: 'look', previous: first }));
    expect(result.verdict).toBe('not-ready');
    expect(result.probes[0].detail).toMatch(/^step downloadContent Failed, exit code 1: .*AccessDenied: HeadObject 403/);
    const entry = toAuditEntry(INSTANCE, dryRunConfig(), { preflight: result, errors: {} });
    expect(entry.PreflightChecks).toMatch(/^script: pre-backup script not reachable \(probe Failed 0{8}-0000-4000-8000-0{11}1\): step downloadContent Failed/);
  });

  test('no answer within the bound: done, not ready, saying the instance did not answer', async () => {
    let result = await sent();
    ssm.on(ListCommandInvocationsCommand).resolves({ CommandInvocations: [{ InstanceId: ID, Status: 'InProgress' }] });
    for (let i = 0; i < 50 && !result.done; i++) {
      result = await handler(event({ action: 'look', previous: result }));
    }
    expect(result).toMatchObject({ done: true, verdict: 'not-ready', poll: { expired: true } });
    expect(result.probes[0].detail).toMatch(/^no final status within 300 s \(last InProgress\)/);
  });
});

describe('the script probe', () => {
  test('quotes the file name so nothing in a key can become a command', () => {
    expect(probeCommandLine("it's; rm -rf $HOME.sh", 'Linux')).toContain("'it'\\''s; rm -rf $HOME.sh'");
    expect(probeCommandLine("it's.ps1", 'Windows')).toMatch(/^if \(Test-Path -LiteralPath 'it''s\.ps1' -PathType Leaf\)/);
  });

  test('the comment marks a dry run, within SSM\'s 100 characters', () => {
    expect(probeComment({ ...EXECUTION, name: 'x'.repeat(120) }, 'post')).toMatch(/^ppsb:x+:dry-run-post$/);
    expect(probeComment({ ...EXECUTION, name: 'x'.repeat(120) }, 'post')).toHaveLength(100);
  });

  test('a DLM-style document is probed with command=dry-run, as the real run sends it; one without the convention is not sent', () => {
    const document = { name: 'MyDlmDocument', version: '3', parameters: { mountPoints: ['/data'] }, dlmConvention: true };
    const script = { ...runConfig().preScript, document };
    const probe = probeRequest(script, EXECUTION, 'pre', 'i-1')!;
    const real = scriptCommand(script, 'pre', EXECUTION, 'i-1');
    expect(probe).toMatchObject({ DocumentName: 'MyDlmDocument', DocumentVersion: '3', Comment: probeComment(EXECUTION, 'pre') });
    expect(probe.Parameters).toEqual({ ...real.parameters, command: ['dry-run'] });
    expect(probeRequest({ ...script, document: { ...document, dlmConvention: false } }, EXECUTION, 'pre', 'i-1')).toBeUndefined();
    // An S3 script: AWS-RunRemoteScript with the file test, never the script's command line.
    expect(probeRequest(runConfig().preScript, EXECUTION, 'pre', 'i-1')!.DocumentName).toBe('AWS-RunRemoteScript');
  });
});

describe('the dry run\'s audit entry', () => {
  const config = dryRunConfig();

  test('every step skipped, verdict and failed checks in the entry, FAILED when not ready', () => {
    const steps: InstanceSteps = {
      preflight: {
        verdict: 'not-ready',
        checks: [{ name: 'tag', ok: true, detail: '' }, { name: 'agent', ok: false, detail: 'SSM agent not online (PingStatus ConnectionLost)' }],
        probes: [],
        done: true,
        poll: { attempt: 1, elapsedSeconds: 0, nextWaitSeconds: 5, maxSeconds: 300, expired: false },
      },
      errors: {},
    };
    expect(toAuditEntry(INSTANCE, config, steps)).toMatchObject({
      PreBackupScriptStatus: 'skipped',
      StopEc2InstanceStatus: 'skipped',
      BackupJobStatus: 'skipped',
      StartEc2InstanceStatus: 'skipped',
      PostBackupScriptStatus: 'skipped',
      CopyJobStatus: 'skipped',
      Outcome: 'FAILED',
      FailureMessage: 'not ready for a real run: agent: SSM agent not online (PingStatus ConnectionLost)',
      PreflightVerdict: 'not-ready',
      PreflightChecks: 'agent: SSM agent not online (PingStatus ConnectionLost)',
      Notes: 'dry run: only checked; nothing was frozen, stopped, started or backed up; passed: tag',
    });
  });

  test('a check that failed after its retries: not ready, with the error', () => {
    const entry = toAuditEntry(INSTANCE, config, { errors: { preflight: { Error: 'TransientError', Cause: JSON.stringify({ errorMessage: 'Rate exceeded' }) } } });
    expect(entry).toMatchObject({ Outcome: 'FAILED', PreflightVerdict: 'not-ready', PreflightChecks: 'check: the pre-flight check failed: TransientError: Rate exceeded' });
  });

  test('a real run\'s entry has no pre-flight fields', () => {
    const entry = toAuditEntry(INSTANCE, runConfig(), {});
    expect(entry.PreflightVerdict).toBeUndefined();
    expect(entry.PreflightChecks).toBeUndefined();
  });
});
