import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT, scratchDir } from '../../system/worlds/infra/provisioning.ts';

// The Helm chart, checked offline: helm lint, helm template, and every
// rendered object against Kubernetes' own schemas (kubernetes-validate
// --strict), plus what the rendered cluster must hold. No cluster involved.
// helm and kubernetes-validate come from scripts/provision-k8s-tools.sh;
// missing on a developer's machine the test is skipped with a note, in CI
// (CI=true) a missing one fails.

const CHART = join(PROJECT_ROOT, 'deploy', 'helm', 'chatlab');
const LARGE = join(CHART, 'values-large.yaml');
const HELM = join(PROJECT_ROOT, '.cache', 'bin', 'helm');
const VENV = join(PROJECT_ROOT, '.cache', 'venv-k8s', 'bin');
const KUBERNETES_VALIDATE = join(VENV, 'kubernetes-validate');
/** The virtualenv's python has PyYAML (kubernetes-validate's own dependency): it parses what helm renders. */
const PYTHON = join(VENV, 'python');
/** The Kubernetes versions validated against: the newest the tool knows, and the chart's kubeVersion floor. */
const KUBE_VERSIONS = ['1.37.0', '1.30.0'];
const RELEASE = 'chatlab';
const NAMESPACE = 'load';

interface Run { status: number | null; stdout: string; stderr: string }

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function toolsMissing(): string[] {
  return [
    ...(executable(HELM) ? [] : [`helm in ${HELM}`]),
    ...(executable(KUBERNETES_VALIDATE) ? [] : [`kubernetes-validate in ${KUBERNETES_VALIDATE}`]),
  ];
}

function run(command: string, args: string[], input?: string, env?: NodeJS.ProcessEnv): Run {
  const r = spawnSync(command, args, { cwd: PROJECT_ROOT, encoding: 'utf8', input, timeout: 120_000, env: env ?? process.env, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function helm(args: string[]): Run {
  // No kubeconfig, no repositories: helm stays offline (template renders with its built-in capabilities).
  return run(HELM, args, undefined, { ...process.env, KUBECONFIG: '/dev/null', HELM_CACHE_HOME: join(out(), 'helm-cache'), HELM_CONFIG_HOME: join(out(), 'helm-config'), HELM_DATA_HOME: join(out(), 'helm-data') });
}

let outDir: string | undefined;
/** Where rendered manifests go (.cache/run/helm-chart-…): left there for reading when a check fails. */
function out(): string {
  outDir ??= scratchDir('helm-chart');
  return outDir;
}

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  // The rendered objects are read field by field; their shape is Kubernetes', checked by kubernetes-validate.
  spec?: any;
  data?: Record<string, string>;
}

/** helm template with these arguments; fails the test with helm's message when it does not render. */
function render(name: string, args: string[]): { file: string; objects: K8sObject[] } {
  const r = helm(['template', RELEASE, CHART, '--namespace', NAMESPACE, ...args]);
  assert.equal(r.status, 0, `helm template ${args.join(' ')} failed:\n${r.stderr}`);
  const file = join(out(), `${name}.yaml`);
  writeFileSync(file, r.stdout);
  return { file, objects: parse(r.stdout) };
}

function parse(yaml: string): K8sObject[] {
  const r = run(PYTHON, ['-c', 'import json, sys, yaml; print(json.dumps([d for d in yaml.safe_load_all(sys.stdin) if d]))'], yaml);
  assert.equal(r.status, 0, `the rendered YAML does not parse:\n${r.stderr}`);
  return JSON.parse(r.stdout) as K8sObject[];
}

function validate(file: string, kubeVersion: string, strict = true): Run {
  return run(KUBERNETES_VALIDATE, ['-k', kubeVersion, ...(strict ? ['--strict'] : []), '--quiet', file]);
}

function find(objects: K8sObject[], kind: string, name: string): K8sObject {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `no ${kind} ${name} among ${objects.map((x) => `${x.kind}/${x.metadata.name}`).join(', ')}`);
  return o;
}

interface EnvVar { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string } } }

function envOf(container: { env?: EnvVar[] }): Map<string, EnvVar> {
  return new Map((container.env ?? []).map((e) => [e.name, e]));
}

