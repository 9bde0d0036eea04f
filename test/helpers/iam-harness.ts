/**
 * Policy evaluation over the synthesized IAM of a consumer stack.
 *
 * The stack is synthesized as a consumer writes it, every IAM policy in the template is resolved to concrete
 * ARNs (partition `aws`, the stack's account and region, the construct's own resources given plausible
 * physical names), and requests are evaluated with @cloud-copilot/iam-simulate (test-only, AGPL-3.0).
 *
 * The simulator only knows what a request tells it: it does not read an instance's tags, so the request
 * context is built here the way AWS builds it (an instance's tags as `aws:ResourceTag/<key>` and the
 * service's own `<service>:ResourceTag/<key>` alias). A context key the simulator drops as not applicable to
 * the action fails the evaluation, and so does a validation error: a typo can never pass as a denial.
 */
import {
  runSimulation, runUnsafeSimulation, type RunSimulationResults, type Simulation, type SingleResourceSimulationResult,
} from '@cloud-copilot/iam-simulate';
import type { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { consumerStack, fullProps } from './stacks';
import type { PrePostScriptBackupProps } from '../../src';
import { type CfnTemplate, resolveTokens, type TokenOverrides } from '../simulator/asl';

export const PARTITION = 'aws';
export const ACCOUNT = '123456789012';
export const REGION = 'eu-west-1';
/** An account that is not the stack's. */
export const OTHER_ACCOUNT = '210987654321';

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
  Version: string;
  Statement: PolicyStatement[];
}

export interface NamedPolicy {
  /** The logical id of the policy resource (or `<role>/<inline name>`). */
  readonly name: string;
  readonly policy: PolicyDocument;
}

export interface SynthesizedRole {
  readonly logicalId: string;
  readonly arn: string;
  /** The ARN its sessions call with (as a Lambda function or Step Functions does). */
  readonly sessionArn: string;
  readonly policies: NamedPolicy[];
  /** AWS managed (or otherwise external) policy ARNs: these cannot be evaluated here. */
  readonly managedPolicyArns: string[];
}

export interface SynthesizedFunction {
  readonly logicalId: string;
  readonly arn: string;
  readonly roleLogicalId: string;
}

export interface SynthesizedIam {
  readonly template: CfnTemplate;
  readonly roles: Record<string, SynthesizedRole>;
  readonly functions: SynthesizedFunction[];
  readonly backupVaultArn: string;
  readonly backupRoleArn: string;
  readonly auditTableArn: string;
  readonly eventBusArn: string;
  /** Every EventBusPolicy statement on the construct's bus, as one resource policy. */
  readonly eventBusPolicy: PolicyDocument;
  readonly stateMachineArn: string;
  readonly stateMachineRole: SynthesizedRole;
  /** The role of the construct's handler `<id>` (StopInstance, SendScript, ...). */
  handlerRole(id: string): SynthesizedRole;
}

const arn = (service: string, region: string, account: string, rest: string) =>
  `arn:${PARTITION}:${service}:${region}:${account}:${rest}`;

/** The physical name CloudFormation would use: the named property when the template sets it, else the logical id. */
function physicalName(res: { Properties?: Record<string, unknown> }, prop: string, logicalId: string): string {
  const v = res.Properties?.[prop];
  return typeof v === 'string' ? v : logicalId;
}

/**
 * Concrete values for Ref / Fn::GetAtt of every resource whose ARN an IAM policy may mention, in the stack's
 * region and account (the shared resolver's defaults are the workflow simulator's, another region).
 */
