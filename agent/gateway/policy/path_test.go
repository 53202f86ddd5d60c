package policy

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A dot segment with a path parameter ("..;x") is one for Tomcat, Jetty
// and Spring: "/public/..;/admin" would reach /admin past a mapping rule
// on /public. Other segments with parameters are paths as any.
func TestPathOKRefusesDotSegmentsWithParams(t *testing.T) {
	for _, p := range []string{"/public/..;/admin", "/public/..;jsessionid=1/admin", "/a/.;/b", "/a/..;", `/a\..;x\b`} {
		assert.False(t, PathOK(p), p)
	}
	for _, p := range []string{"/a;b/c", "/..a;/b", "/a/...;/b", "/;/x", "/a/b;..", "/"} {
		assert.True(t, PathOK(p), p)
	}
}
