# selfheal's shipped decision policy (OPA 1.x syntax).
#
# Query it through the Data API: POST /v1/data/selfheal/decision with {"input": <DecisionInput>},
# or several at once: POST /v1/data/selfheal/decisions with {"input": {"batch": [...]}}.
# The input is described by @selfheal/core's JSON Schema (schema/decision-input.json); the answer
# must parse as a Decision: {action, params, reason, escalate}.
#
# The seed's rules (HighErrorRate, severity critical, error rate > 0.05 and restarts > 3: roll back,
# at most 2 rollbacks in 30 minutes; HighCPU, cpu > 0.8 and replicas below the cap: scale up), with
# the seed's defects fixed:
#   - a missing metric is unknown (escalate), never 0;
#   - explicit precedence: exactly one branch answers, so two rules can never both be true;
#   - rollback history comes from input.history, not from http.send (policies are pure);
#   - the limit counts rollbacks strictly inside the window, and at the limit it escalates;
#   - no previous version, a quarantined previous version, replicas at the cap and an unknown
#     alert name each have their own decision and reason;
#   - a notification the sender truncated (input.alert.truncated_alerts) still decides, but asks
#     for a human as well: alerts of the group were never seen.
#
# Settings come from the data document data.selfheal.config, with the same names, meanings and
# defaults as the built-in policy's settings (@selfheal/core `BuiltinPolicySettings`):
#   {"errorRateThreshold": 0.05, "restartThreshold": 3 | false, "cpuThreshold": 0.8,
#    "maxRollbacks": 2, "rollbackWindowMs": 1800000, "scaleStep": 1}
# Load them with the policy: `opa run --server selfheal.rego data.json` where data.json holds
# {"selfheal": {"config": {...}}}. A setting that is out of range fails closed (escalate).
#
# It agrees case by case with the built-in TypeScript policy (@selfheal/core `builtinPolicy`):
# selfheal_test.rego is generated from the shared decision corpus. Run `opa test policies/`.
package selfheal

# --- Settings -----------------------------------------------------------------------------------

defaults := {
	"errorRateThreshold": 0.05,
	"restartThreshold": 3,
	"cpuThreshold": 0.8,
	"maxRollbacks": 2,
	"rollbackWindowMs": 1800000,
	"scaleStep": 1,
}

default configured := {}

configured := data.selfheal.config

# The defaults, overridden by data.selfheal.config where it sets a key.
settings := defaults if {
	configured == {}
} else := object.union(defaults, configured) if is_object(configured)

error_rate_threshold := settings.errorRateThreshold

restart_threshold := settings.restartThreshold

# false: restarts are no condition to roll back (a service that degrades without crashing).
restarts_needed if restart_threshold != false

cpu_threshold := settings.cpuThreshold

max_rollbacks := settings.maxRollbacks

rollback_window_ns := settings.rollbackWindowMs * 1000000

scale_step := settings.scaleStep

# No settings, or settings without a problem. The first is the common case and costs nothing;
# only settings that are there are checked, and only unusable ones are worded.
config_usable if configured == {}

config_usable if count(config_problems) == 0

# What is wrong with data.selfheal.config, as the built-in policy's checks word it.
config_problems contains "data.selfheal.config must be an object" if not is_object(configured)

config_problems contains sprintf("unknown setting %s", [key]) if {
	some key, _ in configured
	not key in object.keys(defaults)
}

config_problems contains sprintf("%s must be a finite number, got %s", [key, json.marshal(value)]) if {
	some key in ["errorRateThreshold", "cpuThreshold"]
	value := settings[key]
	not is_number(value)
}

config_problems contains sprintf("restartThreshold must be a finite number or false, got %s", [json.marshal(value)]) if {
	value := settings.restartThreshold
	value != false
	not is_number(value)
}

config_problems contains sprintf("maxRollbacks must be an integer ≥ 0, got %s", [json.marshal(value)]) if {
	value := settings.maxRollbacks
	not whole_at_least(value, 0)
}

