/**
 * Requests checked against AWS's own API models.
 *
 * The models are botocore's `service-2.json` (what AWS publishes for its SDKs), cut down by `models/extract.py` to
 * the operations the stand-ins serve and the shapes their inputs reference (`models/<service>.json`). Every request
 * a stand-in receives is decoded the way the service's wire protocol encodes it (EC2 query, JSON 1.0 / 1.1,
 * REST-JSON) into the model's input structure and checked against the model: required members, types, enums,
 * string / blob lengths, numeric ranges, list / map lengths, `pattern` regexes, unknown members.
 *
 * `withModelValidation` wraps a stand-in's handler: a request that breaks the model is answered with the error AWS
 * answers (SSM / Step Functions `ValidationException`, AWS Backup `InvalidParameterValueException` /
 * `MissingParameterValueException`, EC2 `MissingParameter` / `InvalidParameterValue` / `UnknownParameter`) and
 * recorded as a violation, which the simulator exposes (`sim.modelViolations`) and the end-to-end harness asserts
 * is empty after every run. See docs/fidelity/README.md.
 */
import * as fs from 'fs';
import * as path from 'path';
import type { FakeHandler, FakeRequest, FakeResponse } from './fakes/http';

/** A stand-in's name (the FakeServer name) -> its model file. */
const MODEL_FILES: Record<string, string> = { ec2: 'ec2', ssm: 'ssm', backup: 'backup', sfn: 'sfn' };

export type ModelRule = 'required' | 'type' | 'enum' | 'length' | 'range' | 'pattern' | 'unknown' | 'operation' | 'union';

export interface ModelViolation {
  readonly service: string;
  readonly operation: string;
  /** Where in the input, AWS style (`instanceIds.1.member`); `''` for the request itself. */
  readonly path: string;
  readonly rule: ModelRule;
  readonly message: string;
}

interface MemberRef {
  readonly shape: string;
  readonly location?: 'uri' | 'querystring' | 'header' | 'headers' | 'statusCode';
  readonly locationName?: string;
  readonly queryName?: string;
  readonly flattened?: boolean;
  readonly idempotencyToken?: boolean;
  readonly jsonvalue?: boolean;
}

interface Shape {
  readonly type: string;
  readonly required?: string[];
  readonly members?: Record<string, MemberRef>;
  readonly member?: MemberRef;
  readonly key?: MemberRef;
  readonly value?: MemberRef;
  readonly enum?: string[];
  readonly min?: number;
  readonly max?: number;
  readonly pattern?: string;
  readonly union?: boolean;
  readonly document?: boolean;
  readonly timestampFormat?: string;
}

export interface ApiModel {
  readonly source: string;
  readonly botocoreVersion: string;
  readonly service: string;
  readonly metadata: { apiVersion: string; protocol: string; targetPrefix?: string; jsonVersion?: string };
  readonly operations: Record<string, { http: { method: string; requestUri: string }; input?: string; errors: string[] }>;
  readonly shapes: Record<string, Shape>;
}

const models = new Map<string, ApiModel>();
const patterns = new Map<string, RegExp>();

/** The committed model of a stand-in (`ec2`, `ssm`, `backup`, `sfn`); undefined for others (dynalite validates itself). */
export function modelFor(service: string): ApiModel | undefined {
  const file = MODEL_FILES[service];
  if (!file) return undefined;
  let m = models.get(file);
  if (!m) {
    m = JSON.parse(fs.readFileSync(path.join(__dirname, 'models', `${file}.json`), 'utf8')) as ApiModel;
    models.set(file, m);
  }
  return m;
}

/**
 * A model `pattern` as a JavaScript RegExp. The models' patterns are written for Java's java.util.regex (the
 * services run on the JVM) and AWS applies them to the WHOLE value (`Matcher.matches()`: a value with a valid
 * prefix is refused, see docs/fidelity/README.md), so the pattern is anchored. Java-only syntax is translated:
 * `\A`, `\z`, `\Z` -> `^` / `$`; `\p{...}` needs JavaScript's `u` flag, which is then used (and in `u` mode the
 * identity escapes Java allows, such as `\_`, are unescaped). A pattern JavaScript cannot compile throws: a model
 * the validator cannot read must be fixed, never skipped.
 */
