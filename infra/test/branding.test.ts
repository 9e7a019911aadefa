import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { brandingOf, copyCommands } from '../lib/branding';
import { resources, synth } from './helpers';

/** A spec folder with a logo, a preset with its own logo in a subfolder, and a stray file. */
function brandingFolder(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pictor-brand-'));
  fs.mkdirSync(path.join(dir, 'marks'));
  fs.writeFileSync(path.join(dir, 'logo.png'), 'png');
  fs.writeFileSync(path.join(dir, 'marks', 'small.png'), 'png');
  fs.writeFileSync(path.join(dir, 'notes.txt'), 'not shipped');
  const spec = path.join(dir, 'pictor.toml');
  fs.writeFileSync(
    spec,
    [
      '[watermark.logo]',
      'path = "logo.png"',
      '[presets.avatars]',
      'prefix = "avatars/"',
      '[presets.avatars.watermark.logo]',
      'path = "marks/small.png"',
    ].join('\n'),
  );
  return spec;
}

test('the spec and exactly the files it names are shipped, and PICTOR_SPEC_FILE finds them', () => {
  const spec = brandingFolder();
  const branding = brandingOf(spec);
  assert.deepEqual(
    branding.files.map((f) => f.to),
    ['pictor.toml', 'logo.png', 'marks/small.png'],
  );
  assert.equal(branding.specPath, '/var/task/pictor-spec/pictor.toml');
  const commands = copyCommands(branding.files, '/asset-output');
  assert.ok(commands.includes(`cp '${path.dirname(spec)}/marks/small.png' '/asset-output/pictor-spec/marks/small.png'`));
  assert.ok(commands.includes(`mkdir -p '/asset-output/pictor-spec/marks'`));

  const { template } = synth({ specFile: spec });
  const fns = resources(template, 'AWS::Lambda::Function');
  for (const prefix of ['Ingest', 'Cleanup', 'Query', 'Reprocess', 'Reconcile']) {
    const [, fn] = Object.entries(fns).find(([id]) => id.startsWith(`${prefix}Function`))!;
    const vars = (fn as any).Properties.Environment.Variables;
    assert.equal(vars.PICTOR_SPEC_FILE, branding.specPath, prefix);
    assert.equal(vars.PICTOR_SPEC, '', `${prefix}: the spec travels as a file`);
  }
});

test('a spec naming files outside its folder, or missing ones, is refused at synth', () => {
  const spec = brandingFolder();
  fs.writeFileSync(spec, '[watermark.logo]\npath = "../elsewhere.png"\n');
  assert.throws(() => brandingOf(spec), /in its folder or below/);
  fs.writeFileSync(spec, '[watermark.logo]\npath = "/etc/logo.png"\n');
  assert.throws(() => brandingOf(spec), /in its folder or below/);
  fs.writeFileSync(spec, '[watermark.logo]\npath = "missing.png"\n');
  assert.throws(() => brandingOf(spec), /does not exist/);
  fs.writeFileSync(spec, 'watermark = [');
  assert.throws(() => brandingOf(spec), /not valid TOML/);
});

test('functions that run the pipeline are built with the AV1 encoder only when a preset asks for AVIF', () => {
  const spec = brandingFolder();
  assert.deepEqual(brandingOf(spec).cargoFeatures, []);
  const lean = synth({ specFile: spec }).stack.functions;
  for (const fn of Object.values(lean)) assert.deepEqual(fn.cargoFlags, []);

  fs.appendFileSync(
    spec,
    ['', '[[presets.avatars.variants]]', 'name = "s256"', 'width = 256', 'format = "avif"'].join('\n'),
  );
  assert.deepEqual(brandingOf(spec).cargoFeatures, ['avif']);
  const { functions } = synth({ specFile: spec }).stack;
  for (const name of ['ingest', 'cleanup', 'query', 'reprocess', 'reconcile'] as const) {
    assert.deepEqual(functions[name].cargoFlags, ['--features', 'avif'], name);
  }
  assert.deepEqual(functions.report.cargoFlags, [], 'the report runs no pipeline');
});

test('functions that run the pipeline carry the SSIMULACRA2 metric only when a variant targets a score', () => {
  const spec = brandingFolder();
  fs.appendFileSync(
    spec,
    ['', '[[presets.web.variants]]', 'name = "w1024"', 'width = 1024', 'format = "webp"', 'quality = 80'].join('\n'),
  );
  assert.deepEqual(brandingOf(spec).cargoFeatures, [], 'a fixed quality needs no metric');
  fs.appendFileSync(
    spec,
    ['', '[[presets.web.variants]]', 'name = "w512"', 'width = 512', 'format = "avif"', 'quality = { ssimulacra2 = 80 }'].join('\n'),
  );
  assert.deepEqual(brandingOf(spec).cargoFeatures, ['avif', 'perceptual-quality']);
  const { functions } = synth({ specFile: spec }).stack;
  for (const name of ['ingest', 'cleanup', 'query', 'reprocess', 'reconcile'] as const) {
    assert.deepEqual(functions[name].cargoFlags, ['--features', 'avif,perceptual-quality'], name);
  }
});
