package mgmt

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNormalizePathAccepts(t *testing.T) {
	for _, tc := range []struct{ raw, decoded, escaped string }{
		{"/", "/", "/"},
		{"/admin/api/services.xml", "/admin/api/services.xml", "/admin/api/services.xml"},
		{"/admin/api/services/42.json", "/admin/api/services/42.json", "/admin/api/services/42.json"},
		{"/admin/api/%73ervices.xml", "/admin/api/services.xml", "/admin/api/services.xml"}, // needless escape decoded
		{"/a/b%20c", "/a/b c", "/a/b%20c"},
		{"/a/b%3fc", "/a/b?c", "/a/b%3Fc"}, // upper-case hex
		{"/a/x~y_z-1.2", "/a/x~y_z-1.2", "/a/x~y_z-1.2"},
		{"/a/b\"c", "/a/b\"c", "/a/b%22c"},
		{"/a/k:v@w+x", "/a/k:v@w+x", "/a/k:v@w+x"},
	} {
		dec, esc, err := normalizePath(tc.raw)
		require.NoError(t, err, tc.raw)
		assert.Equal(t, tc.decoded, dec, tc.raw)
		assert.Equal(t, tc.escaped, esc, tc.raw)
	}
}

func TestNormalizePathRefuses(t *testing.T) {
	for _, raw := range []string{
		"", "admin/api", "*", "http://h/admin/api",
		"//admin/api", "/admin//api", "/admin/api/",
		"/admin/./api", "/admin/../api", "/admin/api/..", "/admin/api/.", "/a/b..c",
		"/admin/%2e%2e/api", "/admin/%2E/api", "/admin/.%2e/api",
		"/admin%2Fapi", "/admin%2fapi", "/admin%5capi", "/admin\\api",
		"/admin/api;x=1", "/admin/api%3bx", "/admin/..;/api",
		"/admin/api%00", "/admin/api\x00", "/admin/api%0a", "/admin/api%7f", "/admin/api\t",
		"/admin/api.", "/admin/api.xml.", "/admin/api%2e",
		"/admin/%252e%252e/api", "/admin/api%25",
		"/admin/%c0%ae%c0%ae/api", "/admin/%e0%80%ae", "/admin/%ef%bc%8f", "/admin/\xc0\xae",
		"/admin/api%", "/admin/api%2", "/admin/api%zz", "/admin/%u002e%u002e/api",
		"/admin/api#frag", "/admin/a b",
	} {
		_, _, err := normalizePath(raw)
		assert.Error(t, err, "%q", raw)
	}
	_, _, err := normalizePath("/" + strings.Repeat("a", maxPathLen))
	assert.ErrorIs(t, err, errPathTooLong)
}

// FuzzNormalizePath checks that an accepted path is canonical: normalising
// its escaped form again is the identity, and it holds none of what the
// normaliser refuses.
func FuzzNormalizePath(f *testing.F) {
	f.Fuzz(func(t *testing.T, raw string) {
		dec, esc, err := normalizePath(raw)
		if err != nil {
			return
		}
		dec2, esc2, err := normalizePath(esc)
		if err != nil || dec2 != dec || esc2 != esc {
			t.Fatalf("%q → %q, %q; again → %q, %q, %v", raw, dec, esc, dec2, esc2, err)
		}
		if !strings.HasPrefix(esc, "/") || !strings.HasPrefix(dec, "/") {
			t.Fatalf("%q → %q: not absolute", raw, esc)
		}
		lower := strings.ToLower(esc)
		for _, bad := range []string{"..", "//", "\\", ";", "%2e", "%2f", "%5c", "%25", "%00", "/./", "#"} {
			if strings.Contains(lower, bad) {
				t.Fatalf("%q → %q holds %q", raw, esc, bad)
			}
		}
		if strings.Contains(dec, "..") || strings.Contains(dec, "//") || strings.Contains(dec, "\\") {
			t.Fatalf("%q → decoded %q holds a traversal", raw, dec)
		}
		if esc != "/" && (strings.HasSuffix(esc, "/") || strings.HasSuffix(esc, ".") || strings.Contains(esc, "./")) {
			t.Fatalf("%q → %q: trailing slash or dot", raw, esc)
		}
		for i := 0; i < len(dec); i++ {
			if c := dec[i]; c < 0x20 || c >= 0x7f {
				t.Fatalf("%q → decoded %q holds byte %#x", raw, dec, c)
			}
		}
		for i := 0; i < len(esc); i++ {
			if c := esc[i]; c <= 0x20 || c >= 0x7f {
				t.Fatalf("%q → %q holds byte %#x", raw, esc, c)
			}
		}
	})
}
