/**
 * The instance journal against dynalite (a real DynamoDB implementation): the update and condition expressions are
 * evaluated by DynamoDB, not by a mock.
 */
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { JOURNAL_ITEM_LIFETIME_SECONDS, journalKey } from '../../src/contract/audit-schema';
import { beginAction, journalFromItem, JournalConflictError, readJournal, recordResource } from '../../src/lambda-shared/journal';
import { type DynaliteAuditTable, startAuditTable } from '../helpers/dynalite';

const TABLE = 'audit';
const EXEC = 'arn:aws:states:eu-west-1:111122223333:execution:Backup:nightly';

let table: DynaliteAuditTable;
let doc: DynamoDBDocumentClient;
let n = 0;
const target = () => ({ tableName: TABLE, executionId: EXEC, instanceId: `i-${(0xe000 + n++).toString(16).padStart(17, '0')}` });

beforeAll(async () => {
  table = await startAuditTable(TABLE);
  doc = table.doc;
});
afterAll(async () => {
  await table?.stop();
});

test('the first intent is recorded with its time, type and expiry; a repeat keeps the earliest time', async () => {
  const t = target();
  const first = await beginAction(doc, t, 'backup', new Date('2026-12-03T02:00:00Z'));
  expect(first).toEqual({ repeated: false, intentAt: '2026-12-03T02:00:00.000Z' });
  const again = await beginAction(doc, t, 'backup', new Date('2026-12-03T02:15:00Z'));
  expect(again).toEqual({ repeated: true, intentAt: '2026-12-03T02:00:00.000Z' });

  const item = (await doc.send(new GetCommand({ TableName: TABLE, Key: { SM_Execution_ID: journalKey(EXEC, t.instanceId) } }))).Item!;
  expect(item).toMatchObject({
    RecordType: 'JOURNAL',
    ExecutionId: EXEC,
    InstanceId: t.instanceId,
    Backup_IntentAt: '2026-12-03T02:00:00.000Z',
    ExpiresAt: Math.floor(Date.parse('2026-12-03T02:15:00Z') / 1000) + JOURNAL_ITEM_LIFETIME_SECONDS,
  });
});

test('a recorded id is returned to every later invocation; the actions are independent', async () => {
  const t = target();
  await beginAction(doc, t, 'pre', new Date('2026-12-03T02:00:00Z'));
  await recordResource(doc, t, 'pre', 'cmd-1');
  await expect(beginAction(doc, t, 'pre', new Date())).resolves.toMatchObject({ repeated: true, resourceId: 'cmd-1' });
  await expect(beginAction(doc, t, 'post', new Date('2026-12-03T03:00:00Z'))).resolves.toEqual({ repeated: false, intentAt: '2026-12-03T03:00:00.000Z' });
  expect(await readJournal(doc, t)).toEqual({
    executionId: EXEC,
    instanceId: t.instanceId,
    actions: {
      pre: { intentAt: '2026-12-03T02:00:00.000Z', resourceId: 'cmd-1' },
      post: { intentAt: '2026-12-03T03:00:00.000Z' },
    },
  });
});

test('the same id may be recorded twice; another id, or an id without an intent, is refused', async () => {
  const t = target();
  await beginAction(doc, t, 'backup', new Date());
  await recordResource(doc, t, 'backup', 'job-1');
  await expect(recordResource(doc, t, 'backup', 'job-1')).resolves.toBeUndefined();
  await expect(recordResource(doc, t, 'backup', 'job-2')).rejects.toBeInstanceOf(JournalConflictError);
  await expect(recordResource(doc, t, 'copy', 'copy-1')).rejects.toThrow(/copy has no recorded intent/);
});

test('an instance never acted on has an empty journal', async () => {
  const t = target();
  expect(await readJournal(doc, t)).toEqual({ executionId: EXEC, instanceId: t.instanceId, actions: {} });
  expect(journalFromItem(EXEC, 'i-1', { Stop_IntentAt: 'x', Stop_ResourceId: '' }).actions).toEqual({ stop: { intentAt: 'x' } });
});
