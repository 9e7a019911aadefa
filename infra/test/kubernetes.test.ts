// The Kubernetes manifests (infra/kubernetes) rendered as `kubectl apply -k` renders them
// (the kustomization's resources, its namespace and its image), then read: every object valid
// against its API schema, every container the Dockerfile's image running a binary the image
// holds, every variable one the program reads and documents, the autoscaler on the worker's
// own stream and consumer. No cluster is needed, and none is used.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { WORKSPACE } from '../lib/rust-function';

const DIR = path.join(WORKSPACE, 'infra', 'kubernetes');

type Obj = Record<string, any>;

interface Rendered {
  readonly objects: Obj[];
  readonly image: string;
}

function render(): Rendered {
  const k = parse(fs.readFileSync(path.join(DIR, 'kustomization.yaml'), 'utf8'));
  assert.equal(k.kind, 'Kustomization');
  assert.equal(k.images.length, 1, 'one image for every role');
  const { name, newName, newTag } = k.images[0];
  const image = `${newName}:${newTag}`;
  const objects: Obj[] = [];
  for (const file of k.resources as string[]) {
    for (const doc of parseAllDocuments(fs.readFileSync(path.join(DIR, file), 'utf8'))) {
      assert.deepEqual(doc.errors, [], file);
      const obj = doc.toJS();
      if (obj.kind !== 'Namespace') obj.metadata.namespace = k.namespace;
      for (const c of containersOf(obj)) {
        assert.equal(c.image, name, `${obj.metadata.name}: the kustomization's image`);
        c.image = image;
      }
      objects.push(obj);
    }
  }
  // Nothing in the folder that the kustomization leaves out.
  const listed = new Set([...k.resources, 'kustomization.yaml']);
  assert.deepEqual(fs.readdirSync(DIR).filter((f) => !listed.has(f)), []);
  return { objects, image };
}

function podSpecOf(obj: Obj): Obj | undefined {
  if (obj.kind === 'Deployment') return obj.spec.template.spec;
  if (obj.kind === 'CronJob') return obj.spec.jobTemplate.spec.template.spec;
  return undefined;
}

function containersOf(obj: Obj): Obj[] {
  return podSpecOf(obj)?.containers ?? [];
}

const { objects, image } = render();

function find(kind: string, name: string): Obj {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  assert.ok(found, `${kind} ${name}`);
  return found;
}

/** The strings in `pub const ENV_VARS: [&str; N] = [...]` of the worker's crate. */
function workerEnvVars(): string[] {
  const source = fs.readFileSync(path.join(WORKSPACE, 'functions/worker/src/lib.rs'), 'utf8');
  const found = /pub const ENV_VARS: \[&str; (\d+)\] = \[([^\]]*)\]/.exec(source);
  assert.ok(found, 'ENV_VARS in functions/worker');
  const names = [...found[2].matchAll(/"([A-Z0-9_]+)"/g)].map((m) => m[1]);
  assert.equal(names.length, Number(found[1]));
  return names;
}

