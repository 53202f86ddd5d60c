package policy

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/portolan/portolan/composition"
)

// Chain is a service's policies in order, each phase's participants listed
// once so a request only calls those that take part.
type Chain struct {
	policies []Policy

	rewrite []indexed[Rewriter]
	access  []indexed[Accessor]
	// content is the content phase up to the element that forwards every
	// request in APIcast, planned by planContent; atForward is the content
	// work done only on the way to the upstream, wherever it sits.
	content   []contentStep
	atForward []indexed[Contenter]
	headers   []indexed[HeaderFilter]
	bodies    []indexed[BodyFilter]
	loggers   []indexed[Logger]
	filtered  bool // some header or body filter: the response must be wrapped
}

type indexed[T any] struct {
	pos int
	p   T
}

// Unsupported is the error of a chain that names a policy this gateway does
// not implement, or one whose configuration is invalid: the service fails
// closed rather than run without it.
type Unsupported struct {
	Policy string // the policy's name
	Index  int    // its position in the chain
	Err    error  // why: a policy the gateway does not run, or the configuration's problem
}

func (e *Unsupported) Error() string {
	return fmt.Sprintf("policy %q (element %d of the chain): %v", e.Policy, e.Index, e.Err)
}

func (e *Unsupported) Unwrap() error { return e.Err }

// ErrNotRun is why a policy the gateway does not run is refused.
var ErrNotRun = errors.New("the Portolan gateway does not run this policy")

// Build makes the chain of configs, with apicast standing for the "apicast"
// element. Disabled elements are left out, as APIcast leaves them out. A
// policy that is unknown or misconfigured makes the whole chain fail with
// *Unsupported: the gateway then answers 503 for the service.
func Build(configs []composition.PolicyConfig, apicast Policy, env *Env) (*Chain, error) {
	c := &Chain{}
	apicastPos := -1 // the first apicast element's position
	for i, pc := range configs {
		if !pc.Enabled {
			continue
		}
		var p Policy
		if pc.Name == "apicast" {
			p = apicast
			if apicastPos < 0 {
				apicastPos = len(c.policies)
			}
		} else {
			mk, ok := builtin(pc.Name)
			if !ok {
				return nil, &Unsupported{Policy: pc.Name, Index: i, Err: ErrNotRun}
			}
			conf := pc.Configuration
			if len(conf) == 0 {
				conf = json.RawMessage(`{}`)
			}
			var err error
			if p, err = mk(conf, env); err != nil {
				return nil, &Unsupported{Policy: pc.Name, Index: i, Err: err}
			}
		}
		c.add(p)
	}
	c.planContent(apicastPos)
	return c, nil
}

func (c *Chain) add(p Policy) {
	pos := len(c.policies)
	c.policies = append(c.policies, p)
	if x, ok := p.(Rewriter); ok {
		c.rewrite = append(c.rewrite, indexed[Rewriter]{pos, x})
	}
	if x, ok := p.(Accessor); ok {
		c.access = append(c.access, indexed[Accessor]{pos, x})
	}
	if x, ok := p.(HeaderFilter); ok {
		c.headers = append(c.headers, indexed[HeaderFilter]{pos, x})
		c.filtered = true
	}
	if x, ok := p.(BodyFilter); ok {
		c.bodies = append(c.bodies, indexed[BodyFilter]{pos, x})
		c.filtered = true
	}
	if x, ok := p.(Logger); ok {
		c.loggers = append(c.loggers, indexed[Logger]{pos, x})
	}
}

// contentRole is what an element does in the content phase, as its APIcast
// counterpart does there.
type contentRole uint8

const (
	// contentAnswers may answer the request (echo, liquid_context_debug,
	// and any other Contenter): ngx.say in APIcast.
	contentAnswers contentRole = iota
	// contentForwardsChosen forwards when the element chose the request's
	// upstream (upstream, routing: "upstream:call(context)" when they have
	// one, "return nil, 'no upstream'" otherwise).
	contentForwardsChosen
	// contentForwards always forwards, to the service's upstream (the
	// apicast element).
	contentForwards
)

// contentStep is one element of the content phase, in chain order.
type contentStep struct {
	role contentRole
	pos  int
	p    Contenter       // contentAnswers
	el   upstreamChooser // contentForwardsChosen: the upstream or routing element
}