export function compilePattern(pattern: string): RegExp {
  let re = patterns.get(pattern);
  if (re) return re;
  let src = pattern.replace(/\\A/g, '^').replace(/\\[zZ]/g, '$');
  const unicode = /\\[pP]\{/.test(src);
  if (unicode) src = src.replace(/\\([^A-Za-z0-9\\^$.*+?()[\]{}|/\-])/g, '$1');
  try {
    re = new RegExp(`^(?:${src})$`, unicode ? 'u' : '');
  } catch (e) {
    throw new Error(`model pattern ${JSON.stringify(pattern)} cannot be compiled as a JavaScript RegExp: ${(e as Error).message}`);
  }
  patterns.set(pattern, re);
  return re;
}

const lowerFirst = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

function show(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}

class Checker {
  public readonly violations: ModelViolation[] = [];

  constructor(private readonly model: ApiModel, private readonly service: string, private readonly operation: string) {}

  public add(pathStr: string, rule: ModelRule, message: string): void {
    this.violations.push({ service: this.service, operation: this.operation, path: pathStr, rule, message });
  }

  private at(p: string, value: unknown, constraint: string, rule: ModelRule): void {
    this.add(p, rule, `Value '${show(value)}' at '${p}' failed to satisfy constraint: ${constraint}`);
  }

  public shape(name: string): Shape {
    const s = this.model.shapes[name];
    if (!s) throw new Error(`model ${this.model.service}: shape ${name} is missing (regenerate with models/extract.py)`);
    return s;
  }

  /** Check a decoded value against a shape (JSON-like values: numbers, strings, booleans, arrays, objects). */
  public value(shapeName: string, v: unknown, p: string): void {
    const s = this.shape(shapeName);
    switch (s.type) {
      case 'structure': return this.structure(s, v, p);
      case 'list': return this.list(s, v, p);
      case 'map': return this.map(s, v, p);
      case 'string': return this.string(s, v, p);
      case 'integer':
      case 'long': return this.number(s, v, p, true);
      case 'float':
      case 'double': return this.number(s, v, p, false);
      case 'boolean':
        if (typeof v !== 'boolean') this.at(p, v, 'Member must be a boolean', 'type');
        return;
      case 'timestamp':
        if (!(typeof v === 'number' && Number.isFinite(v)) && !(v instanceof Date && !isNaN(v.getTime()))) {
          this.at(p, v, 'Member must be a timestamp', 'type');
        }
        return;
      case 'blob':
        if (typeof v !== 'string' && !Buffer.isBuffer(v)) return this.at(p, v, 'Member must be a blob (base64 string)', 'type');
        return this.lengths(s, Buffer.isBuffer(v) ? v.length : Buffer.from(v, 'base64').length, v, p, 'length');
      default:
        throw new Error(`model ${this.model.service}: shape ${shapeName} has type ${s.type}, which the validator does not know`);
    }
  }

  private structure(s: Shape, v: unknown, p: string): void {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return this.at(p, v, 'Member must be a structure', 'type');
    const obj = v as Record<string, unknown>;
    const members = s.members ?? {};
    for (const r of s.required ?? []) {
      if (obj[r] === undefined || obj[r] === null) this.at(join(p, lowerFirst(r)), null, 'Member must not be null', 'required');
    }
    const set = Object.keys(obj).filter((k) => obj[k] !== undefined && obj[k] !== null);
    if (s.union && set.length !== 1) this.add(p, 'union', `${p || 'input'}: exactly one member of a union must be set (${set.join(', ') || 'none'})`);
    for (const k of set) {
      const m = members[k];
      if (!m) {
        this.add(join(p, k), 'unknown', `${join(p, k)}: ${k} is not a member of this structure in the model`);
        continue;
      }
      this.value(m.shape, obj[k], join(p, lowerFirst(k)));
    }
  }

  private list(s: Shape, v: unknown, p: string): void {
    if (!Array.isArray(v)) return this.at(p, v, 'Member must be a list', 'type');
    this.lengths(s, v.length, v, p, 'length');
    v.forEach((e, i) => {
      if (e === null || e === undefined) this.at(`${p}.${i + 1}.member`, null, 'Member must not be null', 'required');
      else this.value(s.member!.shape, e, `${p}.${i + 1}.member`);
    });
  }

  private map(s: Shape, v: unknown, p: string): void {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return this.at(p, v, 'Member must be a map', 'type');
    const entries = Object.entries(v as Record<string, unknown>);
    this.lengths(s, entries.length, v, p, 'length');
    for (const [k, e] of entries) {
      this.value(s.key!.shape, k, `${p}.${k}.key`);
      if (e === null || e === undefined) this.at(`${p}.${k}.value`, null, 'Member must not be null', 'required');
      else this.value(s.value!.shape, e, `${p}.${k}.value`);
    }
  }

  private string(s: Shape, v: unknown, p: string): void {
    if (typeof v !== 'string') return this.at(p, v, 'Member must be a string', 'type');
    // Java's String.length(): UTF-16 code units, as JavaScript's.
    this.lengths(s, v.length, v, p, 'length');
    if (s.enum && !s.enum.includes(v)) this.at(p, v, `Member must satisfy enum value set: [${s.enum.join(', ')}]`, 'enum');
    if (s.pattern !== undefined && !compilePattern(s.pattern).test(v)) {
      this.at(p, v, `Member must satisfy regular expression pattern: ${s.pattern}`, 'pattern');
    }
  }

  private number(s: Shape, v: unknown, p: string, integer: boolean): void {
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
      return this.at(p, v, `Member must be ${integer ? 'an integer' : 'a number'}`, 'type');
    }
    if (s.min !== undefined && v < s.min) this.at(p, v, `Member must have value greater than or equal to ${s.min}`, 'range');
    if (s.max !== undefined && v > s.max) this.at(p, v, `Member must have value less than or equal to ${s.max}`, 'range');
  }

  private lengths(s: Shape, n: number, v: unknown, p: string, rule: ModelRule): void {
    if (s.min !== undefined && n < s.min) this.at(p, v, `Member must have length greater than or equal to ${s.min}`, rule);
    if (s.max !== undefined && n > s.max) this.at(p, v, `Member must have length less than or equal to ${s.max}`, rule);
  }
}

