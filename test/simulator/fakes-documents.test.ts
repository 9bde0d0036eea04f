import { ListCommandInvocationsCommand, SendCommandCommand, SSMClient } from '@aws-sdk/client-ssm';
import { RunningFakes, startFakes } from './fakes';
import { agentPluginOutput, dlmStyleDocument, registerDocument } from './fakes/ssm-documents';
import { ACCOUNT_ID, World } from './world';

/**
 * Issue 15: the SSM stand-in with the account's own documents and documents shared with it (docs/fidelity/ssm.md):
 * SendCommand resolves the document as AWS does (name / ARN / shared by ARN only), checks the parameters against the
 * document's definitions, refuses a version that does not exist and a malformed CloudWatchOutputConfig, and reports a
 * DLM-style document's step as the agent does.
 */
const credentials = { accessKeyId: 'AKIAFAKE', secretAccessKey: 'fake' };
const OTHER = '210987654321';
const INSTANCE = 'i-0000000000000000a';
const UUID = '0f8fad5b-d9cb-469f-a165-70867728950e';

let world: World;
let fakes: RunningFakes;
let ssm: SSMClient;

beforeEach(async () => {
  world = new World();
  fakes = await startFakes(world);
  ssm = new SSMClient({ endpoint: fakes.ssm, region: 'us-east-1', credentials, maxAttempts: 1 });
  world.addInstance({ id: INSTANCE });
  world.addInstance({ id: 'i-0000000000000000b', platform: 'Windows' });
  registerDocument(world, { ...dlmStyleDocument('Own-Freeze', ACCOUNT_ID), versions: 2 });
  registerDocument(world, { ...dlmStyleDocument('Shared-Freeze', OTHER), shared: true });
  registerDocument(world, dlmStyleDocument('Private-Freeze', OTHER));
});
afterEach(async () => {
  ssm.destroy();
  await fakes.stop();
});

const send = (input: Partial<ConstructorParameters<typeof SendCommandCommand>[0]>) => ssm.send(new SendCommandCommand({
  InstanceIds: [INSTANCE], DocumentName: 'Own-Freeze', Parameters: { command: ['pre-script'], executionId: [UUID] }, ...input,
} as any));
/** ListCommandInvocations of a command, looked at until SSM lists it (the listing lags SendCommand). */
async function listed(commandId: string, looks = 10) {
  for (let i = 0; i < looks; i++) {
    const page = await ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, Details: true }));
    const inv = page.CommandInvocations?.[0];
    if (inv && (i === looks - 1 || ['Success', 'Failed'].includes(inv.Status ?? ''))) return inv;
  }
  throw new Error(`${commandId} never listed`);
}
const errorOf = (p: Promise<unknown>) => p.then(() => 'accepted', (e) => e.name);