// planContent lays out the content phase once, at Build, so that a request
// pays only for the elements whose place changes its outcome. Elements
// after the first that forwards every request (the apicast element at
// apicastPos, -1 when none) are left out, as APIcast never reaches them.
// content_caching and routing's replace_path act on the way to the
// upstream, from wherever they sit (atForward). A tail of forwarding
// elements is dropped, since the request is forwarded after the steps
// anyway, to the request's chosen upstream (Context.Upstream, APIcast's
// context.route_upstream), unless the apicast element has to set aside the
// upstream a later upstream or routing element chose, or an upstream
// policy, which forwards to its own choice, comes before another chooser.
func (c *Chain) planContent(apicastPos int) {
	var steps []contentStep
	forwarded := false   // an earlier element forwards every request
	chosenLater := false // an upstream or routing element after it chooses one
	for pos, p := range c.policies {
		if pos == apicastPos {
			steps = append(steps, contentStep{role: contentForwards, pos: pos})
			forwarded = true
			continue
		}
		if ch, ok := p.(upstreamChooser); ok {
			if forwarded {
				chosenLater = true
			} else {
				steps = append(steps, contentStep{role: contentForwardsChosen, pos: pos, el: ch})
			}
		}
		x, ok := p.(Contenter)
		if !ok {
			continue
		}
		if _, ok := p.(atUpstream); ok {
			c.atForward = append(c.atForward, indexed[Contenter]{pos, x})
		} else if !forwarded {
			steps = append(steps, contentStep{role: contentAnswers, pos: pos, p: x})
		}
	}
	choserAfter := false // a chooser's step was dropped
	for n := len(steps); n > 0; n = len(steps) {
		last := steps[n-1]
		if last.role == contentAnswers || last.role == contentForwards && chosenLater {
			break
		}
		if last.role == contentForwardsChosen {
			if _, own := last.el.(ownChooser); own && choserAfter {
				break // it forwards to its own choice, which a later one may have replaced
			}
			choserAfter = true
		}
		steps = steps[:n-1]
	}
	c.content = steps
}

// upstreamChooser is an element whose content phase, in APIcast, forwards
// to the upstream it chose for the request, when it chose one (upstream,
// routing: "upstream:call(context)", else "return nil, 'no upstream'").
type upstreamChooser interface {
	Policy
	// choseUpstream reports whether the element chose c's upstream (it
	// runs at the element's position, its request state at hand).
	choseUpstream(c *Context) bool
}

// ownChooser marks an upstreamChooser whose content forwards to the
// upstream it chose itself (upstream.lua's context[self]), not to the
// request's chosen one (routing.lua's context.route_upstream), which a
// later element may have replaced.
type ownChooser interface {
	upstreamChooser
	ownChoice()
}

// atUpstream marks a Contenter whose content phase is APIcast's upstream
// location's, run on the way to the upstream wherever it sits in the
// chain, never for an answer a content policy made (content_caching:
// nginx's proxy_cache; routing's replace_path).
type atUpstream interface {
	Contenter
	atUpstream()
}

// Len is the number of enabled elements.
func (c *Chain) Len() int { return len(c.policies) }

// Names lists the enabled elements' names, in order.
func (c *Chain) Names() []string {
	out := make([]string, len(c.policies))
	for i, p := range c.policies {
		out[i] = p.Name()
	}
	return out
}

// Filtered reports whether responses go through header or body filters.
func (c *Chain) Filtered() bool { return c.filtered }

// Forwarder is the gateway's content phase: forwarding upstream.
type Forwarder interface {
	Forward(c *Context)
}

// ForwarderFunc adapts a function to Forwarder, as http.HandlerFunc does.
type ForwarderFunc func(c *Context)

// Forward calls f(c).
func (f ForwarderFunc) Forward(c *Context) { f(c) }

