package policy

import (
	"encoding/json"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// loggingPolicy is APIcast's "logging" policy: "Controls logging. It allows
// to enable and disable access logs per service. Also it allows to have a
// custom access logs format per service." enable_access_logs turns the
// service's access log on or off; custom_logging is a Liquid template of the
// line; enable_json_logs writes instead an object of the json_object_config
// keys, each value plain or Liquid ("If enable_json_logs is enabled,
// custom_logging field will be omitted"); a condition (operations of match
// and value, combine_op) decides which requests get the custom or JSON line.
// APIcast's nginx writes the line after the response.
//
// The Portolan gateway keeps no access log of its own, so this policy is the
// service's: in the log phase, one line per request of the service goes to
// the agent's log (accessLog: without holding the request up), with
// "kind":"access" and "service" (its system name), and:
//
//   - without custom_logging nor enable_json_logs, unless enable_access_logs
//     is false: APIcast's default line as the message, "[time_local]
//     host:server_port remote_addr:remote_port "request" status
//     body_bytes_sent (request_time)", less post_action_impact (Portolan has
//     no post action: usage goes home in batches);
//   - custom_logging: the rendered template as the message;
//   - enable_json_logs: the object, its values strings, as "access" (nested:
//     its keys, such as the README's own "time", never collide with the log
//     line's).
//
// As in APIcast, the condition applies to the custom and JSON lines only, and
// those replace the default line whatever enable_access_logs says.
//
// The Liquid variables are the other policies' (CompileTemplate) and the log
// phase's: status, req.headers.NAME, resp.headers.NAME (res.headers, as the
// README spells it; a NAME with underscores also finds the header with
// hyphens, as ngx.req.get_headers does), and nginx's time_local,
// time_iso8601, msec, request, request_time, body_bytes_sent,
// upstream_status, upstream_response_time, server_protocol, args,
// query_string, target_host, http_NAME, sent_http_NAME and arg_NAME.
//
// Unlike APIcast's, the log never spreads a secret on its own: the values of
// query parameters that carry credentials (see secretName) are masked in
// request, request_uri, args and query_string, hence in the default line;
// the context objects credentials, usage and original_request, and the
// service's properties beyond id and system_name (its secret token, its
// backend credentials), are not there and render empty. A credential is
// logged only when the template names where the client put it
// (headers['Authorization'], http_authorization, arg_user_key, ...): the
// operator asked for it, and each chain built warns of it. Requests refused
// before the chain runs (a malformed target, a body over the gateway's
// limit, a service that fails closed) are not logged.
type loggingPolicy struct {
	env  *Env
	line *Template     // the custom or default line; nil with json
	json []loggingPair // the object's keys in order, with enable_json_logs
	cond *condition    // nil: every request
	out  *accessLog    // nil: access logs off

	lookupFn func(c *Context, env *Env, path []string) string // lookup, bound once
	renderFn renderer                                         // render, bound once
	logged   prometheus.Counter
}

// loggingCounted is loggingPolicy when a template reads body_bytes_sent: it
// takes part in the body filter to count them, which only then wraps the
// response.
type loggingCounted struct{ *loggingPolicy }

type loggingPair struct {
	key   string
	value *Template
}

type loggingConfig struct {
	EnableAccessLogs *bool   `json:"enable_access_logs"`
	CustomLogging    *string `json:"custom_logging"`
	EnableJSONLogs   bool    `json:"enable_json_logs"`
	JSONObjectConfig []struct {
		Key       *string `json:"key"`
		Value     *string `json:"value"`
		ValueType string  `json:"value_type"`
	} `json:"json_object_config"`
	Condition *struct {
		Operations []struct {
			Match     *string `json:"match"`
			MatchType string  `json:"match_type"`
			Op        string  `json:"op"`
			Value     *string `json:"value"`
			ValueType string  `json:"value_type"`
		} `json:"operations"`
		CombineOp string `json:"combine_op"`
	} `json:"condition"`
}

// defaultAccessLine is APIcast's default access log format ("log_format
// time" of its apicast.conf), less post_action_impact.
const defaultAccessLine = `[{{time_local}}] {{target_host}}:{{server_port}} {{remote_addr}}:{{remote_port}} "{{request}}" {{status}} {{body_bytes_sent}} ({{request_time}})`

func newLogging(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg loggingConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	if env == nil {
		env = &Env{}
	}
	p := &loggingPolicy{env: env}
	p.lookupFn = p.lookup
	p.renderFn = func(t *Template, c *Context, env *Env) string { return t.RenderWith(c, env, p.lookupFn) }
	var cond *condition
	var err error
	if cfg.Condition != nil { // checked even where unused, as APIcast builds it
		if cond, err = compileLoggingCondition(&cfg); err != nil {
			return nil, err
		}
	}
	switch {
	case cfg.EnableJSONLogs:
		p.json, err = compileLoggingPairs(&cfg)
		p.cond = cond
	case cfg.CustomLogging != nil:
		p.line, err = CompileTemplate("custom_logging", *cfg.CustomLogging, true)
		p.cond = cond
	case cfg.EnableAccessLogs == nil || *cfg.EnableAccessLogs:
		p.line, err = CompileTemplate("", defaultAccessLine, true)
	default:
		return p, nil // access logs off: the policy writes nothing
	}
	if err != nil {
		return nil, err
	}
	p.warnSecrets()
	p.out = sharedAccessLog(env)
	if env.Metrics != nil {
		p.logged = env.Metrics.Policy.WithLabelValues("logging", "logged")
	}
	if p.reads("body_bytes_sent") {
		return loggingCounted{p}, nil
	}
	return p, nil
}

// compileLoggingPairs compiles json_object_config. As in APIcast, where the
// object is a Lua table, a key given twice keeps its last value (at its
// first place) and a key without a value is left out.
func compileLoggingPairs(cfg *loggingConfig) ([]loggingPair, error) {
	var pairs []loggingPair
	at := map[string]int{}
	for i, kv := range cfg.JSONObjectConfig {
		field := "json_object_config[" + strconv.Itoa(i) + "]"
		if kv.Key == nil {
			return nil, Invalid(field+".key", "is required")
		}
		var t *Template
		if kv.Value != nil {
			var err error
			if t, err = compileTyped(field+".value", *kv.Value, kv.ValueType); err != nil {
				return nil, err
			}
		}
		if j, ok := at[*kv.Key]; ok {
			pairs[j].value = t
			continue
		}
		at[*kv.Key] = len(pairs)
		pairs = append(pairs, loggingPair{key: *kv.Key, value: t})
	}
	return pairs, nil
}

// compileLoggingCondition compiles the condition, whose operations write
// match and value where the other policies' write left and right, and names
// the fields as this policy's schema does.
func compileLoggingCondition(cfg *loggingConfig) (*condition, error) {
	cc := &conditionConfig{CombineOp: cfg.Condition.CombineOp}
	for _, o := range cfg.Condition.Operations {
		cc.Operations = append(cc.Operations, operationConfig{Left: o.Match, LeftType: o.MatchType, Op: o.Op, Right: o.Value, RightType: o.ValueType})
	}
	cond, err := compileCondition("condition", cc, conditionRules{})
	if fe, ok := err.(*FieldError); ok {
		for _, r := range [][2]string{{".left_type", ".match_type"}, {".right_type", ".value_type"}, {".left", ".match"}, {".right", ".value"}} {
			if strings.HasSuffix(fe.Field, r[0]) {
				fe.Field = strings.TrimSuffix(fe.Field, r[0]) + r[1]
				break
			}
		}
	}
	return cond, err
}

func (p *loggingPolicy) Name() string { return "logging" }

// vars calls fn with each variable's path: those of the written templates
// (written), then the condition's.
func (p *loggingPolicy) vars(fn func(path []string, written bool)) {
	ts := []*Template{p.line}
	for _, kv := range p.json {
		ts = append(ts, kv.value)
	}
	n := len(ts)
	if p.cond != nil {
		for _, o := range p.cond.ops {
			ts = append(ts, o.left, o.right)
		}
	}
	for i, t := range ts {
		for j := 0; t != nil && j < len(t.parts); j++ {
			if t.parts[j].path != nil {
				fn(t.parts[j].path, i < n)
			}
		}
	}
}

// reads reports whether a template reads the variable name.
func (p *loggingPolicy) reads(name string) bool {
	found := false
	p.vars(func(path []string, _ bool) { found = found || len(path) == 1 && path[0] == name })
	return found
}

// warnSecrets warns of each header or parameter that carries credentials
// and that a written template names: the operator asked for it, but it is
// worth seeing.
func (p *loggingPolicy) warnSecrets() {
	p.vars(func(path []string, written bool) {
		if name := namedSource(path); written && name != "" && p.env.isSecretName(name) {
			p.env.Log.Warn().Str("service", p.env.ServiceSystemName).Str("name", name).
				Msg("logging: the access log template writes a header or parameter that carries credentials: its value is logged as it came")
		}
	})
}

// namedSource is the header or parameter a variable names, "" for others.
func namedSource(path []string) string {
	switch {
	case len(path) == 2 && path[0] == "headers":
		return path[1]
	case len(path) == 3 && path[1] == "headers" && (path[0] == "req" || path[0] == "resp" || path[0] == "res"):
		return path[2]
	case len(path) == 1:
		for _, prefix := range []string{"sent_http_", "http_", "arg_"} {
			if name, ok := strings.CutPrefix(path[0], prefix); ok {
				return name
			}
		}
	}
	return ""
}

// Log renders the request's line and hands it to the agent's log.
func (p *loggingPolicy) Log(c *Context) {
	if p.out == nil {
		return
	}
	if p.cond != nil && !p.cond.holds(c, p.env, p.renderFn) {
		return
	}
	e := accessEntry{service: p.env.ServiceSystemName}
	if p.line == nil {
		e.json = true
		e.pairs = make([]string, 0, 2*len(p.json))
		for _, kv := range p.json {
			if kv.value != nil {
				e.pairs = append(e.pairs, kv.key, clip(p.renderFn(kv.value, c, p.env)))
			}
		}
	} else {
		e.message = clip(p.renderFn(p.line, c, p.env))
	}
	if p.out.add(e) {
		inc(p.logged)
	}
}

// BodyFilter counts the body's bytes, for body_bytes_sent.
func (p loggingCounted) BodyFilter(c *Context, b []byte) []byte {
	*c.State(newByteCount).(*int64) += int64(len(b))
	return b
}

func newByteCount() any { return new(int64) }

// lookup is the text of a log-phase variable; the others are the request's
// (Context.Lookup).
func (p *loggingPolicy) lookup(c *Context, env *Env, path []string) string {
	r := c.R
	if len(path) == 3 && path[1] == "headers" {
		switch path[0] {
		case "req":
			return requestHeaderValues(r, path[2])
		case "resp", "res":
			return headerValues(c.W.Header(), path[2])
		}
	}
	if len(path) != 1 {
		return c.Lookup(env, path)
	}
	name := path[0]
	switch name {
	case "status":
		return strconv.Itoa(logStatus(c))
	case "request":
		return r.Method + " " + maskedTarget(r, env) + " " + r.Proto
	case "request_uri":
		return maskedTarget(r, env)
	case "args", "query_string":
		_, q, _ := strings.Cut(maskedTarget(r, env), "?")
		return q
	case "target_host":
		return c.Lookup(env, []string{"host"})
	case "server_protocol":
		return r.Proto
	case "time_local":
		return p.now().Format("02/Jan/2006:15:04:05 -0700")
	case "time_iso8601":
		return p.now().Format("2006-01-02T15:04:05-07:00")
	case "msec":
		return strconv.FormatFloat(float64(p.now().UnixMilli())/1000, 'f', 3, 64)
	case "request_time":
		return nginxSeconds(time.Since(c.Start))
	case "body_bytes_sent":
		// Counted by the body filter: reading it made this a loggingCounted.
		return strconv.FormatInt(*c.State(newByteCount).(*int64), 10)
	case "upstream_status", "upstream_response_time":
		switch {
		case c.UpstreamStatus == 0:
			return "" // not reached: nil in APIcast's context
		case name == "upstream_status":
			return strconv.Itoa(c.UpstreamStatus)
		}
		return nginxSeconds(c.UpstreamTime)
	}
	if h, ok := strings.CutPrefix(name, "sent_http_"); ok {
		return headerValues(c.W.Header(), h)
	}
	if h, ok := strings.CutPrefix(name, "http_"); ok {
		return requestHeaderValues(r, h)
	}
	if a, ok := strings.CutPrefix(name, "arg_"); ok {
		return r.URL.Query().Get(a)
	}
	return c.Lookup(env, path)
}

// logStatus is nginx's $status: 499 for a client that went away before
// anything was written, 200 for an answer with nothing written (net/http
// sends that).
func logStatus(c *Context) int {
	switch {
	case c.Status != 0:
		return c.Status
	case c.R.Context().Err() != nil:
		return 499
	default:
		return http.StatusOK
	}
}

// headerValues are the values of the header name (with underscores for
// hyphens when it has none under its own name), joined with ", ".
func headerValues(h http.Header, name string) string {
	v := h.Values(textproto.CanonicalMIMEHeaderKey(name))
	if len(v) == 0 && strings.Contains(name, "_") {
		v = h.Values(textproto.CanonicalMIMEHeaderKey(strings.ReplaceAll(name, "_", "-")))
	}
	return strings.Join(v, ", ")
}

// requestHeaderValues is headerValues of the request's headers, Host
// included ($http_host), which Go keeps out of them.
func requestHeaderValues(r *http.Request, name string) string {
	if strings.EqualFold(name, "host") {
		return r.Host
	}
	return headerValues(r.Header, name)
}

// maskedTarget is the request's target as the client sent it (nginx's
// $request_uri, before any rewrite), the values of the query parameters
// that carry credentials (env.isSecretName) masked.
func maskedTarget(r *http.Request, env *Env) string {
	target := r.RequestURI
	if target == "" {
		target = r.URL.RequestURI()
	}
	path, query, ok := strings.Cut(target, "?")
	if !ok {
		return target
	}
	params := strings.Split(query, "&")
	for i, kv := range params {
		k, _, _ := strings.Cut(kv, "=")
		if uk, err := url.QueryUnescape(k); err != nil || env.isSecretName(uk) {
			params[i] = k + "=" + liquidMasked
		}
	}
	return path + "?" + strings.Join(params, "&")
}

// nginxSeconds is a duration as nginx writes $request_time: seconds with a
// milliseconds resolution.
func nginxSeconds(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

func (p *loggingPolicy) now() time.Time {
	if p.env.Now == nil {
		return time.Now()
	}
	return p.env.Now()
}
