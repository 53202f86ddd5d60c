package policy

import (
	"encoding/json"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
)

// echoPolicy is APIcast's "echo" policy: "This policy prints the request
// back to the client and optionally sets a status code." As echo.lua, in
// the content phase it answers with the request line as the client sent it
// (nginx's $request: "GET /t?a=1 HTTP/1.1", whatever earlier policies
// rewrote) and a newline, or {"request":"..."} when the Accept header is
// exactly application/json, encoded as lua-cjson encodes it ('/' written
// "\/"); the request is not forwarded. status ("HTTP status code to be
// returned") is the answer's status, 200 without it. exit ("Exit mode")
// acts in the rewrite phase:
//
//   - "request" ("Interrupt the processing of the request."): the request
//     is answered there with status, as ngx.exit(status) answers: an empty
//     body for a 2xx (none for 204), nginx's error page for the statuses it
//     has one for (see nginxErrorPage). Without a status, ngx.exit(0) only
//     ends the phase: as "phase".
//   - "phase" ("Skip only the rewrite phase."): the rewrite phase of the
//     elements after echo is skipped; access and content run, and echo
//     answers in the content phase.
//
// As in APIcast, echo answers only if the content phase reaches it: placed
// after the apicast element, or after an upstream or routing policy that
// chose the request's upstream, it never does, their content phase handing
// the request to the upstream first (Chain.Serve).
//
// Differences. The apicast element's own rewrite (credentials, mapping
// rules) is never skipped: in APIcast, skipping it leaves the request
// unauthenticated (its authorize returns when it has no credentials) and
// echo answers anyway, but an upstream or routing policy before echo that
// chose an upstream would then hand the API to anyone, forwarding before
// echo's turn. The answer is text/plain whatever the path (nginx would type a
// path ending .html as text/html), so that a reflected request line is never
// read as HTML. status must be a final HTTP status (200 to 599): APIcast
// takes any number, which nginx cannot all send. Echo's answer ends the
// content phase: APIcast's echo only prints (ngx.say), so a second echo or a
// liquid_context_debug after it would add its own lines to the same answer.
type echoPolicy struct {
	status   int // 0: none
	exit     string
	answered prometheus.Counter
}

type echoConfig struct {
	Status *int64  `json:"status"`
	Exit   *string `json:"exit"`
}

func newEcho(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg echoConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	p := &echoPolicy{answered: routeCounter(env, "echo", "answered")}
	if cfg.Status != nil {
		if *cfg.Status < 200 || *cfg.Status > 599 {
			return nil, Invalid("status", "must be a final HTTP status (200 to 599), not %d", *cfg.Status)
		}
		p.status = int(*cfg.Status)
	}
	if cfg.Exit != nil && *cfg.Exit != "" {
		exit, err := OneOf("exit", *cfg.Exit, "", "request", "phase")
		if err != nil {
			return nil, err
		}
		p.exit = exit
	}
	if p.exit == "request" && p.status == 0 {
		p.exit = "phase" // ngx.exit(ngx.status) with no status set is ngx.exit(0)
	}
	return p, nil
}

func (p *echoPolicy) Name() string { return "echo" }

// Rewrite ends the request or the phase, as exit asks.
func (p *echoPolicy) Rewrite(c *Context) {
	switch p.exit {
	case "request":
		p.answered.Inc()
		if p.status >= 200 && p.status < 300 && p.status != http.StatusNoContent {
			c.Respond(p.status, "text/plain", nil)
			return
		}
		ct, body := nginxErrorPage(p.status)
		c.Respond(p.status, ct, body)
	case "phase":
		c.skipRewrite = true
	}
}

// Content answers with the request line.
func (p *echoPolicy) Content(c *Context) bool {
	r := c.R
	target := r.RequestURI
	if target == "" {
		target = r.URL.RequestURI()
	}
	line := r.Method + " " + target + " " + r.Proto
	var body []byte
	if headerFirst(r.Header, "Accept") == "application/json" {
		body = append(cjsonString(append(make([]byte, 0, len(line)+24), `{"request":`...), line), "}\n"...)
	} else {
		body = []byte(line + "\n")
	}
	status := p.status
	if status == 0 {
		status = http.StatusOK
	}
	p.answered.Inc()
	c.Respond(status, "text/plain", body)
	return true
}

// cjsonString appends s to b as a JSON string the way lua-cjson writes it:
// '"', '\\' and '/' escaped with a backslash, \b \f \n \r \t, other control
// bytes and DEL as \u00XX, every other byte as it is.
func cjsonString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '"' || ch == '\\' || ch == '/':
			b = append(b, '\\', ch)
		case ch == '\b':
			b = append(b, '\\', 'b')
		case ch == '\f':
			b = append(b, '\\', 'f')
		case ch == '\n':
			b = append(b, '\\', 'n')
		case ch == '\r':
			b = append(b, '\\', 'r')
		case ch == '\t':
			b = append(b, '\\', 't')
		case ch < ' ' || ch == 0x7f:
			b = append(b, '\\', 'u', '0', '0', hex[ch>>4], hex[ch&0xf])
		default:
			b = append(b, ch)
		}
	}
	return append(b, '"')
}
