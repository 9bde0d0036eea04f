/**
 * From a synthesized CloudFormation template to plain ASL: resolve intrinsic functions against fake but
 * consistent names and ARNs, reject what the local interpreter cannot run faithfully, and normalize what it
 * runs wrongly (`"ResultPath": "$"`).
 */
import { ACCOUNT_ID, PARTITION, REGION } from './world';

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, any>;
  readonly Metadata?: Record<string, any>;
}

export interface CfnTemplate {
  readonly Resources?: Record<string, CfnResource>;
  readonly Parameters?: Record<string, { Type?: string; Default?: unknown }>;
  readonly Mappings?: Record<string, Record<string, Record<string, unknown>>>;
  readonly [key: string]: unknown;
}

/** Values for tokens the resolver does not know: `{ [logicalId]: { Ref?: value, [attribute]: value } }`. */
export type TokenOverrides = Record<string, Record<string, string>>;

export interface ResolveOptions {
  readonly overrides?: TokenOverrides;
}

export const STACK_NAME = 'SimulatedStack';

const PSEUDO: Record<string, string> = {
  'AWS::Partition': PARTITION,
  'AWS::Region': REGION,
  'AWS::AccountId': ACCOUNT_ID,
  'AWS::URLSuffix': 'amazonaws.com',
  'AWS::StackName': STACK_NAME,
  'AWS::StackId': `arn:${PARTITION}:cloudformation:${REGION}:${ACCOUNT_ID}:stack/${STACK_NAME}/00000000-0000-4000-8000-000000000000`,
};

export class UnresolvableTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnresolvableTokenError';
  }
}

function resource(template: CfnTemplate, logicalId: string, token: string): CfnResource {
  const res = template.Resources?.[logicalId];
  if (!res) {
    throw new UnresolvableTokenError(`${token}: no resource ${logicalId} in the template`);
  }
  return res;
}

/** A physical name: the named property when the template sets it (resolved), else the logical id. */
function physicalName(template: CfnTemplate, logicalId: string, prop: string, opts: ResolveOptions, depth: number): string {
  const res = resource(template, logicalId, `name of ${logicalId}`);
  const v = res.Properties?.[prop];
  if (v === undefined) return logicalId;
  return String(resolve(v, template, opts, depth + 1));
}

const arn = (service: string, rest: string, region = REGION, account = ACCOUNT_ID) =>
  `arn:${PARTITION}:${service}:${region}:${account}:${rest}`;

