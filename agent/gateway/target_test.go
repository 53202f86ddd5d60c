package gateway

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestTargetOK(t *testing.T) {
	for target, want := range map[string]bool{
		"/":                   true,
		"/articles/42":        true,
		"/a..b/.c/c./...":     true,
		"/articles?q=a%0Ab":   true,
		"*":                   true,
		"/articles/..":        false,
		"/articles/../admin":  false,
		"/articles/./x":       false,
		"/.":                  false,
		"..":                  false,
		"/a\\..\\b":           false,
		"/a%2F..%2Fb":         false,
		"/a/%2e%2E/b":         false,
		"/a%00":               false,
		"/a%0a":               false,
		"/a%7F":               false,
		"/articles?q=a%00b":   false,
		"/articles?q=%2e%2e/": true, // the query is no path
	} {
		u, err := url.ParseRequestURI(target)
		if err != nil {
			u = &url.URL{Path: target}
		}
		assert.Equal(t, want, targetOK(&http.Request{URL: u}), target)
	}
}

func TestTargetOKAllocatesNothing(t *testing.T) {
	r := &http.Request{URL: &url.URL{Path: "/articles/42/comments/7", RawQuery: "user_key=k&page=2"}}
	assert.Zero(t, testing.AllocsPerRun(100, func() { _ = targetOK(r) }))
}
