/**
 * Realistic fake credentials of every shape the redactor knows, for tests that send them
 * through a controller and then look for them in what it stored, logged, notified or wrote.
 * None is a real credential; each is unique, so finding it anywhere is a leak.
 */
export interface SecretSample {
  /** What kind of secret it is (`github classic token`). */
  readonly shape: string;
  /** The text it appears in, as a label, an annotation or a URL would carry it. */
  readonly text: string;
  /** The part that must never be found anywhere after redaction. */
  readonly secret: string;
}

/**
 * A configured secret with no recognisable shape (a webhook password, a database password):
 * only a redactor given it in `secrets` can hide it. Give it to the controller as a secret.
 */
export const configuredSecret = "plum-orbit-Kettle-94-saffron";

// Assembled from parts so that secret scanners reading this file do not take the fakes for leaks.
const ghp = ["ghp", "_R2d2C3poBb8Ewok5YodaLukeLeiaHan01"].join("");
const pem = [
  "-----BEGIN RSA PRIVATE KEY-----",
  "MIIEowIBAAKCAQEAs7fakeFAKEfakeKeyMaterialNotRealAtAll0123456789abc",
  "dGhpcyBpcyBub3QgYSByZWFsIGtleSBidXQgaXQgbG9va3MgbGlrZSBvbmUwMTIz",
  "-----END RSA PRIVATE KEY-----",
].join("\n");
const jwt = [
  "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9",
  "eyJzdWIiOiJzZWxmaGVhbC10ZXN0IiwiaWF0IjoxNzAwMDAwMDAwfQ",
  "Qk9HVVMtc2lnbmF0dXJlLW5vdC1yZWFsLTAxMjM0NTY3ODk",
].join(".");

/** Every shape, each with the secret part a test must never find. */
export const secretCorpus: readonly SecretSample[] = [
  { shape: "github classic token", text: `token ${ghp}`, secret: ghp },
  {
    shape: "github fine-grained token",
    text: ["github", "_pat_11AAFAKE0Q2w3e4r5t6y7u8_i9o0p1a2s3d4f5g6h7j8k9l0zxcvbnm"].join(""),
    secret: "11AAFAKE0Q2w3e4r5t6y7u8_i9o0p1a2s3d4f5g6h7j8k9l0zxcvbnm",
  },
  {
    shape: "github app installation token",
    text: ["ghs", "_InstallFake0123456789abcdefABCDEF"].join(""),
    secret: "InstallFake0123456789abcdefABCDEF",
  },
  {
    shape: "gitlab personal access token",
    text: ["glpat", "-FakeGitlab0123456789xy"].join(""),
    secret: "FakeGitlab0123456789xy",
  },
  {
    shape: "slack bot token",
    text: ["xoxb", "-1234567890-0987654321-FakeSlackBotTokenX"].join(""),
    secret: "1234567890-0987654321-FakeSlackBotTokenX",
  },
  {
    shape: "slack webhook url",
    text: "https://hooks.slack.com/services/T0FAKE01/B0FAKE02/SlackHookSecretPath99",
    secret: "SlackHookSecretPath99",
  },
  { shape: "aws access key id", text: "key AKIAFAKE0123456789XY", secret: "AKIAFAKE0123456789XY" },
  { shape: "aws temporary key id", text: "ASIAFAKE9876543210ZW", secret: "ASIAFAKE9876543210ZW" },
  {
    shape: "aws secret access key",
    text: "aws_secret_access_key=wJalrXUtnFEMIfake/K7MDENG/bPxRfiCYFAKEKEY",
    secret: "wJalrXUtnFEMIfake/K7MDENG/bPxRfiCYFAKEKEY",
  },
  { shape: "password pair", text: "db_password=Hunter2-Fake-Pass!", secret: "Hunter2-Fake-Pass!" },
  {
    shape: "token pair in a query",
    text: "see /api?token=qwerty-fake-tok-778&x=1",
    secret: "qwerty-fake-tok-778",
  },
  { shape: "json web token", text: `session ${jwt}`, secret: jwt.split(".")[2] ?? jwt },
  {
    shape: "bearer header",
    text: "Authorization: Bearer BearerFakeValue0a1b2c3d4e",
    secret: "BearerFakeValue0a1b2c3d4e",
  },
  {
    shape: "basic header",
    text: "Authorization: Basic ZmFrZXVzZXI6ZmFrZXBhc3N3b3Jk",
    secret: "ZmFrZXVzZXI6ZmFrZXBhc3N3b3Jk",
  },
  {
    shape: "private key",
    text: pem,
    secret: "MIIEowIBAAKCAQEAs7fakeFAKEfakeKeyMaterialNotRealAtAll0123456789abc",
  },
  {
    shape: "url credentials",
    text: "https://deploy:UrlPassFake771@git.example.com/config.git",
    secret: "UrlPassFake771",
  },
  { shape: "configured secret without a shape", text: `key ${configuredSecret}`, secret: configuredSecret },
];

/** Where `text` (raw bytes, a log, a body) shows any secret of the corpus: the shapes found. */
export function secretsFoundIn(text: string, corpus: readonly SecretSample[] = secretCorpus): string[] {
  return corpus
    .filter(({ secret }) => text.includes(secret) || text.includes(JSON.stringify(secret).slice(1, -1)))
    .map(({ shape }) => shape);
}
