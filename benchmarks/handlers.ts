/**
 * Handler bundles: size and cold-start init time, optionally side by side with a baseline set of bundles.
 *
 *   . tools/supported-node.sh && npx ts-node --project tsconfig.dev.json benchmarks/handlers.ts \
 *     [--assets assets] [--baseline /work/notes/bundles-before] [--runs 9]
 *
 * What is measured, per bundle `<assets>/functions/<name>/<name>.lambda/index.js`:
 * - size: the bundle's bytes on disk (esbuild output; the AWS SDK is external, as in the Lambda runtime).
 * - init: the median, over `--runs` fresh `node` processes, of the time `require(bundle)` takes inside the process,
 *   AFTER the @aws-sdk packages the bundle requires have been required (the Lambda runtime ships the SDK, and both
 *   bundle sets load the same SDK modules, so their cost would only add the same noise to both columns). This is the
 *   bundle's own module-evaluation time: parsing, top-level code, client construction. Node startup is not included.
 * - sdk: the median time of requiring those SDK packages first (for scale: what the runtime adds on a cold start).
 * The SDK resolves from this repository's node_modules for both sets. Dummy environment variables (region, table
 * names) are set so that top-level code runs as on Lambda.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

interface Measured {
  readonly bytes: number;
  readonly initMs: number;
  readonly sdkMs: number;
}

function arg(name: string, fallback?: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

function bundlePath(assets: string, name: string): string {
  return join(assets, 'functions', name, `${name}.lambda`, 'index.js');
}

function bundleNames(assets: string): string[] {
  const dir = join(assets, 'functions');
  return existsSync(dir) ? readdirSync(dir).filter((n) => existsSync(bundlePath(assets, n))).sort() : [];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** The child's script: require the SDK packages, then the bundle, and print both durations in ms. */
const CHILD = `
const [bundle, ...sdk] = JSON.parse(process.argv[1]);
const t0 = process.hrtime.bigint();
for (const m of sdk) require(m);
const t1 = process.hrtime.bigint();
require(bundle);
const t2 = process.hrtime.bigint();
process.stdout.write(JSON.stringify({ sdk: Number(t1 - t0) / 1e6, init: Number(t2 - t1) / 1e6 }));
`;

const ENV = {
  ...process.env,
  // The SDK resolves from this repository's node_modules for both sets (a baseline directory elsewhere has none).
  NODE_PATH: resolve('node_modules'),
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  AWS_LAMBDA_FUNCTION_NAME: 'bench',
  AUDIT_TABLE_NAME: 'bench-table',
  LEASE_TABLE_NAME: 'bench-table',
  POWERTOOLS_METRICS_NAMESPACE: 'bench',
  LOG_LEVEL: 'silent',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

function measure(file: string, runs: number): Measured {
  const source = readFileSync(file, 'utf8');
  const sdk = [...new Set([...source.matchAll(/require\("(@aws-sdk\/[a-z0-9-]+)"\)/g)].map((m) => m[1]))]
    .map((m) => require.resolve(m, { paths: [process.cwd()] }));
  const inits: number[] = [];
  const sdks: number[] = [];
  for (let i = 0; i < runs; i++) {
    const out = execFileSync(process.execPath, ['-e', CHILD, JSON.stringify([resolve(file), ...sdk])], { env: ENV, encoding: 'utf8' });
    const r = JSON.parse(out) as { sdk: number; init: number };
    inits.push(r.init);
    sdks.push(r.sdk);
  }
  return { bytes: statSync(file).size, initMs: median(inits), sdkMs: median(sdks) };
}

function main(): void {
  const assets = arg('assets', 'assets')!;
  const baseline = arg('baseline');
  const runs = Number(arg('runs', '9'));
  const names = [...new Set([...bundleNames(assets), ...(baseline ? bundleNames(baseline) : [])])].sort();
  const kb = (b: number | undefined) => (b === undefined ? '-' : (b / 1024).toFixed(1));
  const ms = (v: number | undefined) => (v === undefined ? '-' : v.toFixed(1));
  const rows: string[][] = [];
  const totals = { before: 0, after: 0 };
  for (const name of names) {
    const after = existsSync(bundlePath(assets, name)) ? measure(bundlePath(assets, name), runs) : undefined;
    const before = baseline && existsSync(bundlePath(baseline, name)) ? measure(bundlePath(baseline, name), runs) : undefined;
    totals.before += before?.bytes ?? 0;
    totals.after += after?.bytes ?? 0;
    rows.push(baseline
      ? [name, kb(before?.bytes), kb(after?.bytes), ms(before?.initMs), ms(after?.initMs), ms(after?.sdkMs)]
      : [name, kb(after?.bytes), ms(after?.initMs), ms(after?.sdkMs)]);
  }
  const header = baseline
    ? ['function', 'KiB before', 'KiB after', 'init ms before', 'init ms after', 'sdk ms']
    : ['function', 'KiB', 'init ms', 'sdk ms'];
  console.log(`| ${header.join(' | ')} |`);
  console.log(`|${header.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log(`\n${runs} runs per bundle, medians; node ${process.version}; total KiB ${baseline ? `${kb(totals.before)} -> ` : ''}${kb(totals.after)}`);
}

main();
