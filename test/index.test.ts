import * as fs from 'fs';
import * as path from 'path';

/**
 * What the published library loads: every module reachable from src/index.ts through imports that stay at run
 * time (`import type` is erased). The AWS SDK is only in the Lambda bundles (the runtime provides it), never a
 * dependency of the package: a library module that imported it would fail in every consumer (Python, Java...)
 * at load time.
 */
const SRC = path.resolve(__dirname, '..', 'src');
const IMPORT = /^(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?'([^']+)';/gm;

function runtimeGraph(entry: string): { modules: Set<string>; packages: Map<string, string> } {
  const modules = new Set<string>();
  const packages = new Map<string, string>();
  const visit = (file: string) => {
    if (modules.has(file)) return;
    modules.add(file);
    const text = fs.readFileSync(file, 'utf-8');
    for (const match of text.matchAll(IMPORT)) {
      const [, typeOnly, spec] = match;
      if (typeOnly) continue;
      if (spec.startsWith('.')) {
        const base = path.resolve(path.dirname(file), spec);
        const resolved = [`${base}.ts`, path.join(base, 'index.ts')].find((f) => fs.existsSync(f));
        if (!resolved) throw new Error(`${path.relative(SRC, file)}: cannot resolve ${spec}`);
        visit(resolved);
      } else {
        const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
        if (!packages.has(name)) packages.set(name, path.relative(SRC, file));
      }
    }
  };
  visit(entry);
  return { modules, packages };
}

const graph = runtimeGraph(path.join(SRC, 'index.ts'));

test('the library loads no AWS SDK and no Lambda handler', () => {
  const sdk = [...graph.packages].filter(([name]) => name.startsWith('@aws-sdk/')).map(([name, from]) => `${name} (from ${from})`);
  expect(sdk).toEqual([]);
  const handlers = [...graph.modules].filter((f) => f.endsWith('.lambda.ts')).map((f) => path.relative(SRC, f));
  expect(handlers).toEqual([]);
});

test('every package the library loads is a dependency or a peer dependency of the published package', () => {
  const pkg = JSON.parse(fs.readFileSync(path.resolve(SRC, '..', 'package.json'), 'utf-8'));
  const declared = new Set([...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})]);
  const builtins = new Set(['fs', 'path', 'crypto', 'os', 'url', 'util', 'child_process']);
  const undeclared = [...graph.packages].filter(([name]) => !declared.has(name) && !builtins.has(name) && !name.startsWith('node:'))
    .map(([name, from]) => `${name} (from ${from})`);
  expect(undeclared).toEqual([]);
  // The walk does see the graph: the construct and its workflow are in it.
  expect([...graph.modules].map((f) => path.relative(SRC, f))).toEqual(expect.arrayContaining([
    path.join('pre-post-script-backup', 'pre-post-script-backup.ts'), path.join('workflow', 'instance-chain.ts'), path.join('contract', 'status.ts'),
  ]));
});
