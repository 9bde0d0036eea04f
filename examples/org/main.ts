/**
 * The organization-wide rollout example: the same PrePostScriptBackup in every target account and Region (one
 * Stage each) and PrePostScriptBackupCentralAudit in the central account. Accounts, Regions and the organization
 * come from CDK context (see config.ts); the placeholders synthesize offline:
 *
 *   npx cdk synth --app 'npx ts-node --project tsconfig.dev.json examples/org/main.ts'
 *   npx cdk deploy --app 'npx ts-node --project tsconfig.dev.json examples/org/main.ts' 'Central/*' 'Backup-*' -c ...
 */
import { App } from 'aws-cdk-lib';
import { configFromContext } from './config';
import { orgRollout } from './stages';

const app = new App();
orgRollout(app, configFromContext(app.node));
app.synth();