function join(p: string, k: string): string {
  return p ? `${p}.${k}` : k;
}

/** Validate a decoded input of an operation against the model. Empty when the request is well formed. */
export function validateInput(service: string, operation: string, input: unknown): ModelViolation[] {
  const model = modelFor(service);
  if (!model) throw new Error(`no API model for ${service}`);
  const c = new Checker(model, service, operation);
  const op = model.operations[operation];
  if (!op) {
    c.add('', 'operation', `${service}:${operation} is not in the committed model (add it to models/extract.py and run it again)`);
    return c.violations;
  }
  if (op.input) c.value(op.input, input ?? {}, '');
  return c.violations;
}

// ------------------------------------------------------------------------------------------------ wire protocols

export interface DecodedRequest {
  readonly operation: string;
  /** The request as the model's input structure (undefined when the operation is not known). */
  readonly input?: Record<string, unknown>;
  /** Problems found while decoding (unknown parameters, values of the wrong type). */
  readonly violations: ModelViolation[];
}

/** Decode a request the way the service's protocol encodes it, into the model's input structure. */
export function decodeRequest(service: string, req: FakeRequest): DecodedRequest {
  const model = modelFor(service);
  if (!model) throw new Error(`no API model for ${service}`);
  switch (model.metadata.protocol) {
    case 'json': return decodeJson(model, service, req);
    case 'ec2': return decodeEc2(model, service, req);
    case 'rest-json': return decodeRestJson(model, service, req);
    default: throw new Error(`protocol ${model.metadata.protocol} of ${service} is not decoded by the validator`);
  }
}

