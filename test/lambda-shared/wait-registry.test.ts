/**
 * The wait registry against dynalite (a real DynamoDB implementation): the update, condition and delete expressions
 * are evaluated by DynamoDB, not by a mock.
 */
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { WAIT_ITEM_LIFETIME_SECONDS } from '../../src/contract/audit-schema';
import { clearWait, findWait, markLooked, registerWait, type WaitRegistration, waitTableName } from '../../src/lambda-shared/wait-registry';
import { type DynaliteAuditTable, startAuditTable } from '../helpers/dynalite';

const TABLE = 'audit';
const RUN = 'arn:aws:states:eu-west-1:111122223333:execution:Backup:run-1';
const OTHER_RUN = 'arn:aws:states:eu-west-1:111122223333:execution:Backup:adhoc-7';
const NOW = new Date('2024-05-01T02:00:00.000Z');

let table: DynaliteAuditTable;
let doc: DynamoDBDocumentClient;
let n = 0;
const newInstance = () => `i-${(0xe000 + n++).toString(16).padStart(17, '0')}`;

beforeAll(async () => {
  table = await startAuditTable(TABLE, { marshallOptions: { removeUndefinedValues: true } });
  doc = table.doc;
});
afterAll(async () => {
  await table?.stop();
});

const item = async (key: string) =>
  (await doc.send(new GetCommand({ TableName: TABLE, Key: { SM_Execution_ID: key }, ConsistentRead: true }))).Item;

function registration(instanceId: string, overrides: Partial<WaitRegistration> = {}): WaitRegistration {
  return {
    kind: 'stop',
    resourceId: instanceId,
    taskToken: 'token-1',
    executionId: RUN,
    instanceId,
    previous: { instanceId },
    maxSeconds: 900,
    ...overrides,
  };
}

