package jointoken

import (
	"errors"
	"regexp"
	"strings"
	"testing"
)

// parseReasons are all that ParseError.Reason may say, digits aside: the
// proof that Parse's errors carry no text of their input.
var parseReasons = map[string]bool{
	"N characters, at most N":                          true,
	"N characters, want N":                             true,
	"unsupported version, want ptj1":                   true,
	"does not start with ptj1.":                        true,
	"N parts, want ptj1.<id>.<secret>[.<pin>]":         true,
	"not lowercase hex":                                true,
	"not base64url":                                    true,
	"all zero (a token without a pin has no pin part)": true,
	"this is a redacted token (from a log or a list), not the token itself": true,
}

var parseParts = map[string]bool{"token": true, "prefix": true, "id": true, "secret": true, "pin": true}

var digits = regexp.MustCompile(`\b[0-9]+\b`)

// FuzzParse: Parse never panics; what it accepts is exactly what String
// prints back, redacts without its secret and matches its own hash; what it
// refuses it refuses with a ParseError naming a part, in words of its own.
// Seeds are in testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add("ptj1.afe0b425.PkTCWmFz3gfV04nbwf9uZOBE8SkzB4KPZfV-7y-u1DE.50d858e0985ecc7f60418aaf0cc5ab587f42c2570a884095a9e8ccacd0f6545c")
	f.Add("ptj1.afe0b425.PkTCWmFz3gfV04nbwf9uZOBE8SkzB4KPZfV-7y-u1DE")
	f.Add("ptj1.afe0b425.REDACTED")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := Parse(s)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("not a ParseError: %v", err)
			}
			if !parseParts[pe.Part] {
				t.Fatalf("unknown part %q", pe.Part)
			}
			if r := digits.ReplaceAllString(pe.Reason, "N"); !parseReasons[r] {
				t.Fatalf("reason %q is not one of Parse's own", pe.Reason)
			}
			if tok != (Token{}) {
				t.Fatal("a refused token is zero")
			}
			return
		}
		if got := tok.String(); got != s {
			t.Fatalf("Parse(%q).String() = %q", s, got)
		}
		secret := strings.Split(s, ".")[2]
		if strings.Contains(tok.Redacted(), secret) {
			t.Fatalf("Redacted %q holds the secret", tok.Redacted())
		}
		if !IsJoinToken(s) {
			t.Fatal("a parsed token is a join token")
		}
		if !tok.Matches(tok.Hash()) {
			t.Fatal("a token does not match its own hash")
		}
		if err := CheckID(tok.ID); err != nil {
			t.Fatalf("id %q: %v", tok.ID, err)
		}
	})
}