// Serve runs r through the chain: rewrite, access and content until
// something answers, then fw, with the filters on the response and the log
// phase after it. ctx must come from Acquire.
//
// The content phase is APIcast's: its elements run in chain order until one
// answers (echo, liquid_context_debug) or one forwards. The apicast element
// always forwards, and upstream and routing forward when they chose an
// upstream for the request: in APIcast their content phase calls the
// upstream (upstream:call, whose ngx.exec never returns), so content
// policies placed after them never run, and an upstream chosen by a policy
// after the apicast element is not used (that element forwards to the
// service's first). What APIcast does at the upstream itself runs on the way
// to fw, wherever it sits in the chain: content_caching's cache (nginx's
// proxy_cache of the upstream location), which an answer a content policy
// makes never goes through, and routing's replace_path.
func (c *Chain) Serve(ctx *Context, fw Forwarder) {
	if c.filtered {
		fw := &ctx.filter
		fw.ResponseWriter, fw.ctx, fw.chain, fw.wrote = ctx.W, ctx, c, false
		ctx.W = fw
	}
	ctx.aborted = true
	defer c.log(ctx)
	c.run(ctx, fw)
	ctx.aborted = false
}

// log runs the log phase. Serve defers it, so that it also runs when
// serving the request panicked, as httputil.ReverseProxy does with
// http.ErrAbortHandler when the upstream dies mid-body: the connection
// limits' leave is never skipped (a slot would stay taken for good), and
// the panic goes on after it, its stack unchanged. Context.aborted tells
// the loggers the response was cut short.
func (c *Chain) log(ctx *Context) {
	for _, x := range c.loggers {
		ctx.pos = x.pos
		x.p.Log(ctx)
	}
}

func (c *Chain) run(ctx *Context, fw Forwarder) {
	for _, x := range c.rewrite {
		if ctx.skipRewrite && c.policies[x.pos].Name() != "apicast" {
			continue // the gateway's own checks are never skipped
		}
		ctx.pos = x.pos
		if x.p.Rewrite(ctx); ctx.Answered {
			return
		}
	}
	for _, x := range c.access {
		ctx.pos = x.pos
		if x.p.Access(ctx); ctx.Answered {
			return
		}
	}
	if len(c.content) > 0 && c.answer(ctx) {
		return
	}
	for _, x := range c.atForward {
		ctx.pos = x.pos
		if x.p.Content(ctx) {
			ctx.Answered = true
			return
		}
	}
	fw.Forward(ctx)
}

// answer runs the content phase's steps until one answers (true) or one
// forwards (false), and false when none did either.
func (c *Chain) answer(ctx *Context) bool {
	for i := range c.content {
		x := &c.content[i]
		ctx.pos = x.pos
		switch x.role {
		case contentAnswers:
			if x.p.Content(ctx) {
				ctx.Answered = true
				return true
			}
		case contentForwardsChosen:
			if x.el.choseUpstream(ctx) {
				return false
			}
		case contentForwards:
			ctx.Upstream = nil // the service's upstream: a later element's choice is not used
			return false
		}
	}
	return false
}

// Acquire readies ctx (zero or used) for a request through c.
func (c *Chain) Acquire(ctx *Context, w http.ResponseWriter, r *http.Request) {
	state := ctx.state[:0]
	for range c.policies {
		state = append(state, nil)
	}
	*ctx = Context{W: w, R: r, Start: time.Now(), Gateway: ctx.Gateway, state: state}
}

// filterWriter runs the chain's header filters before the status goes out
// and its body filters on each write; it records the status either way.
type filterWriter struct {
	http.ResponseWriter
	ctx   *Context
	chain *Chain
	wrote bool
}

func (w *filterWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	if code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code) // 1xx: informational, filtered with the final one
		return
	}
	w.wrote = true
	w.ctx.Status = code
	for _, x := range w.chain.headers {
		w.ctx.pos = x.pos
		x.p.HeaderFilter(w.ctx)
	}
	w.ResponseWriter.WriteHeader(w.ctx.Status)
}

func (w *filterWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	n := len(p)
	for _, x := range w.chain.bodies {
		w.ctx.pos = x.pos
		p = x.p.BodyFilter(w.ctx, p)
	}
	if len(p) == 0 {
		return n, nil
	}
	if _, err := w.ResponseWriter.Write(p); err != nil {
		return 0, err
	}
	return n, nil
}

// Unwrap lets http.ResponseController reach Flush and Hijack.
func (w *filterWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes a flush through (streamed answers).
func (w *filterWriter) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}
