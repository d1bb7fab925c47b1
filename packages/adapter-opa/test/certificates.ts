import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** A private CA and a server certificate it signed for 127.0.0.1, all PEM. */
export interface TestCertificates {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** Make a fresh CA and server certificate with the `openssl` command (valid one day, P-256 keys). */
export async function makeTestCertificates(): Promise<TestCertificates> {
  const folder = await mkdtemp(join(tmpdir(), "selfheal-certs-"));
  const at = (name: string) => join(folder, name);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  try {
    await run(
      "openssl",
      ["req", "-x509", ...ec, "-keyout", at("ca.key"), "-out", at("ca.crt")].concat([
        "-days",
        "1",
        "-subj",
        "/CN=selfheal test CA",
      ]),
    );
    await run(
      "openssl",
      ["req", ...ec, "-keyout", at("server.key"), "-out", at("server.csr")].concat([
        "-subj",
        "/CN=127.0.0.1",
      ]),
    );
    await writeFile(at("san.ext"), "subjectAltName=IP:127.0.0.1\n");
    await run("openssl", [
      "x509",
      "-req",
      "-in",
      at("server.csr"),
      "-CA",
      at("ca.crt"),
      "-CAkey",
      at("ca.key"),
      "-CAcreateserial",
      "-out",
      at("server.crt"),
      "-days",
      "1",
      "-extfile",
      at("san.ext"),
    ]);
    const [ca, cert, key] = await Promise.all(
      ["ca.crt", "server.crt", "server.key"].map((name) => readFile(at(name), "utf8")),
    );
    return { ca: ca as string, cert: cert as string, key: key as string };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}