/** The variables node-process.ts requires (read with no default): every one must be set on the node pods. */
function nodeProcessRequiredEnv(): string[] {
  const source = readFileSync(join(PROJECT_ROOT, 'system', 'worlds', 'node-process.ts'), 'utf8');
  return [...new Set([...source.matchAll(/\benv\('(CHATLAB_[A-Z_]+)'\)/g)].map((m) => m[1]!))];
}

const NODE = `${RELEASE}-node`;
const CASSANDRA = `${RELEASE}-cassandra`;

describe('Helm chart deploy/helm/chatlab (offline: helm lint, helm template, kubernetes-validate)', function () {
  this.timeout(180_000);
  let small: { file: string; objects: K8sObject[] };
  let large: { file: string; objects: K8sObject[] };

  before(function () {
    const missing = toolsMissing();
    if (missing.length > 0) {
      if (process.env.CI) assert.fail(`missing ${missing.join(', ')}: run \`bash scripts/provision-k8s-tools.sh\``);
      console.log(`      skipped: missing ${missing.join(', ')} — run \`bash scripts/provision-k8s-tools.sh\``);
      this.skip();
    }
    small = render('default', []);
    large = render('large', ['-f', LARGE]);
  });

  it('passes helm lint --strict with values.yaml and with values-large.yaml', () => {
    for (const args of [[], ['-f', LARGE]]) {
      const r = helm(['lint', '--strict', CHART, ...args]);
      assert.equal(r.status, 0, `helm lint ${args.join(' ')}:\n${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    }
  });

  it('renders objects that kubernetes-validate --strict accepts, for Kubernetes 1.37 and the chart\'s floor 1.30', () => {
    const extra = render('every-option', ['-f', LARGE, '--set', 'nodes.nodeNumberFrom=podName', '--set', 'redis.persistence.enabled=false', '--set', 'cassandra.persistence.enabled=false',
      '--set', 'media.s3.endpoint=http://s3.storage:8333', '--set', 'media.replicas=2', '--set', 'media.s3.credentialsSecret=s3-keys', '--set', 'relay.hostNetwork=true', '--set', 'relay.externalIP=203.0.113.7',
      '--set', 'driver.results.existingClaim=shared-results', '--set', 'secret.token=fixed-token']);
    for (const { file } of [small, large, extra]) {
      for (const version of KUBE_VERSIONS) {
        const r = validate(file, version);
        assert.equal(r.status, 0, `kubernetes-validate -k ${version} --strict ${file}:\n${r.stdout}${r.stderr}`);
      }
    }
    assert.ok(small.objects.length >= 10 && large.objects.length > small.objects.length, `${small.objects.length} and ${large.objects.length} objects`);
  });

  it('refuses a broken value: the schema stops helm, and without the schema Kubernetes\' validation does', () => {
    const refused = helm(['template', RELEASE, CHART, '--set', 'nodes.replicas=two']);
    assert.notEqual(refused.status, 0, 'helm template rendered replicas "two"');
    assert.match(refused.stderr, /nodes\/replicas/);

    const unchecked = helm(['template', RELEASE, CHART, '--skip-schema-validation', '--set', 'nodes.replicas=two']);
    assert.equal(unchecked.status, 0, unchecked.stderr);
    assert.match(unchecked.stdout, /replicas: two/);
    const file = join(out(), 'broken-replicas.yaml');
    writeFileSync(file, unchecked.stdout);
    const r = validate(file, '1.37.0');
    assert.notEqual(r.status, 0, 'kubernetes-validate accepted replicas: two');
    assert.match(`${r.stdout}${r.stderr}`, new RegExp(`statefulset/${NODE}.*spec\\.replicas`));

    // A misspelled field is caught only by --strict: the test would notice validation that is not strict.
    const typo = join(out(), 'misspelled-field.yaml');
    const text = readFileSync(small.file, 'utf8');
    assert.match(text, /terminationGracePeriodSeconds: 40/);
    writeFileSync(typo, text.replace('terminationGracePeriodSeconds: 40', 'terminationGracePeriodSecond: 40'));
    assert.notEqual(validate(typo, '1.37.0').status, 0, '--strict accepted terminationGracePeriodSecond');
    assert.equal(validate(typo, '1.37.0', false).status, 0, 'without --strict the misspelling passes (so --strict is what catches it)');

    // Combinations the schema cannot express fail the render with the reason.
    const one = helm(['template', RELEASE, CHART, '--set', 'cassandra.replicas=3', '--set', 'cassandra.consistency=ONE']);
    assert.notEqual(one.status, 0);
    assert.match(one.stderr, /LOCAL_QUORUM/);
    const rf = helm(['template', RELEASE, CHART, '--set', 'cassandra.replicationFactor=3']);
    assert.notEqual(rf.status, 0);
    assert.match(rf.stderr, /replicationFactor \(3\) cannot exceed cassandra\.replicas \(1\)/);
  });

  it('default values: 3 chat nodes with stable ids, /health probes, draining, a PDB; 1 Cassandra, Redis, push; no driver, autoscaler, Ingress, media or relay', () => {
    const { objects } = small;
    const sts = find(objects, 'StatefulSet', NODE);
    assert.equal(sts.spec.replicas, 3);
    assert.equal(sts.spec.serviceName, `${NODE}-headless`);
    assert.equal(find(objects, 'Service', `${NODE}-headless`).spec.clusterIP, 'None');
    const pod = sts.spec.template.spec;
    const node = pod.containers[0];
    assert.equal(node.image, 'chatlab/node:local');
    const port = node.ports.find((p: { name: string }) => p.name === 'http').containerPort;
    for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) {
      assert.equal(node[probe].httpGet.path, '/health', probe);
      assert.equal(node[probe].httpGet.port, 'http', probe);
    }
    assert.ok(node.resources.requests.cpu && node.resources.limits.memory);
    const preStop = node.lifecycle.preStop.sleep.seconds;
    assert.ok(preStop > 0 && pod.terminationGracePeriodSeconds > preStop + 10, `preStop ${preStop} s within a grace period of ${pod.terminationGracePeriodSeconds} s`);

    const env = envOf(node);
    for (const name of nodeProcessRequiredEnv()) assert.ok(env.has(name), `node pods set ${name} (node-process.ts requires it)`);
    assert.equal(env.get('CHATLAB_NODE_ID')!.valueFrom!.fieldRef!.fieldPath, 'metadata.name');
    assert.equal(env.get('CHATLAB_NODE_NUMBER')!.valueFrom!.fieldRef!.fieldPath, "metadata.labels['apps.kubernetes.io/pod-index']");
    assert.equal(env.get('CHATLAB_HOST')!.value, '0.0.0.0');
    assert.equal(env.get('CHATLAB_PORT')!.value, String(port));
    assert.equal(env.get('CHATLAB_REDIS_URL')!.value, `redis://${RELEASE}-redis:6379`);
    assert.equal(env.get('CHATLAB_PUSH_URL')!.value, `http://${RELEASE}-push:8090`);
    assert.equal(env.get('CHATLAB_CASSANDRA')!.value, `${CASSANDRA}-0.${CASSANDRA}.${NAMESPACE}.svc.cluster.local:9042`);
    assert.equal(env.has('CHATLAB_TURN_SECRET') || env.has('CHATLAB_TURN_URLS'), false, 'no TURN without the relay');
    const secret = find(objects, 'Secret', RELEASE);
    assert.deepEqual(env.get('CHATLAB_SECRET')!.valueFrom!.secretKeyRef, { name: RELEASE, key: 'token' });
    assert.equal(Buffer.from(secret.data!.token!, 'base64').toString().length, 48, 'a generated 48-character token key');

    const init = pod.initContainers.find((c: { name: string }) => c.name === 'schema-init');
    assert.equal(envOf(init).get('REPLICATION_FACTOR')!.value, '1');
    const pdb = find(objects, 'PodDisruptionBudget', NODE);
    assert.equal(pdb.spec.maxUnavailable, 1);
    assert.deepEqual(pdb.spec.selector.matchLabels, sts.spec.selector.matchLabels);

    assert.equal(find(objects, 'StatefulSet', CASSANDRA).spec.replicas, 1);
    find(objects, 'StatefulSet', `${RELEASE}-redis`);
    assert.deepEqual(find(objects, 'Deployment', `${RELEASE}-push`).spec.template.spec.containers[0].args, ['system/push/push-process.ts']);
    for (const kind of ['Job', 'HorizontalPodAutoscaler', 'Ingress', 'PersistentVolumeClaim']) {
      assert.deepEqual(objects.filter((o) => o.kind === kind).map((o) => o.metadata.name), [], `no ${kind} by default`);
    }
    assert.equal(objects.some((o) => /-(media|relay)$/.test(o.metadata.name)), false, 'no media or relay by default');
  });

  it('every Service selects the pods of a workload it renders beside, on a port they expose', () => {
    for (const { objects } of [small, large]) {
      const pods = objects.filter((o) => ['StatefulSet', 'Deployment'].includes(o.kind)).map((o) => o.spec.template);
      for (const svc of objects.filter((o) => o.kind === 'Service')) {
        const selector = Object.entries(svc.spec.selector as Record<string, string>);
        const matching = pods.filter((p) => selector.every(([k, v]) => p.metadata.labels[k] === v));
        assert.equal(matching.length, 1, `Service ${svc.metadata.name} selects one workload`);
        const names = new Set<string>(matching[0].spec.containers.flatMap((c: { ports?: { name: string }[] }) => (c.ports ?? []).map((p) => p.name)));
        for (const p of svc.spec.ports) assert.ok(names.has(p.targetPort), `Service ${svc.metadata.name} port ${p.name} -> ${p.targetPort}`);
      }
    }
  });

  it('values-large.yaml: 50 nodes autoscaled on chatlab_connections, a 6-node Cassandra ring at RF 3, an Ingress for WebSockets, media, relay', () => {
    const { objects } = large;
    const sts = find(objects, 'StatefulSet', NODE);
    assert.equal(sts.spec.replicas, undefined, 'the autoscaler owns the node count');
    const hpa = find(objects, 'HorizontalPodAutoscaler', NODE);
    assert.equal(hpa.apiVersion, 'autoscaling/v2');
    assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'StatefulSet', name: NODE });
    assert.equal(hpa.spec.minReplicas, 50);
    assert.equal(hpa.spec.maxReplicas, 100);
    assert.deepEqual(hpa.spec.metrics, [{ type: 'Pods', pods: { metric: { name: 'chatlab_connections' }, target: { type: 'AverageValue', averageValue: '50000' } } }]);
    // The metric the autoscaler reads is the gauge the nodes export.
    assert.match(readFileSync(join(PROJECT_ROOT, 'system', 'gateway', 'metrics-http.ts'), 'utf8'), /gauge\('chatlab_connections'/);
    const fixed = render('large-fixed', ['-f', LARGE, '--set', 'autoscaling.enabled=false']);
    assert.equal(find(fixed.objects, 'StatefulSet', NODE).spec.replicas, 50);
    assert.equal(fixed.objects.some((o) => o.kind === 'HorizontalPodAutoscaler'), false);

    const cassandra = find(objects, 'StatefulSet', CASSANDRA);
    assert.equal(cassandra.spec.replicas, 6);
    assert.equal(cassandra.spec.volumeClaimTemplates[0].spec.resources.requests.storage, '200Gi');
    const cenv = envOf(cassandra.spec.template.spec.containers[0]);
    assert.equal(cenv.get('CASSANDRA_DC')!.value, 'datacenter1');
    assert.equal(cenv.get('CASSANDRA_SEEDS')!.value!.split(',').length, 2);
    find(objects, 'PodDisruptionBudget', CASSANDRA);
    const pod = sts.spec.template.spec;
    const initEnv = envOf(pod.initContainers[0]);
    assert.equal(initEnv.get('REPLICATION_FACTOR')!.value, '3');
    assert.equal(initEnv.get('CASSANDRA_REPLICAS')!.value, '6');
    const nodeEnv = envOf(pod.containers[0]);
    assert.equal(nodeEnv.get('CHATLAB_CASSANDRA')!.value!.split(',').length, 3, 'three contact points');
    assert.equal(nodeEnv.get('CHATLAB_TURN_URLS')!.value, `turn:${RELEASE}-relay.${NAMESPACE}.svc.cluster.local:3478?transport=udp`);
    assert.deepEqual(nodeEnv.get('CHATLAB_TURN_SECRET')!.valueFrom!.secretKeyRef, { name: RELEASE, key: 'turn-secret' });

    const ingress = find(objects, 'Ingress', NODE);
    const a = ingress.metadata.annotations!;
    assert.ok(Number(a['nginx.ingress.kubernetes.io/proxy-read-timeout']) >= 3600 && Number(a['nginx.ingress.kubernetes.io/proxy-send-timeout']) >= 3600);
    assert.deepEqual(ingress.spec.rules[0].http.paths.map((p: { path: string }) => p.path), ['/ws', '/auth']);
    assert.equal(ingress.spec.ingressClassName, 'nginx');

    assert.deepEqual(find(objects, 'Deployment', `${RELEASE}-media`).spec.template.spec.containers[0].args, ['system/media/media-process.ts']);
    const relay = find(objects, 'Deployment', `${RELEASE}-relay`).spec.template.spec.containers[0];
    assert.equal(relay.image, 'coturn/coturn:4.6');
    assert.ok(relay.args.includes('--use-auth-secret') && relay.args.includes('--static-auth-secret=$(TURN_SECRET)'));
    assert.equal(find(objects, 'Service', `${RELEASE}-relay`).spec.ports[0].protocol, 'UDP');
  });

  it('values-large.yaml: the driver is an Indexed Job of 10 shards writing to a shared volume, then a merge Job', () => {
    const { objects } = large;
    const jobs = objects.filter((o) => o.kind === 'Job');
    assert.deepEqual(jobs.map((j) => j.metadata.name).sort(), [`${RELEASE}-driver-r1`, `${RELEASE}-merge-r1`]);
    const driver = find(objects, 'Job', `${RELEASE}-driver-r1`);
    assert.equal(driver.spec.completionMode, 'Indexed');
    assert.equal(driver.spec.parallelism, 10);
    assert.equal(driver.spec.completions, 10);
    const c = driver.spec.template.spec.containers[0];
    assert.equal(envOf(c).get('CHATLAB_SHARDS')!.value, '10');
    assert.deepEqual(envOf(c).get('CHATLAB_SECRET')!.valueFrom!.secretKeyRef, { name: RELEASE, key: 'token' });
    // The target is the nodes' Service, not loopback: the driver opts in (system/worlds/target.ts).
    assert.equal(envOf(c).get('CHATLAB_ALLOW_REMOTE_TARGET')!.value, '1');
    assert.equal(c.image, 'chatlab/driver:local');
    const command = (c.command as string[]).join(' ');
    assert.match(command, /^node \/app\/bin\/chatlab\.js run steady-chat --target ws:\/\/chatlab-node:8080\/ws --shard \$\(JOB_COMPLETION_INDEX\)\/\$\(CHATLAB_SHARDS\) --out \/results\/chatlab-r1\/shard-\$\(JOB_COMPLETION_INDEX\) /);
    const claim = driver.spec.template.spec.volumes[0].persistentVolumeClaim.claimName;
    const pvc = find(objects, 'PersistentVolumeClaim', claim);
    assert.deepEqual(pvc.spec.accessModes, ['ReadWriteMany']);
    assert.equal(pvc.metadata.annotations!['helm.sh/resource-policy'], 'keep');
    const merge = find(objects, 'Job', `${RELEASE}-merge-r1`);
    assert.deepEqual(merge.spec.template.spec.containers[0].command, ['node', '/app/bin/chatlab.js', 'report', 'merge', '/results/chatlab-r1']);
    assert.equal(merge.spec.template.spec.containers[0].image, 'chatlab/driver:local');
    assert.equal(merge.spec.template.spec.volumes[0].persistentVolumeClaim.claimName, claim);
  });

  it('nodeNumberFrom podName: the node wrapper derives CHATLAB_NODE_NUMBER from the pod name and starts node-process', () => {
    const { objects } = render('node-number-from-pod-name', ['--set', 'nodes.nodeNumberFrom=podName']);
    const node = find(objects, 'StatefulSet', NODE).spec.template.spec.containers[0];
    assert.equal(envOf(node).has('CHATLAB_NODE_NUMBER'), false);
    // The image's entrypoint is `node --import tsx`; run the same here, with only the node id set:
    // node-process then stops at the next variable it misses, so the number was found.
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('CHATLAB_')));
    const r = run(process.execPath, ['--import', 'tsx', ...node.args], undefined, { ...env, CHATLAB_NODE_ID: `${NODE}-7` });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /node-process: missing CHATLAB_REDIS_URL/);
    const without = run(process.execPath, ['--import', 'tsx', ...node.args], undefined, { ...env, CHATLAB_NODE_ID: 'no-ordinal' });
    assert.match(without.stderr, /node-process: missing CHATLAB_NODE_NUMBER/);
  });
});