/** Ref and Fn::GetAtt values per resource type. */
function refOrAtt(template: CfnTemplate, logicalId: string, attr: string | undefined, opts: ResolveOptions, depth: number): string {
  const key = attr ?? 'Ref';
  const token = attr ? `Fn::GetAtt [${logicalId}, ${attr}]` : `Ref ${logicalId}`;
  const override = opts.overrides?.[logicalId]?.[key];
  if (override !== undefined) return override;
  if (!attr) {
    if (PSEUDO[logicalId] !== undefined) return PSEUDO[logicalId];
    const param = template.Parameters?.[logicalId];
    if (param) {
      if (param.Default !== undefined && !String(param.Type ?? '').startsWith('AWS::SSM::Parameter')) return String(param.Default);
      throw new UnresolvableTokenError(`${token}: template parameter without a usable default; give a value in overrides`);
    }
  }
  const res = resource(template, logicalId, token);
  const name = (prop: string) => physicalName(template, logicalId, prop, opts, depth);
  let values: Record<string, () => string>;
  switch (res.Type) {
    case 'AWS::Lambda::Function': {
      values = { Ref: () => name('FunctionName'), Arn: () => arn('lambda', `function:${name('FunctionName')}`) };
      break;
    }
    case 'AWS::DynamoDB::Table':
      values = {
        Ref: () => name('TableName'),
        Arn: () => arn('dynamodb', `table/${name('TableName')}`),
        StreamArn: () => arn('dynamodb', `table/${name('TableName')}/stream/2020-01-01T00:00:00.000`),
      };
      break;
    case 'AWS::IAM::Role':
      values = { Ref: () => name('RoleName'), Arn: () => arn('iam', `role/${name('RoleName')}`, ''), RoleId: () => `AROA${logicalId.toUpperCase().slice(0, 17)}` };
      break;
    case 'AWS::Backup::BackupVault':
      values = {
        Ref: () => name('BackupVaultName'),
        BackupVaultName: () => name('BackupVaultName'),
        BackupVaultArn: () => arn('backup', `backup-vault:${name('BackupVaultName')}`),
      };
      break;
    case 'AWS::Backup::BackupPlan':
      values = { Ref: () => logicalId, BackupPlanId: () => logicalId, BackupPlanArn: () => arn('backup', `backup-plan:${logicalId}`) };
      break;
    case 'AWS::S3::Bucket': {
      const bucket = () => name('BucketName').toLowerCase();
      values = {
        Ref: bucket,
        Arn: () => `arn:${PARTITION}:s3:::${bucket()}`,
        DomainName: () => `${bucket()}.s3.amazonaws.com`,
        RegionalDomainName: () => `${bucket()}.s3.${REGION}.amazonaws.com`,
      };
      break;
    }
    case 'AWS::KMS::Key':
      values = { Ref: () => `key-${logicalId}`, Arn: () => arn('kms', `key/key-${logicalId}`), KeyId: () => `key-${logicalId}` };
      break;
    case 'AWS::Events::EventBus':
      values = { Ref: () => name('Name'), Name: () => name('Name'), Arn: () => arn('events', `event-bus/${name('Name')}`) };
      break;
    case 'AWS::Events::Rule':
      values = { Ref: () => name('Name'), Arn: () => arn('events', `rule/${name('Name')}`) };
      break;
    case 'AWS::SNS::Topic':
      values = { Ref: () => arn('sns', name('TopicName')), TopicArn: () => arn('sns', name('TopicName')), TopicName: () => name('TopicName') };
      break;
    case 'AWS::SQS::Queue':
      values = {
        Ref: () => `https://sqs.${REGION}.amazonaws.com/${ACCOUNT_ID}/${name('QueueName')}`,
        QueueUrl: () => `https://sqs.${REGION}.amazonaws.com/${ACCOUNT_ID}/${name('QueueName')}`,
        QueueName: () => name('QueueName'),
        Arn: () => arn('sqs', name('QueueName')),
      };
      break;
    case 'AWS::StepFunctions::StateMachine':
      values = {
        Ref: () => arn('states', `stateMachine:${name('StateMachineName')}`),
        Arn: () => arn('states', `stateMachine:${name('StateMachineName')}`),
        Name: () => name('StateMachineName'),
      };
      break;
    case 'AWS::Logs::LogGroup':
      values = { Ref: () => name('LogGroupName'), Arn: () => arn('logs', `log-group:${name('LogGroupName')}:*`) };
      break;
    case 'AWS::SSM::Document':
      values = { Ref: () => name('Name') };
      break;
    case 'AWS::SSM::Parameter':
      values = { Ref: () => name('Name'), Type: () => String(res.Properties?.Type ?? 'String'), Value: () => String(resolve(res.Properties?.Value, template, opts, depth + 1)) };
      break;
    default:
      values = {};
  }
  const f = values[key];
  if (!f) {
    throw new UnresolvableTokenError(`${token}: cannot resolve ${key} of a ${res.Type}; give a value in overrides`);
  }
  return f();
}

