/**
 * Jest's test sequencer, with a prior for a fresh clone: slowest files first, so that neither worker idles while the
 * other finishes a long file (the 1,000-instance scale suite alone takes minutes).
 *
 * Jest's default orders files by their last duration from its cache (in the cache directory, keyed by the project's
 * path): a fresh clone has none, so jest falls back to file size, and the short scale suite (a few lines, minutes of
 * work) would start last, alone on one core. Here a file's duration is the cached one when there is one, else the
 * one in tools/jest-durations.json (seconds, measured; regenerate it from a run's cache when files move), else an
 * estimate: a simulated suite (test/workflow/simulated) 10 s, any other file 1 s. Failed files still run first.
 * Ordering only: which tests run and what they assert is unchanged.
 */
const path = require('path');
const Sequencer = require('@jest/test-sequencer').default;

const ROOT = path.resolve(__dirname, '..');
const PRIOR_SECONDS = require('./jest-durations.json');

class SlowestFirstSequencer extends Sequencer {
  time(test) {
    const cached = super.time(test);
    if (cached != null) return cached;
    const rel = path.relative(ROOT, test.path).split(path.sep).join('/');
    if (rel in PRIOR_SECONDS) return PRIOR_SECONDS[rel] * 1000;
    return rel.startsWith('test/workflow/simulated/') ? 10_000 : 1_000;
  }
}

module.exports = SlowestFirstSequencer;
