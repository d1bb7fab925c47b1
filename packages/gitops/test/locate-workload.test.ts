import { describe, expect, it } from "vitest";
import { LocateError, locateWorkload, ManifestError, memoryTree } from "../src/index.js";

const deployment = (
  name: string,
  labels: string,
  image = `ghcr.io/acme/${name}:1.0.0`,
  replicas = 3,
): string =>
  `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  labels:
    ${labels}
spec:
  replicas: ${replicas} # tuned by hand
  selector:
    matchLabels:
      ${labels}
  template:
    metadata:
      labels:
        ${labels}
    spec:
      containers:
        - name: app
          image: ${image}
        - name: envoy
          image: envoyproxy/envoy:v1.31.0
`;

const service = (name: string): string => `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector:
    app: ${name}
  ports:
    - port: 80
`;

const hpa = (name: string, target: string, kind = "Deployment"): string => `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: ${name}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: ${kind}
    name: ${target}
  minReplicas: 2
  maxReplicas: 10
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: 70
`;

const kustomization = `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - checkout.yaml
`;

async function locateError(promise: Promise<unknown>): Promise<LocateError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(LocateError);
  expect(error).toBeInstanceOf(ManifestError);
  return error as LocateError;
}

describe("locateWorkload", () => {
  it("finds the workload at a path template before searching globs", async () => {
    const tree = memoryTree({
      "overlays/prod/checkout-deployment.yaml": deployment("checkout", "app: checkout"),
      "overlays/staging/checkout-deployment.yaml": deployment("checkout", "app: checkout"),
      "overlays/prod/kustomization.yaml": kustomization,
    });
    const location = await locateWorkload(tree, {
      service: "checkout",
      paths: ["overlays/prod/{service}-deployment.yaml"],
      globs: ["overlays/**/*.yaml"],
    });
    expect(location).toEqual({
      path: "overlays/prod/checkout-deployment.yaml",
      documentIndex: 0,
      kind: "Deployment",
      name: "checkout",
      replicas: 3,
      images: [
        { container: "app", image: "ghcr.io/acme/checkout:1.0.0" },
        { container: "envoy", image: "envoyproxy/envoy:v1.31.0" },
      ],
      skipped: [],
    });
  });

  it("skips a template whose file does not exist and falls back to globs", async () => {
    const tree = memoryTree({ "apps/checkout/deploy.yaml": deployment("checkout", "app: checkout") });
    const location = await locateWorkload(tree, {
      service: "checkout",
      paths: ["overlays/prod/{service}.yaml"],
      globs: ["apps/**/*.yaml"],
    });
    expect(location.path).toBe("apps/checkout/deploy.yaml");
  });

  it("fails when a template file exists but holds no match", async () => {
    const tree = memoryTree({
      "overlays/prod/checkout.yaml": `${service("checkout")}---\n${deployment("cart", "app: cart")}`,
    });
    const error = await locateError(
      locateWorkload(tree, { service: "checkout", paths: ["overlays/prod/{service}.yaml"] }),
    );
    expect(error.message).toContain("overlays/prod/checkout.yaml");
    expect(error.message).toContain("overlays/prod/checkout.yaml#1 Deployment/cart");
  });

  it("finds the workload among the documents of a multi-document file by glob", async () => {
    const tree = memoryTree({
      "apps/shop/all.yaml": [
        service("cart"),
        deployment("cart", "app: cart"),
        service("checkout"),
        deployment("checkout", "app: checkout", "ghcr.io/acme/checkout@sha256:abc", 5),
      ].join("---\n"),
      "apps/shop/README.md": "# not yaml: [",
      "infra/checkout.yaml": deployment("checkout", "app: checkout"),
    });
    const location = await locateWorkload(tree, { service: "checkout", globs: ["apps/**/*.yaml"] });
    expect(location).toMatchObject({
      path: "apps/shop/all.yaml",
      documentIndex: 3,
      kind: "Deployment",
      name: "checkout",
      replicas: 5,
      images: [
        { container: "app", image: "ghcr.io/acme/checkout@sha256:abc" },
        { container: "envoy", image: "envoyproxy/envoy:v1.31.0" },
      ],
      skipped: [],
    });
  });

  it("matches by the app label when the name differs, and finds StatefulSets", async () => {
    const statefulSet = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: payments-db
spec:
  serviceName: payments-db
  template:
    metadata:
      labels:
        app.kubernetes.io/name: ledger
    spec:
      containers:
        - name: postgres
          image: postgres:16.4
`;
    const tree = memoryTree({
      "apps/payments/api.yaml": deployment("payments-api-v2", "app: payments"),
      "apps/payments/db.yaml": statefulSet,
    });
    const byApp = await locateWorkload(tree, { service: "payments", globs: ["apps/**/*.yaml"] });
    expect(byApp).toMatchObject({
      path: "apps/payments/api.yaml",
      kind: "Deployment",
      name: "payments-api-v2",
    });
    const byTemplateLabel = await locateWorkload(tree, { service: "ledger", globs: ["apps/**/*.yaml"] });
    expect(byTemplateLabel).toMatchObject({ kind: "StatefulSet", name: "payments-db" });
    expect(byTemplateLabel).not.toHaveProperty("replicas");
    const customKey = await locateWorkload(memoryTree({ "a.yaml": deployment("x", "team/service: pay") }), {
      service: "pay",
      globs: ["*.yaml"],
      labels: ["team/service"],
    });
    expect(customKey.name).toBe("x");
  });

  it("refuses to pick when the service is found twice, listing both", async () => {
    const tree = memoryTree({
      "apps/checkout/deployment.yaml": deployment("checkout", "app: checkout"),
      "apps/legacy/all.yaml": `${service("checkout-old")}---\n${deployment("checkout-old", "app: checkout")}`,
    });
    const error = await locateError(locateWorkload(tree, { service: "checkout", globs: ["apps/**/*.yaml"] }));
    expect(error.message).toContain('2 workloads match service "checkout"');
    expect(error.message).toContain("apps/checkout/deployment.yaml#0 Deployment/checkout");
    expect(error.message).toContain("apps/legacy/all.yaml#1 Deployment/checkout-old");
  });

  it("names the templates and globs searched when nothing matches", async () => {
    const tree = memoryTree({ "apps/cart/deployment.yaml": deployment("cart", "app: cart") });
    const error = await locateError(
      locateWorkload(tree, {
        service: "checkout",
        paths: ["overlays/prod/{service}-deployment.yaml"],
        globs: ["apps/**/*.yaml", "base/*.yml"],
      }),
    );
    expect(error.message).toContain('no workload of service "checkout" found');
    expect(error.message).toContain('"overlays/prod/{service}-deployment.yaml"');
    expect(error.message).toContain('"apps/**/*.yaml", "base/*.yml" (1 files)');
  });

  it("reports an unparseable file when nothing matched, and skips it when something did", async () => {
    const broken = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: [checkout\n";
    const missing = memoryTree({
      "apps/broken.yaml": broken,
      "apps/cart.yaml": deployment("cart", "app: cart"),
    });
    const error = await locateError(locateWorkload(missing, { service: "checkout", globs: ["apps/*.yaml"] }));
    expect(error.message).toContain("files that do not parse: apps/broken.yaml (");

    const found = memoryTree({
      "apps/broken.yaml": broken,
      "apps/checkout.yaml": deployment("checkout", "app: x"),
    });
    const location = await locateWorkload(found, { service: "checkout", globs: ["apps/*.yaml"] });
    expect(location.path).toBe("apps/checkout.yaml");
    expect(location.skipped).toHaveLength(1);
    expect(location.skipped[0]?.path).toBe("apps/broken.yaml");
    expect(location.skipped[0]?.reason).toContain("YAML does not parse");
  });

  it("finds the HPA of the workload and ignores one for another workload", async () => {
    const tree = memoryTree({
      "apps/checkout/deployment.yaml": deployment("checkout", "app: checkout"),
      "apps/checkout/hpa.yaml": `${hpa("cart", "cart")}---\n${hpa("checkout", "checkout")}`,
      "apps/checkout/other-kind.yaml": hpa("checkout-sts", "checkout", "StatefulSet"),
    });
    const location = await locateWorkload(tree, {
      service: "checkout",
      paths: ["apps/{service}/deployment.yaml"],
      globs: ["apps/**/*.yaml"],
    });
    expect(location.hpa).toEqual({
      path: "apps/checkout/hpa.yaml",
      documentIndex: 1,
      name: "checkout",
      minReplicas: 2,
      maxReplicas: 10,
    });
    const withoutHpa = await locateWorkload(
      memoryTree({
        "apps/d.yaml": deployment("checkout", "app: checkout"),
        "apps/h.yaml": hpa("cart", "cart"),
      }),
      { service: "checkout", globs: ["apps/*.yaml"] },
    );
    expect(withoutHpa).not.toHaveProperty("hpa");
  });

  it("fails when two HPAs scale the workload", async () => {
    const tree = memoryTree({
      "apps/checkout.yaml": `${deployment("checkout", "app: checkout")}---\n${hpa("checkout", "checkout")}`,
      "apps/autoscaling.yaml": hpa("checkout-burst", "checkout"),
    });
    const error = await locateError(locateWorkload(tree, { service: "checkout", globs: ["apps/*.yaml"] }));
    expect(error.message).toContain("2 HPAs scale apps/checkout.yaml#0 Deployment/checkout");
    expect(error.message).toContain("apps/autoscaling.yaml#0 HorizontalPodAutoscaler/checkout-burst");
    expect(error.message).toContain("apps/checkout.yaml#1 HorizontalPodAutoscaler/checkout");
  });

  it("requires something to search", async () => {
    await locateError(locateWorkload(memoryTree({}), { service: "checkout" }));
  });
});