/** What the SDK and the log subscriber read, which every role may be given. */
const STANDARD = ['AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'RUST_LOG'];
/** The keys of the Secret the README tells you to create. */
const SECRET_KEYS = ['db', 's3-access-key', 's3-secret-key', 'jwt-public-key'];

test('every object is valid against its API schema', async () => {
  const core = await import('kubernetes-models/v1');
  const apps = await import('kubernetes-models/apps/v1');
  const batch = await import('kubernetes-models/batch/v1');
  const autoscaling = await import('kubernetes-models/autoscaling/v2');
  const keda = await import('@kubernetes-models/keda/keda.sh/v1alpha1');
  // Typed loosely: the models' base class is not visible to this project's module resolution.
  const models: Record<string, new (data: any) => any> = {
    'v1/Namespace': core.Namespace,
    'v1/ConfigMap': core.ConfigMap,
    'v1/Service': core.Service,
    'apps/v1/Deployment': apps.Deployment,
    'batch/v1/CronJob': batch.CronJob,
    'autoscaling/v2/HorizontalPodAutoscaler': autoscaling.HorizontalPodAutoscaler,
    'keda.sh/v1alpha1/ScaledObject': keda.ScaledObject,
  };
  for (const obj of objects) {
    const model = models[`${obj.apiVersion}/${obj.kind}`];
    assert.ok(model, `no schema for ${obj.apiVersion} ${obj.kind}`);
    assert.doesNotThrow(() => new model(obj).validate(), `${obj.kind} ${obj.metadata.name}`);
  }
  // The check can fail: a replica count that is not a number is refused.
  const broken = structuredClone(find('Deployment', 'pictor-worker'));
  broken.spec.replicas = 'one';
  assert.throws(() => new (apps.Deployment as new (data: any) => any)(broken).validate());
});

test('every pod runs the image as nobody, read-only, and its selector finds it', () => {
  for (const obj of objects) {
    const pod = podSpecOf(obj);
    if (!pod) continue;
    const name = `${obj.kind} ${obj.metadata.name}`;
    assert.equal(pod.securityContext.runAsNonRoot, true, name);
    assert.equal(pod.securityContext.runAsUser, 65532, name);
    assert.equal(pod.automountServiceAccountToken, false, name);
    for (const c of pod.containers) {
      assert.equal(c.image, image, name);
      assert.equal(c.securityContext.readOnlyRootFilesystem, true, name);
      assert.equal(c.securityContext.allowPrivilegeEscalation, false, name);
      assert.ok(c.resources.limits.memory, `${name}: a memory limit`);
    }
    if (obj.kind === 'Deployment') {
      const labels = obj.spec.template.metadata.labels;
      for (const [k, v] of Object.entries(obj.spec.selector.matchLabels)) {
        assert.equal(labels[k], v, `${name}: selector ${k}`);
      }
    }
  }
  const api = find('Deployment', 'pictor-api');
  const service = find('Service', 'pictor-api');
  for (const [k, v] of Object.entries(service.spec.selector)) {
    assert.equal(api.spec.template.metadata.labels[k], v, `the Service's selector ${k}`);
  }
  const ports = api.spec.template.spec.containers[0].ports.map((p: Obj) => p.name);
  assert.ok(ports.includes(service.spec.ports[0].targetPort));
  const hpa = find('HorizontalPodAutoscaler', 'pictor-api');
  assert.equal(hpa.spec.scaleTargetRef.name, 'pictor-api');
});

test('the Dockerfile builds every binary a container runs, and runs as the manifests say', () => {
  const dockerfile = fs.readFileSync(path.join(WORKSPACE, 'Dockerfile'), 'utf8');
  const copied = /COPY --from=build ((?:\S+ )+)\/usr\/local\/bin\//.exec(dockerfile);
  assert.ok(copied, 'the binaries copied into the image');
  const binaries = copied[1].trim().split(' ').map((p) => path.basename(p));
  const built = /cargo build --release --locked (.*)/.exec(dockerfile);
  assert.ok(built);
  for (const binary of binaries) {
    assert.ok(built[1].includes(`--bin ${binary}`), `${binary} is built`);
  }
  for (const obj of objects) {
    for (const c of containersOf(obj)) {
      assert.ok(binaries.includes(c.command[0]), `${obj.metadata.name} runs ${c.command[0]}`);
    }
  }
  assert.match(dockerfile, /^USER 65532:65532$/m);
  // What a build needs beyond Rust, as scripts/build-tools installs it.
  const tools = fs.readFileSync(path.join(WORKSPACE, 'scripts/build-tools'), 'utf8');
  assert.match(tools, /install .*nasm/);
  assert.match(dockerfile, /apt-get install .*nasm/);
  const ignored = fs.readFileSync(path.join(WORKSPACE, '.dockerignore'), 'utf8');
  assert.match(ignored, /^target\/$/m, 'the build context leaves out the build folder');
});

test('the worker gets only variables it reads, the required ones among them', () => {
  const worker = find('Deployment', 'pictor-worker').spec.template.spec.containers[0];
  assert.deepEqual(worker.command, ['pictor-worker']);
  const given = worker.env.map((e: Obj) => e.name);
  const reads = workerEnvVars();
  for (const name of given) {
    assert.ok(reads.includes(name) || STANDARD.includes(name), `the worker does not read ${name}`);
  }
  for (const required of ['PICTOR_DB', 'PICTOR_OUTPUT_BUCKET', 'PICTOR_NATS_URL', 'AWS_ENDPOINT_URL']) {
    assert.ok(given.includes(required), `the worker needs ${required}`);
  }
  // And what it reads is what README.md documents for it.
  const readme = fs.readFileSync(path.join(WORKSPACE, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Without AWS'), readme.indexOf('## Deploying to AWS'));
  for (const name of reads) {
    assert.ok(section.includes(`\`${name}\``), `README.md documents ${name}`);
  }
});

test('every variable comes from the ConfigMap or the Secret, by keys they have', () => {
  const config = find('ConfigMap', 'pictor-config');
  const readme = fs.readFileSync(path.join(WORKSPACE, 'README.md'), 'utf8');
  for (const key of SECRET_KEYS) {
    assert.match(readme, new RegExp(`--from-(literal|file)=${key}=`), `README.md creates ${key}`);
  }
  const used = new Set<string>();
  for (const obj of objects) {
    const pod = podSpecOf(obj);
    if (!pod) continue;
    for (const c of pod.containers) {
      for (const e of c.env) {
        const from = e.valueFrom;
        if (from?.configMapKeyRef) {
          assert.equal(from.configMapKeyRef.name, 'pictor-config');
          assert.ok(from.configMapKeyRef.key in config.data, `${e.name}: ${from.configMapKeyRef.key}`);
          used.add(from.configMapKeyRef.key);
        } else if (from?.secretKeyRef) {
          assert.equal(from.secretKeyRef.name, 'pictor-secrets');
          assert.ok(SECRET_KEYS.includes(from.secretKeyRef.key), `${e.name}: ${from.secretKeyRef.key}`);
        } else {
          assert.equal(typeof e.value, 'string', `${obj.metadata.name}: ${e.name}`);
        }
      }
    }
    for (const v of pod.volumes ?? []) {
      if (v.secret) {
        assert.equal(v.secret.secretName, 'pictor-secrets');
        for (const item of v.secret.items) assert.ok(SECRET_KEYS.includes(item.key), item.key);
      }
    }
  }
  assert.deepEqual(
    Object.keys(config.data).filter((k) => !used.has(k)),
    [],
    'every ConfigMap entry is used',
  );
});

test("the CLI roles' flags exist and their $(VARS) are set", () => {
  const cli = fs
    .readdirSync(path.join(WORKSPACE, 'src/cli'))
    .map((f) => fs.readFileSync(path.join(WORKSPACE, 'src/cli', f), 'utf8'))
    .join('\n');
  for (const obj of objects) {
    for (const c of containersOf(obj)) {
      const names = new Set(c.env.map((e: Obj) => e.name));
      for (const arg of c.args ?? []) {
        for (const [, v] of String(arg).matchAll(/\$\(([A-Z0-9_]+)\)/g)) {
          assert.ok(names.has(v), `${obj.metadata.name}: $(${v}) is not set`);
        }
        if (String(arg).startsWith('--')) {
          const field = arg.slice(2).replace(/-/g, '_');
          assert.match(cli, new RegExp(`^\\s*(pub )?${field}: `, 'm'), `pictor has no ${arg}`);
        }
      }
    }
  }
  const api = find('Deployment', 'pictor-api').spec.template.spec.containers[0];
  assert.deepEqual(api.args.slice(0, 1), ['serve']);
  // Tokens are checked, and only requests for the public host are answered.
  for (const flag of ['--jwt-public-key', '--jwt-issuer', '--allowed-host', '--db', '--bucket']) {
    assert.ok(api.args.includes(flag), flag);
  }
  const reconcile = find('CronJob', 'pictor-reconcile');
  assert.equal(reconcile.spec.jobTemplate.spec.template.spec.containers[0].args[0], 'reconcile');
  assert.equal(reconcile.spec.concurrencyPolicy, 'Forbid');
});

test("KEDA scales the worker to zero on its own stream and consumer's backlog", () => {
  const scaler = find('ScaledObject', 'pictor-worker');
  assert.equal(scaler.spec.scaleTargetRef.name, 'pictor-worker');
  find('Deployment', scaler.spec.scaleTargetRef.name);
  assert.equal(scaler.spec.minReplicaCount, 0);
  assert.ok(scaler.spec.maxReplicaCount >= 1);
  const [trigger] = scaler.spec.triggers;
  assert.equal(trigger.type, 'nats-jetstream');
  // The names `Settings::named` gives under the configured prefix.
  const naming = fs.readFileSync(path.join(WORKSPACE, 'shared/nats/src/worker.rs'), 'utf8');
  assert.ok(naming.includes(`format!("{}_UPLOADS", prefix.to_uppercase().replace(['.', '-'], "_"))`));
  assert.ok(naming.includes('format!("{prefix}-ingest")'));
  const prefix = find('ConfigMap', 'pictor-config').data.PICTOR_NATS_PREFIX as string;
  assert.equal(trigger.metadata.stream, `${prefix.toUpperCase().replace(/[.-]/g, '_')}_UPLOADS`);
  assert.equal(trigger.metadata.consumer, `${prefix}-ingest`);
  // The monitoring port of the server the worker connects to.
  const natsUrl = new URL(find('ConfigMap', 'pictor-config').data.PICTOR_NATS_URL);
  assert.equal(trigger.metadata.natsServerMonitoringEndpoint.split(':')[0], natsUrl.hostname);
  // Work in hand is finished on scale-down, within the grace period.
  const pod = find('Deployment', 'pictor-worker').spec.template.spec;
  assert.ok(pod.terminationGracePeriodSeconds >= 60);
});
