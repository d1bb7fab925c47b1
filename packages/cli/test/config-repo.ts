import type { GitHttpServer } from "@selfheal/gitops/testing";

function deployment(image: string): string {
  return [
    "# checkout: owned by team shop",
    "apiVersion: apps/v1",
    "kind: Deployment",
    "metadata:",
    "  name: checkout",
    "spec:",
    "  replicas: 3 # raised by hand in March",
    "  template:",
    "    spec:",
    "      containers:",
    "        - name: checkout",
    `          image: "${image}"  # keep quoted`,
    "",
  ].join("\n");
}

/** A config repo on the git server where checkout ran v1.0.0, then v1.1.0, and now runs v1.2.0. */
export async function checkoutConfigRepo(
  server: GitHttpServer,
  name: string,
): Promise<{ url: string; path: string }> {
  const file = "apps/checkout/deployment.yaml";
  return server.createRepo(
    name,
    { [file]: deployment("registry.example.com/checkout:v1.0.0") },
    {
      commits: [
        { message: "checkout v1.1.0", files: { [file]: deployment("registry.example.com/checkout:v1.1.0") } },
        { message: "checkout v1.2.0", files: { [file]: deployment("registry.example.com/checkout:v1.2.0") } },
      ],
    },
  );
}
