import { discoveredCounts, entrySpreadSeconds, pageEntry } from '../../src/contract/fleet';

describe('the fleet\'s entry schedule', () => {
  const spread = { maxConcurrency: 1000, secondsPerChain: 4, concurrentPages: 3 };

  test('a page\'s window: its chains that start together times the seconds per chain, at least 1 s', () => {
    expect(entrySpreadSeconds(1000, spread)).toBe(4000);
    expect(entrySpreadSeconds(5000, spread)).toBe(4000);
    expect(entrySpreadSeconds(1, spread)).toBe(4);
    expect(entrySpreadSeconds(0, spread)).toBe(1);
    expect(entrySpreadSeconds(10, undefined)).toBe(1);
  });

  test('pages that run together enter one after another; the next group of pages starts its own schedule', () => {
    const entries = [];
    let previous;
    for (let p = 0; p < 7; p++) {
      previous = pageEntry(p, p === 6 ? 10 : 1000, spread, previous);
      entries.push([previous.entryFromSeconds, previous.entryToSeconds]);
    }
    // Pages 0-2 run together: 0-4,000, 4,000-8,000, 8,000-12,000; page 3 starts when one of them ends: from 0 again.
    expect(entries).toEqual([[0, 4000], [4000, 8000], [8000, 12000], [0, 4000], [4000, 8000], [8000, 12000], [0, 40]]);
  });

  test('one page at a time (concurrentPages absent): every page starts its window at 0', () => {
    const one = { maxConcurrency: 1000, secondsPerChain: 0.5 };
    const first = pageEntry(0, 1000, one);
    expect(pageEntry(1, 1000, one, first)).toEqual({ entryFromSeconds: 0, entryToSeconds: 500 });
  });

  test('what discovery found so far: the pages\' counts added up', () => {
    expect(discoveredCounts([
      { pageNumber: 0, instanceCount: 1000, excludedCount: 3, entryFromSeconds: 0, entryToSeconds: 1 },
      { pageNumber: 1, instanceCount: 20, excludedCount: 0, entryFromSeconds: 1, entryToSeconds: 2 },
    ])).toEqual({ instanceCount: 1020, excludedCount: 3 });
    expect(discoveredCounts([])).toEqual({ instanceCount: 0, excludedCount: 0 });
  });
});
