/**
 * The lease handlers against dynalite (a real DynamoDB implementation): the condition expressions themselves,
 * evaluated by DynamoDB, not by a mock. The handlers are loaded after the environment points them at dynalite.
 */
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { type AcquireLeaseEvent, type AcquireLeaseResult, type ReleaseLeaseEvent, type ReleaseLeaseResult } from '../../../src/contract/messages';
import { type DynaliteAuditTable, startAuditTable } from '../../helpers/dynalite';
import { EXECUTION } from '../../helpers/handler-fixtures';

const TABLE = 'audit';
const OTHER = 'arn:aws:states:eu-west-1:111122223333:execution:Backup:adhoc-7';
const nowSeconds = () => Math.floor(Date.now() / 1000);

let table: DynaliteAuditTable;
let doc: DynamoDBDocumentClient;
let acquire: (e: AcquireLeaseEvent) => Promise<AcquireLeaseResult>;
let release: (e: ReleaseLeaseEvent) => Promise<ReleaseLeaseResult>;
let n = 0;
const newInstance = () => `i-${(0xd000 + n++).toString(16).padStart(17, '0')}`;

const savedEnv = { ...process.env };

beforeAll(async () => {
  table = await startAuditTable(TABLE);
  doc = table.doc;
  Object.assign(process.env, table.env);
  delete process.env.AWS_SESSION_TOKEN;
  delete process.env.AWS_PROFILE;
  /* eslint-disable @typescript-eslint/no-require-imports */
  acquire = require('../../../src/functions/acquire-lease/acquire-lease.lambda').handler;
  release = require('../../../src/functions/release-lease/release-lease.lambda').handler;
  /* eslint-enable @typescript-eslint/no-require-imports */
});
afterAll(async () => {
  await table?.stop();
  process.env = savedEnv;
});

const lease = async (instanceId: string) =>
  (await doc.send(new GetCommand({ TableName: TABLE, Key: { SM_Execution_ID: `LEASE#${instanceId}` }, ConsistentRead: true }))).Item;
const heldBy = (instanceId: string, holder: string, leaseExpiresAt: number) => doc.send(new PutCommand({
  TableName: TABLE,
  Item: { SM_Execution_ID: `LEASE#${instanceId}`, RecordType: 'LEASE', HolderExecutionId: holder, LeaseExpiresAt: leaseExpiresAt },
}));
const event = (instanceId: string, execution = EXECUTION) => ({ instanceId, execution, leaseSeconds: 3600 });

test('a free lease is acquired and written with its expiry and TTL', async () => {
  const id = newInstance();
  const result = await acquire(event(id));
  expect(result.acquired).toBe(true);
  expect(await lease(id)).toMatchObject({
    RecordType: 'LEASE',
    HolderExecutionId: EXECUTION.id,
    LeaseExpiresAt: result.leaseExpiresAt,
    ExpiresAt: result.leaseExpiresAt + 86400,
  });
});

test('the same execution acquires again (a retried call); another run then cannot', async () => {
  const id = newInstance();
  const first = await acquire(event(id));
  await expect(acquire(event(id))).resolves.toMatchObject({ acquired: true, holder: EXECUTION.id });
  const other = { ...EXECUTION, id: OTHER, name: 'adhoc-7' };
  await expect(acquire(event(id, other))).resolves.toMatchObject({ acquired: false, holder: EXECUTION.id });
  expect((await lease(id))!.HolderExecutionId).toBe(EXECUTION.id);
  expect((await lease(id))!.LeaseExpiresAt).toBeGreaterThanOrEqual(first.leaseExpiresAt);
});

test('a live lease of another run: not acquired, holder and expiry returned, the lease untouched', async () => {
  const id = newInstance();
  const until = nowSeconds() + 600;
  await heldBy(id, OTHER, until);
  await expect(acquire(event(id))).resolves.toEqual({
    acquired: false, holder: OTHER, leaseExpiresAt: until, leaseExpiresAtTime: new Date(until * 1000).toISOString(),
  });
  expect(await lease(id)).toMatchObject({ HolderExecutionId: OTHER, LeaseExpiresAt: until });
});

test('an expired lease of another run is taken over', async () => {
  const id = newInstance();
  await heldBy(id, OTHER, nowSeconds() - 1);
  await expect(acquire(event(id))).resolves.toMatchObject({ acquired: true, holder: EXECUTION.id });
  expect((await lease(id))!.HolderExecutionId).toBe(EXECUTION.id);
});

test('release by the holder deletes the lease; by anyone else it is left alone', async () => {
  const id = newInstance();
  await heldBy(id, OTHER, nowSeconds() + 600);
  await expect(release({ instanceId: id, execution: EXECUTION })).resolves.toEqual({ released: false });
  expect(await lease(id)).toMatchObject({ HolderExecutionId: OTHER });

  const mine = newInstance();
  await acquire(event(mine));
  await expect(release({ instanceId: mine, execution: EXECUTION })).resolves.toEqual({ released: true });
  expect(await lease(mine)).toBeUndefined();
  // Nothing left to release: still not an error.
  await expect(release({ instanceId: mine, execution: EXECUTION })).resolves.toEqual({ released: false });
});
