/**
 * The example app: synthesizes a stack holding PrePostScriptBackup, as a platform team would write it, and
 * prints what the construct creates. No AWS account or credentials are needed.
 *
 *   npx projen dry-run
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
import { ExampleBackupStack } from './stack';

function main(): void {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'pre-post-script-backup-'));
  const app = new App({ outdir });
  const stack = new ExampleBackupStack(app, 'PrePostScriptBackupExample', { stopInstances: true }, {
    env: { account: '111111111111', region: 'us-east-1' },
  });
  const assembly = app.synth();
  const template = assembly.getStackByName(stack.stackName).template as { Resources: Record<string, { Type: string }> };

  const counts = new Map<string, number>();
  for (const resource of Object.values(template.Resources)) {
    counts.set(resource.Type, (counts.get(resource.Type) ?? 0) + 1);
  }
  console.log(`Synthesized ${stack.stackName} into ${outdir}`);
  console.log(`\n${Object.keys(template.Resources).length} resources:`);
  for (const [type, count] of [...counts.entries()].sort()) {
    console.log(`  ${String(count).padStart(3)}  ${type}`);
  }
}

main();
