/**
 * DynamoDB: dynalite (a real, in-memory implementation) behind a thin counting proxy, so the world records
 * DynamoDB calls and can inject faults (throttling) like for the other services.
 */
import * as http from 'http';
import { AddressInfo } from 'net';
import { CreateTableCommand, CreateTableCommandInput, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { FakeHandler, FakeRequest, FakeResponse } from './http';
import { CfnTemplate, resolveTokens, tableName } from '../asl';
import { FakeApiError, World } from '../world';

// dynalite ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite: (opts: Record<string, unknown>) => http.Server = require('dynalite');

export class Dynalite {
  public static async start(): Promise<Dynalite> {
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new Dynalite(server);
  }

  public readonly url: string;
  private readonly agent = new http.Agent({ keepAlive: true });

  private constructor(private readonly server: http.Server) {
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  /** Forward one request to dynalite. */
  public forward(req: FakeRequest): Promise<FakeResponse> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = {};
      for (const h of ['content-type', 'x-amz-target', 'authorization', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256']) {
        const v = req.headers[h];
        if (typeof v === 'string') headers[h] = v;
      }
      const r = http.request(this.url + req.path, { method: req.method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const out: Record<string, string> = {};
          for (const h of ['content-type', 'x-amzn-requestid', 'x-amz-crc32']) {
            const v = res.headers[h];
            if (typeof v === 'string') out[h] = v;
          }
          resolve({ status: res.statusCode ?? 500, headers: out, body: Buffer.concat(chunks).toString('utf8') });
        });
      });
      r.on('error', reject);
      r.end(req.body);
    });
  }

  public async stop(): Promise<void> {
    this.agent.destroy();
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** The proxy in front of dynalite. */
export function dynamodbHandler(world: World, db: Dynalite): FakeHandler {
  return async (req: FakeRequest) => {
    const action = String(req.headers['x-amz-target'] ?? '').replace(/^DynamoDB_\d+\./, '');
    try {
      world.recordCall('dynamodb', action, [], undefined);
    } catch (e) {
      if (e instanceof FakeApiError) {
        const type = e.code === 'ThrottlingException' || e.code === 'ProvisionedThroughputExceededException'
          ? `com.amazonaws.dynamodb.v20120810#${e.code}` : `com.amazon.coral.service#${e.code}`;
        return {
          status: e.httpStatus,
          headers: { 'content-type': 'application/x-amz-json-1.0' },
          body: JSON.stringify({ __type: type, message: e.message }),
        };
      }
      throw e;
    }
    return db.forward(req);
  };
}

/** Create every `AWS::DynamoDB::Table` of the template, named as the resolver names them. */
export async function createTables(client: DynamoDBClient, template: CfnTemplate): Promise<string[]> {
  const names: string[] = [];
  for (const [logicalId, res] of Object.entries(template.Resources ?? {})) {
    if (res.Type !== 'AWS::DynamoDB::Table') continue;
    const p = resolveTokens(res.Properties ?? {}, template) as Record<string, any>;
    const name = tableName(logicalId, template);
    const payPerRequest = p.BillingMode === 'PAY_PER_REQUEST' || !p.ProvisionedThroughput;
    const throughput = payPerRequest ? undefined : p.ProvisionedThroughput;
    const input: CreateTableCommandInput = {
      TableName: name,
      KeySchema: p.KeySchema,
      AttributeDefinitions: p.AttributeDefinitions,
      BillingMode: payPerRequest ? 'PAY_PER_REQUEST' : 'PROVISIONED',
      ProvisionedThroughput: throughput,
      GlobalSecondaryIndexes: p.GlobalSecondaryIndexes?.map((g: any) => ({
        IndexName: g.IndexName,
        KeySchema: g.KeySchema,
        Projection: g.Projection,
        ProvisionedThroughput: payPerRequest ? undefined : g.ProvisionedThroughput ?? throughput,
      })),
      LocalSecondaryIndexes: p.LocalSecondaryIndexes?.map((l: any) => ({
        IndexName: l.IndexName, KeySchema: l.KeySchema, Projection: l.Projection,
      })),
    };
    await client.send(new CreateTableCommand(input));
    names.push(name);
  }
  return names;
}