function resolve(value: unknown, template: CfnTemplate, opts: ResolveOptions, depth: number): unknown {
  if (depth > 50) throw new UnresolvableTokenError('token resolution too deep (a cycle?)');
  if (Array.isArray(value)) return value.map((v) => resolve(v, template, opts, depth + 1));
  if (value === null || typeof value !== 'object') return value;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::'))) {
    const [fn] = keys;
    const arg = obj[fn];
    const r = (v: unknown) => resolve(v, template, opts, depth + 1);
    switch (fn) {
      case 'Ref':
        return refOrAtt(template, String(arg), undefined, opts, depth);
      case 'Fn::GetAtt': {
        const [id, ...attr] = Array.isArray(arg) ? (arg as unknown[]).map((x) => String(r(x))) : String(arg).split('.');
        return refOrAtt(template, id, attr.join('.'), opts, depth);
      }
      case 'Fn::Join': {
        const [sep, parts] = arg as [string, unknown];
        const list = r(parts);
        if (!Array.isArray(list)) throw new UnresolvableTokenError(`Fn::Join over a non-list: ${JSON.stringify(arg)}`);
        return list.map(String).join(String(r(sep)));
      }
      case 'Fn::Select': {
        const [index, list] = arg as [unknown, unknown];
        const l = r(list);
        const i = Number(r(index));
        if (!Array.isArray(l) || i < 0 || i >= l.length) throw new UnresolvableTokenError(`Fn::Select out of range: ${JSON.stringify(arg)}`);
        return l[i];
      }
      case 'Fn::Split': {
        const [sep, s] = arg as [string, unknown];
        return String(r(s)).split(String(sep));
      }
      case 'Fn::Sub': {
        const [text, vars] = Array.isArray(arg) ? arg as [string, Record<string, unknown>] : [arg as string, {}];
        const resolvedVars = Object.fromEntries(Object.entries(vars ?? {}).map(([k, v]) => [k, String(r(v))]));
        return String(text).replace(/\$\{(!?)([^}]+)\}/g, (_m, bang: string, name: string) => {
          if (bang) return '${' + name + '}';
          if (name in resolvedVars) return resolvedVars[name];
          const dot = name.indexOf('.');
          if (dot > 0 && !name.startsWith('AWS::')) return refOrAtt(template, name.slice(0, dot), name.slice(dot + 1), opts, depth);
          return refOrAtt(template, name, undefined, opts, depth);
        });
      }
      case 'Fn::Base64':
        return Buffer.from(String(r(arg))).toString('base64');
      case 'Fn::FindInMap': {
        const [map, k1, k2] = (arg as unknown[]).map((x) => String(r(x)));
        const v = template.Mappings?.[map]?.[k1]?.[k2];
        if (v === undefined) throw new UnresolvableTokenError(`Fn::FindInMap: no ${map}.${k1}.${k2}`);
        return r(v);
      }
      case 'Fn::GetAZs':
        return [`${REGION}a`, `${REGION}b`, `${REGION}c`];
      default:
        throw new UnresolvableTokenError(`${fn} is not supported by the simulator's resolver: ${JSON.stringify(arg).slice(0, 200)}`);
    }
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = resolve(obj[k], template, opts, depth + 1);
  return out;
}

/** Resolve every CloudFormation intrinsic function in a value (Lambda environment, Parameters...). */
export function resolveTokens(value: unknown, template: CfnTemplate, options: ResolveOptions = {}): unknown {
  return resolve(value, template, options, 0);
}

export function lambdaArn(functionName: string): string {
  return arn('lambda', `function:${functionName}`);
}

/** The name the simulator gives a table (its TableName, else its logical id). */
export function tableName(logicalId: string, template: CfnTemplate, options: ResolveOptions = {}): string {
  return refOrAtt(template, logicalId, undefined, options, 0);
}

/** Logical ids of the resources of a type. */
export function resourcesOfType(template: CfnTemplate, type: string): string[] {
  return Object.entries(template.Resources ?? {}).filter(([, r]) => r.Type === type).map(([id]) => id);
}

// ------------------------------------------------------------------------------------------------------ ASL

export type AslState = Record<string, any>;
export interface AslDefinition {
  StartAt: string;
  States: Record<string, AslState>;
  [key: string]: unknown;
}

/** Sub-machines of a Map (ItemProcessor / Iterator) or Parallel (Branches) state. */
export function childMachines(state: AslState): AslDefinition[] {
  if (state.Type === 'Map') return [state.ItemProcessor ?? state.Iterator].filter(Boolean);
  if (state.Type === 'Parallel') return state.Branches ?? [];
  return [];
}

