/**
 * Checks the examples jsii-rosetta compiled and translated (`jsii-rosetta extract --compile` wrote the tablet
 * .jsii.tabl.json next to the assembly):
 *
 * 1. Every TypeScript example, in the README (fixture rosetta/readme.ts-fixture) and in the API docs
 *    (@example, fixture rosetta/default.ts-fixture), compiled: strict mode, except the README examples listed
 *    in rosetta/untranslatable.json, which are reported on every run until they are fixed.
 * 2. The README's Python, Java and C# examples are jsii-rosetta's translations of the TypeScript example they
 *    follow, so that every language shows code that compiled rather than code written by hand. A TypeScript
 *    block is followed by its translations when the next fenced blocks, before any other TypeScript block or
 *    heading, are `python`, `java` or `csharp` blocks.
 *
 *   ts-node rosetta/check-examples.ts          fails on any of these problems
 *   ts-node rosetta/check-examples.ts --fix    writes the translations into README.md
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');
const README = path.join(ROOT, 'README.md');
const TABLET = path.join(ROOT, '.jsii.tabl.json');
const UNTRANSLATABLE = path.join(__dirname, 'untranslatable.json');

/** README fence language → rosetta tablet language. */
const LANGUAGES: Record<string, string> = { python: 'python', java: 'java', csharp: 'csharp' };
const TYPESCRIPT = new Set(['ts', 'typescript']);

interface Block {
  readonly language: string;
  /** Index of the first line of the block's content (after the opening fence). */
  readonly start: number;
  /** Index of the closing fence. */
  readonly end: number;
  readonly source: string;
}

interface TabletSnippet {
  readonly translations: Record<string, { readonly source: string }>;
  readonly didCompile?: boolean;
  readonly location: {
    readonly api: { readonly api: string; readonly fqn?: string; readonly memberName?: string };
    readonly field?: { readonly field: string; readonly line?: number };
  };
}

interface Untranslatable {
  readonly firstLine: string;
  readonly section: string;
  readonly reason: string;
}

function firstLine(source: string): string {
  return source.split('\n').map(l => l.trim()).find(l => l.length > 0) ?? '';
}

function where(snippet: TabletSnippet): string {
  const { api, field } = snippet.location;
  if (api.api === 'moduleReadme') return `README.md:${field?.line ?? '?'}`;
  return `@example of ${api.fqn}${api.memberName ? `#${api.memberName}` : ''}`;
}

/** Every example compiled, but the known untranslatable ones; returns the problems. */
function checkCompiled(snippets: TabletSnippet[]): string[] {
  const problems: string[] = [];
  const known = (JSON.parse(fs.readFileSync(UNTRANSLATABLE, 'utf-8')) as { readme: Untranslatable[] }).readme;
  const seen = new Set<Untranslatable>();
  for (const snippet of snippets) {
    if (snippet.didCompile === true) continue;
    const entry = snippet.location.api.api === 'moduleReadme'
      ? known.find(k => k.firstLine === firstLine(snippet.translations.$.source))
      : undefined;
    if (entry) {
      seen.add(entry);
      console.error(`WARNING ${where(snippet)} (${entry.section}): this example does not compile, so it cannot be ` +
        `shown in Python, Java or C#: it ${entry.reason}. Fix it and remove it from rosetta/untranslatable.json.`);
    } else {
      problems.push(`${where(snippet)}: this example does not compile (jsii-rosetta's diagnostics are above).`);
    }
  }
  for (const entry of known.filter(k => !seen.has(k))) {
    problems.push(`rosetta/untranslatable.json: '${entry.firstLine}' compiles now, or is gone: remove it from the list.`);
  }
  return problems;
}

function fencedBlocks(lines: string[]): Array<Block | { heading: number }> {
  const out: Array<Block | { heading: number }> = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)/.exec(lines[i]);
    if (!open) {
      if (/^#{1,6} /.test(lines[i])) out.push({ heading: i });
      continue;
    }
    let j = i + 1;
    while (j < lines.length && !/^```\s*$/.test(lines[j])) j++;
    if (j === lines.length) throw new Error(`README.md:${i + 1}: unclosed code fence`);
    out.push({ language: open[1].split(/\s/)[0], start: i + 1, end: j, source: lines.slice(i + 1, j).join('\n') });
    i = j;
  }
  return out;
}

function normalize(source: string): string {
  return source.replace(/[ \t]+$/gm, '').trim();
}

function main(): number {
  const fix = process.argv.includes('--fix');
  if (!fs.existsSync(TABLET)) {
    console.error(`${path.relative(ROOT, TABLET)} is missing: run 'npx projen rosetta' (jsii-rosetta extract) first.`);
    return 1;
  }
  const tablet = JSON.parse(fs.readFileSync(TABLET, 'utf-8')) as { snippets: Record<string, TabletSnippet> };
  const snippets = Object.values(tablet.snippets);
  const readmeSnippets = snippets.filter(s => s.location.api.api === 'moduleReadme');
  const translationsOf = (typescript: string) =>
    readmeSnippets.find(s => normalize(s.translations.$.source) === normalize(typescript));

  const lines = fs.readFileSync(README, 'utf-8').split('\n');
  const items = fencedBlocks(lines);
  const problems: string[] = checkCompiled(snippets);
  const replacements: Array<{ block: Block; source: string }> = [];
  let examples = 0;

  items.forEach((item, index) => {
    if (!('language' in item) || !TYPESCRIPT.has(item.language)) return;
    const following: Block[] = [];
    for (const next of items.slice(index + 1)) {
      if (!('language' in next) || !(next.language in LANGUAGES)) break;
      following.push(next);
    }
    if (following.length === 0) return;
    examples++;
    const snippet = translationsOf(item.source);
    if (!snippet) {
      problems.push(`README.md:${item.start}: this TypeScript example is not in the tablet: run 'npx projen rosetta'.`);
      return;
    }
    if (snippet.didCompile !== true) return; // reported by checkCompiled
    for (const block of following) {
      const translation = snippet.translations[LANGUAGES[block.language]];
      if (!translation) {
        problems.push(`README.md:${block.start}: jsii-rosetta has no ${block.language} translation.`);
      } else if (normalize(translation.source) !== normalize(block.source)) {
        if (fix) {
          replacements.push({ block, source: normalize(translation.source) });
        } else {
          problems.push(`README.md:${block.start}: the ${block.language} example is not jsii-rosetta's translation of ` +
            `the TypeScript one above it (README.md:${item.start}): run 'npx projen rosetta:fix-readme'.`);
        }
      }
    }
  });

  if (examples === 0) problems.push('README.md: no TypeScript example followed by its translations was found.');
  for (const { block, source } of replacements.reverse()) {
    lines.splice(block.start, block.end - block.start, ...source.split('\n'));
  }
  if (replacements.length > 0) {
    fs.writeFileSync(README, lines.join('\n'));
    console.log(`README.md: wrote ${replacements.length} translation(s).`);
  }
  if (problems.length > 0) {
    problems.forEach(p => console.error(p));
    return 1;
  }
  console.log(`rosetta: ${snippets.filter(s => s.didCompile === true).length} of ${snippets.length} examples compiled; ` +
    `README.md shows ${examples} of them in Python, Java and C# as jsii-rosetta translates them.`);
  return 0;
}

process.exitCode = main();
