import { Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AcquireLeaseFunction } from './acquire-lease/acquire-lease-function';
import { acquireLeaseGrants } from './acquire-lease/acquire-lease.grants';
import { CheckAgentFunction } from './check-agent/check-agent-function';
import { checkAgentGrants } from './check-agent/check-agent.grants';
import { DescribeBackupJobFunction } from './describe-backup-job/describe-backup-job-function';
import { describeBackupJobGrants } from './describe-backup-job/describe-backup-job.grants';
import { DescribeCopyJobFunction } from './describe-copy-job/describe-copy-job-function';
import { describeCopyJobGrants } from './describe-copy-job/describe-copy-job.grants';
import { DiscoverInstancesFunction } from './discover-instances/discover-instances-function';
import { discoverInstancesGrants } from './discover-instances/discover-instances.grants';
import { FindUnfinishedFunction } from './find-unfinished/find-unfinished-function';
import { findUnfinishedGrants } from './find-unfinished/find-unfinished.grants';
import { explainFunctionFindings, suppressFunctionFindings } from './function-findings';
import { GetScriptStatusFunction } from './get-script-status/get-script-status-function';
import { getScriptStatusGrants } from './get-script-status/get-script-status.grants';
import { FunctionGrants, GrantContext, GrantContextProps } from './grants';
import { InspectChainFunction } from './inspect-chain/inspect-chain-function';
import { inspectChainGrants } from './inspect-chain/inspect-chain.grants';
import { ObserveReleaseFunction } from './observe-release/observe-release-function';
import { observeReleaseGrants } from './observe-release/observe-release.grants';
import { PreflightInstanceFunction } from './preflight-instance/preflight-instance-function';
import { preflightInstanceGrants } from './preflight-instance/preflight-instance.grants';
import { RecordInstanceFunction } from './record-instance/record-instance-function';
import { recordInstanceGrants } from './record-instance/record-instance.grants';
import { RecordPageFunction } from './record-page/record-page-function';
import { recordPageGrants } from './record-page/record-page.grants';
import { RecordRecoveredFunction } from './record-recovered/record-recovered-function';
import { recordRecoveredGrants } from './record-recovered/record-recovered.grants';
import { RecordRunFunction } from './record-run/record-run-function';
import { recordRunGrants } from './record-run/record-run.grants';
import { ReleaseLeaseFunction } from './release-lease/release-lease-function';
import { releaseLeaseGrants } from './release-lease/release-lease.grants';
import { ResumeWaitFunction } from './resume-wait/resume-wait-function';
import { answerWaitingTasks, resumeWaitGrants } from './resume-wait/resume-wait.grants';
import { SendScriptFunction } from './send-script/send-script-function';
import { sendScriptGrants } from './send-script/send-script.grants';
import { StartBackupJobFunction } from './start-backup-job/start-backup-job-function';
import { startBackupJobGrants } from './start-backup-job/start-backup-job.grants';
import { StartCopyJobFunction } from './start-copy-job/start-copy-job-function';
import { startCopyJobGrants } from './start-copy-job/start-copy-job.grants';
import { StartInstanceFunction } from './start-instance/start-instance-function';
import { startInstanceGrants } from './start-instance/start-instance.grants';
import { StopBackupJobFunction } from './stop-backup-job/stop-backup-job-function';
import { stopBackupJobGrants } from './stop-backup-job/stop-backup-job.grants';
import { StopInstanceFunction } from './stop-instance/stop-instance-function';
import { stopInstanceGrants } from './stop-instance/stop-instance.grants';
import { ValidateInputFunction } from './validate-input/validate-input-function';
import { validateInputGrants } from './validate-input/validate-input.grants';
import { FIXED_POLL_SECONDS_ENV } from '../contract/poll';
import { KEY_USE_ACTIONS } from '../security/encryption-key';
import { addNagSuppressions, suppress } from '../security/nag-suppressions';
import { FUNCTION_DEPENDS_ON, ignoreCfnLint } from '../security/scanner-skips';
import { WorkflowFunctions } from '../workflow/functions';

export interface WorkflowHandlersProps extends GrantContextProps {
  readonly logRetention: logs.RetentionDays;
  /** Encrypts the functions' log groups. */
  readonly logsKey: kms.IKey;
  /**
   * The customer-managed key of the construct (`encryptionKey`): encrypts the functions' environment variables, and
   * the roles get to use it for the audit table and the dead-letter queue it encrypts.
   * @default - the AWS managed keys of Lambda, DynamoDB and SQS
   */
  readonly encryptionKey?: kms.IKey;
  /** Runs the functions in this VPC. @default - no VPC */
  readonly vpc?: ec2.IVpc;
  /** @default - the VPC's private subnets */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /** Fixed poll intervals for every handler (FIXED_POLL_SECONDS; the benchmark's baseline). @default - none */
  readonly fixedPollSeconds?: string;
}

type FunctionFactory = new (scope: Construct, id: string, props: lambda.FunctionOptions) => lambda.Function;

