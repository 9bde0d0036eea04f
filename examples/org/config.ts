/**
 * Where the organization-wide rollout goes: every target account in every target Region, and the central account
 * (and Region) that watches them. Read from CDK context, with placeholder values so that the example synthesizes
 * offline as it is:
 *
 *   npx cdk synth --app 'npx ts-node --project tsconfig.dev.json examples/org/main.ts' \
 *     -c organizationId=o-a1b2c3d4e5 -c centralAccount=999988887777 -c centralRegion=us-east-1 \
 *     -c targetAccounts=111122223333,222233334444,333344445555 -c targetRegions=eu-west-1,us-east-1
 */
import { Node } from 'constructs';

export interface Environment {
  readonly account: string;
  readonly region: string;
}

export interface OrgRolloutConfig {
  /** The AWS Organizations id: only its accounts may send run summaries to the central bus. */
  readonly organizationId: string;
  /** Where PrePostScriptBackupCentralAudit goes (an audit or operations account, typically). */
  readonly central: Environment;
  /** The name of the central event bus: fixed, so its ARN is known to every member before deployment. */
  readonly centralBusName: string;
  /** Every account the backup is rolled out to. */
  readonly targetAccounts: string[];
  /** Every Region of every target account the backup is rolled out to. */
  readonly targetRegions: string[];
}

export const PLACEHOLDER_CONFIG: OrgRolloutConfig = {
  organizationId: 'o-a1b2c3d4e5',
  central: { account: '999988887777', region: 'us-east-1' },
  centralBusName: 'pre-post-script-backup-runs',
  targetAccounts: ['111122223333', '222233334444', '333344445555'],
  targetRegions: ['eu-west-1', 'us-east-1'],
};

/** The configuration from CDK context (`-c key=value`), each key defaulting to the placeholder. */
export function configFromContext(node: Node): OrgRolloutConfig {
  const get = (key: string): string | undefined => {
    const value = node.tryGetContext(key);
    return value === undefined ? undefined : String(value);
  };
  const list = (key: string, fallback: string[]): string[] =>
    get(key)?.split(',').map(s => s.trim()).filter(s => s !== '') ?? fallback;
  const config: OrgRolloutConfig = {
    organizationId: get('organizationId') ?? PLACEHOLDER_CONFIG.organizationId,
    central: {
      account: get('centralAccount') ?? PLACEHOLDER_CONFIG.central.account,
      region: get('centralRegion') ?? PLACEHOLDER_CONFIG.central.region,
    },
    centralBusName: get('centralBusName') ?? PLACEHOLDER_CONFIG.centralBusName,
    targetAccounts: list('targetAccounts', PLACEHOLDER_CONFIG.targetAccounts),
    targetRegions: list('targetRegions', PLACEHOLDER_CONFIG.targetRegions),
  };
  validateConfig(config);
  return config;
}

export function validateConfig(config: OrgRolloutConfig): void {
  const accounts = [config.central.account, ...config.targetAccounts];
  const regions = [config.central.region, ...config.targetRegions];
  const badAccount = accounts.find(a => !/^\d{12}$/.test(a));
  if (badAccount !== undefined) {
    throw new Error(`'${badAccount}' is not an AWS account id (12 digits).`);
  }
  const badRegion = regions.find(r => !/^[a-z]{2}(-[a-z]+)+-\d$/.test(r));
  if (badRegion !== undefined) {
    throw new Error(`'${badRegion}' is not an AWS Region name (for example eu-west-1).`);
  }
  if (config.targetAccounts.length === 0 || config.targetRegions.length === 0) {
    throw new Error('Name at least one target account (targetAccounts) and one target Region (targetRegions).');
  }
  const duplicate = (values: string[]) => values.find((v, i) => values.indexOf(v) !== i);
  const dup = duplicate(config.targetAccounts) ?? duplicate(config.targetRegions);
  if (dup !== undefined) {
    throw new Error(`'${dup}' is listed twice.`);
  }
}
