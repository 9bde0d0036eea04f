import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AcquireLeaseFunction } from './acquire-lease/acquire-lease-function';
import { CheckAgentFunction } from './check-agent/check-agent-function';
import { DescribeBackupJobFunction } from './describe-backup-job/describe-backup-job-function';
import { DescribeCopyJobFunction } from './describe-copy-job/describe-copy-job-function';
import { DiscoverInstancesFunction } from './discover-instances/discover-instances-function';
import { FindUnfinishedFunction } from './find-unfinished/find-unfinished-function';
import { GetScriptStatusFunction } from './get-script-status/get-script-status-function';
import { InspectChainFunction } from './inspect-chain/inspect-chain-function';
import { RecordInstanceFunction } from './record-instance/record-instance-function';
import { RecordPageFunction } from './record-page/record-page-function';
import { RecordRecoveredFunction } from './record-recovered/record-recovered-function';
import { RecordRunFunction } from './record-run/record-run-function';
import { ReleaseLeaseFunction } from './release-lease/release-lease-function';
import { ResumeWaitFunction } from './resume-wait/resume-wait-function';
import { SendScriptFunction } from './send-script/send-script-function';
import { StartBackupJobFunction } from './start-backup-job/start-backup-job-function';
import { StartCopyJobFunction } from './start-copy-job/start-copy-job-function';
import { StartInstanceFunction } from './start-instance/start-instance-function';
import { StopInstanceFunction } from './stop-instance/stop-instance-function';
import { ValidateInputFunction } from './validate-input/validate-input-function';
import { JOURNAL_KEY_PREFIX, LEASE_KEY_PREFIX, PAGE_MANIFEST_KEY_PREFIX, WAIT_KEY_PREFIX } from '../contract/audit-schema';
import { FIXED_POLL_SECONDS_ENV } from '../contract/poll';
import { ConstructSettings } from '../contract/settings';
import { KEY_USE_ACTIONS } from '../security/encryption-key';
import { addNagSuppressions, suppress } from '../security/nag-suppressions';
import { CheckovSkip, FUNCTION_DEPENDS_ON, ignoreCfnLint, skipCheckov } from '../security/scanner-skips';
import { WorkflowFunctions } from '../workflow/functions';

/** The SSM document every script runs through. */
export const SCRIPT_DOCUMENT_NAME = 'AWS-RunRemoteScript';

export interface WorkflowHandlersProps {
  /** What validate-input checks execution input against. */
  readonly settings: ConstructSettings;
  readonly tagKey: string;
  readonly tagValue: string;
  readonly auditTable: dynamodb.ITable;
  readonly auditRunIndexName: string;
  /** Days after which audit items expire; 0 keeps them. */
  readonly auditRetentionDays: number;
  readonly backupVault: backup.IBackupVault;
  readonly backupRole: iam.IRole;
  readonly logRetention: logs.RetentionDays;
  /** Encrypts the functions' log groups. */
  readonly logsKey: kms.IKey;
  /**
   * The customer-managed key of the construct (`encryptionKey`): encrypts the functions' environment variables, and
   * the roles get to use it for the audit table and the dead-letter queue it encrypts.
   * @default - the AWS managed keys of Lambda, DynamoDB and SQS
   */
  readonly encryptionKey?: kms.IKey;
  /** The vault recovery points are copied to. @default - no copies */
  readonly copyVault?: backup.IBackupVault;
  /** The bucket scripts write their output to. @default - none */
  readonly scriptOutputBucket?: s3.IBucket;
  /** Runs the functions in this VPC. @default - no VPC */
  readonly vpc?: ec2.IVpc;
  /** @default - the VPC's private subnets */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Whether the steps that wait register task tokens (src/contract/waits.ts) instead of being polled. */
  readonly waitOnEvents: boolean;
  /** Fixed poll intervals for every handler (FIXED_POLL_SECONDS; the benchmark's baseline). @default - none */
  readonly fixedPollSeconds?: string;
}

type FunctionFactory = new (scope: Construct, id: string, props: lambda.FunctionOptions) => lambda.Function;

/**
 * The workflow's Lambda functions, each with its own role that allows exactly the calls its job needs.
 */