/**
 * The workflow's Lambda functions, each with its own role that allows exactly the calls its job needs. Each
 * function's environment and IAM statements are its own (`src/functions/<name>/<name>.grants.ts`); this class creates
 * the functions with the shared settings (log group, role, timeout, VPC, key) and gives each its grants.
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
  /** Looks at the backup's point in time while the application is frozen, and at the job's end verifies it (src/lambda-shared/release-point.ts). */
  public readonly observeRelease: lambda.IFunction;
  /** Stops the backup job when the freeze budget is spent, with FreezeBudgetAction.STOP_BACKUP_JOB. */
  public readonly stopBackupJob?: lambda.IFunction;
  public readonly startCopyJob?: lambda.IFunction;
  public readonly describeCopyJob?: lambda.IFunction;
  public readonly recordInstance: lambda.IFunction;
  public readonly recordPage: lambda.IFunction;
  public readonly recordRun: lambda.IFunction;
  public readonly findUnfinished: lambda.IFunction;
  public readonly inspectChain: lambda.IFunction;
  public readonly recordRecovered: lambda.IFunction;
  /** Issue 15: a dry run's pre-flight check of one instance (src/workflow/dry-run.ts). */
  public readonly preflightInstance: lambda.IFunction;

  /** Every function, for metrics and alarms. */
  public readonly all: lambda.IFunction[] = [];
  /** The functions that answer waiting Tasks (with the waits on events). */
  private readonly answering: iam.IRole[] = [];
  private readonly grants: GrantContext;

  constructor(scope: Construct, id: string, private readonly props: WorkflowHandlersProps) {
    super(scope, id);
    const ctx: GrantContext = { ...props, stack: Stack.of(this) };
    this.grants = ctx;

    this.validateInput = this.handler('ValidateInput', ValidateInputFunction, validateInputGrants(ctx));
    this.acquireLease = this.handler('AcquireLease', AcquireLeaseFunction, acquireLeaseGrants(ctx));
    this.releaseLease = this.handler('ReleaseLease', ReleaseLeaseFunction, releaseLeaseGrants(ctx));
    this.discoverInstances = this.handler('DiscoverInstances', DiscoverInstancesFunction, discoverInstancesGrants());
    this.checkAgent = this.handler('CheckAgent', CheckAgentFunction, checkAgentGrants());
    this.sendScript = this.handler('SendScript', SendScriptFunction, sendScriptGrants(ctx));
    // The polling looks exist only when the waits are polled; waiting on events, the starting handler looks itself.
    if (!props.waitOnEvents) {
      this.getScriptStatus = this.handler('GetScriptStatus', GetScriptStatusFunction, getScriptStatusGrants());
    }
    this.stopInstance = this.handler('StopInstance', StopInstanceFunction, stopInstanceGrants(ctx));
    this.startInstance = this.handler('StartInstance', StartInstanceFunction, startInstanceGrants(ctx));
    this.startBackupJob = this.handler('StartBackupJob', StartBackupJobFunction, startBackupJobGrants(ctx));
    if (!props.waitOnEvents) {
      this.describeBackupJob = this.handler('DescribeBackupJob', DescribeBackupJobFunction, describeBackupJobGrants());
    }
    this.observeRelease = this.handler('ObserveRelease', ObserveReleaseFunction, observeReleaseGrants(ctx));
    // Only when a spent freeze budget stops the job (FreezeBudgetAction.STOP_BACKUP_JOB).
    if (props.settings.release.onBudgetSpent === 'stop-job') {
      this.stopBackupJob = this.handler('StopBackupJob', StopBackupJobFunction, stopBackupJobGrants(ctx));
    }
    if (props.copyVault) {
      this.startCopyJob = this.handler('StartCopyJob', StartCopyJobFunction, startCopyJobGrants(ctx));
      if (!props.waitOnEvents) {
        this.describeCopyJob = this.handler('DescribeCopyJob', DescribeCopyJobFunction, describeCopyJobGrants());
      }
    }

    if (props.waitOnEvents) {
      for (const fn of [this.sendScript, this.stopInstance, this.startInstance, this.startBackupJob, this.startCopyJob]) {
        if (fn?.role) {
          this.answering.push(fn.role);
        }
      }
    }

    this.recordInstance = this.handler('RecordInstance', RecordInstanceFunction, recordInstanceGrants(ctx));
    this.recordPage = this.handler('RecordPage', RecordPageFunction, recordPageGrants(ctx));
    // Recovering the instances whose chain died (docs/workflow.md, "Recovering a chain that died"): find them after each
    // page's Map, look at what the run did to each (its journal, the resources it names), write its entry. The
    // recovery's own start and post-script go through start-instance and send-script, with their tag-conditioned
    // permissions.
    this.findUnfinished = this.handler('FindUnfinished', FindUnfinishedFunction, findUnfinishedGrants(ctx));
    this.inspectChain = this.handler('InspectChain', InspectChainFunction, inspectChainGrants(ctx));
    this.recordRecovered = this.handler('RecordRecovered', RecordRecoveredFunction, recordRecoveredGrants(ctx));
    this.recordRun = this.handler('RecordRun', RecordRunFunction, recordRunGrants(ctx));
    // Issue 15: the dry run (execution input DryRun: true) checks each instance without acting on it.
    this.preflightInstance = this.handler('PreflightInstance', PreflightInstanceFunction, preflightInstanceGrants(ctx));
  }

  /**
   * With the waits on events: resume-wait (invoked by the state-change rules, asynchronously, so failed events go to
   * `deadLetterQueue`) and the permission of every waiting step to answer the Tasks it holds tokens of.
   */
  public addResumeWait(deadLetterQueue: sqs.IQueue): lambda.IFunction {
    const resume = this.handler('ResumeWait', ResumeWaitFunction, resumeWaitGrants(this.grants), deadLetterQueue);
    answerWaitingTasks(this, [...this.answering, resume.role!]);
    return resume;
  }

  private handler(id: string, factory: FunctionFactory, grants: FunctionGrants, deadLetterQueue?: sqs.IQueue): lambda.IFunction {
    const { environment, statements } = grants;
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
