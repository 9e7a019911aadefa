// Infra and the Rust crates cannot drift apart: the environment each function gets is exactly
// what its crate reads, and the table is the one the adapter queries.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { encodeThreads } from '../lib/pictor-stack';
import { WORKSPACE } from '../lib/rust-function';
import {
  INDEXES,
  MANIFESTS_PREFIX,
  RENDITIONS_PREFIX,
  RECONCILE_LATEST,
  REPORTS_PREFIX,
  SORT_KEY,
  TABLE_KEY,
} from '../lib/table-design';
import { resources, synth } from './helpers';

const { template } = synth();

/** Crates that re-export another function's handler and configuration. */
const CONFIG_FROM: Record<string, string> = { cleanup: 'ingest' };

/** The strings in `pub const ENV_VARS: [&str; N] = [...]` somewhere in the crate's sources. */
function envVarsOf(crate: string): string[] {
  const dir = path.join(WORKSPACE, 'functions', CONFIG_FROM[crate] ?? crate, 'src');
  for (const file of fs.readdirSync(dir)) {
    const source = fs.readFileSync(path.join(dir, file), 'utf8');
    const found = /pub const ENV_VARS: \[&str; (\d+)\] = \[([^\]]*)\]/.exec(source);
    if (found) {
      const names = [...found[2].matchAll(/"([A-Z0-9_]+)"/g)].map((m) => m[1]);
      assert.equal(names.length, Number(found[1]), `${crate}: ENV_VARS length`);
      return names;
    }
  }
  throw new Error(`no ENV_VARS in ${dir}`);
}

test('each function gets exactly the variables its crate reads', () => {
  const fns = resources(template, 'AWS::Lambda::Function');
  const crates = ['ingest', 'cleanup', 'query', 'reprocess', 'report', 'reconcile', 'purge'];
  for (const crate of crates) {
    const prefix = crate.charAt(0).toUpperCase() + crate.slice(1);
    const [, fn] = Object.entries(fns).find(([id]) => id.startsWith(`${prefix}Function`))!;
    const given = Object.keys(fn.Properties.Environment.Variables).sort();
    assert.deepEqual(given, envVarsOf(crate).sort(), crate);
  }
});

test('the table has the key and indexes the Rust adapter uses', () => {
  const source = fs.readFileSync(path.join(WORKSPACE, 'shared/aws/src/table.rs'), 'utf8');
  const constant = (name: string) => {
    const m = new RegExp(`pub const ${name}: &str = "([^"]+)";`).exec(source);
    assert.ok(m, name);
    return m[1];
  };
  assert.equal(TABLE_KEY, constant('ID'));
  assert.equal(SORT_KEY, constant('CREATED_KEY'));
  const rustIndexes = [
    [constant('BY_CREATOR'), constant('CREATOR')],
    [constant('BY_STATUS'), constant('STATUS')],
    [constant('BY_SPEC'), constant('SPEC_HASH')],
  ];
  assert.deepEqual(INDEXES, rustIndexes);
});

test('the output bucket prefixes are the ones the Rust layout module writes', () => {
  const source = fs.readFileSync(path.join(WORKSPACE, 'shared/core/src/domain/layout.rs'), 'utf8');
  const constant = (name: string) => {
    const m = new RegExp(`pub const ${name}: &str = "([^"]+)";`).exec(source);
    assert.ok(m, name);
    return m[1];
  };
  assert.equal(RENDITIONS_PREFIX, constant('RENDITIONS'));
  assert.equal(MANIFESTS_PREFIX, constant('MANIFESTS'));
  assert.equal(REPORTS_PREFIX, constant('REPORTS'));
  assert.equal(RECONCILE_LATEST, constant('RECONCILE_LATEST'));
});

