package policy

import "strings"

// PathOK reports whether a decoded path has no dot segment ("..;x", with a
// path parameter, included) and no control byte ('\\' separates segments
// too, as some apps take it): what the gateway requires of the path a
// client sends and of the path a policy rewrites it to. Matched by prefix,
// "/articles/../admin" would reach a resource the mapping rules never
// allowed once the app, or anything on the way, resolves it. It allocates
// nothing: it runs on every request.
func PathOK(p string) bool {
	start := 0
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '/' || c == '\\':
			if dotSegment(p[start:i]) {
				return false
			}
			start = i + 1
		case c < ' ' || c == 0x7f:
			return false
		}
	}
	return !dotSegment(p[start:])
}

// dotSegment reports whether s is a dot segment, with path parameters
// too: Tomcat, Jetty and Spring take "..;x" for "..", so that
// "/public/..;/admin" would reach /admin past a rule on /public.
func dotSegment(s string) bool {
	if i := strings.IndexByte(s, ';'); i >= 0 {
		s = s[:i]
	}
	return s == "." || s == ".."
}

// PathRefused is the body of the 400 answering a path PathOK refuses.
var PathRefused = []byte("Bad Request: dot segments and control bytes are not allowed in the path\n")