config_problems contains sprintf("rollbackWindowMs must be a positive number, got %s", [json.marshal(value)]) if {
	value := settings.rollbackWindowMs
	not positive(value)
}

config_problems contains sprintf("scaleStep must be an integer ≥ 1, got %s", [json.marshal(value)]) if {
	value := settings.scaleStep
	not whole_at_least(value, 1)
}

# Whether the object has the key, whatever its value (false and null included), without building
# the set of its keys.
has_key(obj, key) if _ = obj[key]

whole_at_least(value, least) if {
	is_number(value)
	round(value) == value
	value >= least
}

positive(value) if {
	is_number(value)
	value > 0
}

# --- The decision -------------------------------------------------------------------------------

# Several decisions in one request (the adapter's `batch` setting): input.batch is a list of
# DecisionInputs, and the answer lists their decisions in the same order, each exactly what
# `decision` answers for that input alone. POST /v1/data/selfheal/decisions with
# {"input": {"batch": [<DecisionInput>, ...]}}.
decisions := [d | some item in input.batch; d := decision with input as item]

# Fail closed should a branch below ever be undefined (an input outside the schema).
default decision := {
	"action": "none",
	"params": {},
	"reason": "policy selfheal: no branch decided; is the input a DecisionInput?",
	"escalate": true,
}

decision := d if {
	not config_usable
	text := concat("; ", config_problems)
	d := no_action(sprintf("policy selfheal: data.selfheal.config is not usable: %s", [text]), true)
} else := d if {
	# Alerts the sender left out may be worse than the one seen: decide, but ask for a human too.
	left_out := input.alert.truncated_alerts
	left_out > 0
	d := object.union(rule_decision, {
		"reason": sprintf("%s; %s", [rule_decision.reason, truncated_text(left_out)]),
		"escalate": true,
	})
} else := rule_decision

truncated_text(1) := "1 alert was left out of the notification (truncated by the sender): check the rest of the group"

truncated_text(n) := sprintf("%v alerts were left out of the notification (truncated by the sender): check the rest of the group", [n]) if n != 1

# Precedence, first match wins: a resolved alert, then one rule per alert name. Each branch yields
# one complete decision, so two rules can never answer at once.
rule_decision := d if {
	input.alert.status == "resolved"
	d := no_action(sprintf("alert %s resolved before any action", [alertname]), false)
} else := d if {
	alertname == "HighErrorRate"
	d := rollback_decision
} else := d if {
	alertname == "HighCPU"
	d := scale_up_decision
} else := d if {
	alertname in {"ArgoCDSyncFailed", "ArgoCDDegradedAfterRelease"}
	d := release_rollback_decision
} else := d if {
	alertname == "ArgoCDHealthDegraded"
	text := "%s: Argo CD reports the application Degraded, not soon after a release: nothing to roll back, a person should look"
	d := no_action(sprintf(text, [alertname]), true)
} else := d if {
	d := no_action(sprintf("no rule for alert %s", [alertname]), false)
}

# The alert's own name, or the incident's when the label is missing or empty.
alertname := name if {
	name := input.alert.labels.alertname
	name != ""
} else := name if {
	name := input.incident.alertname
}

no_action(reason, escalate) := {"action": "none", "params": {}, "reason": reason, "escalate": escalate}

# A number as the built-in policy writes it (JavaScript's Number#toString), which is how the
# client's JSON wrote it: OPA keeps a number's JSON text. Not sprintf's %v, which formats through
# Go's float64: 1e-7 becomes 1e-07 and 0.00001 becomes 1e-05 (found by the corpus agreement test).
# Counts OPA computes itself (integers) print the same either way.
num(x) := json.marshal(x)

# --- HighErrorRate: roll back -------------------------------------------------------------------

