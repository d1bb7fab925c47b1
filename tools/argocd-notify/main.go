// argocd-notify renders selfheal's Argo CD Notifications triggers and templates for one
// Application, as Argo CD's notifications controller (notifications-engine) does: each trigger's
// `when` evaluated with expr, with `app` and `time` in scope; each template sent by a trigger
// that holds rendered with text/template and Sprig, with `app`, `context`, `secrets`,
// `serviceType` and `recipient` in scope; webhook services' `$secret` references in headers
// replaced from argocd-notifications-secret. It is a test stand-in: it sends nothing, it prints
// one JSON object per notification (trigger, template, service, method, url, headers, body).
//
//	argocd-notify -config argocd-notifications-cm.yaml -app application.json \
//	    [-secret name=value ...] [-now 2026-12-06T10:00:00Z] [-context argocdUrl=https://...]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/template"
	"time"

	"github.com/Masterminds/sprig/v3"
	"github.com/expr-lang/expr"
	"sigs.k8s.io/yaml"
)

type condition struct {
	When    string   `json:"when"`
	Send    []string `json:"send"`
	OncePer string   `json:"oncePer"`
}

type webhookTemplate struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Body   string `json:"body"`
}

type notificationTemplate struct {
	Webhook map[string]webhookTemplate `json:"webhook"`
}

