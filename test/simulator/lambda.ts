/**
 * Loading bundled Lambda handlers and calling them in-process.
 *
 * Handlers are compiled as plain Node modules (outside jest's module registry), so that `@aws-sdk/*`, left
 * external by esbuild, resolves from the repository's node_modules wherever the bundle lives (cdk.out in a temp
 * directory). They therefore see the real `process.env`, not jest's per-test copy: the simulator sets the
 * Lambda environment there.
 */
import * as fs from 'fs';
import * as nodeModule from 'module';
import * as path from 'path';
import { CfnTemplate, resolveTokens, ResolveOptions } from './asl';

const NodeModule = (nodeModule as any).Module as any;
const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The process object of the real Node context (jest gives tests a copy whose `env` is not the real one). */
export const realProcess: NodeJS.Process = (() => {
  const m = new NodeModule(path.join(__dirname, '__real_process__.js'), null);
  m._compile('module.exports = process;', m.id);
  return m.exports;
})();

/** Load a CommonJS file as a plain Node module, resolving bare imports from its folder and then the repository. */
export function loadPlainModule(file: string): any {
  const abs = path.resolve(file);
  const m = new NodeModule(abs, null);
  m.filename = abs;
  m.paths = [...NodeModule._nodeModulePaths(path.dirname(abs)), ...NodeModule._nodeModulePaths(REPO_ROOT)];
  m._compile(fs.readFileSync(abs, 'utf8'), abs);
  m.loaded = true;
  return m.exports;
}

export type Handler = (event: unknown, context: unknown) => unknown;

export interface LambdaFunction {
  readonly logicalId: string;
  readonly functionName: string;
  readonly environment: Record<string, string>;
  readonly timeoutSeconds: number;
  /** The handler's file. */
  readonly codePath: string;
  readonly exportName: string;
}

/** Where a function's code is: a directory (holding the handler's file) or the handler file itself. */
function findCode(logicalId: string, res: { Properties?: any; Metadata?: any }, assetDir?: string, explicit?: Record<string, string>): string {
  if (explicit?.[logicalId]) return explicit[logicalId];
  const assetPath = res.Metadata?.['aws:asset:path'];
  if (assetPath) {
    const p = path.isAbsolute(assetPath) ? assetPath : assetDir ? path.join(assetDir, assetPath) : undefined;
    if (p && fs.existsSync(p)) return p;
    throw new Error(`Lambda ${logicalId}: asset ${assetPath} not found${assetDir ? ` in ${assetDir}` : ' (give assetDir: the synth output directory)'}`);
  }
  throw new Error(`Lambda ${logicalId}: no code location. Synthesize with context {'aws:cdk:enable-asset-metadata': true} and an outdir, `
    + 'and pass assetDir, or map the logical id to a directory in lambdaCode');
}

export interface FunctionOptions {
  /** The synth output directory (cdk.out), against which `aws:asset:path` metadata is resolved. */
  readonly assetDir?: string;
  /** Logical id -> directory holding the handler file, or the file itself. Wins over asset metadata. */
  readonly lambdaCode?: Record<string, string>;
  readonly resolve?: ResolveOptions;
  /** Functions to leave out (never invoked by the workflow), by logical id. */
  readonly skip?: (logicalId: string) => boolean;
}

/**
 * Describe every `AWS::Lambda::Function` of the template: name, resolved environment, code file. Functions with
 * inline code (CDK's helper functions) are left out unless `lambdaCode` names them.
 */
export function describeFunctions(template: CfnTemplate, options: FunctionOptions): Map<string, LambdaFunction> {
  const out = new Map<string, LambdaFunction>();
  for (const [logicalId, res] of Object.entries(template.Resources ?? {})) {
    if (res.Type !== 'AWS::Lambda::Function') continue;
    if (options.skip?.(logicalId)) continue;
    const props = res.Properties ?? {};
    if (props.Code?.ZipFile && !options.lambdaCode?.[logicalId]) continue;
    const handlerSpec = String(props.Handler ?? 'index.handler');
    const dot = handlerSpec.lastIndexOf('.');
    const fileBase = handlerSpec.slice(0, dot);
    let codePath = findCode(logicalId, res, options.assetDir, options.lambdaCode);
    if (fs.statSync(codePath).isDirectory()) {
      const found = ['.js', '.cjs'].map((ext) => path.join(codePath, fileBase + ext)).find((c) => fs.existsSync(c));
      if (!found) throw new Error(`Lambda ${logicalId}: no ${fileBase}.js in ${codePath}`);
      codePath = found;
    }
    out.set(logicalId, {
      logicalId,
      functionName: props.FunctionName ? String(resolveTokens(props.FunctionName, template, options.resolve)) : logicalId,
      environment: resolveTokens(props.Environment?.Variables ?? {}, template, options.resolve) as Record<string, string>,
      timeoutSeconds: Number(props.Timeout ?? 3),
      codePath,
      exportName: handlerSpec.slice(dot + 1),
    });
  }
  return out;
}

/** Load a function's handler (after its environment is set: handlers often read it at load time). */
export function loadHandler(fn: LambdaFunction): Handler {
  const mod = loadPlainModule(fn.codePath);
  const handler = mod[fn.exportName];
  if (typeof handler !== 'function') throw new Error(`Lambda ${fn.logicalId}: ${fn.codePath} exports no function ${fn.exportName}`);
  return handler;
}

/** The union of every function's environment; throws when two functions give one variable different values. */
export function unionEnvironment(functions: Iterable<LambdaFunction>): Record<string, string> {
  const env: Record<string, string> = {};
  const owner: Record<string, string> = {};
  for (const f of functions) {
    for (const [k, v] of Object.entries(f.environment)) {
      const value = String(v);
      if (k in env && env[k] !== value) {
        throw new Error(`Lambda environment conflict: ${k} is ${JSON.stringify(env[k])} in ${owner[k]} but ${JSON.stringify(value)} in ${f.logicalId}; `
          + 'the simulator runs every handler in one process with one environment');
      }
      env[k] = value;
      owner[k] = f.logicalId;
    }
  }
  return env;
}

/** The error a Task fails with when its Lambda throws: Step Functions' `Error` and `Cause`. */
export class LambdaTaskError extends Error {
  constructor(errorType: string, cause: string) {
    super(cause);
    this.name = errorType;
  }
}

/**
 * Turn whatever a handler threw into the error Step Functions reports. Like the Lambda Node.js runtime, the error
 * type is the error's `name` (so an error class must set `name`; a bare subclass of Error reports `Error`).
 */
export function toTaskError(e: unknown): LambdaTaskError {
  const err = e as { name?: unknown; message?: unknown } | undefined;
  const isErrorLike = typeof err === 'object' && err !== null;
  const errorType = isErrorLike && typeof err.name === 'string' && err.name ? err.name : 'Error';
  const errorMessage = isErrorLike && typeof err.message === 'string' ? err.message : String(e);
  return new LambdaTaskError(errorType, JSON.stringify({ errorType, errorMessage, trace: [] }));
}