export function iamTokenOverrides(template: CfnTemplate): TokenOverrides {
  const o: TokenOverrides = {
    'AWS::Partition': { Ref: PARTITION },
    'AWS::Region': { Ref: REGION },
    'AWS::AccountId': { Ref: ACCOUNT },
    'AWS::URLSuffix': { Ref: 'amazonaws.com' },
  };
  for (const [id, res] of Object.entries(template.Resources ?? {})) {
    const name = (prop: string) => physicalName(res, prop, id);
    switch (res.Type) {
      case 'AWS::Lambda::Function':
        o[id] = { Ref: name('FunctionName'), Arn: arn('lambda', REGION, ACCOUNT, `function:${name('FunctionName')}`) };
        break;
      case 'AWS::IAM::Role':
        o[id] = { Ref: name('RoleName'), Arn: arn('iam', '', ACCOUNT, `role/${name('RoleName')}`), RoleId: `AROA${id.toUpperCase().slice(0, 17)}` };
        break;
      case 'AWS::DynamoDB::Table':
        o[id] = { Ref: name('TableName'), Arn: arn('dynamodb', REGION, ACCOUNT, `table/${name('TableName')}`) };
        break;
      case 'AWS::Backup::BackupVault':
        o[id] = {
          Ref: name('BackupVaultName'),
          BackupVaultName: name('BackupVaultName'),
          BackupVaultArn: arn('backup', REGION, ACCOUNT, `backup-vault:${name('BackupVaultName')}`),
        };
        break;
      case 'AWS::Events::EventBus':
        o[id] = { Ref: name('Name'), Name: name('Name'), Arn: arn('events', REGION, ACCOUNT, `event-bus/${name('Name')}`) };
        break;
      case 'AWS::Events::Rule':
        o[id] = { Ref: name('Name'), Arn: arn('events', REGION, ACCOUNT, `rule/${name('Name')}`) };
        break;
      case 'AWS::StepFunctions::StateMachine': {
        const sm = arn('states', REGION, ACCOUNT, `stateMachine:${name('StateMachineName')}`);
        o[id] = { Ref: sm, Arn: sm, Name: name('StateMachineName') };
        break;
      }
      case 'AWS::Logs::LogGroup':
        o[id] = { Ref: name('LogGroupName'), Arn: arn('logs', REGION, ACCOUNT, `log-group:${name('LogGroupName')}:*`) };
        break;
      case 'AWS::KMS::Key': {
        const keyId = `00000000-0000-4000-8000-${id.replace(/[^0-9A-F]/g, '').padEnd(12, '0').slice(0, 12).toLowerCase()}`;
        o[id] = { Ref: keyId, KeyId: keyId, Arn: arn('kms', REGION, ACCOUNT, `key/${keyId}`) };
        break;
      }
      case 'AWS::SQS::Queue':
        o[id] = {
          Ref: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT}/${name('QueueName')}`,
          QueueName: name('QueueName'),
          Arn: arn('sqs', REGION, ACCOUNT, name('QueueName')),
        };
        break;
      case 'AWS::SNS::Topic': {
        const topic = arn('sns', REGION, ACCOUNT, name('TopicName'));
        o[id] = { Ref: topic, TopicArn: topic, TopicName: name('TopicName') };
        break;
      }
      case 'AWS::S3::Bucket': {
        const bucket = name('BucketName').toLowerCase();
        o[id] = { Ref: bucket, Arn: `arn:${PARTITION}:s3:::${bucket}` };
        break;
      }
      default:
        break;
    }
  }
  return o;
}

function asList<T>(v: T | T[] | undefined): T[] {
  if (v === undefined) return [];
  return Array.isArray(v) ? v : [v];
}

/** Every string in a value that looks like an ARN. */
function arnsIn(value: unknown): string[] {
  return JSON.stringify(value).match(/arn:[^"]*/g) ?? [];
}

/**
 * Synthesize a consumer stack (every option on unless `props` says otherwise) and resolve its IAM.
 * Throws when a token cannot be resolved or a resolved ARN is not concrete (other region, leftover token).
 */
export function synthesizeIam(
  props: PrePostScriptBackupProps | ((stack: Stack) => PrePostScriptBackupProps) = fullProps(),
): SynthesizedIam {
  const template = Template.fromStack(consumerStack(props).stack).toJSON() as CfnTemplate;
  const overrides = iamTokenOverrides(template);
  const r = <T>(v: unknown): T => resolveTokens(v, template, { overrides }) as T;
  const resources = Object.entries(template.Resources ?? {});
  const ofType = (type: string) => resources.filter(([, res]) => res.Type === type);

  const roles: Record<string, SynthesizedRole> = {};
  for (const [id, res] of ofType('AWS::IAM::Role')) {
    const roleArn = overrides[id].Arn;
    roles[id] = {
      logicalId: id,
      arn: roleArn,
      sessionArn: `arn:${PARTITION}:sts::${ACCOUNT}:assumed-role/${overrides[id].Ref}/session`,
      policies: asList<{ PolicyName: unknown; PolicyDocument: unknown }>(res.Properties?.Policies).map(p => ({
        name: `${id}/${r<string>(p.PolicyName)}`,
        policy: normalize(r<PolicyDocument>(p.PolicyDocument)),
      })),
      managedPolicyArns: asList(res.Properties?.ManagedPolicyArns).map(a => r<string>(a)),
    };
  }
  const roleOf = (ref: unknown): string => {
    const id = (ref as { Ref?: string }).Ref;
    if (!id || !roles[id]) throw new Error(`not a Ref to a role of the template: ${JSON.stringify(ref)}`);
    return id;
  };
  for (const [id, res] of [...ofType('AWS::IAM::Policy'), ...ofType('AWS::IAM::ManagedPolicy')]) {
    const policy = normalize(r<PolicyDocument>(res.Properties?.PolicyDocument));
    for (const ref of asList(res.Properties?.Roles)) {
      const roleId = roleOf(ref);
      (roles[roleId].policies as NamedPolicy[]).push({ name: id, policy });
    }
  }

  const functions: SynthesizedFunction[] = ofType('AWS::Lambda::Function').map(([id, res]) => {
    const roleRef = res.Properties?.Role as { 'Fn::GetAtt'?: [string, string] };
    const roleId = roleRef?.['Fn::GetAtt']?.[0];
    if (!roleId || !roles[roleId]) throw new Error(`function ${id}: role is not a role of the template`);
    return { logicalId: id, arn: overrides[id].Arn, roleLogicalId: roleId };
  });

  const single = (type: string, pattern: RegExp): string => {
    const found = ofType(type).filter(([id]) => pattern.test(id));
    if (found.length !== 1) throw new Error(`expected one ${type} matching ${pattern}, found ${found.map(([id]) => id).join(', ') || 'none'}`);
    return found[0][0];
  };
  const vaultId = single('AWS::Backup::BackupVault', /^AppBackup/);
  const backupRoleId = single('AWS::IAM::Role', /^AppBackupBackupRole/);
  const tableId = single('AWS::DynamoDB::Table', /^AppBackupAuditTable/);
  const busId = single('AWS::Events::EventBus', /^AppBackupTriggersEventBus/);
  const stateMachineId = single('AWS::StepFunctions::StateMachine', /^AppBackupStateMachine/);

  const busStatements = ofType('AWS::Events::EventBusPolicy')
    .filter(([, res]) => (res.Properties?.EventBusName as { Ref?: string })?.Ref === busId)
    .flatMap(([, res]) => {
      if (res.Properties?.Statement === undefined) {
        throw new Error('an EventBusPolicy without Statement (the legacy Principal/Action form) is not evaluated here');
      }
      return asList(r<PolicyStatement>(res.Properties.Statement));
    });

  const iam: SynthesizedIam = {
    template,
    roles,
    functions,
    backupVaultArn: overrides[vaultId].BackupVaultArn,
    backupRoleArn: overrides[backupRoleId].Arn,
    auditTableArn: overrides[tableId].Arn,
    eventBusArn: overrides[busId].Arn,
    eventBusPolicy: { Version: '2012-10-17', Statement: busStatements },
    stateMachineArn: overrides[stateMachineId].Arn,
    stateMachineRole: roles[roleOf({ Ref: (template.Resources![stateMachineId].Properties?.RoleArn as any)['Fn::GetAtt'][0] })],
    handlerRole(id: string): SynthesizedRole {
      const fns = functions.filter(f => new RegExp(`^AppBackupHandlers${id}[0-9A-F]{8}$`).test(f.logicalId));
      if (fns.length !== 1) throw new Error(`expected one handler ${id}, found ${fns.length}`);
      return roles[fns[0].roleLogicalId];
    },
  };

  // Every ARN in every policy is concrete and in this stack's partition, region (or none) and account (or none).
  const policies = [...Object.values(roles).flatMap(role => role.policies.map(p => p.policy)), iam.eventBusPolicy];
  for (const a of arnsIn(policies)) {
    const [, partition, service, region, account] = a.split(':');
    // Issue 15: an SSM document shared from another account is granted by its owner's ARN (BackupScript.fromSsmDocument).
    const sharedDocument = service === 'ssm' && account === OTHER_ACCOUNT && a.includes(':document/');
    if (partition !== PARTITION || !['', REGION].includes(region) || !(['', ACCOUNT, 'aws'].includes(account) || sharedDocument) || /[{}]/.test(a)) {
      throw new Error(`resolved policy holds an ARN outside the stack's partition, region and account: ${a}`);
    }
  }
  return iam;
}