/** Decode and validate one request. */
export function validateRequest(service: string, req: FakeRequest): { operation: string; violations: ModelViolation[] } {
  const d = decodeRequest(service, req);
  if (d.input === undefined) return { operation: d.operation, violations: d.violations };
  const model = modelFor(service)!;
  const c = new Checker(model, service, d.operation);
  const op = model.operations[d.operation];
  if (op.input) c.value(op.input, d.input, '');
  return { operation: d.operation, violations: [...d.violations, ...c.violations] };
}

function unknownOperation(service: string, operation: string, why: string): DecodedRequest {
  return { operation, violations: [{ service, operation, path: '', rule: 'operation', message: why }] };
}

/** JSON 1.0 / 1.1: `X-Amz-Target: <targetPrefix>.<Operation>`, the input as the JSON body. */
function decodeJson(model: ApiModel, service: string, req: FakeRequest): DecodedRequest {
  const target = String(req.headers['x-amz-target'] ?? '');
  const prefix = `${model.metadata.targetPrefix}.`;
  const operation = target.startsWith(prefix) ? target.slice(prefix.length) : target;
  if (!target.startsWith(prefix) || !model.operations[operation]) {
    return unknownOperation(service, operation, `X-Amz-Target ${target} is not an operation of the committed ${service} model`);
  }
  let input: unknown;
  try {
    input = req.body ? JSON.parse(req.body) : {};
  } catch {
    return unknownOperation(service, operation, `${operation}: the body is not JSON`);
  }
  return { operation, input: input as Record<string, unknown>, violations: [] };
}

/** A scalar from its text form (query strings, URI labels, headers, EC2 form fields). */
function scalarFromText(shape: Shape, text: string): unknown {
  switch (shape.type) {
    case 'integer':
    case 'long':
      return /^-?\d+$/.test(text) ? Number(text) : text;
    case 'float':
    case 'double':
      return text.trim() !== '' && !isNaN(Number(text)) ? Number(text) : text;
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    case 'timestamp': {
      // Query strings, labels and EC2 fields carry ISO 8601 (the protocols' default); an epoch number is refused.
      const t = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : NaN;
      return isNaN(t) ? text : t / 1000;
    }
    default:
      return text;
  }
}

/** A member's EC2 form field name: its queryName, else its locationName with the first letter upper-cased, else its name. */
function ec2Name(name: string, ref: MemberRef): string {
  return ref.queryName ?? (ref.locationName ? ref.locationName.charAt(0).toUpperCase() + ref.locationName.slice(1) : name);
}

/**
 * EC2 query protocol: a form body `Action=...&Version=...&<fields>`. A member's field name is its `queryName`, else
 * its `locationName` with the first letter upper-cased, else its name; lists are always flattened:
 * `<name>.<n>` (from 1), structures nest with dots (`Filter.1.Name`, `Filter.1.Value.1`). Fields the model does
 * not know are refused (EC2: UnknownParameter).
 */