type webhookService struct {
	URL     string `json:"url"`
	Headers []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"headers"`
}

type notification struct {
	Trigger  string            `json:"trigger"`
	Template string            `json:"template"`
	Service  string            `json:"service"`
	Method   string            `json:"method"`
	URL      string            `json:"url"`
	Headers  map[string]string `json:"headers"`
	Body     string            `json:"body"`
}

type pairs map[string]string

func (p pairs) String() string { return fmt.Sprint(map[string]string(p)) }
func (p pairs) Set(value string) error {
	name, rest, ok := strings.Cut(value, "=")
	if !ok {
		return fmt.Errorf("expected name=value, got %q", value)
	}
	p[name] = rest
	return nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "argocd-notify:", err)
		os.Exit(1)
	}
}

func run() error {
	configPath := flag.String("config", "", "argocd-notifications-cm ConfigMap (YAML)")
	appPath := flag.String("app", "", "the Application object (JSON)")
	nowText := flag.String("now", "", "the time trigger conditions see as time.Now() (RFC 3339; default: now)")
	secrets := pairs{}
	context := pairs{}
	flag.Var(secrets, "secret", "a key of argocd-notifications-secret, name=value (repeatable)")
	flag.Var(context, "context", "a key of the ConfigMap's context, name=value (repeatable; added to it)")
	flag.Parse()
	if *configPath == "" || *appPath == "" {
		return fmt.Errorf("-config and -app are required")
	}
	now := time.Now()
	if *nowText != "" {
		parsed, err := time.Parse(time.RFC3339, *nowText)
		if err != nil {
			return fmt.Errorf("-now: %w", err)
		}
		now = parsed
	}

	var configMap struct {
		Data map[string]string `json:"data"`
	}
	if err := readYAML(*configPath, &configMap); err != nil {
		return err
	}
	var app map[string]any
	appBytes, err := os.ReadFile(*appPath)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(appBytes, &app); err != nil {
		return fmt.Errorf("%s: %w", *appPath, err)
	}
	shared := map[string]string{}
	if text, ok := configMap.Data["context"]; ok {
		if err := yaml.Unmarshal([]byte(text), &shared); err != nil {
			return fmt.Errorf("context: %w", err)
		}
	}
	for name, value := range context {
		shared[name] = value
	}
	timeFuncs := map[string]any{
		"Now":   func() time.Time { return now },
		"Parse": func(text string) time.Time { parsed, _ := time.Parse(time.RFC3339, text); return parsed },
	}
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")

	var names []string
	for key := range configMap.Data {
		if strings.HasPrefix(key, "trigger.") {
			names = append(names, strings.TrimPrefix(key, "trigger."))
		}
	}
	sort.Strings(names)
	out := json.NewEncoder(os.Stdout)
	out.SetEscapeHTML(false)
	for _, name := range names {
		var conditions []condition
		if err := yaml.Unmarshal([]byte(configMap.Data["trigger."+name]), &conditions); err != nil {
			return fmt.Errorf("trigger.%s: %w", name, err)
		}
		for index, cond := range conditions {
			env := map[string]any{"app": app, "time": timeFuncs}
			program, err := expr.Compile(cond.When, expr.AsBool())
			if err != nil {
				return fmt.Errorf("trigger.%s[%d].when: %w", name, index, err)
			}
			result, err := expr.Run(program, env)
			if err != nil {
				// notifications-engine logs and skips a condition that fails to evaluate.
				fmt.Fprintf(os.Stderr, "trigger.%s[%d]: %v\n", name, index, err)
				continue
			}
			if result != true {
				continue
			}
			for _, templateName := range cond.Send {
				rendered, err := render(configMap.Data, templateName, funcs, map[string]any{
					"app": app, "context": shared, "secrets": map[string]string(secrets),
					"serviceType": "webhook", "time": timeFuncs,
				}, secrets)
				if err != nil {
					return err
				}
				for _, item := range rendered {
					item.Trigger = name
					if err := out.Encode(item); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

func render(data map[string]string, name string, funcs template.FuncMap, vars map[string]any, secrets pairs) ([]notification, error) {
	text, ok := data["template."+name]
	if !ok {
		return nil, fmt.Errorf("template.%s: no such template", name)
	}
	var definition notificationTemplate
	if err := yaml.Unmarshal([]byte(text), &definition); err != nil {
		return nil, fmt.Errorf("template.%s: %w", name, err)
	}
	var services []string
	for service := range definition.Webhook {
		services = append(services, service)
	}
	sort.Strings(services)
	var out []notification
	for _, service := range services {
		hook := definition.Webhook[service]
		var config webhookService
		if err := yaml.Unmarshal([]byte(data["service.webhook."+service]), &config); err != nil {
			return nil, fmt.Errorf("service.webhook.%s: %w", service, err)
		}
		if config.URL == "" {
			return nil, fmt.Errorf("template.%s sends to webhook %s, which service.webhook.%s does not define", name, service, service)
		}
		vars["recipient"] = service
		body, err := execute(fmt.Sprintf("template.%s.webhook.%s.body", name, service), hook.Body, funcs, vars)
		if err != nil {
			return nil, err
		}
		path, err := execute(fmt.Sprintf("template.%s.webhook.%s.path", name, service), hook.Path, funcs, vars)
		if err != nil {
			return nil, err
		}
		headers := map[string]string{}
		for _, header := range config.Headers {
			headers[header.Name] = substitute(header.Value, secrets)
		}
		method := hook.Method
		if method == "" {
			method = "GET"
		}
		out = append(out, notification{Template: name, Service: service, Method: method, URL: config.URL + path, Headers: headers, Body: body})
	}
	return out, nil
}

func execute(name, text string, funcs template.FuncMap, vars map[string]any) (string, error) {
	parsed, err := template.New(name).Funcs(funcs).Parse(text)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	var out strings.Builder
	if err := parsed.Execute(&out, vars); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return out.String(), nil
}

// substitute replaces `$name` with the value of the secret `name`, as notifications-engine does
// in service settings, where names may hold dashes (`$slack-token`); longer names first, so
// `$token-2` is not taken for `$token` followed by "-2". A name with no secret stays as written.
func substitute(value string, secrets pairs) string {
	names := make([]string, 0, len(secrets))
	for name := range secrets {
		names = append(names, name)
	}
	sort.Slice(names, func(a, b int) bool { return len(names[a]) > len(names[b]) })
	for _, name := range names {
		value = strings.ReplaceAll(value, "$"+name, secrets[name])
	}
	return value
}

func readYAML(path string, into any) error {
	text, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := yaml.Unmarshal(text, into); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
