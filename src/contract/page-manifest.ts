/**
 * The page manifest: the instances of one page of a run, written by the workflow before the page's Map starts, so that
 * the run can tell afterwards which instances' chains ended without their audit entry (docs/workflow.md, "Recovering a
 * chain that died"), whatever the Map returned. One item per execution and page, keyed `PAGE#<execution ARN>#<page>`.
 * Pure: shared by the workflow (which writes it) and find-unfinished (which reads it).
 */
/** Prefix of every manifest's partition key (and of the only keys find-unfinished may read or update). */
export const PAGE_MANIFEST_KEY_PREFIX = 'PAGE#';
/** The attribute holding the page's discovered instances, as JSON. */
export const PAGE_MANIFEST_ITEMS = 'Page_Items_Json';
/** `RecordType` of a manifest item. */
export const RECORD_TYPE_PAGE = 'PAGE';

/** `PAGE#<execution ARN>#<page>`. */
export function pageManifestKey(executionId: string, page: number): string {
  return `${PAGE_MANIFEST_KEY_PREFIX}${executionId}#${page}`;
}
