// Checks what Construct Hub and the other languages' users get from the npm package built in dist/js
// (npx projen package:js): the metadata Construct Hub lists a package by, and the files the tarball must
// carry. Fails loudly with every problem found.
//   node test/consumers/check-npm-package.js
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..', '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf-8'));
const problems = [];
const expect = (ok, message) => { if (!ok) problems.push(message); };

// Construct Hub lists jsii packages under an open-source licence that carry one of its keywords.
const licences = ['Apache-2.0', 'MIT', 'BSD-2-Clause', 'BSD-3-Clause', 'ISC', 'MPL-2.0', 'EPL-1.0', 'EPL-2.0', 'CDDL-1.0', 'CDDL-1.1'];
expect(licences.includes(pkg.license), `license ${pkg.license} is not one Construct Hub lists`);
expect((pkg.keywords ?? []).includes('awscdk'), 'keywords lack "awscdk", the keyword Construct Hub indexes AWS CDK constructs by');
for (const keyword of ['cdk', 'aws-cdk']) expect(pkg.keywords.includes(keyword), `keywords lack "${keyword}"`);
for (const field of ['description', 'homepage', 'stability', 'types']) expect(pkg[field], `package.json has no ${field}`);
expect(pkg.repository?.url, 'package.json has no repository.url');
expect(pkg.author?.name, 'package.json has no author.name');
for (const peer of ['aws-cdk-lib', 'constructs']) expect(pkg.peerDependencies?.[peer], `${peer} is not a peer dependency`);
for (const target of ['python', 'java', 'dotnet', 'go']) expect(pkg.jsii?.targets?.[target], `no jsii target for ${target}`);

const assembly = JSON.parse(fs.readFileSync(path.join(root, '.jsii'), 'utf-8'));
expect(assembly.readme?.markdown?.includes('## Usage'), 'the assembly carries no README with a Usage section');
expect(assembly.types?.['cdk-pre-post-script-backup.PrePostScriptBackup']?.docs?.example,
  'PrePostScriptBackup has no @example in the assembly');

const tarball = path.join(root, 'dist', 'js', `${pkg.name}@${pkg.version}.jsii.tgz`);
if (!fs.existsSync(tarball)) {
  problems.push(`${path.relative(root, tarball)} not found: run 'npx projen package:js' first`);
} else {
  const files = execFileSync('tar', ['tzf', tarball], { encoding: 'utf-8' }).split('\n');
  for (const file of ['.jsii', '.jsii.tabl.json', 'README.md', 'API.md', 'LICENSE', 'lib/index.js', 'lib/index.d.ts']) {
    expect(files.includes(`package/${file}`), `the npm package lacks ${file}`);
  }
  // Every Lambda handler projen bundles (src/**/<name>.lambda.ts → assets/**/<name>.lambda/index.js).
  const lambdas = [];
  const walk = dir => fs.readdirSync(dir, { withFileTypes: true }).forEach(entry => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full);
    else if (entry.name.endsWith('.lambda.ts')) lambdas.push(path.relative(path.join(root, 'src'), full).replace(/\.ts$/, ''));
  });
  walk(path.join(root, 'src'));
  expect(lambdas.length > 0, 'no *.lambda.ts handler found under src/');
  for (const lambda of lambdas) {
    const bundled = `package/assets/${lambda.split(path.sep).join('/')}/index.js`;
    expect(files.includes(bundled), `the npm package lacks the bundled handler ${bundled}`);
  }
  expect(!files.some(f => /^package\/(src|test|examples|rosetta|benchmarks)\//.test(f)), 'the npm package ships sources or tests');
}

if (problems.length > 0) {
  problems.forEach(p => console.error(`check-npm-package: ${p}`));
  process.exit(1);
}
console.log(`check-npm-package: ${path.relative(root, tarball)} has the metadata Construct Hub lists it by, the assembly, ` +
  'the rosetta tablet, the docs and every bundled handler');
