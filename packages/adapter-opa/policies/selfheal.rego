# selfheal's shipped decision policy (OPA 1.x syntax).
#
# Query it through the Data API: POST /v1/data/selfheal/decision with {"input": <DecisionInput>}.
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
#     alert name each have their own decision and reason.
#
# It agrees case by case with the built-in TypeScript policy (@selfheal/core `builtinPolicy`):
# selfheal_test.rego is generated from the shared decision corpus. Run `opa test policies/`.
package selfheal

# Thresholds are exclusive: a value must exceed them.
error_rate_threshold := 0.05

restart_threshold := 3

cpu_threshold := 0.8

# Rollbacks (any outcome but dry_run) allowed within the window; at this many, escalate.
max_rollbacks := 2

rollback_window_ns := 1800000000000

rollback_window_text := "30m"

# Replicas added by one scale-up, capped at max_replicas.
scale_step := 1

# Fail closed should a branch below ever be undefined (an input outside the schema).
default decision := {
	"action": "none",
	"params": {},
	"reason": "policy selfheal: no branch decided; is the input a DecisionInput?",
	"escalate": true,
}

# Precedence, first match wins: a resolved alert, then one rule per alert name. Each branch yields
# one complete decision, so two rules can never answer at once.
decision := d if {
	input.alert.status == "resolved"
	d := no_action(sprintf("alert %s resolved before any action", [alertname]), false)
} else := d if {
	alertname == "HighErrorRate"
	d := rollback_decision
} else := d if {
	alertname == "HighCPU"
	d := scale_up_decision
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
	d := no_action(sprintf("%s: both must exceed their threshold to roll back", [measured]), false)
} else := d if {
	recent_rollbacks >= max_rollbacks
	text := sprintf("rollback limit reached: %v rollbacks in the last %s", [recent_rollbacks, rollback_window_text])
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

# In this order, as the reason lists them.
missing_rollback_metrics := [name |
	some name in ["error_rate", "restart_count"]
	not name in object.keys(input.metrics)
]

rollback_thresholds_exceeded if {
	input.metrics.error_rate > error_rate_threshold
	input.metrics.restart_count > restart_threshold
}

measured := sprintf("error rate %v (threshold %v) and %v restarts (threshold %v)", [
	input.metrics.error_rate, error_rate_threshold,
	input.metrics.restart_count, restart_threshold,
])

exceeded := sprintf("error rate %v > %v and %v restarts > %v", [
	input.metrics.error_rate, error_rate_threshold,
	input.metrics.restart_count, restart_threshold,
])

# Entries exactly at the window's start are outside; entries after input.now (clock skew) count.
recent_rollbacks := count([entry |
	some entry in input.history
	entry.action == "rollback"
	entry.outcome != "dry_run"
	time.parse_rfc3339_ns(entry.at) > time.parse_rfc3339_ns(input.now) - rollback_window_ns
])

# --- HighCPU: scale up --------------------------------------------------------------------------

scale_up_decision := d if {
	not "cpu_usage" in object.keys(input.metrics)
	d := no_action("cannot decide on scale_up: metric unknown: cpu_usage", true)
} else := d if {
	input.metrics.cpu_usage <= cpu_threshold
	d := no_action(sprintf("cpu usage %v ≤ %v: no scale-up", [input.metrics.cpu_usage, cpu_threshold]), false)
} else := d if {
	count(missing_replica_facts) > 0
	names := concat(", ", missing_replica_facts)
	d := no_action(sprintf("%s, but cannot scale up: unknown %s", [cpu_exceeded, names]), true)
} else := d if {
	input.current_replicas >= input.max_replicas
	d := no_action(sprintf("%s, but already at max replicas (%v)", [cpu_exceeded, input.max_replicas]), true)
} else := d if {
	replicas := min([input.max_replicas, input.current_replicas + scale_step])
	text := sprintf("%s: scale from %v to %v replicas (max %v)", [
		cpu_exceeded, input.current_replicas,
		replicas, input.max_replicas,
	])
	d := {"action": "scale_up", "params": {"replicas": replicas}, "reason": text, "escalate": false}
}

cpu_exceeded := sprintf("cpu usage %v > %v", [input.metrics.cpu_usage, cpu_threshold])

missing_replica_facts := [name |
	some name in ["current_replicas", "max_replicas"]
	not name in object.keys(input)
]