/** Statement fields as lists, so tests can widen a copy without caring about the single-value form. */
function normalize(doc: PolicyDocument): PolicyDocument {
  return { Version: doc.Version, Statement: asList(doc.Statement as PolicyStatement | PolicyStatement[]) };
}

// ------------------------------------------------------------------------------------------------- requests

/** A resource of a request: its ARN, its account and the context keys AWS derives from it (tags...). */
export interface RequestResource {
  readonly arn: string;
  readonly account: string;
  readonly context?: Record<string, string | string[]>;
  /**
   * An ARN with an empty account field (an AWS-owned SSM document). iam-simulate's validation matches ARNs
   * against resource-type patterns that need a non-empty account, so it rejects these with
   * `no.resource.types`: the request is validated with the account filled in, then evaluated unvalidated.
   */
  readonly emptyAccountArn?: boolean;
}

/** An EC2 instance; `tags` become `aws:ResourceTag/<key>` and `ec2:ResourceTag/<key>`, as AWS sets them. */
export function ec2Instance(options: { tags?: Record<string, string>; account?: string; region?: string; id?: string } = {}): RequestResource {
  const account = options.account ?? ACCOUNT;
  const context: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.tags ?? {})) {
    context[`aws:ResourceTag/${k}`] = v;
    context[`ec2:ResourceTag/${k}`] = v;
  }
  return {
    arn: arn('ec2', options.region ?? REGION, account, `instance/${options.id ?? 'i-0123456789abcdef0'}`),
    account,
    context,
  };
}

