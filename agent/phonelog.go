package agent

import (
	"errors"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/registry/client"
)

// homeSeen is how the home loop last found home.
type homeSeen int

const (
	homeUnasked   homeSeen = iota // not asked yet
	homeOK                        // answered as expected
	homeDown                      // no answer
	homeRefusing                  // 401 or 403: the token is refused
	homeAnswering                 // another error answer: 429, 5xx
)

// homeLog logs what the home loop finds out about home once per change,
// not once per retry: an agent retrying a down home every heartbeat for a
// day writes one line, not forty thousand. It is the home loop's alone.
type homeLog struct {
	log    zerolog.Logger
	view   homeSeen
	reason string // the error last logged, to log a new one
}

// failed logs a call that got no answer, or an answer that was an error
// other than a refusal.
func (h *homeLog) failed(err error) {
	view := homeDown
	if client.StatusCode(err) != 0 {
		view = homeAnswering
	}
	if !h.change(view, err) {
		return
	}
	switch {
	case view == homeAnswering:
		h.log.Warn().Err(err).Msg("home answered with an error; retrying (the command keeps running)")
	case errors.Is(err, pki.ErrPinMismatch):
		// Not an outage: whoever answers is not the home the join token
		// (or --ca-pin/--ca-file) names. Nothing is sent to it.
		h.log.Error().Err(err).Msg("home's certificate is not from the pinned CA: refusing it (a man in the middle, or --home names another coordinator); retrying")
	default:
		h.log.Warn().Err(err).Msg("home unreachable; retrying (the command keeps running)")
	}
}

// refused logs home's refusal of the token: it answered, so this is not
// an outage, and retrying with the same token cannot help. The token is
// never logged; home's answer does not hold it.
func (h *homeLog) refused(err error) {
	if !h.change(homeRefusing, err) {
		return
	}
	code, _ := client.Refused(err)
	h.log.Error().Err(err).Int("status", code).
		Msg(fmt.Sprintf("home refused the token (HTTP %d): check --token (a join token revoked, expired, or whose scope does not allow this service or these labels; or the agent token); the command keeps running unregistered, asking again at most every %s", code, refusedRetryMax))
}

// reachable logs home answering again after a failure or a refusal.
func (h *homeLog) reachable() {
	switch h.view {
	case homeRefusing:
		h.log.Info().Msg("home accepted the token")
	case homeDown, homeAnswering:
		h.log.Info().Msg("home reachable again")
	}
	h.view, h.reason = homeOK, ""
}

// change records view and err and reports whether they are news.
func (h *homeLog) change(view homeSeen, err error) bool {
	reason := err.Error()
	if view == h.view && (view == homeDown || reason == h.reason) {
		return false // home down is one state, whatever the transport says
	}
	h.view, h.reason = view, reason
	return true
}
