import { awscdk, javascript } from 'projen';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-pre-post-script-backup',
  description:
    'Application-consistent AWS Backup of tagged EC2 fleets: pre-backup script through SSM, optional stop, ' +
    'on-demand AWS Backup job, start, post-backup script, and a DynamoDB audit record of every step.',
  author: 'cdk-pre-post-script-backup developers',
  authorAddress: 'maintainers@example.com',
  repositoryUrl: 'https://github.com/example/cdk-pre-post-script-backup.git',
  homepage: 'https://github.com/example/cdk-pre-post-script-backup',
  license: 'Apache-2.0',
  defaultReleaseBranch: 'main',
  projenrcTs: true,
  packageManager: javascript.NodePackageManager.NPM,
  // Built and tested on Node.js 24 (the whole suite) and 22 (a smoke build): see .ci/run and tools/supported-node.sh.
  minNodeVersion: '22.0.0',
  workflowNodeVersion: '24.22.3',

  // The oldest aws-cdk-lib that knows the nodejs24.x Lambda runtime the handlers use.
  cdkVersion: '2.225.0',
  constructsVersion: '10.5.1',
  jsiiVersion: '~6.0.0',

  keywords: [
    'aws-cdk',
    'cdk',
    'cdk-construct',
    'awscdk',
    'aws-backup',
    'backup',
    'ec2',
    'ssm',
    'step-functions',
    'application-consistent',
  ],

  publishToPypi: {
    distName: 'cdk-pre-post-script-backup',
    module: 'cdk_pre_post_script_backup',
  },
  publishToMaven: {
    javaPackage: 'io.github.cdk_pre_post_script_backup',
    mavenGroupId: 'io.github.cdk-pre-post-script-backup',
    mavenArtifactId: 'cdk-pre-post-script-backup',
  },
  publishToNuget: {
    dotNetNamespace: 'CdkPrePostScriptBackup',
    packageId: 'CdkPrePostScriptBackup',
  },
  publishToGo: {
    moduleName: 'github.com/example/cdk-pre-post-script-backup-go',
  },

  lambdaOptions: {
    runtime: awscdk.LambdaRuntime.NODEJS_24_X,
    bundlingOptions: {
      // The Lambda runtime provides AWS SDK v3; the handlers only import it.
      externals: ['@aws-sdk/*'],
      sourcemap: false,
    },
  },

  devDeps: [
    '@aws-sdk/client-backup@^3',
    '@aws-sdk/client-dynamodb@^3',
    '@aws-sdk/client-ec2@^3',
    '@aws-sdk/client-sfn@^3',
    '@aws-sdk/client-ssm@^3',
    '@aws-sdk/lib-dynamodb@^3',
    '@types/aws-lambda@^8',
    'aws-sdk-client-mock@^4',
    'aws-sdk-client-mock-jest@^4',
    'aws-local-stepfunctions@^3',
    // Integration test with snapshot (integ-runner verifies it offline); 2.214 is the newest alpha the
    // registry serves that accepts aws-cdk-lib 2.225.
    '@aws-cdk/integ-tests-alpha@2.214.0-alpha.0',
    '@aws-cdk/integ-runner@^2',
    // IAM policy evaluation in tests. AGPL-3.0: a test-only devDependency, never shipped.
    '@cloud-copilot/iam-simulate@^0.1',
    'cdk-nag@^2.37.0',
    'dynalite@^4',
    // Bundled into the handlers (never a dependency of the published library): structured logs with correlation ids,
    // metrics in the embedded metric format, and the execution input's schema (zod).
    '@aws-lambda-powertools/logger@^2',
    '@aws-lambda-powertools/metrics@^2',
    '@aws-lambda-powertools/parser@^2',
    'zod@^4',
  ],

  jestOptions: {
    jestConfig: {
      testMatch: ['<rootDir>/test/**/*.test.ts'],
      testTimeout: 60_000,
      // Both cores: the simulated suites wait on loopback stand-ins and dynalite much of the time (jest's default on a
      // 2-core machine is one worker).
      maxWorkers: 2,
      // Slowest files first, also on a fresh clone (jest's own order needs durations from an earlier run).
      testSequencer: '<rootDir>/tools/jest-sequencer.js',
    },
  },

  // A top-level dev tsconfig covering src, test, examples and projenrc (editors, ts-node, jest).
  tsconfigDevFile: 'tsconfig.dev.json',
  eslintOptions: { dirs: ['src'], tsconfigPath: './tsconfig.dev.json', projectService: false },

  gitignore: ['/cdk.out', '/examples/**/cdk.out', '/.tmp'],
});