/** The same instance as an SSM SendCommand target: SSM's own alias of the tag key is `ssm:resourceTag/<key>`. */
export function ssmTargetInstance(options: { tags?: Record<string, string>; account?: string } = {}): RequestResource {
  const instance = ec2Instance(options);
  const context: Record<string, string> = {};
  for (const [k, v] of Object.entries(options.tags ?? {})) {
    context[`aws:ResourceTag/${k}`] = v;
    context[`ssm:resourceTag/${k}`] = v;
  }
  return { ...instance, context };
}

/** An SSM document; AWS-owned documents (no `account`) have an empty account field in their ARN. */
export function ssmDocument(name: string, account = ''): RequestResource {
  return { arn: arn('ssm', REGION, account, `document/${name}`), account: account || ACCOUNT, emptyAccountArn: account === '' };
}

export interface Request {
  readonly principal: string;
  readonly action: string;
  readonly resource: RequestResource;
  /** Request context besides the resource's own (iam:PassedToService...). */
  readonly context?: Record<string, string | string[]>;
  readonly identityPolicies: NamedPolicy[];
  readonly resourcePolicy?: PolicyDocument;
}

export interface Decision {
  /** The final decision: 'Allowed', 'ExplicitlyDenied' or 'ImplicitlyDenied'. */
  readonly result: string;
  /** The decision of the identity policies alone. */
  readonly identity?: string;
  /** The decision of the resource policy alone, when there is one. */
  readonly resource?: string;
  readonly sameAccount: boolean;
}

/**
 * Evaluate one request. Throws when the simulator rejects the input (an unknown action, a resource ARN of
 * the wrong type, an invalid policy) or drops a context key the test supplied.
 */
