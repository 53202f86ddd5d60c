package policy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
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
//
// As APIcast's headers.lua, the request commands push and add build on the
// request's headers as they were when the policy's rewrite began ("local
// req_headers = ngx.req.get_headers()", read once "to avoid calling
// ngx.req.get_headers() in every command"), while set and delete change the
// request itself: a push after a set on one header builds on what the
// request brought and replaces the set value, an add after a delete adds
// back to what the request had. The response commands each see what the
// ones before left (ngx.header).
//
// A push or add on a header nginx keeps one value of (Content-Type,
// Location, Authorization, User-Agent, …: singleValued) replaces its value,
// as in APIcast: the command hands nginx the list of the old values and the
// new one (ngx.header[h] = {...}, ngx.req.set_header(h, {...})), and for
// such a header lua-nginx-module writes each value over the one before, so
// only the last, the command's, is sent ("only the last element in the Lua
// table will take effect for standard headers such as Content-Type that
// only accept a single value").
type headersPolicy struct {
	request, response []headerCommand
	env               *Env // for the Liquid service variables
	// snapKeys are the request headers whose pushes and adds need them as
	// the request brought them: those with a push or add after another
	// command on them. Every other command reads the request as it is,
	// which is then the same, at no cost.
	snapKeys []string
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
	// snap is, for a request push or add, the index in snapKeys of its
	// header as the request brought it; -1: the request's header as it is.
	snap int
	// single: nginx keeps one value of the header (singleValued), so a
	// push or add replaces it.
	single bool
}

// singleValued are, per side, the headers lua-nginx-module sets through
// nginx's own field for them (ngx_http_lua_headers_in.c's and
// ngx_http_lua_headers_out.c's ngx_http_set_builtin_header and the
// handlers built on it), whose value each element of a list overwrites;
// the others (ngx_http_set_header, Cache-Control's and Cookie's
// ngx_http_set_builtin_multi_header) get one line per element. Host is
// the request's, set apart (setHost); hop-by-hop headers never reach the
// upstream here, so they are left out.
var singleValued = map[string]map[string]bool{
	"request": {
		"If-Modified-Since": true, "If-Unmodified-Since": true, "If-Match": true, "If-None-Match": true,
		"User-Agent": true, "Referer": true, "Content-Length": true, "Content-Type": true,
		"Range": true, "If-Range": true, "Expect": true, "Accept-Encoding": true, "Via": true,
		"Authorization": true, "X-Real-Ip": true,
	},
	"response": {
		"Server": true, "Date": true, "Content-Encoding": true, "Location": true, "Refresh": true,
		"Last-Modified": true, "Content-Range": true, "Accept-Ranges": true, "Www-Authenticate": true,
		"Expires": true, "E-Tag": true, "Etag": true, "Content-Length": true, "Content-Type": true,
	},
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
	p.snapKeys = snapshotKeys(p.request)
	return p, nil
}

// snapshotKeys points the pushes and adds of cmds that must see their
// header as the request brought it at their place in the returned keys:
// every push and add on a header that has one after another command on it.
func snapshotKeys(cmds []headerCommand) []string {
	var keys []string
	for i := range cmds {
		cmd := &cmds[i]
		if (cmd.op != headerPush && cmd.op != headerAdd) || cmd.key == "Host" || slices.Contains(keys, cmd.key) {
			continue
		}
		if slices.ContainsFunc(cmds[:i], func(e headerCommand) bool { return e.key == cmd.key }) {
			keys = append(keys, cmd.key)
		}
	}
	for i := range cmds {
		if cmds[i].op == headerPush || cmds[i].op == headerAdd {
			cmds[i].snap = slices.Index(keys, cmds[i].key)
		}
	}
	return keys
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
		// A Liquid value's own text too: rendered, a control byte in it
		// would make every request's head one no server takes.
		if !validHeaderValue(cc.Value) {
			return nil, Invalid(at+"value", "must not hold a line break or a control character")
		}
		t, err := CompileTemplate(at+"value", cc.Value, vt == "liquid")
		if err != nil {
			return nil, err
		}
		key := textproto.CanonicalMIMEHeaderKey(*cc.Header)
		cmd := headerCommand{
			op:     map[string]headerOp{"add": headerAdd, "set": headerSet, "push": headerPush, "delete": headerDelete}[op],
			key:    key,
			value:  t,
			snap:   -1,
			single: singleValued[field][key],
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
	if len(p.snapKeys) > 0 {
		p.rewriteWithSnapshot(c)
		return
	}
	for i := range p.request {
		cmd := &p.request[i]
		if cmd.key == "Host" {
			p.setHost(c, cmd)
			continue
		}
		cmd.apply(c, p.env, c.R.Header)
	}
}

// rewriteWithSnapshot is Rewrite where some pushes or adds need their
// header as the request brought it (snapKeys).
func (p *headersPolicy) rewriteWithSnapshot(c *Context) {
	h := c.R.Header
	var buf [4][]string
	snap := buf[:0] // the values of snapKeys as the request brought them
	for _, k := range p.snapKeys {
		snap = append(snap, slices.Clip(h[k])) // clipped: an append copies
	}
	for i := range p.request {
		cmd := &p.request[i]
		switch {
		case cmd.key == "Host":
			p.setHost(c, cmd)
		case cmd.snap >= 0:
			cmd.pushOnto(c, p.env, h, &snap[cmd.snap])
		default:
			cmd.apply(c, p.env, h)
		}
	}
}

// setHost runs a command on Host, which Go keeps apart from the other
// headers: set and push replace the request's host.
func (p *headersPolicy) setHost(c *Context, cmd *headerCommand) {
	if cmd.op == headerSet || cmd.op == headerPush {
		if v := cmd.render(c, p.env); v != "" {
			c.R.Host = v
		}
	}
}

// pushOnto runs a request push or add as APIcast's do: on orig, the header
// as the request brought it, the result replacing the request's header
// (ngx.req.set_header). Where the request brought the header several times,
// APIcast's snapshot holds it as a Lua list, which the push extends in place
// (table.insert), so that the next push on it builds on this one; a header
// brought once is a string there, copied into a new list each time.
func (cmd *headerCommand) pushOnto(c *Context, env *Env, h http.Header, orig *[]string) {
	if cmd.op == headerAdd && len(*orig) == 0 {
		return // add: "When the header is not set, it does nothing"
	}
	if cmd.single {
		cmd.replace(c, env, h)
		return
	}
	v := append(*orig, cmd.render(c, env)) // *orig is clipped: a new array
	if len(*orig) > 1 {
		*orig = v[:len(v):len(v)]
	}
	h[cmd.key] = v[:len(v):len(v)]
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
		if cmd.single {
			cmd.replace(c, env, h)
			return
		}
		h[cmd.key] = append(h[cmd.key], cmd.render(c, env))
	case headerAdd:
		if len(h[cmd.key]) == 0 {
			return
		}
		if cmd.single {
			cmd.replace(c, env, h)
			return
		}
		h[cmd.key] = append(h[cmd.key], cmd.render(c, env))
	}
}

// replace is a push or add on a single-valued header: the command's value
// is the one nginx keeps, and an empty one clears the header, as it does
// the last element of the list.
func (cmd *headerCommand) replace(c *Context, env *Env, h http.Header) {
	if v := cmd.render(c, env); v != "" {
		h[cmd.key] = []string{v}
	} else {
		delete(h, cmd.key)
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
