import * as path from 'path';
import { Stack, StackProps, Stage, StageProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { Construct } from 'constructs';
import { Environment, OrgRolloutConfig } from './config';
import {
  BackupScript, PrePostScriptBackup, PrePostScriptBackupCentralAudit, PrePostScriptBackupProps,
} from '../../src';

const SCRIPTS = path.join(__dirname, '..', 'app', 'scripts');

/** The one backup definition every account and Region gets: the same tag, scripts, schedule and options. */
export function fleetBackupProps(centralBus?: events.IEventBus): PrePostScriptBackupProps {
  return {
    tagKey: 'backup-job-pre-post-script',
    tagValue: 'true',
    preScript: BackupScript.fromAsset(path.join(SCRIPTS, 'freeze.sh')),
    postScript: BackupScript.fromAsset(path.join(SCRIPTS, 'thaw.sh')),
    stopInstances: false,
    schedule: events.Schedule.cron({ hour: '2', minute: '0' }),
    enableNotifications: true,
    forwardRunSummariesTo: centralBus,
  };
}

/** The stack of one account and Region: the backup, as every other account and Region has it. */
export interface FleetBackupStackProps extends StackProps {
  /** The central audit's bus, which receives every run's summary. */
  readonly centralBusArn: string;
}

export class FleetBackupStack extends Stack {
  public readonly backup: PrePostScriptBackup;

  constructor(scope: Construct, id: string, props: FleetBackupStackProps) {
    super(scope, id, props);
    const centralBus = events.EventBus.fromEventBusArn(this, 'CentralBus', props.centralBusArn);
    this.backup = new PrePostScriptBackup(this, 'AppBackup', fleetBackupProps(centralBus));
  }
}

/** One account and Region of the rollout: deploy it with `cdk deploy '<stage id>/*'`. */
export class FleetBackupStage extends Stage {
  public readonly stack: FleetBackupStack;

  constructor(scope: Construct, id: string, props: StageProps & { env: Environment; centralBusArn: string }) {
    super(scope, id, props);
    this.stack = new FleetBackupStack(this, 'PrePostScriptBackup', { env: props.env, centralBusArn: props.centralBusArn });
  }
}

export interface CentralAuditStageProps extends StageProps {
  readonly env: Environment;
  readonly organizationId: string;
  readonly eventBusName: string;
}

/** The central account: one place to see the outcome of every run. */
export class CentralAuditStage extends Stage {
  public readonly stack: Stack;
  public readonly audit: PrePostScriptBackupCentralAudit;

  constructor(scope: Construct, id: string, props: CentralAuditStageProps) {
    super(scope, id, props);
    this.stack = new Stack(this, 'PrePostScriptBackupCentralAudit', { env: props.env });
    this.audit = new PrePostScriptBackupCentralAudit(this.stack, 'BackupAudit', {
      organizationId: props.organizationId,
      eventBusName: props.eventBusName,
      enableNotifications: true,
    });
  }
}

export interface OrgRollout {
  readonly central: CentralAuditStage;
  readonly members: FleetBackupStage[];
}

/** The whole rollout in `app`: the central stage, then one stage per target account and Region. */
export function orgRollout(app: Construct, config: OrgRolloutConfig): OrgRollout {
  const central = new CentralAuditStage(app, 'Central', {
    env: config.central,
    organizationId: config.organizationId,
    eventBusName: config.centralBusName,
  });
  // The central bus has a fixed name, so its ARN is known before anything is deployed.
  const centralBusArn = `arn:aws:events:${config.central.region}:${config.central.account}:event-bus/${config.centralBusName}`;
  const members = config.targetAccounts.flatMap(account => config.targetRegions.map(region =>
    new FleetBackupStage(app, `Backup-${account}-${region}`, { env: { account, region }, centralBusArn })));
  return { central, members };
}
