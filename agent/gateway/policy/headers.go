package policy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/textproto"
	"strings"
)

// headersPolicy is APIcast's "headers" policy: "This policy allows to
// include custom headers that will be sent to the upstream as well as modify
// or delete the ones included in the original request. Similarly, this policy
// also allows to add, modify, and delete the headers included in the
// response." The request commands run in the rewrite phase, the response
// commands in the header filter, in their order, with APIcast's operations:
//
//   - add: "Add a value to an existing header" (nothing when it is not set);
//   - set: "Create the header when not set, replace its value when set"; an
//     empty value deletes it, as in APIcast;
//   - push: "Create the header when not set, add the value when set";
//   - delete: "Delete a header."
//
// A value is plain text or, with value_type liquid, a template compiled once
// (see CompileTemplate) and rendered per request.
type headersPolicy struct {
	request, response []headerCommand
	env               *Env // for the Liquid service variables
}

type headerOp uint8

const (
	headerAdd headerOp = iota
	headerSet
	headerPush
	headerDelete
)

type headerCommand struct {
	op    headerOp
	key   string // canonical
	value *Template
	// static is a set's value when it is the same for every request: one
	// slice shared by all requests (len == cap, so an append elsewhere
	// copies it), which spares an allocation per request.
	static []string
}

type headerCommandConfig struct {
	Op        string  `json:"op"`
	Header    *string `json:"header"`
	Value     string  `json:"value"`
	ValueType string  `json:"value_type"`
}

type headersConfig struct {
	Request  []headerCommandConfig `json:"request"`
	Response []headerCommandConfig `json:"response"`
}

func newHeaders(conf json.RawMessage, env *Env) (Policy, error) {
	var cfg headersConfig
	if err := Decode(conf, &cfg); err != nil {
		return nil, err
	}
	p := &headersPolicy{env: env}
	var err error
	if p.request, err = compileHeaderCommands("request", cfg.Request); err != nil {
		return nil, err
	}
	if p.response, err = compileHeaderCommands("response", cfg.Response); err != nil {
		return nil, err
	}
	return p, nil
}

func compileHeaderCommands(field string, cfgs []headerCommandConfig) ([]headerCommand, error) {
	out := make([]headerCommand, 0, len(cfgs))
	for i, cc := range cfgs {
		at := fmt.Sprintf("%s[%d].", field, i)
		if cc.Op == "" {
			return nil, Invalid(at+"op", "is required")
		}
		op, err := OneOf(at+"op", cc.Op, "", "add", "set", "push", "delete")
		if err != nil {
			return nil, err
		}
		if cc.Header == nil {
			return nil, Invalid(at+"header", "is required")
		}
		if !validHeaderName(*cc.Header) {
			return nil, Invalid(at+"header", "%q is not a valid header name", *cc.Header)
		}
		vt, err := OneOf(at+"value_type", cc.ValueType, "plain", "plain", "liquid")
		if err != nil {
			return nil, err
		}
		if vt == "plain" && !validHeaderValue(cc.Value) {
			return nil, Invalid(at+"value", "must not hold a line break or a control character")
		}
		t, err := CompileTemplate(at+"value", cc.Value, vt == "liquid")
		if err != nil {
			return nil, err
		}
		cmd := headerCommand{
			op:    map[string]headerOp{"add": headerAdd, "set": headerSet, "push": headerPush, "delete": headerDelete}[op],
			key:   textproto.CanonicalMIMEHeaderKey(*cc.Header),
			value: t,
		}
		if t.IsStatic() {
			if v := t.Render(nil, nil); v != "" {
				cmd.static = []string{v}
			}
		}
		out = append(out, cmd)
	}
	return out, nil
}

func (p *headersPolicy) Name() string { return "headers" }

// Rewrite runs the request commands on what is forwarded.
func (p *headersPolicy) Rewrite(c *Context) {
	if len(p.request) == 0 {
		return
	}
	for i := range p.request {
		cmd := &p.request[i]
		if cmd.key == "Host" {
			// Go keeps the Host apart from the other headers.
			if cmd.op == headerSet || cmd.op == headerPush {
				if v := cmd.render(c, p.env); v != "" {
					c.R.Host = v
				}
			}
			continue
		}
		cmd.apply(c, p.env, c.R.Header)
	}
}

// HeaderFilter runs the response commands on the response's headers.
func (p *headersPolicy) HeaderFilter(c *Context) {
	if len(p.response) == 0 {
		return
	}
	h := c.W.Header()
	for i := range p.response {
		p.response[i].apply(c, p.env, h)
	}
}

func (cmd *headerCommand) apply(c *Context, env *Env, h http.Header) {
	switch cmd.op {
	case headerDelete:
		delete(h, cmd.key)
	case headerSet:
		if cmd.static != nil {
			h[cmd.key] = cmd.static
		} else if v := cmd.render(c, env); v == "" {
			delete(h, cmd.key)
		} else {
			h[cmd.key] = []string{v}
		}
	case headerPush:
		h[cmd.key] = append(h[cmd.key], cmd.render(c, env))
	case headerAdd:
		if len(h[cmd.key]) > 0 {
			h[cmd.key] = append(h[cmd.key], cmd.render(c, env))
		}
	}
}

// render renders the value; a line break a Liquid value brought in (a
// claim's text) becomes a space, so that no value splits a head.
func (cmd *headerCommand) render(c *Context, env *Env) string {
	v := cmd.value.Render(c, env)
	if strings.IndexByte(v, '\r') >= 0 || strings.IndexByte(v, '\n') >= 0 || strings.IndexByte(v, 0) >= 0 {
		v = strings.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == 0 {
				return ' '
			}
			return r
		}, v)
	}
	return v
}
