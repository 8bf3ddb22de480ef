// Deployment files checked without Docker or a cluster: compose.yaml and deploy/nginx.conf by structure,
// deploy/k8s/*.yaml against the Kubernetes schemas (kubernetes-models' validators), the Dockerfile by
// hadolint-style rules.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML, walked by path in assertions
type Json = Record<string, any>;

/** Variable names documented in .env.example (every one src/config.ts reads). */
const CONFIG_NAMES = new Set(
  [...read('.env.example').matchAll(/^#\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1] as string),
);
/** Read by libraries or the platform, not by src/config.ts. */
const LIBRARY_NAMES = new Set(['NODE_ENV', 'OTEL_SERVICE_NAME', 'POD_NAME']);
/** Settings of calls (TURN) and notifications (SMTP, links in e-mails), checked once those land in .env.example. */
const FEATURE_NAMES = new Set(['SMTP_URL', 'PUBLIC_URL', 'TURN_URLS', 'TURN_SECRET']);
const known = (name: string) => CONFIG_NAMES.has(name) || LIBRARY_NAMES.has(name) || FEATURE_NAMES.has(name);

describe('compose.yaml', () => {
  const compose = parse(read('compose.yaml'), { merge: true }) as Json;
  const services = compose.services as Record<string, Json>;

  it('has every service of the deployment, the simulators behind a profile', () => {
    for (const name of [
      'postgres',
      'redis',
      'tma1',
      'tma2',
      'nginx',
      'minio',
      'minio-init',
      'coturn',
      'mailpit',
    ]) {
      expect(services[name], name).toBeDefined();
      expect(services[name]?.profiles, name).toBeUndefined();
    }
    expect(services['tms-simulator']?.profiles).toEqual(['simulators']);
    expect(services['providers-simulator']?.profiles).toEqual(['simulators']);
  });

  it('runs two TMA instances on the same PostgreSQL, Redis, secret and bucket', () => {
    const [a, b] = [services.tma1?.environment, services.tma2?.environment] as Json[];
    for (const key of ['DATABASE_URL', 'REDIS_URL', 'JWT_SECRET', 'S3_BUCKET', 'STORAGE_DRIVER']) {
      expect(a?.[key], key).toBeDefined();
      expect(b?.[key], key).toBe(a?.[key]);
    }
    expect(a?.DATABASE_URL).toMatch(/@postgres:5432\//);
    expect(a?.REDIS_URL).toBe('redis://redis:6379');
    expect(String(a?.JWT_SECRET).length).toBeGreaterThanOrEqual(32);
    expect(services.tma1?.build).toBe('.');
  });

  it('sets only variables the server reads', () => {
    for (const name of ['tma1', 'tma2']) {
      const unknown = Object.keys(services[name]?.environment ?? {}).filter((k) => !known(k));
      expect(unknown, name).toEqual([]);
    }
  });

  it('starts TMA after healthy backends and the bucket, and references only defined services', () => {
    const deps = services.tma1?.depends_on as Json;
    expect(deps.postgres.condition).toBe('service_healthy');
    expect(deps.redis.condition).toBe('service_healthy');
    expect(deps['minio-init'].condition).toBe('service_completed_successfully');
    expect(String(services['minio-init']?.command)).toContain('mc mb --ignore-existing local/tma');
    for (const [name, service] of Object.entries(services)) {
      const list = Array.isArray(service.depends_on)
        ? service.depends_on
        : Object.keys(service.depends_on ?? {});
      for (const dep of list) expect(services[dep], `${name} -> ${dep}`).toBeDefined();
    }
  });

  it('pins every image to a version, mounts the nginx config that exists', () => {
    for (const [name, service] of Object.entries(services)) {
      // Built here (`build: .`), tagged for the other services that reuse it.
      if (!service.image || service.image === 'tma-server:local') continue;
      expect(service.image, name).toMatch(/:[^:]*\d/);
      expect(service.image, name).not.toMatch(/:latest$/);
    }
    const mount = (services.nginx?.volumes as string[] | undefined)?.[0] ?? '';
    expect(existsSync(join(ROOT, mount.split(':')[0] as string))).toBe(true);
  });
});

describe('deploy/nginx.conf', () => {
  const conf = read('deploy/nginx.conf').replace(/#.*$/gm, '');
  it('balances both instances without stickiness and upgrades WebSockets with long timeouts', () => {
    expect(conf).toMatch(/server tma1:8000/);
    expect(conf).toMatch(/server tma2:8000/);
    expect(conf).not.toMatch(/ip_hash|sticky|hash \$/);
    expect(conf).toMatch(/proxy_set_header Upgrade \$http_upgrade;/);
    expect(conf).toMatch(/proxy_set_header Connection \$connection_upgrade;/);
    expect(conf).toMatch(/socket\\\.io\|ws/);
    const timeouts = [...conf.matchAll(/proxy_read_timeout (\d+)s;/g)].map((m) => Number(m[1]));
    expect(Math.max(...timeouts)).toBeGreaterThanOrEqual(3600);
    expect(conf).toMatch(/X-Forwarded-For/);
    expect(conf.split('{').length).toBe(conf.split('}').length);
  });
});

// Kubernetes: every manifest against its kind's schema.
const K8S_DIR = join(ROOT, 'deploy/k8s');
const manifests: Array<{ file: string; doc: Json }> = readdirSync(K8S_DIR)
  .filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')
  .flatMap((file) =>
    parseAllDocuments(readFileSync(join(K8S_DIR, file), 'utf8')).map((d) => {
      expect(d.errors, file).toEqual([]);
      return { file, doc: d.toJSON() as Json };
    }),
  );
const byKind = (kind: string) => manifests.filter((m) => m.doc.kind === kind).map((m) => m.doc);

const MODELS: Record<string, string> = {
  'v1/ConfigMap': 'kubernetes-models/v1/ConfigMap',
  'v1/Secret': 'kubernetes-models/v1/Secret',
  'v1/Service': 'kubernetes-models/v1/Service',
  'apps/v1/Deployment': 'kubernetes-models/apps/v1/Deployment',
  'batch/v1/Job': 'kubernetes-models/batch/v1/Job',
  'networking.k8s.io/v1/Ingress': 'kubernetes-models/networking.k8s.io/v1/Ingress',
  'autoscaling/v2/HorizontalPodAutoscaler': 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler',
  'policy/v1/PodDisruptionBudget': 'kubernetes-models/policy/v1/PodDisruptionBudget',
};

describe('deploy/k8s', () => {
  it('has every kind the deployment needs', () => {
    const kinds = manifests.map((m) => m.doc.kind).sort();
    expect(kinds).toEqual(
      [
        'ConfigMap',
        'Deployment',
        'HorizontalPodAutoscaler',
        'Ingress',
        'Job',
        'PodDisruptionBudget',
        'Secret',
        'Service',
      ].sort(),
    );
  });

  it('validates every manifest against the Kubernetes schema of its kind', async () => {
    for (const { file, doc } of manifests) {
      const module = MODELS[`${doc.apiVersion}/${doc.kind}`];
      expect(module, `${file}: ${doc.apiVersion} ${doc.kind}`).toBeDefined();
      const exports = (await import(module as string)) as Record<
        string,
        new (
          d: Json,
        ) => { validate(): void }
      >;
      const Model = exports[doc.kind as string] as new (d: Json) => { validate(): void };
      expect(() => new Model(doc).validate(), file).not.toThrow();
    }
  });

  it('the validator catches a broken manifest (the check is real)', async () => {
    const { Deployment } = await import('kubernetes-models/apps/v1/Deployment');
    const broken = structuredClone(byKind('Deployment')[0]) as Json;
    broken.spec.template.spec.containers[0].ports[0].containerPort = 'eight thousand';
    expect(() => new Deployment(broken).validate()).toThrow(/containerPort/);
    delete broken.spec.selector;
    expect(() => new Deployment(broken).validate()).toThrow(/selector/);
  });

  it('Deployment: probes, drain, resources, non-root', () => {
    const deployment = byKind('Deployment')[0] as Json;
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    expect(container.readinessProbe.httpGet.path).toBe('/health/ready');
    expect(container.livenessProbe.httpGet.path).toBe('/health');
    expect(container.lifecycle.preStop).toBeDefined();
    expect(container.resources.requests.cpu).toBeDefined();
    expect(container.resources.limits.memory).toBeDefined();
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext.allowPrivilegeEscalation).toBe(false);
    // The grace period covers preStop plus the server's own shutdown timeout.
    const config = byKind('ConfigMap')[0] as Json;
    const preStop = Number(container.lifecycle.preStop.exec.command[1]);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(
      preStop + Number(config.data.SHUTDOWN_TIMEOUT_MS) / 1000,
    );
    expect(deployment.spec.selector.matchLabels).toEqual(
      expect.objectContaining(Object.fromEntries(Object.entries(deployment.spec.selector.matchLabels))),
    );
    for (const [k, v] of Object.entries(deployment.spec.selector.matchLabels)) {
      expect(deployment.spec.template.metadata.labels[k]).toBe(v);
    }
  });

  it('Service, Ingress, HPA and PDB point at the Deployment', () => {
    const deployment = byKind('Deployment')[0] as Json;
    const labels = deployment.spec.template.metadata.labels as Record<string, string>;
    const matches = (selector: Record<string, string>) =>
      Object.entries(selector).every(([k, v]) => labels[k] === v);
    const service = byKind('Service')[0] as Json;
    expect(matches(service.spec.selector)).toBe(true);
    const containerPorts = deployment.spec.template.spec.containers[0].ports.map((p: Json) => p.name);
    for (const port of service.spec.ports) expect(containerPorts).toContain(port.targetPort);
    const ingress = byKind('Ingress')[0] as Json;
    const backend = ingress.spec.rules[0].http.paths[0].backend.service;
    expect(backend.name).toBe(service.metadata.name);
    expect(service.spec.ports.map((p: Json) => p.name)).toContain(backend.port.name);
    expect(
      Number(ingress.metadata.annotations['nginx.ingress.kubernetes.io/proxy-read-timeout']),
    ).toBeGreaterThanOrEqual(3600);
    const hpa = byKind('HorizontalPodAutoscaler')[0] as Json;
    expect(hpa.spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: deployment.metadata.name });
    const pdb = byKind('PodDisruptionBudget')[0] as Json;
    expect(matches(pdb.spec.selector.matchLabels)).toBe(true);
    expect(pdb.spec.minAvailable).toBeLessThan(hpa.spec.minReplicas);
  });

  it('the migration Job runs the migrate CLI of the image; the ConfigMap and Secret set known variables', () => {
    const job = byKind('Job')[0] as Json;
    const command = job.spec.template.spec.containers[0].command as string[];
    expect(command.slice(0, 2)).toEqual(['node', 'dist/db/migrate.js']);
    expect(existsSync(join(ROOT, 'src/db/migrate.ts'))).toBe(true);
    expect(job.spec.template.spec.restartPolicy).toBe('Never');
    for (const kind of ['ConfigMap', 'Secret']) {
      const doc = byKind(kind)[0] as Json;
      const keys = Object.keys(doc.data ?? doc.stringData);
      expect(
        keys.filter((k) => !known(k)),
        kind,
      ).toEqual([]);
    }
  });

  it('kustomization lists files that exist and leaves the example Secret out', () => {
    const kustomization = parse(read('deploy/k8s/kustomization.yaml')) as Json;
    for (const file of kustomization.resources) expect(existsSync(join(K8S_DIR, file)), file).toBe(true);
    expect(kustomization.resources).not.toContain('secret.example.yaml');
  });
});

describe('Dockerfile (hadolint-style rules)', () => {
  const text = read('Dockerfile');
  // Instructions with continuation lines joined.
  const instructions = text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const args = Object.fromEntries(
    instructions.filter((l) => l.startsWith('ARG ')).map((l) => l.slice(4).split('=') as [string, string]),
  );
  const stages = instructions.reduce<string[][]>((acc, l) => {
    if (l.startsWith('FROM ')) acc.push([]);
    acc.at(-1)?.push(l);
    return acc;
  }, []);
  const final = stages.at(-1) as string[];

  it('is multi-stage with a pinned base image (DL3006, DL3007)', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) {
      const image = (stage[0] as string).split(/\s+/)[1] as string;
      const resolved = image.replace(/\$\{(\w+)\}/g, (_, name: string) => args[name] ?? '');
      expect(resolved).toMatch(/^[\w./-]+:\d+\.\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?$/);
    }
  });

  it('runs as a non-root user with an init, a healthcheck, a data volume (DL3002)', () => {
    const users = final.filter((l) => l.startsWith('USER '));
    expect(users.at(-1)).toBeDefined();
    expect(users.at(-1)).not.toMatch(/USER (root|0)\b/);
    expect(final.findIndex((l) => l.startsWith('USER '))).toBeLessThan(
      final.findIndex((l) => l.startsWith('CMD ')),
    );
    expect(final.some((l) => /^HEALTHCHECK .*CMD .*\/health/.test(l))).toBe(true);
    expect(final.some((l) => /^ENTRYPOINT \[".*tini", "--"\]/.test(l))).toBe(true);
    expect(final).toContain('VOLUME ["/data"]');
    expect(final.some((l) => /ENV .*DATA_DIR=\/data/.test(l))).toBe(true);
    expect(final.some((l) => l.startsWith('CMD ["node", "dist/main.js"]'))).toBe(true);
  });

  it('installs production dependencies only in the final stage and ships the web client', () => {
    expect(stages[0]?.some((l) => /npm prune --omit=dev/.test(l))).toBe(true);
    expect(final.some((l) => /^COPY --from=build \/src\/node_modules /.test(l))).toBe(true);
    expect(
      final.some((l) => /\bnpm (ci|install)\b/.test(l)),
      'no dev install in the final stage',
    ).toBe(false);
    expect(final.some((l) => /COPY --from=build \S+\/web\/dist/.test(l))).toBe(true);
    expect(stages[0]?.some((l) => /npm run --if-present web:build/.test(l))).toBe(true);
  });

  it('follows the package and ADD rules (DL3020, DL3015, DL3009, DL4006-ish)', () => {
    for (const l of instructions) {
      expect(l, 'ADD of a URL or archive: use COPY / curl').not.toMatch(/^ADD /);
      if (/apt-get install/.test(l)) {
        expect(l).toMatch(/--no-install-recommends/);
        expect(l).toMatch(/-y\b/);
        expect(l).toMatch(/rm -rf \/var\/lib\/apt\/lists/);
      }
      expect(l, 'sudo').not.toMatch(/\bsudo\b/);
      expect(l, 'npm install in an image: npm ci').not.toMatch(/\bnpm install\b/);
      expect(l, 'cd: use WORKDIR').not.toMatch(/^RUN cd /);
    }
    expect(final.filter((l) => l.startsWith('CMD ')).length).toBe(1);
  });

  it('.dockerignore keeps secrets, dependencies and builds out of the context', () => {
    const ignore = read('.dockerignore').split('\n');
    for (const entry of ['node_modules', '.env', 'dist', 'data', '.git']) expect(ignore).toContain(entry);
  });
});
