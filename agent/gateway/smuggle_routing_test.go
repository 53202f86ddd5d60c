package gateway

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// A policy builds the target the app is sent from what the client sent: the
// routing policy's replace_path is a Liquid template whose query part (after
// its first "?") becomes the request's query. Whatever the values hold
// (spaces a header may carry, or line ends an unescape_uri filter decodes),
// the request line the app receives is one request line: bytes that would
// split it are sent percent-encoded, and no second request rides in the
// first.
func TestGatewayWireRoutedQueryNeverSplitsTheRequestLine(t *testing.T) {
	app := newWtRawApp(t, wtPathAnswer)
	cg := startRouteGatewayTo(t, routingChain(`[
		{"url":"`+app.url+`/base","replace_path":"/users/{{ headers['X-User'] }}","condition":{"operations":[{"match":"path","op":"==","value":"/me"}]}},
		{"url":"`+app.url+`/base","replace_path":"/users/{{ headers['X-User'] | unescape_uri }}","condition":{"operations":[{"match":"path","op":"==","value":"/decoded"}]}}]`),
		nil, app.url)
	addr := strings.TrimPrefix(cg.base, "http://")

	smuggled := "GET /smuggled HTTP/1.1\r\nHost: app\r\n\r\n"
	for _, c := range []struct{ path, user, line string }{
		{"/me", "ann?q=1 HTTP/1.1\tx", "GET /base/users/ann?q=1%20HTTP/1.1%09x HTTP/1.1"},
		{"/decoded", url.PathEscape("ann?q=1 HTTP/1.1\r\nHost: app\r\n\r\n" + smuggled + "X: "),
			"GET /base/users/ann?q=1%20HTTP/1.1%0D%0AHost:%20app%0D%0A%0D%0AGET%20/smuggled%20HTTP/1.1%0D%0AHost:%20app%0D%0A%0D%0AX:%20 HTTP/1.1"},
	} {
		before := len(app.requests())
		wc := wtDial(t, addr)
		wc.send("GET " + c.path + "?user_key=" + cg.key + " HTTP/1.1\r\nHost: gw\r\nX-User: " + c.user + "\r\n\r\n")
		a := wc.read("GET")
		assert.Equal(t, http.StatusOK, a.status, c.path)
		reqs := app.requests()[before:]
		if !assert.Len(t, reqs, 1, "%s: the app received one request", c.path) {
			continue
		}
		line, _, _ := strings.Cut(reqs[0], "\r\n")
		assert.Equal(t, c.line, line, c.path)
		assert.NotContains(t, reqs[0], "\r\nGET /smuggled", c.path)
	}
}
