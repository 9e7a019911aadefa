import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'smol-toml';

/** The folder, inside each function's bundle, that holds the spec and the files it names. */
export const SPEC_BUNDLE_DIR = 'pictor-spec';

/** Where Lambda unpacks a function's bundle. */
export const TASK_ROOT = '/var/task';

/** A file shipped in each function's bundle: its source, and its path below the spec folder. */
export interface ShippedFile {
  readonly from: string;
  readonly to: string;
}

/**
 * A deployment's rendition spec and its branding: the spec file and every file it names
 * (watermark logos, at the top level and in each preset), shipped in each function's bundle,
 * so `PICTOR_SPEC_FILE` finds them beside the spec as `pictor process` does on a laptop.
 */
export interface Branding {
  readonly files: readonly ShippedFile[];
  /** `PICTOR_SPEC_FILE` in the functions. */
  readonly specPath: string;
  /**
   * The Cargo features the functions that run the pipeline are built with: `avif` when any
   * preset has an AVIF variant (the AV1 encoder is left out of the package otherwise), and
   * `perceptual-quality` when any variant's quality is a SSIMULACRA2 target (so is the metric).
   */
  readonly cargoFeatures: readonly string[];
}

type Table = Record<string, unknown>;

function table(value: unknown): Table | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Table)
    : undefined;
}

/** The logo path a spec table names, if any. */
function logoOf(spec: Table): string | undefined {
  const logo = table(table(spec.watermark)?.logo);
  return typeof logo?.path === 'string' ? logo.path : undefined;
}

/** Whether a spec table's own variants (a preset's, or the top level's) include AVIF. */
function namesAvif(spec: Table): boolean {
  const variants = Array.isArray(spec.variants) ? spec.variants : [];
  return variants.some((v) => {
    const format = table(v)?.format;
    return typeof format === 'string' && format.toLowerCase() === 'avif';
  });
}

/** Whether a spec table's own variants ask for a perceptual target: `quality = { ssimulacra2 = 80 }`. */
function targetsQuality(spec: Table): boolean {
  const variants = Array.isArray(spec.variants) ? spec.variants : [];
  return variants.some((v) => table(table(v)?.quality)?.ssimulacra2 !== undefined);
}

/** Reads the spec at `specFile` and lists what must ship with it; refuses what cannot. */
export function brandingOf(specFile: string): Branding {
  const text = fs.readFileSync(specFile, 'utf8');
  let spec: Table;
  try {
    spec = parse(text) as Table;
  } catch (e) {
    throw new Error(`pictor:specFile ${specFile} is not valid TOML: ${(e as Error).message}`);
  }
  const named = [logoOf(spec)];
  let avif = namesAvif(spec);
  let targets = targetsQuality(spec);
  for (const preset of Object.values(table(spec.presets) ?? {})) {
    const t = table(preset);
    if (t) {
      named.push(logoOf(t));
      avif ||= namesAvif(t);
      targets ||= targetsQuality(t);
    }
  }
  const base = path.dirname(specFile);
  const files: ShippedFile[] = [{ from: specFile, to: path.basename(specFile) }];
  for (const name of new Set(named.filter((n): n is string => n !== undefined))) {
    const normal = path.posix.normalize(name);
    if (path.isAbsolute(name) || normal.startsWith('../') || normal === '..') {
      throw new Error(
        `${specFile} names ${name}: files a deployed spec names must sit in its folder or below`,
      );
    }
    const from = path.join(base, normal);
    if (!fs.existsSync(from)) {
      throw new Error(`${specFile} names ${name}, which does not exist (${from})`);
    }
    files.push({ from, to: normal });
  }
  return {
    files,
    specPath: `${TASK_ROOT}/${SPEC_BUNDLE_DIR}/${path.basename(specFile)}`,
    cargoFeatures: [...(avif ? ['avif'] : []), ...(targets ? ['perceptual-quality'] : [])],
  };
}

/** Shell commands that copy the shipped files into a bundle's output folder. */
export function copyCommands(files: readonly ShippedFile[], outputDir: string): string[] {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  return files.flatMap((f) => {
    const target = path.posix.join(outputDir, SPEC_BUNDLE_DIR, f.to);
    return [`mkdir -p ${quote(path.posix.dirname(target))}`, `cp ${quote(f.from)} ${quote(target)}`];
  });
}
