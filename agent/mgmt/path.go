package mgmt

import (
	"errors"
	"strings"
)

// maxPathLen bounds the raw request path the management proxy accepts.
const maxPathLen = 2048

// errPathTooLong is returned by normalizePath for a path over maxPathLen
// (the proxy answers 414).
var errPathTooLong = errors.New("path longer than 2048 bytes")

// pathError says why a path was refused; the proxy answers 400 with it.
type pathError string

func (e pathError) Error() string { return string(e) }

// normalizePath checks raw, the path of a request target exactly as it came
// on the wire (still percent-encoded, without the query), and returns it in
// canonical form twice: decoded, to match against the spec's routes, and
// escaped, to forward upstream. Both name the same path, so what the proxy
// matched is what the upstream sees.
//
// Anything a server or framework on the way could read differently from the
// proxy is refused rather than repaired:
//
//   - a path not starting with "/" (absolute-form targets, "*");
//   - empty segments ("//") and a trailing slash;
//   - "." and ".." anywhere, raw or encoded (%2e), and a segment ending in a
//     dot ("services.xml.");
//   - separators: a backslash, raw or encoded, and an encoded slash (%2F);
//   - ";" (path parameters, "..;/" tricks), raw or encoded;
//   - "%25" (double encoding such as %252e) and malformed escapes (%zz, %u002e);
//   - NUL, control bytes, spaces and DEL, raw or encoded;
//   - any byte over 0x7F, raw or encoded: 3scale paths are ASCII, and this
//     refuses overlong UTF-8 (%c0%ae) and Unicode look-alikes (%ef%bc%8f) with
//     the rest;
//   - a raw "#" (a fragment has no place in a request).
//
// Other escapes are decoded, and the escaped form re-encodes, in upper-case
// hex, exactly the bytes outside A-Z a-z 0-9 and -._~!$&'()*+,=:@. Matching is
// case-sensitive, so case tricks on the path find no route.
func normalizePath(raw string) (decoded, escaped string, err error) {
	if len(raw) > maxPathLen {
		return "", "", errPathTooLong
	}
	if raw == "" || raw[0] != '/' {
		return "", "", pathError("the path must start with /")
	}
	if raw == "/" {
		return "/", "/", nil
	}
	var dec, esc strings.Builder
	dec.Grow(len(raw))
	esc.Grow(len(raw))
	rest := raw[1:]
	for {
		seg, more, found := strings.Cut(rest, "/")
		if seg == "" {
			if found {
				return "", "", pathError("empty path segment (//)")
			}
			return "", "", pathError("trailing slash")
		}
		start := dec.Len()
		dec.WriteByte('/')
		esc.WriteByte('/')
		if err := normalizeSegment(seg, &dec, &esc); err != nil {
			return "", "", err
		}
		d := dec.String()[start+1:]
		if strings.Contains(d, "..") || d == "." {
			return "", "", pathError("dot segment (. or ..)")
		}
		if d[len(d)-1] == '.' {
			return "", "", pathError("path segment ending in a dot")
		}
		if !found {
			break
		}
		rest = more
	}
	return dec.String(), esc.String(), nil
}

// normalizeSegment decodes one non-empty segment into dec and its canonical
// encoding into esc.
func normalizeSegment(seg string, dec, esc *strings.Builder) error {
	for i := 0; i < len(seg); i++ {
		c := seg[i]
		encoded := c == '%'
		if encoded {
			if i+2 >= len(seg) {
				return pathError("malformed percent-encoding")
			}
			hi, ok1 := unhex(seg[i+1])
			lo, ok2 := unhex(seg[i+2])
			if !ok1 || !ok2 {
				return pathError("malformed percent-encoding")
			}
			c = hi<<4 | lo
			i += 2
		}
		if err := checkPathByte(c, encoded); err != nil {
			return err
		}
		dec.WriteByte(c)
		if keepRaw(c) {
			esc.WriteByte(c)
		} else {
			const hexDigits = "0123456789ABCDEF"
			esc.WriteByte('%')
			esc.WriteByte(hexDigits[c>>4])
			esc.WriteByte(hexDigits[c&15])
		}
	}
	return nil
}

// checkPathByte refuses the bytes no canonical path holds.
func checkPathByte(c byte, encoded bool) error {
	switch {
	case c < 0x20 || c == 0x7f:
		return pathError("NUL or control byte")
	case c >= 0x80:
		return pathError("non-ASCII byte (overlong or multi-byte UTF-8)")
	case c == '\\':
		return pathError("backslash")
	case c == ';':
		return pathError("path parameter (;)")
	case !encoded && c == ' ':
		return pathError("space")
	case !encoded && c == '#':
		return pathError("fragment (#)")
	case encoded && c == '/':
		return pathError("encoded path separator (%2F)")
	case encoded && c == '.':
		return pathError("encoded dot (%2E)")
	case encoded && c == '%':
		return pathError("double encoding (%25)")
	}
	return nil
}

// keepRaw reports whether c stays unescaped in the canonical path.
func keepRaw(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,=:@", c) >= 0
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
