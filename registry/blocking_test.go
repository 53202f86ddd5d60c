package registry

import (
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestIsBlockingReadNamesIndexedReadsOfMapAndComposition(t *testing.T) {
	for _, tc := range []struct {
		method, target string
		want           bool
	}{
		{"GET", PathMap + "?" + ParamIndex + "=7&" + ParamWait + "=30s", true},
		{"GET", PathMap + "?" + ParamIndex + "=7", true},
		{"GET", PathComposition + "?" + ParamInstance + "=a&" + ParamIndex + "=3", true},
		{"GET", PathMap, false},
		{"GET", PathMap + "?" + ParamWait + "=30s", false},
		{"GET", PathMap + "?" + ParamIndex + "=", false},
		{"HEAD", PathMap + "?" + ParamIndex + "=7", false},
		{"PUT", HeartbeatPath("a") + "?" + ParamIndex + "=7", false},
	} {
		req := httptest.NewRequest(tc.method, tc.target, nil)
		assert.Equal(t, tc.want, IsBlockingRead(req), "%s %s", tc.method, tc.target)
	}
}