rollback_decision := d if {
	severity != "critical"
	d := no_action(sprintf(`HighErrorRate with %s: rollback needs severity "critical"`, [severity_found]), false)
} else := d if {
	count(missing_rollback_metrics) > 0
	names := concat(", ", missing_rollback_metrics)
	d := no_action(sprintf("cannot decide on rollback: metrics unknown: %s", [names]), true)
} else := d if {
	not rollback_thresholds_exceeded
	d := no_action(sprintf("%s: %s to roll back", [measured, must_exceed]), false)
} else := d if {
	recent_rollbacks >= max_rollbacks
	window := format_ms(settings.rollbackWindowMs)
	text := sprintf("rollback limit reached: %v rollbacks in the last %s", [recent_rollbacks, window])
	d := no_action(text, true)
} else := d if {
	input.deployment.previous_image == null
	d := no_action(sprintf("%s, but there is no previous version to roll back to", [exceeded]), true)
} else := d if {
	previous := input.deployment.previous_image
	is_string(previous)
	previous in object.get(input.deployment, "quarantined", [])
	d := no_action(sprintf("%s, but the previous version %s is quarantined", [exceeded, previous]), true)
} else := d if {
	previous := input.deployment.previous_image
	is_string(previous)
	d := {
		"action": "rollback",
		"params": {"image": previous},
		"reason": sprintf("%s: roll back to %s", [exceeded, previous]),
		"escalate": false,
	}
} else := d if {
	# Previous image unknown: the remediator resolves the target from the config repo's history.
	d := {
		"action": "rollback",
		"params": {},
		"reason": sprintf("%s: roll back to the previous version", [exceeded]),
		"escalate": false,
	}
}

severity := object.get(input.alert.labels, "severity", null)

severity_found := "no severity label" if {
	severity == null
} else := found if {
	found := sprintf(`severity "%s"`, [severity])
}

# In this order, as the reason lists them; restart_count only when restarts are a condition.
missing_rollback_metrics := [name |
	some name in ["error_rate", "restart_count"]
	rollback_metric_needed(name)
	not has_key(input.metrics, name)
]

rollback_metric_needed("error_rate")

rollback_metric_needed("restart_count") if restarts_needed

rollback_thresholds_exceeded if {
	input.metrics.error_rate > error_rate_threshold
	not restarts_needed
}

rollback_thresholds_exceeded if {
	input.metrics.error_rate > error_rate_threshold
	input.metrics.restart_count > restart_threshold
}

must_exceed := "both must exceed their threshold" if {
	restarts_needed
} else := "the error rate must exceed its threshold"

measured := sprintf("error rate %s (threshold %s) and %s restarts (threshold %s)", [
	num(input.metrics.error_rate), num(error_rate_threshold),
	num(input.metrics.restart_count), num(restart_threshold),
]) if {
	restarts_needed
} else := sprintf("error rate %s (threshold %s)", [num(input.metrics.error_rate), num(error_rate_threshold)])

exceeded := sprintf("error rate %s > %s and %s restarts > %s", [
	num(input.metrics.error_rate), num(error_rate_threshold),
	num(input.metrics.restart_count), num(restart_threshold),
]) if {
	restarts_needed
} else := sprintf("error rate %s > %s", [num(input.metrics.error_rate), num(error_rate_threshold)])

# Entries exactly at the window's start are outside; entries after input.now (clock skew) count.
recent_rollbacks := count([entry |
	some entry in input.history
	entry.action == "rollback"
	entry.outcome != "dry_run"
	time.parse_rfc3339_ns(entry.at) > time.parse_rfc3339_ns(input.now) - rollback_window_ns
])

# A duration as the built-in policy writes it (core's formatMs): 450ms, 30m, 1h30m, 1m5s.
format_ms(ms) := sprintf("%vms", [round(ms)]) if {
	ms < 1000
} else := text if {
	seconds := round(ms / 1000)
	hours := floor(seconds / 3600)
	minutes := floor((seconds - (hours * 3600)) / 60)
	rest := seconds - ((hours * 3600) + (minutes * 60))
	text := concat("", [
		unit_text(hours, "h"),
		unit_text(minutes, "m"),
		seconds_text(rest, hours + minutes),
	])
}

unit_text(0, _) := ""

unit_text(value, unit) := sprintf("%v%s", [value, unit]) if value != 0

# Seconds are written when not zero, or when nothing else is (0s).
seconds_text(rest, _) := sprintf("%vs", [rest]) if rest != 0