export class WorkflowHandlers extends Construct implements WorkflowFunctions {
  public readonly validateInput: lambda.IFunction;
  public readonly acquireLease: lambda.IFunction;
  public readonly releaseLease: lambda.IFunction;
  public readonly discoverInstances: lambda.IFunction;
  public readonly checkAgent: lambda.IFunction;
  public readonly sendScript: lambda.IFunction;
  public readonly getScriptStatus?: lambda.IFunction;
  public readonly stopInstance: lambda.IFunction;
  public readonly startInstance: lambda.IFunction;
  public readonly startBackupJob: lambda.IFunction;
  public readonly describeBackupJob?: lambda.IFunction;
  public readonly startCopyJob?: lambda.IFunction;
  public readonly describeCopyJob?: lambda.IFunction;
  public readonly recordInstance: lambda.IFunction;
  public readonly recordPage: lambda.IFunction;
  public readonly recordRun: lambda.IFunction;
  public readonly findUnfinished: lambda.IFunction;
  public readonly inspectChain: lambda.IFunction;
  public readonly recordRecovered: lambda.IFunction;

  /** Every function, for metrics and alarms. */
  public readonly all: lambda.IFunction[] = [];
  /** The functions that answer waiting Tasks (with the waits on events). */
  private readonly answering: iam.IRole[] = [];
  private readonly waitItemsOnly: (sid: string, actions: string[]) => iam.PolicyStatement;

