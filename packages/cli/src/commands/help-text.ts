const exitCodeText = `Exit codes:
  0  done
  1  runtime failure (a server unreachable, a store error)
  2  bad usage or invalid config (the problems are listed as file:line:col key.path: message)`;

const configOption = `  -c, --config FILE   the config file (default: $SELFHEAL_CONFIG, else selfheal.yaml)`;

/** `--help` of each command, by command name (`""` is `selfheal` itself). */
export const helpText: Readonly<Record<string, string>> = {
  "": `selfheal: close the loop between alerts, policy and GitOps.

Usage: selfheal <command> [options]

Commands:
  run           run the controller from a config file
  replay        dry-run one Alertmanager payload: print what would happen, write nothing
  audit         the audit ledger: incidents with their chain, MTTR and success rate per service
  policy eval   evaluate the configured policy on one decision input
  check         validate a config file
  schema        print the JSON Schema of the config file
  demo          run the local closed-loop demo

Options:
  -h, --help      show help (also: selfheal <command> --help)
  -v, --version   show the version

${exitCodeText}
`,
  run: `Usage: selfheal run [options]

Run the controller: serve the webhook sources, /healthz and /readyz, decide, remediate and
verify as the config says. Stops gracefully on SIGINT or SIGTERM.

Options:
${configOption}
      --host HOST     listen on this address (overrides listen.host)
      --port PORT     listen on this port (overrides listen.port; 0 picks a free one)
      --dry-run       plan every action, carry out none (overrides guardrails.dryRun)
  -h, --help          show this help

${exitCodeText}
`,
  replay: `Usage: selfheal replay [options] PAYLOAD.json

Dry-run one Alertmanager webhook payload through the configured controller and print the
incidents, the decision input, the decision, the guardrail verdict, and the exact diff and
change request it would make. Writes nothing anywhere: a memory store, dry run, no
notifications; the config repo is only fetched, into a temporary folder.

Options:
${configOption}
      --history       decide with the configured store's recent history (rollback limits,
                      cooldowns, quarantine), read only: nothing is written to it
      --json          print one JSON document instead of text
  -h, --help          show this help

${exitCodeText}
`,
  audit: `Usage: selfheal audit [options]

The audit ledger of the configured store: each incident with its chain (signal, decision,
change, sync, verification) and outcome, and per service the count, success rate and median
MTTR. The success rate counts incidents where an action was carried out: resolved / (resolved
+ failed).

Options:
${configOption}
      --service NAME  only this service
      --since TIME    only incidents opened at or after TIME (RFC 3339, or a duration ago: 24h)
      --until TIME    only incidents opened before TIME (same forms)
      --readiness     per service, for observe mode: would-be actions, how many of those alerts
                      resolved by themselves within --window (would-be false triggers), and
                      suppressions by reason
      --window DUR    the window of --readiness (default 30m)
      --outcome NAME  only this outcome: resolved, failed, suppressed, escalated, cancelled,
                      no_action, open
      --json          print one JSON document instead of tables
  -h, --help          show this help

${exitCodeText}
`,
  policy: `Usage: selfheal policy eval [options] --input FILE

Evaluate the configured policy (builtin or OPA) on one decision input (JSON, as recorded in
the audit trail or shown by replay) and print the decision.

Options:
${configOption}
  -i, --input FILE    the decision input (JSON)
      --json          print the decision as JSON
  -h, --help          show this help

${exitCodeText}
`,
  check: `Usage: selfheal check [options]

Validate a config file: every problem is listed as file:line:col key.path: message.

Options:
${configOption}
  -h, --help          show this help

${exitCodeText}
`,
  schema: `Usage: selfheal schema

Print the JSON Schema of the config file (also shipped as
@selfheal/cli/schema/selfheal-config.schema.json), for editors:
  # yaml-language-server: $schema=./node_modules/@selfheal/cli/schema/selfheal-config.schema.json

Options:
  -h, --help          show this help

${exitCodeText}
`,
  demo: `Usage: selfheal demo

Run the local closed-loop demo of the selfheal repository (examples/). Outside a checkout of
the repository, says how to run it: clone it and run pnpm demo.

Options:
  -h, --help          show this help

${exitCodeText}
`,
};