function decodeEc2(model: ApiModel, service: string, req: FakeRequest): DecodedRequest {
  const params = new URLSearchParams(req.body);
  const operation = params.get('Action') ?? '';
  if (!model.operations[operation]) return unknownOperation(service, operation, `EC2 Action ${operation} is not in the committed model`);
  const violations: ModelViolation[] = [];
  if (params.get('Version') !== model.metadata.apiVersion) {
    violations.push({ service, operation, path: 'Version', rule: 'enum', message: `Version ${params.get('Version')} is not the model's ${model.metadata.apiVersion}` });
  }
  const fields = new Map<string, string>();
  for (const [k, v] of params) if (k !== 'Action' && k !== 'Version') fields.set(k, v);
  const used = new Set<string>();
  const shapes = model.shapes;

  const read = (shapeName: string, prefix: string, listItem = false): unknown => {
    const s = shapes[shapeName];
    if (s.type === 'structure') {
      const out: Record<string, unknown> = {};
      for (const [name, ref] of Object.entries(s.members ?? {})) {
        const v = read(ref.shape, `${prefix ? `${prefix}.` : ''}${ec2Name(name, ref)}`);
        if (v !== undefined) out[name] = v;
      }
      return prefix && !listItem && Object.keys(out).length === 0 ? undefined : out;
    }
    if (s.type === 'list') {
      const indices = new Set<number>();
      const re = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.(\\d+)(?:\\.|$)`);
      for (const k of fields.keys()) {
        const m = re.exec(k);
        if (m) indices.add(Number(m[1]));
      }
      if (indices.size === 0) return undefined;
      return [...indices].sort((a, b) => a - b).map((i) => read(s.member!.shape, `${prefix}.${i}`, true));
    }
    if (s.type === 'map') throw new Error('EC2 maps are not decoded by the validator');
    const text = fields.get(prefix);
    if (text === undefined) return undefined;
    used.add(prefix);
    return scalarFromText(s, text);
  };

  const input = read(model.operations[operation].input!, '') as Record<string, unknown>;
  for (const k of fields.keys()) {
    if (!used.has(k)) violations.push({ service, operation, path: k, rule: 'unknown', message: `The parameter ${k} is not recognized` });
  }
  return { operation, input, violations };
}

/**
 * REST-JSON: the operation is found by method and `requestUri` (labels `{name}`, a greedy `{name+}`); members with
 * `location: uri` come from the labels, `querystring` from the query string (a list repeats its key), `header` from
 * headers, every other member from the JSON body. Query-string keys the model does not know are refused.
 */
function decodeRestJson(model: ApiModel, service: string, req: FakeRequest): DecodedRequest {
  const trim = (s: string) => (s.length > 1 ? s.replace(/\/+$/, '') : s);
  const reqPath = trim(req.path);
  for (const [operation, op] of Object.entries(model.operations)) {
    if (op.http.method !== req.method) continue;
    const [uriPath, uriQuery] = op.http.requestUri.split('?');
    const labels: string[] = [];
    const reSrc = trim(uriPath).replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\\?\{([^}]+?)(\\\+)?\}/g, (_m, name: string, greedy?: string) => {
      labels.push(name);
      return greedy ? '(.+)' : '([^/]+)';
    });
    const m = new RegExp(`^${reSrc}$`).exec(reqPath);
    if (!m) continue;
    // A requestUri with a constant query (`?versioning`) must match it too.
    if (uriQuery && !uriQuery.split('&').every((q) => req.query.has(q.split('=')[0]))) continue;
    const violations: ModelViolation[] = [];
    const input: Record<string, unknown> = {};
    const s = model.shapes[op.input ?? ''];
    const members = s?.members ?? {};
    const queryKeys = new Set<string>();
    let bodyInput: Record<string, unknown> = {};
    if (req.body) {
      try {
        bodyInput = JSON.parse(req.body);
      } catch {
        return unknownOperation(service, operation, `${operation}: the body is not JSON`);
      }
    }
    for (const [name, ref] of Object.entries(members)) {
      const shape = model.shapes[ref.shape];
      const wire = ref.locationName ?? name;
      if (ref.location === 'uri') {
        const i = labels.indexOf(wire);
        if (i >= 0) input[name] = scalarFromText(shape, m[i + 1]);
      } else if (ref.location === 'querystring') {
        queryKeys.add(wire);
        const all = req.query.getAll(wire);
        if (all.length === 0) continue;
        input[name] = shape.type === 'list' ? all.map((t) => scalarFromText(model.shapes[shape.member!.shape], t)) : scalarFromText(shape, all[0]);
        if (shape.type !== 'list' && all.length > 1) {
          violations.push({ service, operation, path: wire, rule: 'type', message: `query parameter ${wire} is repeated but is not a list` });
        }
      } else if (ref.location === 'header') {
        const h = req.headers[wire.toLowerCase()];
        if (typeof h === 'string') input[name] = scalarFromText(shape, h);
      } else if (ref.location === undefined && Object.prototype.hasOwnProperty.call(bodyInput, wire)) {
        input[name] = bodyInput[wire];
      }
    }
    for (const k of Object.keys(bodyInput)) {
      const known = Object.entries(members).some(([name, ref]) => ref.location === undefined && (ref.locationName ?? name) === k);
      if (!known) violations.push({ service, operation, path: k, rule: 'unknown', message: `${k} is not a body member of ${operation} in the model` });
    }
    for (const k of new Set(req.query.keys())) {
      if (!queryKeys.has(k)) violations.push({ service, operation, path: k, rule: 'unknown', message: `query parameter ${k} is not a member of ${operation} in the model` });
    }
    return { operation, input, violations };
  }
  return unknownOperation(service, `${req.method} ${req.path}`, `${req.method} ${req.path} matches no operation of the committed ${service} model`);
}

// ------------------------------------------------------------------------------------------------ AWS's answer

/** The EC2 form field name of a top-level member named in a violation's path (`instanceIds` -> `InstanceId`). */
function ec2WireName(v: ModelViolation): string {
  const model = modelFor('ec2')!;
  const members = model.shapes[model.operations[v.operation]?.input ?? '']?.members ?? {};
  for (const [name, ref] of Object.entries(members)) {
    if (lowerFirst(name) === v.path) return ec2Name(name, ref);
  }
  return v.path;
}

function errorBody(service: string, violations: ModelViolation[]): { code: string; message: string } {
  const constraints = violations.filter((v) => v.rule !== 'operation');
  const summary = `${constraints.length} validation error${constraints.length === 1 ? '' : 's'} detected: ${constraints.map((v) => v.message).join('; ')}`;
  if (service === 'ec2') {
    const missing = constraints.find((v) => v.rule === 'required');
    if (missing) return { code: 'MissingParameter', message: `The request must contain the parameter ${ec2WireName(missing)}` };
    const unknown = constraints.find((v) => v.rule === 'unknown');
    if (unknown) return { code: 'UnknownParameter', message: `The parameter ${unknown.path} is not recognized` };
    return { code: 'InvalidParameterValue', message: constraints[0].message };
  }
  if (service === 'backup') {
    const missing = constraints.find((v) => v.rule === 'required');
    return missing
      ? { code: 'MissingParameterValueException', message: missing.message }
      : { code: 'InvalidParameterValueException', message: summary };
  }
  return { code: 'ValidationException', message: summary };
}

/** The error AWS answers to a request that breaks its model, in the service's wire format. */
export function validationErrorResponse(service: string, violations: ModelViolation[]): FakeResponse {
  const { code, message } = errorBody(service, violations);
  const model = modelFor(service)!;
  switch (model.metadata.protocol) {
    case 'ec2': {
      const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
      return {
        status: 400,
        headers: { 'content-type': 'text/xml;charset=UTF-8' },
        body: '<?xml version="1.0" encoding="UTF-8"?>\n'
          + `<Response><Errors><Error><Code>${code}</Code><Message>${esc(message)}</Message></Error></Errors>`
          + '<RequestID>00000000-0000-4000-8000-0000000000ff</RequestID></Response>',
      };
    }
    case 'rest-json':
      return {
        status: 400,
        headers: { 'content-type': 'application/json', 'x-amzn-errortype': code },
        body: JSON.stringify({ Code: code, Message: message }),
      };
    default:
      return {
        status: 400,
        headers: { 'content-type': `application/x-amz-json-${model.metadata.jsonVersion ?? '1.1'}`, 'x-amzn-errortype': code },
        body: JSON.stringify({ __type: code, message }),
      };
  }
}

/**
 * Wrap a stand-in's handler: each request is validated against the service's model first. A request that breaks
 * the model is recorded in `sink` and answered with AWS's validation error; the stand-in never sees it. A request
 * for an operation missing from the committed model is recorded too but still reaches the stand-in (which answers
 * it or refuses it as unknown): the model must be regenerated to cover it. Services without a model pass through.
 */
export function withModelValidation(service: string, handler: FakeHandler, sink: ModelViolation[]): FakeHandler {
  if (!modelFor(service)) return handler;
  return (req) => {
    const { violations } = validateRequest(service, req);
    if (violations.length === 0) return handler(req);
    sink.push(...violations);
    if (violations.every((v) => v.rule === 'operation')) return handler(req);
    return validationErrorResponse(service, violations);
  };
}

/** One line per violation, for test failures. */
export function formatViolations(violations: readonly ModelViolation[]): string[] {
  return violations.map((v) => `${v.service}:${v.operation} ${v.rule}${v.path ? ` at ${v.path}` : ''}: ${v.message}`);
}