describe('SendCommand with a registered document', () => {
  test('resolves the document as AWS does: own by name or ARN; shared by ARN only; not shared or unknown: InvalidDocument', async () => {
    const arn = (account: string, name: string) => `arn:aws:ssm:us-east-1:${account}:document/${name}`;
    expect(await errorOf(send({}))).toBe('accepted');
    expect(await errorOf(send({ DocumentName: arn(ACCOUNT_ID, 'Own-Freeze') }))).toBe('accepted');
    expect(await errorOf(send({ DocumentName: arn(OTHER, 'Shared-Freeze') }))).toBe('accepted');
    expect(await errorOf(send({ DocumentName: 'Shared-Freeze' }))).toBe('InvalidDocument');
    expect(await errorOf(send({ DocumentName: arn(OTHER, 'Private-Freeze') }))).toBe('InvalidDocument');
    expect(await errorOf(send({ DocumentName: 'Nobody-Has-This' }))).toBe('InvalidDocument');
  });

  test('parameters: unknown, outside allowedValues or allowedPattern: InvalidParameters; the defaults make both optional', async () => {
    expect(await errorOf(send({ Parameters: { command: ['pre-script'], executionId: [UUID], extra: ['x'] } }))).toBe('InvalidParameters');
    expect(await errorOf(send({ Parameters: { command: ['freeze'] } }))).toBe('InvalidParameters');
    expect(await errorOf(send({ Parameters: { command: ['pre-script'], executionId: ['arn:aws:states:x'] } }))).toBe('InvalidParameters');
    expect(await errorOf(send({ Parameters: {} }))).toBe('accepted');
  });

  test('a required parameter missing: InvalidParameters', async () => {
    registerDocument(world, dlmStyleDocument('Needs-Mounts', ACCOUNT_ID, { mountPoints: { type: 'StringList', required: true } }));
    expect(await errorOf(send({ DocumentName: 'Needs-Mounts' }))).toBe('InvalidParameters');
    expect(await errorOf(send({ DocumentName: 'Needs-Mounts', Parameters: { command: ['pre-script'], mountPoints: ['/a', '/b'] } }))).toBe('accepted');
  });

  test('DocumentVersion: existing versions, $DEFAULT and $LATEST accepted; another: InvalidDocumentVersion', async () => {
    for (const v of ['1', '2', '$DEFAULT', '$LATEST']) expect(await errorOf(send({ DocumentVersion: v }))).toBe('accepted');
    expect(await errorOf(send({ DocumentVersion: '3' }))).toBe('InvalidDocumentVersion');
  });

  test('CloudWatchOutputConfig: recorded as sent and echoed; a group name CloudWatch Logs cannot hold is refused', async () => {
    const cw = { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: 'Consumer-AppBackupScriptOutputLogs-1A2B' };
    const sent = await send({ CloudWatchOutputConfig: cw });
    const inv = world.commandsFor(INSTANCE)[0];
    expect(inv.cloudWatchOutputConfig).toEqual(cw);
    expect((await listed(sent.Command!.CommandId!)).CloudWatchOutputConfig).toEqual(cw);
    expect(await errorOf(send({ CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: 'bad name!' } }))).toBe('InvalidParameters');
  });

  test('the DLM step is reported under its own name; on Windows it is skipped, reported Success with the agent\'s message', async () => {
    const linux = await send({});
    const windows = await send({ InstanceIds: ['i-0000000000000000b'] });
    const ran = await listed(linux.Command!.CommandId!);
    const skipped = await listed(windows.Command!.CommandId!);
    expect(ran.CommandPlugins).toEqual([expect.objectContaining({ Name: 'run_pre_post_scripts', Status: 'Success', Output: expect.not.stringMatching(/skipped/) })]);
    expect(skipped).toMatchObject({ Status: 'Success' });
    expect(skipped.CommandPlugins).toEqual([expect.objectContaining({
      Name: 'run_pre_post_scripts', Status: 'Success', ResponseCode: 0, Output: expect.stringMatching(/^Step execution skipped due to unsatisfied preconditions/),
    })]);
  });
});

describe('the agent\'s plugin Output (iohandler.go TruncateOutput)', () => {
  test('short: stdout, the ERROR title and stderr', () => {
    expect(agentPluginOutput('done', '')).toBe('done');
    expect(agentPluginOutput('a', 'b')).toBe('a\n----------ERROR-------\nb');
  });

  test('long: at most 2,500 characters, the START of each kept and marked', () => {
    const both = agentPluginOutput('o'.repeat(5000), 'e'.repeat(5000));
    expect(both.length).toBeLessThanOrEqual(2500);
    expect(both).toMatch(/^o+\n---Output truncated---\n----------ERROR-------\ne+\n---Error truncated----$/);
    const errLong = agentPluginOutput('short', `${'e'.repeat(5000)}END`);
    expect(errLong.length).toBeLessThanOrEqual(2500);
    expect(errLong.startsWith('short\n----------ERROR-------\neee')).toBe(true);
    expect(errLong).not.toContain('END');
    const outLong = agentPluginOutput(`${'o'.repeat(5000)}END`, 'failed');
    expect(outLong.endsWith('\n---Output truncated---\n----------ERROR-------\nfailed')).toBe(true);
  });
});
