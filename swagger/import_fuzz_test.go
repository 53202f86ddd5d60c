package swagger

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzImportNames: whatever an operation or a title holds, the system_names
// derived from it are valid (or empty, and then only for want of any letter
// or digit), and clipped text stays valid UTF-8 within its bound.
func FuzzImportNames(f *testing.F) {
	f.Add("GET", "/news/{id}", "", "News API", 10)
	f.Add("post", "/a//b-c/{x}.json", "news:list all", "¿?", 0)
	f.Add("", "/ü/", "a.b-c/d[0]", "", 3)
	f.Fuzz(func(t *testing.T, method, path, id, title string, n int) {
		op := Operation{Method: method, Path: path, ID: id}
		name := methodSystemName(op)
		if name != "" && !validSystemName(name) {
			t.Fatalf("methodSystemName(%q %q %q) = %q: not a valid system_name", method, path, id, name)
		}
		if name == "" && strings.ContainsFunc(method+path+id, isASCIIAlnum) {
			t.Fatalf("methodSystemName(%q %q %q) is empty", method, path, id)
		}
		svc := titleSystemName(title)
		if svc != "" && (!validSystemName(svc) || strings.ToLower(svc) != svc || strings.Contains(svc, "__")) {
			t.Fatalf("titleSystemName(%q) = %q", title, svc)
		}
		c := clipString(title, n)
		if len(c) > max(n, 0) || !strings.HasPrefix(title, c) || (utf8.ValidString(title) && !utf8.ValidString(c)) {
			t.Fatalf("clipString(%q, %d) = %q", title, n, c)
		}
	})
}

func isASCIIAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}
