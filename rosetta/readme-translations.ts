/**
 * Keeps the README's Python, Java and C# examples equal to jsii-rosetta's translations of the TypeScript
 * example they follow, so that every language shows code that compiled (TypeScript, strict mode, with
 * rosetta/readme.ts-fixture) rather than code written by hand.
 *
 * Reads the tablet `jsii-rosetta extract --strict` wrote next to the assembly (.jsii.tabl.json).
 *
 *   ts-node rosetta/readme-translations.ts          fails when a translation in README.md differs
 *   ts-node rosetta/readme-translations.ts --fix    writes the translations into README.md
 *
 * A TypeScript block is followed by its translations when the next fenced blocks, before any other
 * TypeScript block or heading, are `python`, `java` or `csharp` blocks.
 */
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');
const README = path.join(ROOT, 'README.md');
const TABLET = path.join(ROOT, '.jsii.tabl.json');

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
  readonly location: { readonly api: { readonly api: string } };
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
  const readmeSnippets = Object.values(tablet.snippets).filter(s => s.location.api.api === 'moduleReadme');
  const translationsOf = (typescript: string) =>
    readmeSnippets.find(s => normalize(s.translations.$.source) === normalize(typescript));

  const lines = fs.readFileSync(README, 'utf-8').split('\n');
  const items = fencedBlocks(lines);
  const problems: string[] = [];
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
    if (snippet.didCompile !== true) {
      problems.push(`README.md:${item.start}: this TypeScript example did not compile.`);
      return;
    }
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
  console.log(`README.md: ${examples} example(s) shown in Python, Java and C# as jsii-rosetta translates them.`);
  return 0;
}

process.exitCode = main();
