import * as fs from 'fs';
import * as path from 'path';
import { loadESLint } from 'eslint';

/**
 * The boundary between the library's two sides is enforced by the linter (.projenrc.ts, import/no-restricted-paths):
 * construct-side code cannot import handler code, a function's grants cannot import its handler, and src/contract
 * imports nothing outside itself. Each case lints a one-line source as if it were a real file of the tree.
 */
const ROOT = path.join(__dirname, '..');
let eslint: { lintText(code: string, options: { filePath: string }): Promise<{ messages: { ruleId: string | null; message: string }[] }[]> };

beforeAll(async () => {
  const LegacyESLint = await loadESLint({ useFlatConfig: false });
  // The project's .eslintrc.json as it is, without its type information (parserOptions.project): the boundary rule
  // resolves imports by path and needs no type program, which would take most of a minute to build.
  // Its typescript-eslint rules (some need the type program) are left out; they have nothing to say about imports.
  const rc = JSON.parse(fs.readFileSync(path.join(ROOT, '.eslintrc.json'), 'utf8').replace(/^\s*\/\/.*$/gm, '')) as { rules: Record<string, unknown> };
  const typed = Object.fromEntries(Object.keys(rc.rules).filter(r => r.startsWith('@typescript-eslint/')).map(r => [r, 'off' as const]));
  eslint = new LegacyESLint({ cwd: ROOT, overrideConfig: { parserOptions: { project: null }, rules: typed } }) as unknown as typeof eslint;
}, 60_000);

async function boundaryFindings(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  expect(result.messages.filter(m => m.ruleId === null)).toEqual([]); // no parse or configuration error
  return result.messages.filter(m => m.ruleId === 'import/no-restricted-paths').map(m => m.message);
}

test.each([
  ['construct-side code importing handler-shared code', 'src/workflow/definition.ts',
    "import { beginAction } from '../lambda-shared/journal';\nexport const x = beginAction;\n", /must not import handler code/],
  ['a construct importing a function\'s handler logic', 'src/pre-post-script-backup/validate.ts',
    "import { handler } from '../functions/record-run/record-run.lambda';\nexport const x = handler;\n", /must not import handler code/],
  ['a function\'s grants importing its handler', 'src/functions/send-script/send-script.grants.ts',
    "import { handler } from './send-script.lambda';\nexport const x = handler;\n", /must not import handler code/],
  ['the contract importing construct-side code', 'src/contract/status.ts',
    "import { PropsCheck } from '../validation/errors';\nexport const x = PropsCheck;\n", /src\/contract is pure/],
  ['the contract importing handler-shared code', 'src/contract/status.ts',
    "import { beginAction } from '../lambda-shared/journal';\nexport const x = beginAction;\n", /src\/contract is pure/],
])('%s fails lint', async (_name, file, code, message) => {
  const findings = await boundaryFindings(file, code);
  expect(findings.length).toBeGreaterThan(0);
  expect(findings.join('\n')).toMatch(message);
}, 60_000);

test.each([
  ['construct-side code importing the contract', 'src/workflow/definition.ts',
    "import { RUN_REMOTE_SCRIPT_DOCUMENT } from '../contract/status';\nexport const x = RUN_REMOTE_SCRIPT_DOCUMENT;\n"],
  ['a grants module importing the shared grants and the contract', 'src/functions/send-script/send-script.grants.ts',
    "import { RUN_REMOTE_SCRIPT_DOCUMENT } from '../../contract/status';\nimport { unscoped } from '../grants';\nexport const x = [RUN_REMOTE_SCRIPT_DOCUMENT, unscoped];\n"],
  ['a handler importing handler-shared code and the contract', 'src/functions/send-script/send-script.lambda.ts',
    "import { RUN_REMOTE_SCRIPT_DOCUMENT } from '../../contract/status';\nimport { beginAction } from '../../lambda-shared/journal';\nexport const x = [RUN_REMOTE_SCRIPT_DOCUMENT, beginAction];\n"],
])('%s passes the boundary', async (_name, file, code) => {
  expect(await boundaryFindings(file, code)).toEqual([]);
}, 60_000);