describe('registerWait', () => {
  test('the first registration is attempt 1 and writes the whole item under WAIT#<kind>#<resource id>', async () => {
    const id = newInstance();
    await expect(registerWait(doc, TABLE, registration(id), NOW)).resolves.toBe(1);
    expect(await item(`WAIT#stop#${id}`)).toEqual({
      SM_Execution_ID: `WAIT#stop#${id}`,
      RecordType: 'WAIT',
      Kind: 'stop',
      ResourceId: id,
      TaskToken: 'token-1',
      ExecutionId: RUN,
      InstanceId: id,
      Previous: { instanceId: id },
      MaxSeconds: 900,
      RegisteredAt: NOW.toISOString(),
      ExpiresAt: Math.floor(NOW.getTime() / 1000) + WAIT_ITEM_LIFETIME_SECONDS,
      Attempt: 1,
    });
  });

  test('again in the same execution after a completed look (a Task timeout\'s retry): attempt 2, then 3, with the new token', async () => {
    const id = newInstance();
    await registerWait(doc, TABLE, registration(id), NOW);
    await markLooked(doc, TABLE, 'stop', id, 'token-1', 1);
    const later = new Date(NOW.getTime() + 300_000);
    await expect(registerWait(doc, TABLE, registration(id, { taskToken: 'token-2' }), later)).resolves.toBe(2);
    expect(await item(`WAIT#stop#${id}`)).toMatchObject({ Attempt: 2, TaskToken: 'token-2', RegisteredAt: later.toISOString() });
    await markLooked(doc, TABLE, 'stop', id, 'token-2', 2);
    await expect(registerWait(doc, TABLE, registration(id, { taskToken: 'token-3' }), later)).resolves.toBe(3);
    expect(await item(`WAIT#stop#${id}`)).toMatchObject({ Attempt: 3, TaskToken: 'token-3' });
  });

  test('an invocation that failed before its look (a transient retry seconds later) counts as the same attempt', async () => {
    const id = newInstance();
    await registerWait(doc, TABLE, registration(id), NOW);
    await expect(registerWait(doc, TABLE, registration(id, { taskToken: 'token-2' }), NOW)).resolves.toBe(1);
    await expect(registerWait(doc, TABLE, registration(id, { taskToken: 'token-3' }), NOW)).resolves.toBe(1);
    // A stale look (an older token) records nothing.
    await markLooked(doc, TABLE, 'stop', id, 'token-1', 1);
    await expect(registerWait(doc, TABLE, registration(id, { taskToken: 'token-4' }), NOW)).resolves.toBe(1);
    await markLooked(doc, TABLE, 'stop', id, 'token-4', 1);
    await expect(registerWait(doc, TABLE, registration(id, { taskToken: 'token-5' }), NOW)).resolves.toBe(2);
  });

  test('a left-over item of another execution is replaced: attempt 1, that execution\'s fields gone', async () => {
    const id = newInstance();
    await doc.send(new PutCommand({
      TableName: TABLE,
      Item: {
        SM_Execution_ID: `WAIT#stop#${id}`,
        RecordType: 'WAIT',
        Kind: 'stop',
        TaskToken: 'old-token',
        ExecutionId: OTHER_RUN,
        Attempt: 7,
        Leftover: 'yes',
      },
    }));
    await expect(registerWait(doc, TABLE, registration(id), NOW)).resolves.toBe(1);
    const replaced = await item(`WAIT#stop#${id}`);
    expect(replaced).toMatchObject({ Attempt: 1, ExecutionId: RUN, TaskToken: 'token-1' });
    expect(replaced).not.toHaveProperty('Leftover');
    // And this execution counts on from there.
    await markLooked(doc, TABLE, 'stop', id, 'token-1', 1);
    await expect(registerWait(doc, TABLE, registration(id, { taskToken: 'token-2' }), NOW)).resolves.toBe(2);
  });

  test('kinds and resources do not share items', async () => {
    const id = newInstance();
    await registerWait(doc, TABLE, registration(id), NOW);
    await registerWait(doc, TABLE, registration(id), NOW);
    await expect(registerWait(doc, TABLE, registration(id, { kind: 'start' }), NOW)).resolves.toBe(1);
    await expect(registerWait(doc, TABLE, registration(newInstance()), NOW)).resolves.toBe(1);
  });

  test('a script wait keyed by <command id>:<instance id> with a full previous result round-trips', async () => {
    const id = newInstance();
    const previous = {
      commandId: 'cmd-1',
      instanceId: id,
      status: 'Pending',
      statusDetails: 'Pending',
      responseCode: -1,
      timeoutSeconds: 600,
      outputLocation: '',
      outputExcerpt: '',
      done: false,
      poll: { attempt: 1, elapsedSeconds: 0, nextWaitSeconds: 5, maxSeconds: 900, expired: false },
    };
    await registerWait(doc, TABLE, registration(id, { kind: 'script', resourceId: `cmd-1:${id}`, previous }), NOW);
    await expect(findWait(doc, TABLE, 'script', `cmd-1:${id}`)).resolves.toMatchObject({ previous, attempt: 1 });
  });

  test('another DynamoDB error is not swallowed', async () => {
    await expect(registerWait(doc, 'no-such-table', registration(newInstance()), NOW)).rejects.toThrow(/UpdateItem WAIT#stop#/);
  });
});

describe('findWait', () => {
  test('reads back what was registered, with the attempt', async () => {
    const id = newInstance();
    await registerWait(doc, TABLE, registration(id, { maxSeconds: 1234 }), NOW);
    await markLooked(doc, TABLE, 'stop', id, 'token-1', 1);
    await registerWait(doc, TABLE, registration(id, { taskToken: 'token-2', maxSeconds: 1234 }), NOW);
    await expect(findWait(doc, TABLE, 'stop', id)).resolves.toEqual({
      kind: 'stop',
      resourceId: id,
      taskToken: 'token-2',
      executionId: RUN,
      instanceId: id,
      previous: { instanceId: id },
      maxSeconds: 1234,
      attempt: 2,
    });
  });

  test('nothing registered, another kind, or an item without a token: undefined', async () => {
    const id = newInstance();
    await expect(findWait(doc, TABLE, 'stop', id)).resolves.toBeUndefined();
    await registerWait(doc, TABLE, registration(id), NOW);
    await expect(findWait(doc, TABLE, 'start', id)).resolves.toBeUndefined();
    const broken = newInstance();
    await doc.send(new PutCommand({ TableName: TABLE, Item: { SM_Execution_ID: `WAIT#stop#${broken}`, RecordType: 'WAIT' } }));
    await expect(findWait(doc, TABLE, 'stop', broken)).resolves.toBeUndefined();
  });
});

describe('clearWait', () => {
  test('with another token (a newer registration) the item stays; with its token it is removed', async () => {
    const id = newInstance();
    await registerWait(doc, TABLE, registration(id, { taskToken: 'token-1' }), NOW);
    await registerWait(doc, TABLE, registration(id, { taskToken: 'token-2' }), NOW);
    await expect(clearWait(doc, TABLE, 'stop', id, 'token-1')).resolves.toBeUndefined();
    expect(await item(`WAIT#stop#${id}`)).toMatchObject({ TaskToken: 'token-2', Attempt: 1 });
    await clearWait(doc, TABLE, 'stop', id, 'token-2');
    expect(await item(`WAIT#stop#${id}`)).toBeUndefined();
    // Nothing left: still not an error.
    await expect(clearWait(doc, TABLE, 'stop', id, 'token-2')).resolves.toBeUndefined();
  });

  test('another DynamoDB error is not swallowed', async () => {
    await expect(clearWait(doc, 'no-such-table', 'stop', newInstance(), 't')).rejects.toThrow(/DeleteItem WAIT#stop#/);
  });
});

describe('waitTableName', () => {
  const saved = process.env.AUDIT_TABLE_NAME;
  afterEach(() => {
    if (saved === undefined) delete process.env.AUDIT_TABLE_NAME;
    else process.env.AUDIT_TABLE_NAME = saved;
  });

  test('the audit table, or a configuration error when unset', () => {
    process.env.AUDIT_TABLE_NAME = 'audit-table';
    expect(waitTableName()).toBe('audit-table');
    delete process.env.AUDIT_TABLE_NAME;
    expect(() => waitTableName()).toThrow(/AUDIT_TABLE_NAME/);
  });
});
