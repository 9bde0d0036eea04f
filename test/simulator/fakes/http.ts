import * as http from 'http';
import { AddressInfo } from 'net';
import { ModelViolation, withModelValidation } from '../api-model';

export interface FakeRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export interface FakeResponse {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body: string;
}

export type FakeHandler = (req: FakeRequest) => FakeResponse | Promise<FakeResponse>;

/** A small HTTP server on 127.0.0.1 with a random port. */
export class FakeServer {
  public static async start(name: string, handler: FakeHandler): Promise<FakeServer> {
    // Every request to a stand-in of a modelled service is checked against AWS's API model first (api-model.ts).
    const modelViolations: ModelViolation[] = [];
    handler = withModelValidation(name, handler, modelViolations);
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://127.0.0.1');
        const fakeReq: FakeRequest = {
          method: req.method ?? 'GET',
          path: decodeURIComponent(url.pathname),
          query: url.searchParams,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        };
        Promise.resolve()
          .then(() => handler(fakeReq))
          .catch((e: unknown): FakeResponse => ({
            status: 500,
            headers: { 'content-type': 'text/plain' },
            body: `fake ${name} crashed: ${e instanceof Error ? e.stack : String(e)}`,
          }))
          .then((r) => {
            const body = Buffer.from(r.body, 'utf8');
            res.writeHead(r.status, { ...r.headers, 'content-length': String(body.length) });
            res.end(body);
          }, () => res.destroy());
      });
    });
    server.keepAliveTimeout = 60_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    return new FakeServer(name, server, modelViolations);
  }

  public readonly url: string;

  private constructor(public readonly name: string, private readonly server: http.Server,
    /** Requests this server received that break the service's API model (api-model.ts); empty when all were well formed. */
    public readonly modelViolations: ModelViolation[] = []) {
    const port = (server.address() as AddressInfo).port;
    this.url = `http://127.0.0.1:${port}`;
  }

  public async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}