// The boundary between the two sides of the library (docs/design.md, "Layout"). Handler-side code (src/lambda-shared and
// each function's own modules under src/functions/<name>/) runs in Lambda and alone may import the AWS SDK;
// construct-side code (everything else, including each function's generated construct and its grants) runs in the
// user's CDK app and never loads handler code. src/contract is pure: both sides import it, it imports nothing outside
// itself. test/index.test.ts walks the published library's imports as a backstop.
const HANDLER_SIDE = ['./src/lambda-shared/**', './src/functions/*/!(*-function|*.grants).ts'];
const CONSTRUCT_SIDE = [
  './src/*.ts',
  './src/!(functions|lambda-shared|contract)/**',
  './src/functions/*.ts',
  './src/functions/*/*-function.ts',
  './src/functions/*/*.grants.ts',
];
project.eslint?.addRules({
  'import/no-restricted-paths': ['error', {
    zones: [
      {
        target: CONSTRUCT_SIDE,
        from: HANDLER_SIDE,
        message: 'construct-side code must not import handler code (it would ship in the library); share it through src/contract',
      },
      {
        target: ['./src/contract/**'],
        from: ['./src/!(contract)/**', './src/*.ts'],
        message: 'src/contract is pure: it imports nothing outside itself',
      },
    ],
  }],
});
project.eslint?.addOverride({
  files: ['src/**/*.ts'],
  excludedFiles: ['src/lambda-shared/**', 'src/functions/*/*.ts'],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [
        { group: ['@aws-sdk/*', '@aws-lambda-powertools/*', 'zod'], message: 'only handler-side code (src/lambda-shared, src/functions/<name>) may import the AWS SDK or Lambda-only libraries' },
      ],
    }],
  },
});
project.eslint?.addOverride({
  files: ['src/functions/*/*-function.ts', 'src/functions/*/*.grants.ts'],
  rules: {
    'no-restricted-imports': ['error', {
      patterns: [
        { group: ['@aws-sdk/*', '@aws-lambda-powertools/*', 'zod'], message: 'a function\'s construct and grants are construct-side: no AWS SDK, no Lambda-only library' },
      ],
    }],
  },
});

// The registry serves unrs-resolver's platform bindings (optional dependencies of jest and
// eslint-import-resolver-typescript) only up to 1.12.2; with a newer resolver the lockfile lacks them and
// `npm ci` refuses to install. Pin the version every binding exists for.
project.package.addField('overrides', { 'unrs-resolver': '1.12.2' });

// projen evaluates the environment of every task it runs, subtasks included, and NodeProject sets PATH to
// `$(npx -c "node --print process.env.PATH")`: an npm start-up per task (about 1.4 s of CPU), 21 for one `projen
// bundle`, about 110 in .ci/run. The same PATH, the project's node_modules/.bin first, from node alone:
project.tasks.addEnvironment('PATH', '$(node --print "require(\'path\').resolve(\'node_modules/.bin\') + require(\'path\').delimiter + process.env.PATH")');

// Tests load the bundled handlers (assets/), so bundle before every test run.
const bundle = project.tasks.tryFind('bundle');
if (bundle) {
  project.testTask.prependSpawn(bundle);
}

// The example app behind the README's main command: synthesize it and run it in the local simulator.
project.tsconfigDev.addInclude('examples/**/*.ts');
project.tsconfigDev.addInclude('.projenrc.ts');
project.eslint?.addLintPattern('examples');
project.npmignore?.exclude('/examples/', '/.ci/', '/.tmp/', '/tools/');
project.addTask('simulate', {
  description: 'Synthesize the example app and run it locally against a simulated fleet (no AWS account needed)',
  steps: [
    { spawn: 'bundle' },
    { exec: 'ts-node --project tsconfig.dev.json examples/app/main.ts', receiveArgs: true },
  ],
});