/** Visit every state, recursively, with the chain of enclosing Map/Parallel states. */
export function walkStates(
  def: AslDefinition,
  visit: (name: string, state: AslState, parents: Array<{ name: string; state: AslState; branch: number }>) => void,
  parents: Array<{ name: string; state: AslState; branch: number }> = [],
): void {
  for (const [name, state] of Object.entries(def.States ?? {})) {
    visit(name, state, parents);
    childMachines(state).forEach((child, branch) => walkStates(child, visit, [...parents, { name, state, branch }]));
  }
}

/** Features the local interpreter ignores or runs wrongly; rejected instead of simulated wrongly. */
function assertSupported(def: AslDefinition): void {
  const problems: string[] = [];
  if (def.QueryLanguage === 'JSONata') problems.push('the state machine sets QueryLanguage JSONata');
  walkStates(def, (name, state) => {
    if (state.QueryLanguage === 'JSONata') problems.push(`state ${name} uses QueryLanguage JSONata`);
    if (state.ItemProcessor?.QueryLanguage === 'JSONata') problems.push(`Map ${name} processor uses JSONata`);
    for (const field of ['Assign', 'Arguments', 'Output', 'ItemReader', 'ResultWriter', 'ItemBatcher']) {
      if (field in state) problems.push(`state ${name} uses ${field}, which the local interpreter does not support`);
    }
    if (typeof state.Resource === 'string' && state.Resource.endsWith('.waitForTaskToken')
      && state.Resource !== 'arn:aws:states:::lambda:invoke.waitForTaskToken') {
      problems.push(`state ${name} uses ${state.Resource}; the simulator runs only lambda:invoke.waitForTaskToken`);
    }
  });
  const s = JSON.stringify(def);
  if (/\{%[\s\S]*%\}/.test(s)) problems.push('the definition contains JSONata expressions ({% ... %})');
  if (problems.length > 0) {
    throw new Error(`State machine not supported by the simulator (JSONPath only):\n- ${problems.join('\n- ')}`);
  }
}

/**
 * Normalize for aws-local-stepfunctions: drop `"ResultPath": "$"` (the default, which the library runs wrongly by
 * nesting the result under a key named `$`) in states and catchers, recursively.
 */
export function normalizeDefinition<T extends AslDefinition>(def: T): T {
  const copy = JSON.parse(JSON.stringify(def)) as T;
  walkStates(copy, (_name, state) => {
    if (state.ResultPath === '$') delete state.ResultPath;
    for (const c of state.Catch ?? []) {
      if (c.ResultPath === '$') delete c.ResultPath;
    }
  });
  return copy;
}

export interface ResolvedStateMachine {
  readonly logicalId: string;
  /** The state machine's name (StateMachineName, else the logical id). */
  readonly name: string;
  readonly arn: string;
  readonly definition: AslDefinition;
}

/** Find the state machine (the only one, or the given logical id), resolve and normalize its definition. */
export function resolveStateMachine(template: CfnTemplate, logicalId?: string, options: ResolveOptions = {}): ResolvedStateMachine {
  const ids = resourcesOfType(template, 'AWS::StepFunctions::StateMachine');
  const id = logicalId ?? (ids.length === 1 ? ids[0] : undefined);
  if (!id || !ids.includes(id)) {
    throw new Error(`cannot pick a state machine: ${logicalId ? `${logicalId} not found` : 'template has'} ${ids.length} (${ids.join(', ')})`);
  }
  const props = template.Resources![id].Properties ?? {};
  if (props.DefinitionSubstitutions) {
    throw new Error('DefinitionSubstitutions are not supported by the simulator');
  }
  let raw: unknown = props.DefinitionString ?? props.Definition;
  if (raw === undefined) throw new Error(`state machine ${id} has no DefinitionString (DefinitionS3Location is not supported)`);
  raw = resolveTokens(raw, template, options);
  const def = (typeof raw === 'string' ? JSON.parse(raw) : raw) as AslDefinition;
  assertSupported(def);
  const name = props.StateMachineName ? String(resolveTokens(props.StateMachineName, template, options)) : id;
  return { logicalId: id, name, arn: arn('states', `stateMachine:${name}`), definition: normalizeDefinition(def) };
}
