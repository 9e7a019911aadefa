// The asset table's design as the Rust adapter defines it (shared/aws/src/table.rs), and the
// output bucket's layout as the core defines it (shared/core/src/domain/layout.rs). A test
// reads that file and fails if the two disagree.

export const TABLE_KEY = 'id';
export const SORT_KEY = 'created_key';

/** Index name and partition-key attribute of each GSI; all sort by `SORT_KEY`. */
export const INDEXES: ReadonlyArray<readonly [string, string]> = [
  ['by_creator', 'creator'],
  ['by_status', 'asset_status'],
  ['by_spec', 'spec_hash'],
];

/** Key prefixes in the output bucket, as the functions write them. */
export const RENDITIONS_PREFIX = 'renditions/';
export const MANIFESTS_PREFIX = 'manifests/';
export const REPORTS_PREFIX = 'reports/';
/** The last reconcile pass's report, which the nightly report includes. */
export const RECONCILE_LATEST = 'reports/reconcile/latest.json';