seconds_text(0, 0) := "0s"

seconds_text(0, larger) := "" if larger != 0

# --- HighCPU: scale up --------------------------------------------------------------------------

scale_up_decision := d if {
	not has_key(input.metrics, "cpu_usage")
	d := no_action("cannot decide on scale_up: metric unknown: cpu_usage", true)
} else := d if {
	input.metrics.cpu_usage <= cpu_threshold
	d := no_action(sprintf("cpu usage %s ≤ %s: no scale-up", [num(input.metrics.cpu_usage), num(cpu_threshold)]), false)
} else := d if {
	count(missing_replica_facts) > 0
	names := concat(", ", missing_replica_facts)
	d := no_action(sprintf("%s, but cannot scale up: unknown %s", [cpu_exceeded, names]), true)
} else := d if {
	input.current_replicas >= input.max_replicas
	d := no_action(sprintf("%s, but already at max replicas (%s)", [cpu_exceeded, num(input.max_replicas)]), true)
} else := d if {
	replicas := min([input.max_replicas, input.current_replicas + scale_step])
	text := sprintf("%s: scale from %s to %s replicas (max %s)", [
		cpu_exceeded, num(input.current_replicas),
		num(replicas), num(input.max_replicas),
	])
	d := {"action": "scale_up", "params": {"replicas": replicas}, "reason": text, "escalate": false}
}

cpu_exceeded := sprintf("cpu usage %s > %s", [num(input.metrics.cpu_usage), num(cpu_threshold)])

missing_replica_facts := [name |
	some name in ["current_replicas", "max_replicas"]
	not has_key(input, name)
]

# --- Argo CD: a release that failed to sync, or turned the application Degraded -------------------

# Roll the release back when it is the config repository's last release; escalate when the failure
# is another revision's or either revision is unknown. Only input.argocd counts: the controller
# sets it for incidents an Argo CD notifications source opened, never from an alert's labels.
release_rollback_decision := d if {
	not has_key(input, "argocd")
	d := no_action(sprintf("%s did not come from an Argo CD notifications source: no Argo CD facts to decide on", [alertname]), true)
} else := d if {
	input.argocd.revision == ""
	d := no_action(sprintf("%s: Argo CD sent no revision: cannot tell what to roll back", [alertname]), true)
} else := d if {
	not has_key(object.get(input, "deployment", {}), "release_revision")
	text := "%s, but the last release in the config repository is unknown: cannot tell that it is the one to roll back"
	d := no_action(sprintf(text, [release_failure]), true)
} else := d if {
	input.deployment.release_revision != input.argocd.revision
	text := "%s, but the last release in the config repository is %s: the failure is not the last release's"
	d := no_action(sprintf(text, [release_failure, input.deployment.release_revision]), true)
} else := d if {
	recent_rollbacks >= max_rollbacks
	window := format_ms(settings.rollbackWindowMs)
	text := sprintf("rollback limit reached: %v rollbacks in the last %s", [recent_rollbacks, window])
	d := no_action(text, true)
} else := d if {
	input.deployment.previous_image == null
	d := no_action(sprintf("%s, but there is no previous version to roll back to", [release_failure]), true)
} else := d if {
	previous := input.deployment.previous_image
	is_string(previous)
	previous in object.get(input.deployment, "quarantined", [])
	d := no_action(sprintf("%s, but the previous version %s is quarantined", [release_failure, previous]), true)
} else := d if {
	previous := input.deployment.previous_image
	is_string(previous)
	d := {
		"action": "rollback",
		"params": {"image": previous},
		"reason": sprintf("%s, the last release: roll back to %s", [release_failure, previous]),
		"escalate": false,
	}
} else := d if {
	d := {
		"action": "rollback",
		"params": {},
		"reason": sprintf("%s, the last release: roll back to the previous version", [release_failure]),
		"escalate": false,
	}
}

release_failure := sprintf("the sync of revision %s failed", [input.argocd.revision]) if {
	input.argocd.event == "sync-failed"
} else := sprintf("the application turned Degraded soon after revision %s was synced", [input.argocd.revision])