export async function evaluate(request: Request): Promise<Decision> {
  if (request.resource.emptyAccountArn) {
    return evaluateEmptyAccountArn(request);
  }
  const response = await runSimulation(simulationOf(request, request.resource.arn), { simulationMode: 'Strict' });
  const single = checked(request, response);
  const analysis = single.result.analysis;
  return {
    result: single.overallResult,
    identity: analysis.identityAnalysis?.result,
    resource: analysis.resourceAnalysis?.result,
    sameAccount: analysis.sameAccount,
  };
}

/** Validate the request with the resource's account filled in, then evaluate the real ARN without validation. */
async function evaluateEmptyAccountArn(request: Request): Promise<Decision> {
  const parts = request.resource.arn.split(':');
  if (parts[4] !== '') throw new Error(`emptyAccountArn: ${request.resource.arn} has an account`);
  const stand = [...parts.slice(0, 4), request.resource.account, ...parts.slice(5)].join(':');
  checked(request, await runSimulation(simulationOf(request, stand), { simulationMode: 'Strict' }));
  const result = runUnsafeSimulation(simulationOf(request, request.resource.arn), { simulationMode: 'Strict' });
  return { result, sameAccount: request.resource.account === request.principal.split(':')[4] };
}

function simulationOf(request: Request, resourceArn: string): Simulation {
  return {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: resourceArn, accountId: request.resource.account },
      contextVariables: { ...request.resource.context, ...request.context },
    },
    identityPolicies: request.identityPolicies.map(p => ({ name: p.name, policy: p.policy })),
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: request.resourcePolicy,
  };
}

/** The single-resource result of a simulation; throws on a validation error, a wildcard run or a dropped context key. */
function checked(request: Request, response: RunSimulationResults): SingleResourceSimulationResult {
  const what = `${request.action} on ${request.resource.arn} by ${request.principal}`;
  if (response.resultType === 'error') {
    throw new Error(`iam-simulate rejected ${what}: ${JSON.stringify(response.errors)}`);
  }
  if (response.resultType !== 'single') {
    throw new Error(`iam-simulate ran a wildcard simulation for ${what}; requests here name one resource`);
  }
  const ignored = response.result.ignoredContextKeys ?? [];
  if (ignored.length > 0) {
    throw new Error(`iam-simulate ignored context keys ${ignored.join(', ')} of ${what}: they do not apply to the action`);
  }
  return response;
}

/** The decision of a role's own policies on a request. */
export function evaluateAsRole(
  role: SynthesizedRole,
  action: string,
  resource: RequestResource,
  context: Record<string, string | string[]> = {},
  policies: NamedPolicy[] = role.policies,
): Promise<Decision> {
  return evaluate({ principal: role.sessionArn, action, resource, context, identityPolicies: policies });
}

// ------------------------------------------------------------------------------------------------ widening

/** A deep copy of policies in which `change` rewrote the statements `select` picks; throws when it picks none. */
export function widened(
  policies: NamedPolicy[],
  select: (s: PolicyStatement) => boolean,
  change: (s: PolicyStatement) => PolicyStatement,
): NamedPolicy[] {
  let changed = 0;
  const copy = policies.map(p => ({
    name: p.name,
    policy: {
      ...p.policy,
      Statement: p.policy.Statement.map(s => {
        const clone = JSON.parse(JSON.stringify(s)) as PolicyStatement;
        if (!select(clone)) return clone;
        changed++;
        return change(clone);
      }),
    },
  }));
  if (changed === 0) throw new Error('widened: no statement selected; the test would prove nothing');
  return copy;
}

/** Whether a statement names an action (exactly). */
export const hasAction = (action: string) => (s: PolicyStatement) => asList(s.Action).includes(action);
/** Whether a statement has a Sid. */
export const hasSid = (sid: string) => (s: PolicyStatement) => s.Sid === sid;
/** A statement without its Condition. */
export const withoutCondition = (s: PolicyStatement): PolicyStatement => {
  const { Condition: _dropped, ...rest } = s;
  return rest;
};