  constructor(scope: Construct, id: string, private readonly props: WorkflowHandlersProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const instanceArns = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' });
    const taggedInstance = { StringEquals: { [`aws:ResourceTag/${props.tagKey}`]: props.tagValue } };
    const audit = {
      AUDIT_TABLE_NAME: props.auditTable.tableName,
      AUDIT_RUN_INDEX_NAME: props.auditRunIndexName,
      AUDIT_RETENTION_DAYS: String(props.auditRetentionDays),
    };

    this.validateInput = this.handler('ValidateInput', ValidateInputFunction, {
      SETTINGS: stack.toJsonString(props.settings),
    }, []);

    // The lease handlers touch lease items only (keys LEASE#<instance id>), never an audit record.
    const leaseItemsOnly = (sid: string, actions: string[]) => new iam.PolicyStatement({
      sid,
      actions,
      resources: [props.auditTable.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${LEASE_KEY_PREFIX}*`] } },
    });
    const leaseEnvironment = { AUDIT_TABLE_NAME: props.auditTable.tableName };
    this.acquireLease = this.handler('AcquireLease', AcquireLeaseFunction, leaseEnvironment, [
      leaseItemsOnly('TakeOrReadInstanceLeasesOnly', ['dynamodb:PutItem', 'dynamodb:GetItem']),
    ]);
    this.releaseLease = this.handler('ReleaseLease', ReleaseLeaseFunction, leaseEnvironment, [
      leaseItemsOnly('ReleaseInstanceLeasesOnly', ['dynamodb:DeleteItem']),
    ]);

    // With the waits on events, the steps that wait register their task token under WAIT#<kind>#<resource>: those
    // items only (the same key restriction as the leases).
    const waitItemsOnly = (sid: string, actions: string[]) => new iam.PolicyStatement({
      sid,
      actions,
      resources: [props.auditTable.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${WAIT_KEY_PREFIX}*`] } },
    });
    const registering = props.waitOnEvents
      ? [waitItemsOnly('RegisterWaitingTasksOnly', ['dynamodb:UpdateItem', 'dynamodb:PutItem', 'dynamodb:DeleteItem'])] : [];
    this.waitItemsOnly = waitItemsOnly;

    // The steps that act on an instance (send a script, stop, start, start a backup or copy job) journal each action
    // before doing it and the id AWS answered (src/lambda-shared/journal.ts, docs/workflow.md): JOURNAL#<run>#<instance>
    // items only, in both wait modes.
    const journaling = [new iam.PolicyStatement({
      sid: 'JournalThisRunsActionsOnly',
      actions: ['dynamodb:UpdateItem', 'dynamodb:GetItem'],
      resources: [props.auditTable.tableArn],
      conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${JOURNAL_KEY_PREFIX}*`] } },
    })];
    const actingEnvironment: { [key: string]: string } = { AUDIT_TABLE_NAME: props.auditTable.tableName };

    this.discoverInstances = this.handler('DiscoverInstances', DiscoverInstancesFunction, {}, [
      unscoped(['ec2:DescribeInstances', 'ssm:DescribeInstanceInformation']),
    ]);

    this.checkAgent = this.handler('CheckAgent', CheckAgentFunction, {}, [
      unscoped(['ssm:DescribeInstanceInformation']),
    ]);

    this.sendScript = this.handler('SendScript', SendScriptFunction, actingEnvironment, [
      ...journaling,
      ...registering,
      new iam.PolicyStatement({
        sid: 'RunTheScriptDocument',
        actions: ['ssm:SendCommand'],
        resources: [stack.formatArn({ service: 'ssm', account: '', resource: 'document', resourceName: SCRIPT_DOCUMENT_NAME })],
      }),
      new iam.PolicyStatement({
        sid: 'OnTaggedInstancesOnly',
        actions: ['ssm:SendCommand'],
        resources: [instanceArns],
        conditions: taggedInstance,
      }),
      // SendCommand names the output bucket as a resource of its own when the command writes there.
      ...(props.scriptOutputBucket ? [new iam.PolicyStatement({
        sid: 'WriteOutputToTheOutputBucket',
        actions: ['ssm:SendCommand'],
        resources: [props.scriptOutputBucket.bucketArn],
      })] : []),
      // ListCommandInvocations: the invocation's status with its steps (src/lambda-shared/script-status.ts), and finding a
      // command whose SendCommand answer was lost. Waiting on events, send-script looks at the invocation itself once
      // registered (and cancels it at the bound). Neither action supports resource-level permissions.
      unscoped(props.waitOnEvents ? ['ssm:ListCommandInvocations', 'ssm:CancelCommand'] : ['ssm:ListCommandInvocations']),
    ]);

    // The polling looks exist only when the waits are polled; waiting on events, the starting handler looks itself.
    if (!props.waitOnEvents) {
      this.getScriptStatus = this.handler('GetScriptStatus', GetScriptStatusFunction, {}, [
        // Neither action supports resource-level permissions; a command id is only known to its sender.
        unscoped(['ssm:ListCommandInvocations', 'ssm:CancelCommand']),
      ]);
    }

    this.stopInstance = this.handler('StopInstance', StopInstanceFunction, actingEnvironment, [
      ...journaling,
      ...registering,
      unscoped(['ec2:DescribeInstances']),
      new iam.PolicyStatement({
        sid: 'StopTaggedInstancesOnly',
        actions: ['ec2:StopInstances'],
        resources: [instanceArns],
        conditions: taggedInstance,
      }),
    ]);

    this.startInstance = this.handler('StartInstance', StartInstanceFunction, actingEnvironment, [
      ...journaling,
      ...registering,
      unscoped(['ec2:DescribeInstances']),
      new iam.PolicyStatement({
        sid: 'StartTaggedInstancesOnly',
        actions: ['ec2:StartInstances'],
        resources: [instanceArns],
        conditions: taggedInstance,
      }),
    ]);

    this.startBackupJob = this.handler('StartBackupJob', StartBackupJobFunction, actingEnvironment, [
      ...journaling,
      ...registering,
      ...(props.waitOnEvents ? [unscoped(['backup:DescribeBackupJob'])] : []),
      // Recovering the job of a start whose answer was lost (src/lambda-shared/job-start.ts): ListBackupJobs supports no
      // resource-level permission (Service Authorization Reference, AWS Backup: no resource type), hence '*'.
      unscoped(['backup:ListBackupJobs']),
      new iam.PolicyStatement({
        sid: 'BackUpIntoTheVault',
        actions: ['backup:StartBackupJob'],
        resources: [props.backupVault.backupVaultArn],
      }),
      passBackupRole(props.backupRole),
    ]);

    if (!props.waitOnEvents) {
      this.describeBackupJob = this.handler('DescribeBackupJob', DescribeBackupJobFunction, {}, [
        unscoped(['backup:DescribeBackupJob']),
      ]);
    }

    if (props.copyVault) {
      this.startCopyJob = this.handler('StartCopyJob', StartCopyJobFunction, actingEnvironment, [
        ...journaling,
        ...registering,
        ...(props.waitOnEvents ? [unscoped(['backup:DescribeCopyJob'])] : []),
        // Recovering the copy job of a start whose answer was lost: ListCopyJobs has no resource type either, hence '*'.
        unscoped(['backup:ListCopyJobs']),
        new iam.PolicyStatement({
          sid: 'CopyRecoveryPointsOfThisAccount',
          actions: ['backup:StartCopyJob'],
          // EC2 recovery points are AMIs; AWS Backup names other recovery points in its own ARN format.
          resources: [
            stack.formatArn({ service: 'ec2', account: '', resource: 'image', resourceName: '*' }),
            stack.formatArn({ service: 'backup', resource: 'recovery-point', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
          ],
        }),
        passBackupRole(props.backupRole),
      ]);
      if (!props.waitOnEvents) {
        this.describeCopyJob = this.handler('DescribeCopyJob', DescribeCopyJobFunction, {}, [
          unscoped(['backup:DescribeCopyJob']),
        ]);
      }
    }

    if (props.waitOnEvents) {
      for (const fn of [this.sendScript, this.stopInstance, this.startInstance, this.startBackupJob, this.startCopyJob]) {
        if (fn?.role) {
          this.answering.push(fn.role);
        }
      }
    }

    this.recordInstance = this.handler('RecordInstance', RecordInstanceFunction, audit, [
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem'],
        resources: [props.auditTable.tableArn],
      }),
    ]);

    // Writes the entries a chain could not write itself and reads the others back (consistent reads).
    this.recordPage = this.handler('RecordPage', RecordPageFunction, audit, [
      new iam.PolicyStatement({
        actions: ['dynamodb:BatchWriteItem', 'dynamodb:BatchGetItem'],
        resources: [props.auditTable.tableArn],
      }),
    ]);

    ({ findUnfinished: this.findUnfinished, inspectChain: this.inspectChain, recordRecovered: this.recordRecovered } = this.recoveryHandlers(audit));

    this.recordRun = this.handler('RecordRun', RecordRunFunction, { ...audit, EMIT_METRICS: 'true' }, [
      new iam.PolicyStatement({
        actions: ['dynamodb:PutItem'],
        resources: [props.auditTable.tableArn],
      }),
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${props.auditTable.tableArn}/index/${props.auditRunIndexName}`],
      }),
    ]);
  }

  /**
   * Recovering the instances whose chain died (docs/workflow.md, "Recovering a chain that died"): find them after each
   * page's Map, look at what the run did to each (its journal, the resources it names), write its entry. The recovery's
   * own start and post-script go through start-instance and send-script, with their tag-conditioned permissions.
   */
  private recoveryHandlers(audit: { [key: string]: string }): Pick<WorkflowFunctions, 'findUnfinished' | 'inspectChain' | 'recordRecovered'> {
    const table = this.props.auditTable.tableArn;
    const findUnfinished = this.handler('FindUnfinished', FindUnfinishedFunction, audit, [
      new iam.PolicyStatement({
        sid: 'ReadAndExpirePageManifestsOnly',
        actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
        resources: [table],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${PAGE_MANIFEST_KEY_PREFIX}*`] } },
      }),
      // Whether each instance of the page has its item (keys: the execution ARN and the instance id), as record-page reads them.
      new iam.PolicyStatement({ sid: 'ReadInstanceItems', actions: ['dynamodb:BatchGetItem'], resources: [table] }),
    ]);
    const inspectChain = this.handler('InspectChain', InspectChainFunction, { AUDIT_TABLE_NAME: this.props.auditTable.tableName }, [
      new iam.PolicyStatement({
        sid: 'ReadTheRunsJournalOnly',
        actions: ['dynamodb:GetItem'],
        resources: [table],
        conditions: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${JOURNAL_KEY_PREFIX}*`] } },
      }),
      // Describe / get calls: these actions support no resource-level permissions (a command or job id is the scope).
      unscoped(['ec2:DescribeInstances', 'ssm:ListCommandInvocations', 'backup:DescribeBackupJob',
        ...(this.props.copyVault ? ['backup:DescribeCopyJob'] : [])]),
    ]);
    const recordRecovered = this.handler('RecordRecovered', RecordRecoveredFunction, audit, [
      new iam.PolicyStatement({ actions: ['dynamodb:PutItem'], resources: [table] }),
    ]);
    return { findUnfinished, inspectChain, recordRecovered };
  }

  /**
   * With the waits on events: resume-wait (invoked by the state-change rules, asynchronously, so failed events go to
   * `deadLetterQueue`) and the permission of every waiting step to answer the Tasks it holds tokens of.
   */
  public addResumeWait(deadLetterQueue: sqs.IQueue): lambda.IFunction {
    const resume = this.handler('ResumeWait', ResumeWaitFunction, { AUDIT_TABLE_NAME: this.props.auditTable.tableName }, [
      this.waitItemsOnly('FindAndClearWaitingTasksOnly', ['dynamodb:GetItem', 'dynamodb:DeleteItem']),
      // Describe calls (resource-level permissions are not supported by these actions).
      unscoped(['ec2:DescribeInstances', 'ssm:ListCommandInvocations', 'backup:DescribeBackupJob',
        ...(this.props.copyVault ? ['backup:DescribeCopyJob'] : [])]),
    ], deadLetterQueue);
    const roles = [...this.answering, resume.role!];
    const policy = new iam.Policy(this, 'AnswerWaitingTasks', {
      statements: [new iam.PolicyStatement({
        sid: 'AnswerWaitingTasks',
        actions: ['states:SendTaskSuccess'],
        // The Service Authorization Reference lists no resource type for SendTaskSuccess: IAM only accepts "*". The
        // task token is the capability: these functions only ever hold the tokens of this state machine's tasks.
        resources: ['*'],
      })],
      roles,
    });
    suppress(policy, [{
      id: 'AwsSolutions-IAM5',
      reason: 'states:SendTaskSuccess supports no resource-level permissions (Service Authorization Reference); the task token, which only this state machine hands these functions, is what scopes it.',
      appliesTo: ['Resource::*'],
    }]);
    return resume;
  }

  private handler(
    id: string,
    factory: FunctionFactory,
    environment: { [key: string]: string },
    statements: iam.PolicyStatement[],
    deadLetterQueue?: sqs.IQueue,
  ): lambda.IFunction {
    const logGroup = new logs.LogGroup(this, `${id}Logs`, {
      retention: this.props.logRetention,
      encryptionKey: this.props.logsKey,
    });
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Runs the ${id} step of the pre/post-script backup workflow`,
    });
    // Its own log group only, instead of the AWS managed basic execution policy.
    logGroup.grantWrite(role);
    for (const statement of statements) {
      role.addToPrincipalPolicy(statement);
    }
    const fn = new factory(this, id, {
      role,
      logGroup,
      timeout: Duration.seconds(60),
      memorySize: 256,
      environment: this.props.fixedPollSeconds ? { ...environment, [FIXED_POLL_SECONDS_ENV]: this.props.fixedPollSeconds } : environment,
      description: `pre/post-script backup: ${id}`,
      deadLetterQueue,
      vpc: this.props.vpc,
      vpcSubnets: this.props.vpc ? this.props.vpcSubnets : undefined,
      environmentEncryption: this.props.encryptionKey,
    });
    const key = this.props.encryptionKey;
    if (key) {
      // The audit table and the dead-letter queue are encrypted with the key: DynamoDB and SQS use it with the
      // caller's permissions. Lambda decrypts the environment when the function starts: kms:Decrypt for every role
      // (the Lambda guide does not say that its own grant suffices, so the role has it too).
      const table = this.props.auditTable.tableArn;
      const usesTable = statements.some(s => s.resources.some(r => r.startsWith(table)));
      key.grant(role, ...(usesTable || deadLetterQueue ? KEY_USE_ACTIONS : ['kms:Decrypt']));
    }
    // The role's policy must exist before the function can be invoked by the workflow.
    fn.node.addDependency(role);
    ignoreCfnLint(fn, 'W3005', FUNCTION_DEPENDS_ON);
    addNagSuppressions(role, statements);
    suppressFunctionFindings(fn, this.props.vpc !== undefined, deadLetterQueue !== undefined);
    explainFunctionFindings(fn, this.props.vpc !== undefined, deadLetterQueue !== undefined, key !== undefined);
    if (this.props.vpc) {
      // Lambda adds AWS's policy for managing the function's network interfaces to the role.
      suppress(role, [{
        id: 'AwsSolutions-IAM4',
        reason: 'AWSLambdaVPCAccessExecutionRole is what Lambda needs to manage the network interfaces of a function in a VPC; AWS maintains it.',
        appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole'],
      }]);
    }
    this.all.push(fn);
    return fn;
  }
}

/** Starting a backup or copy job passes the backup role: that role only, and only to AWS Backup. */
function passBackupRole(backupRole: iam.IRole): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'PassTheBackupRoleToAwsBackupOnly',
    actions: ['iam:PassRole'],
    resources: [backupRole.roleArn],
    conditions: { StringEquals: { 'iam:PassedToService': 'backup.amazonaws.com' } },
  });
}

/** Actions IAM only accepts on `*` (describe/list calls and command-id based calls). */
function unscoped(actions: string[]): iam.PolicyStatement {
  return new iam.PolicyStatement({ actions, resources: ['*'] });
}

/** Findings of the compliance packs that do not apply to the workflow's functions. */
function suppressFunctionFindings(fn: lambda.Function, inVpc: boolean, hasDeadLetterQueue: boolean): void {
  const reasons: [string, string][] = [
    ['LambdaConcurrency', 'Concurrency is bounded by the state machine (maxConcurrency instances at a time) and, for resume-wait, by the state changes of the account; a reservation would take capacity from the account pool and could fail deployment in small accounts.'],
  ];
  if (!hasDeadLetterQueue) {
    reasons.push(['LambdaDLQ', 'Step Functions invokes the function synchronously and catches every error; a dead-letter queue only applies to asynchronous invocations.']);
  }
  if (!inVpc) {
    reasons.push(['LambdaInsideVPC', 'The function calls only AWS APIs and reaches no network resource; set the vpc prop to run it in a VPC of yours.']);
  }
  suppress(fn, reasons.flatMap(([rule, reason]) => [
    { id: `NIST.800.53.R5-${rule}`, reason },
    { id: `HIPAA.Security-${rule}`, reason },
  ]));
}

/**
 * checkov's findings on the workflow's functions that do not apply, each with its reason (README, "Explained
 * findings"). The environment and VPC skips are only added when the construct is configured without them.
 */
function explainFunctionFindings(fn: lambda.Function, inVpc: boolean, hasDeadLetterQueue: boolean, keyed: boolean): void {
  const skips: CheckovSkip[] = [{
    id: 'CKV_AWS_115',
    comment: 'Concurrency is bounded by the state machine (maxConcurrency instances at a time) and, for resume-wait, by the '
      + 'state changes of the account; a reservation would take capacity from the account pool and can fail deployment '
      + 'in small accounts.',
  }];
  if (!hasDeadLetterQueue) {
    skips.push({
      id: 'CKV_AWS_116',
      comment: 'Step Functions invokes the function synchronously and catches every error; a dead-letter queue only applies '
        + 'to asynchronous invocations.',
    });
  }
  if (!inVpc) {
    skips.push({
      id: 'CKV_AWS_117',
      comment: 'The function calls only AWS APIs and reaches no network resource; set the vpc prop to run it in a VPC of yours.',
    });
  }
  if (!keyed) {
    skips.push({
      id: 'CKV_AWS_173',
      comment: 'The environment holds no secret (resource names and settings) and Lambda encrypts it at rest with its AWS '
        + 'managed key; set encryptionKey to encrypt it with your own KMS key.',
    });
  }
  skipCheckov(fn, skips);
}
