import { Duration, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { suppress } from '../security/nag-suppressions';
import { skipCheckov } from '../security/scanner-skips';

export interface TriggersProps {
  readonly stateMachine: sfn.IStateMachine;
  /** The detail-type that starts a run. */
  readonly detailType: string;
  /** @default - no scheduled runs */
  readonly schedule?: events.Schedule;
  /**
   * An organization whose principals may also start runs by putting events on the bus (a central automation
   * account, say), only events of the run detail-type.
   * @default - this account only
   */
  readonly allowStartFromOrganization?: string;
  /**
   * Encrypts the dead-letter queue (its policy must let EventBridge use it).
   * @default - SQS-managed encryption (SSE-SQS)
   */
  readonly encryptionKey?: kms.IKey;
}

/** Why checkov's CKV_AWS_27 is wrong about a queue encrypted with SQS-managed keys. */
export const SSE_SQS_COMMENT = 'The queue is encrypted at rest with SQS-managed keys (SqsManagedSseEnabled: true), which this check '
  + 'does not recognize; pass encryptionKey to encrypt it with your own KMS key.';

/**
 * The ways to start a run besides StartExecution: an event on the construct's own bus (its `detail` is the
 * execution input) and, optionally, a schedule (input `{}`). Events that cannot be delivered land in an
 * encrypted dead-letter queue instead of vanishing.
 */
export class Triggers extends Construct {
  public readonly eventBus: events.EventBus;
  public readonly eventRule: events.Rule;
  public readonly scheduleRule?: events.Rule;
  public readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: TriggersProps) {
    super(scope, id);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      ...(props.encryptionKey
        ? { encryption: sqs.QueueEncryption.KMS, encryptionMasterKey: props.encryptionKey }
        : { encryption: sqs.QueueEncryption.SQS_MANAGED }),
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    suppress(this.deadLetterQueue, [{
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the EventBridge targets that start runs.',
    }]);
    if (!props.encryptionKey) {
      skipCheckov(this.deadLetterQueue, [{ id: 'CKV_AWS_27', comment: SSE_SQS_COMMENT }]);
    }

    this.eventBus = new events.EventBus(this, 'EventBus', {
      description: 'Starts pre/post-script backup runs: detail-type BackupSolution-PrePostScript, detail = input',
    });
    // Only principals of this account may put events; nobody else, whatever their own policies say.
    this.eventBus.addToResourcePolicy(new iam.PolicyStatement({
      sid: 'ThisAccountOnly',
      principals: [new iam.AccountPrincipal(Stack.of(this).account)],
      actions: ['events:PutEvents'],
      resources: [this.eventBus.eventBusArn],
    }));

    if (props.allowStartFromOrganization) {
      // Opt-in: principals of the organization (their own policies must allow it too) may start runs, and only runs.
      this.eventBus.addToResourcePolicy(new iam.PolicyStatement({
        sid: 'OrganizationMayStartRuns',
        principals: [new iam.AnyPrincipal()],
        actions: ['events:PutEvents'],
        resources: [this.eventBus.eventBusArn],
        conditions: {
          'StringEquals': { 'aws:PrincipalOrgID': props.allowStartFromOrganization },
          'ForAllValues:StringEquals': { 'events:detail-type': [props.detailType] },
        },
      }));
    }

    const target = (input: events.RuleTargetInput) => new targets.SfnStateMachine(props.stateMachine, {
      input,
      deadLetterQueue: this.deadLetterQueue,
      retryAttempts: 8,
      maxEventAge: Duration.hours(2),
    });

    this.eventRule = new events.Rule(this, 'StartOnEvent', {
      eventBus: this.eventBus,
      description: 'Starts a pre/post-script backup run with the event detail as input',
      eventPattern: { detailType: [props.detailType] },
      targets: [target(events.RuleTargetInput.fromEventPath('$.detail'))],
    });

    if (props.schedule) {
      this.scheduleRule = new events.Rule(this, 'Schedule', {
        description: 'Starts a pre/post-script backup run as configured',
        schedule: props.schedule,
        targets: [target(events.RuleTargetInput.fromObject({}))],
      });
    }
  }
}