// Fleet-size benchmark (prints figures; never part of the tests).
project.tsconfigDev.addInclude('benchmarks/**/*.ts');
project.eslint?.addLintPattern('benchmarks');
project.npmignore?.exclude('/benchmarks/');
project.addTask('benchmark', {
  description: 'Run fleets of 1, 10, 100 and 1,000 simulated instances and print cost and downtime figures',
  steps: [
    { spawn: 'bundle' },
    { exec: 'ts-node --project tsconfig.dev.json benchmarks/fleet.ts', receiveArgs: true },
  ],
});

// Issue 14's benchmark: release at the point in time, at job completion and the original polling, side by side.
project.addTask('benchmark:release', {
  description: 'Freeze and stopped seconds (p50/p99/max), makespan, transitions and dollars per 1,000 for the three release modes',
  steps: [
    { spawn: 'bundle' },
    { exec: 'ts-node --project tsconfig.dev.json benchmarks/release.ts', receiveArgs: true },
  ],
});

// Integration test (test/integ): integ-runner synthesizes it and compares it with the committed snapshot, offline
// (no AWS account); a real run deploys it (see the test file). Asset bodies are not committed: synthesis
// rebuilds them, and the comparison ignores asset hashes.
project.gitignore.exclude('/test/integ/*.snapshot/asset.*', '/test/integ/cdk-integ.out.*');
const integRunner = 'integ-runner --directory test/integ --language typescript';
const integSnapshot = project.addTask('integ:snapshot', {
  description: 'Check the integration test against its committed snapshot (offline; fails when the template changed)',
  steps: [{ spawn: 'bundle' }, { exec: integRunner, receiveArgs: true }],
});
project.addTask('integ:update', {
  description: 'Regenerate the integration test snapshot without deploying (commit the result)',
  steps: [{ spawn: 'bundle' }, { exec: `${integRunner} --update-on-failed --dry-run --force`, receiveArgs: true }],
});
project.testTask.spawn(integSnapshot);

// Jest in two runs. Coverage (V8's precise coverage, which counts every block of every script in the worker, the AWS
// SDK, dynalite and the simulator included) costs the simulated suites about 60 % more CPU (paths.test.ts: 56 s
// without, 89 s with, 2026-12-04) and measures nothing there: they run the handlers' bundles from cdk.out, outside
// the report; the handlers' and the construct's code is covered by the other suites. So test/workflow/simulated runs
// without coverage, everything else with it. One file: `npx jest <file>` (with coverage) or `npx jest --coverage=false
// <file>` (the test task takes no arguments: they would filter only one of the two runs).
const SIMULATED_SUITES = 'test/workflow/simulated/';
const jestStep = project.testTask.steps.findIndex((s) => (s.execArgs ?? []).join(' ').startsWith('jest ') || (s.exec ?? '').startsWith('jest '));
if (jestStep < 0) throw new Error('.projenrc.ts: the test task has no jest step to split');
project.testTask.updateStep(jestStep, {
  exec: `jest --passWithNoTests --updateSnapshot --testPathIgnorePatterns /node_modules/ /${SIMULATED_SUITES}`,
});
project.testTask.insertStep(jestStep + 1, { exec: `jest --passWithNoTests --coverage=false ${SIMULATED_SUITES}` });

// Independent template scanners (test/scanners): checkov and cfn-lint, pinned, installed from PyPI into a virtualenv
// under .tmp on first use, on consumer stacks with every option on (encryptionKey included). Any finding the construct
// does not explain in the resource's metadata fails (README, "Explained findings").
project.addTask('scan', {
  description: 'Run checkov and cfn-lint on consumer stacks with every option on; fail on any unexplained finding',
  steps: [{ spawn: 'bundle' }, { exec: 'bash test/scanners/run.sh' }],
});