/** `metrics.rs`'s catalogue: metric names by the `Function` dimension they are published under. */
function metricsCatalogue(): Map<string, Set<string>> {
  const source = fs.readFileSync(path.join(WORKSPACE, 'shared/aws/src/metrics.rs'), 'utf8');
  const lists = new Map<string, string[]>();
  for (const m of source.matchAll(/const (\w+): &\[&str\] = &\[([^\]]*)\];/g)) {
    lists.set(m[1], [...m[2].matchAll(/"(\w+)"/g)].map((n) => n[1]));
  }
  const table = /pub const CATALOGUE: &\[\(&str, &\[&str\]\)\] = &\[([\s\S]*?)\n\];/.exec(source);
  assert.ok(table, 'CATALOGUE in metrics.rs');
  const catalogue = new Map<string, Set<string>>();
  for (const entry of table[1].matchAll(/\(\s*"(\w+)",\s*(?:(\w+)|&\[([^\]]*)\])\s*,?\s*\)/g)) {
    const names = entry[2] ? lists.get(entry[2]) : [...entry[3].matchAll(/"(\w+)"/g)].map((n) => n[1]);
    assert.ok(names, `list ${entry[2]}`);
    catalogue.set(entry[1], new Set(names));
  }
  return catalogue;
}

/** Every `Pictor` namespace metric the template's dashboards and alarms read. */
function pictorMetricsUsed(): { where: string; name: string; dims: Record<string, string> }[] {
  const used: { where: string; name: string; dims: Record<string, string> }[] = [];
  for (const [id, alarm] of Object.entries(resources(template, 'AWS::CloudWatch::Alarm'))) {
    const p = alarm.Properties;
    if (p.Namespace !== 'Pictor') continue;
    const dims = Object.fromEntries((p.Dimensions ?? []).map((d: any) => [d.Name, d.Value]));
    used.push({ where: id, name: p.MetricName, dims });
  }
  for (const [id, board] of Object.entries(resources(template, 'AWS::CloudWatch::Dashboard'))) {
    // The body is a Fn::Join of JSON text and tokens (inside strings): tokens become text.
    const parts: unknown[] = board.Properties.DashboardBody['Fn::Join'][1];
    const body = JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'TOKEN')).join(''));
    for (const widget of body.widgets) {
      const series = [...(widget.properties.metrics ?? [])];
      for (const metric of series) {
        const [namespace, name, ...rest] = metric as unknown[];
        if (namespace !== 'Pictor') continue;
        const dims: Record<string, string> = {};
        for (let i = 0; i + 1 < rest.length && typeof rest[i] === 'string'; i += 2) {
          dims[rest[i] as string] = rest[i + 1] as string;
        }
        used.push({ where: `${id} ${widget.properties.title}`, name: name as string, dims });
      }
    }
  }
  return used;
}

test('every dashboard and alarm metric is one the functions publish, as they publish it', () => {
  const catalogue = metricsCatalogue();
  assert.ok(catalogue.get('reconcile')?.has('Drift'), 'the catalogue parses');
  const used = pictorMetricsUsed();
  assert.ok(used.length >= 10, `found ${used.length} Pictor metrics in the template`);
  for (const { where, name, dims } of used) {
    // Published under `Function` alone (the roll-up); nothing else would match.
    assert.deepEqual(Object.keys(dims), ['Function'], `${where}: ${name} dimensions ${JSON.stringify(dims)}`);
    assert.ok(
      catalogue.get(dims.Function)?.has(name),
      `${where}: ${dims.Function} does not publish ${name}`,
    );
  }
});

test('every Lambda memory size gets a thread count the functions accept', () => {
  const source = fs.readFileSync(path.join(WORKSPACE, 'shared/aws/src/config/pipeline.rs'), 'utf8');
  const m = /pub const MAX_ENCODE_THREADS: usize = (\d+);/.exec(source);
  assert.ok(m, 'MAX_ENCODE_THREADS');
  const max = Number(m[1]);
  for (let memoryMb = 128; memoryMb <= 10240; memoryMb += 1) {
    const threads = encodeThreads(memoryMb);
    assert.ok(Number.isInteger(threads) && threads >= 1 && threads <= max, `${memoryMb} MB -> ${threads}`);
  }
  assert.equal(encodeThreads(10240), max, 'the largest function uses every vCPU');
});
