/**
 * An audit table in dynalite (a real DynamoDB implementation, test/simulator/fakes/dynamodb.ts) for the tests of
 * code whose update, condition and delete expressions must be evaluated by DynamoDB, not by a mock.
 */
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, type TranslateConfig } from '@aws-sdk/lib-dynamodb';
import { PARTITION_KEY } from '../../src/contract/audit-schema';
import { Dynalite } from '../simulator/fakes/dynamodb';

/** Credentials dynalite accepts (it checks none). */
export const DYNALITE_CREDENTIALS = { accessKeyId: 'AKIADYNALITE00000000', secretAccessKey: 'dynalite' };
export const DYNALITE_REGION = 'eu-west-1';

export interface DynaliteAuditTable {
  readonly db: Dynalite;
  readonly tableName: string;
  /** A DocumentClient on the table's endpoint (one attempt per request: a failure is the test's). */
  readonly doc: DynamoDBDocumentClient;
  /** The environment that points the handlers' default-config clients at dynalite. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

/** Starts dynalite and creates the audit table's key schema in it (partition key only, on demand). */
export async function startAuditTable(
  tableName = 'audit', translateConfig?: TranslateConfig,
): Promise<DynaliteAuditTable> {
  const db = await Dynalite.start();
  const client = new DynamoDBClient({ endpoint: db.url, region: DYNALITE_REGION, credentials: DYNALITE_CREDENTIALS, maxAttempts: 1 });
  await client.send(new CreateTableCommand({
    TableName: tableName,
    KeySchema: [{ AttributeName: PARTITION_KEY, KeyType: 'HASH' }],
    AttributeDefinitions: [{ AttributeName: PARTITION_KEY, AttributeType: 'S' }],
    BillingMode: 'PAY_PER_REQUEST',
  }));
  const doc = DynamoDBDocumentClient.from(client, translateConfig);
  return {
    db,
    tableName,
    doc,
    env: {
      AUDIT_TABLE_NAME: tableName,
      AWS_ENDPOINT_URL_DYNAMODB: db.url,
      AWS_REGION: DYNALITE_REGION,
      AWS_ACCESS_KEY_ID: DYNALITE_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: DYNALITE_CREDENTIALS.secretAccessKey,
      AWS_MAX_ATTEMPTS: '1',
    },
    async stop() {
      doc.destroy();
      await db.stop();
    },
  };
}