// Examples in every language. jsii-rosetta compiles each TypeScript example inside a fixture
// (rosetta/default.ts-fixture for @example, rosetta/readme.ts-fixture for the README) and translates it;
// rosetta/check-examples.ts fails unless every one compiled (strict, but for the README examples listed in
// rosetta/untranslatable.json) and the README's Python, Java and C# examples are those translations. The
// tablet ships in the npm package.
// PyPI's trove classifiers for CDK libraries, as aws-cdk-lib's own packages carry them.
project.package.file.addOverride('jsii.targets.python.classifiers', ['Framework :: AWS CDK', 'Framework :: AWS CDK :: 2']);
project.gitignore.exclude('/.jsii.tabl.json');
project.tsconfigDev.addInclude('rosetta/**/*.ts');
project.eslint?.addLintPattern('rosetta');
project.npmignore?.exclude('/rosetta/');
const rosetta = project.addTask('rosetta', {
  description: 'Compile every TypeScript example (jsii-rosetta, with the rosetta/ fixtures), fail on any that does not, check the README\'s translations',
  steps: [
    { exec: 'jsii-rosetta extract --compile .jsii' },
    { exec: 'ts-node --project tsconfig.dev.json rosetta/check-examples.ts' },
  ],
});
project.postCompileTask.spawn(rosetta);
// Every example compiles (rosetta/untranslatable.json is empty): Construct Hub and jsii-pacmak may insist on it.
project.package.file.addOverride('jsii.metadata.jsii.rosetta.strict', true);
project.addTask('rosetta:fix-readme', {
  description: 'Write jsii-rosetta\'s Python, Java and C# translations of the README\'s TypeScript examples into README.md',
  steps: [
    { exec: 'jsii-rosetta extract --compile .jsii' },
    { exec: 'ts-node --project tsconfig.dev.json rosetta/check-examples.ts --fix' },
  ],
});

// The other languages' packages, as far as this machine can build them (PyPI and Maven Central reachable;
// no dotnet; the Go module proxy does not serve aws-cdk-go), and consumers that use them as their users would.
const checkNpmPackage = project.addTask('package:check-npm', {
  description: 'Check the npm package for the metadata Construct Hub lists it by, the rosetta tablet and the bundled handlers',
  exec: 'node test/consumers/check-npm-package.js',
});
const dotnetSources = project.addTask('package:dotnet:sources', {
  description: 'Generate the .NET sources (no dotnet here to compile them) and check they are there',
  steps: [
    { exec: 'jsii-pacmak -v --target dotnet --code-only' },
    { exec: 'bash test/consumers/check-generated.sh dotnet' },
  ],
});
const goSources = project.addTask('package:go:sources', {
  description: 'Generate the Go module\'s sources (the Go proxy does not serve aws-cdk-go to build it) and check they parse',
  steps: [
    { exec: 'jsii-pacmak -v --target go --code-only' },
    { exec: 'bash test/consumers/check-generated.sh go' },
  ],
});
// What follows the npm package: its check, the Python wheel, the Java jar, the .NET and Go sources. Once for both
// package:all-languages (after package:js) and ci (after the build, which packages js already).
const afterNpmPackage = project.addTask('package:other-languages', {
  description: 'Check the npm package in dist/js, build the Python wheel and the Java jar, generate the .NET and Go sources',
  steps: [
    { spawn: checkNpmPackage.name },
    { spawn: 'package:python' },
    { spawn: 'package:java' },
    { spawn: dotnetSources.name },
    { spawn: goSources.name },
  ],
});
project.addTask('package:all-languages', {
  description: 'Build the npm package, the Python wheel and the Java jar; generate the .NET and Go sources',
  steps: [{ spawn: 'package:js' }, { spawn: afterNpmPackage.name }],
});
const pythonConsumer = project.addTask('test:consumers:python', {
  description: 'Install the built wheel and aws-cdk-lib into a fresh virtualenv and synthesize a CDK app with the construct',
  exec: 'bash test/consumers/python/run.sh',
});
const javaConsumer = project.addTask('test:consumers:java', {
  description: 'Build a Maven CDK app against the built jar, synthesize the construct and check the template',
  exec: 'bash test/consumers/java/run.sh',
});
project.addTask('test:consumers', {
  description: 'Use the built Python and Java packages as their users would (run package:all-languages first)',
  steps: [{ spawn: pythonConsumer.name }, { spawn: javaConsumer.name }],
});

// Everything CI checks, in one command (the README's test command): the build in CI mode (js package only, so
// no dotnet is needed), then every language's package and the Python and Java consumers.
project.addTask('ci', {
  description: 'Build and test everything as CI does: build, API.md, examples, tests, every package, the consumers',
  env: { CI: 'true' },
  steps: [{ spawn: 'build' }, { spawn: afterNpmPackage.name }, { spawn: 'test:consumers' }],
});

project.synth();
