import { BatchGetCommand, BatchWriteCommand, DynamoDBDocumentClient, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { AwsStub } from 'aws-sdk-client-mock';

/** An in-memory audit table behind a mocked DocumentClient: items by partition key, the run index, pages of `pageSize`. */
export class FakeTable {
  public readonly items = new Map<string, Record<string, any>>();
  /** Instance ids the index does not show yet (eventual consistency). */
  public readonly hiddenFromIndex = new Set<string>();

  constructor(private readonly pageSize = 1000) {}

  install(mock: AwsStub<any, any, any>): void {
    mock.on(PutCommand).callsFake((input) => {
      this.items.set(input.Item.SM_Execution_ID, input.Item);
      return {};
    });
    mock.on(BatchWriteCommand).callsFake((input) => {
      for (const requests of Object.values(input.RequestItems) as any[]) {
        for (const r of requests) {
          this.items.set(r.PutRequest.Item.SM_Execution_ID, r.PutRequest.Item);
        }
      }
      return { UnprocessedItems: {} };
    });
    mock.on(QueryCommand).callsFake((input) => {
      const run = input.ExpressionAttributeValues[':run'];
      const all = [...this.items.values()]
        .filter((i) => i.Run_Execution_ID === run && !this.hiddenFromIndex.has(i.InstanceId))
        .sort((a, b) => a.InstanceId.localeCompare(b.InstanceId));
      const start = input.ExclusiveStartKey ? all.findIndex((i) => i.SM_Execution_ID === input.ExclusiveStartKey.SM_Execution_ID) + 1 : 0;
      const page = all.slice(start, start + this.pageSize);
      const more = start + this.pageSize < all.length;
      return { Items: page, LastEvaluatedKey: more ? { SM_Execution_ID: page[page.length - 1].SM_Execution_ID } : undefined };
    });
    mock.on(BatchGetCommand).callsFake((input) => {
      const [table, request] = Object.entries(input.RequestItems)[0] as [string, any];
      return { Responses: { [table]: request.Keys.map((k: any) => this.items.get(k.SM_Execution_ID)).filter(Boolean) }, UnprocessedKeys: {} };
    });
  }
}

export { DynamoDBDocumentClient };
