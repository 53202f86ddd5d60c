package manifest

import (
	"errors"
	"math"
	"regexp"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// Decimal is a non-negative decimal number kept as written ("0.05"), as
// 3scale keeps a pricing rule's cost. It is a number in YAML and JSON; a
// string holding a number is taken too, as 3scale answers one.
type Decimal string

// jsonNumber is a number as JSON writes it.
var jsonNumber = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

// parseDecimal checks s is a finite number of 0 or more and returns it in
// JSON's notation.
func parseDecimal(s string) (Decimal, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return "", errors.New(strconv.Quote(s) + " is not a number")
	}
	if f < 0 {
		return "", errors.New(s + " is less than 0")
	}
	if !jsonNumber.MatchString(s) {
		s = strconv.FormatFloat(f, 'f', -1, 64) // .5 is 0.5
	}
	return Decimal(s), nil
}

func (d *Decimal) decodeNode(n *yaml.Node) error {
	if isNull(n) {
		*d = ""
		return nil
	}
	v, err := parseDecimal(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// MarshalJSON writes the number; empty is 0.
func (d Decimal) MarshalJSON() ([]byte, error) {
	if d == "" {
		return []byte("0"), nil
	}
	v, err := parseDecimal(string(d))
	if err != nil {
		return nil, err
	}
	return []byte(v), nil
}

// UnmarshalJSON reads a number, or a string holding one.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		*d = ""
		return nil
	}
	if u, err := strconv.Unquote(s); err == nil {
		s = u
	}
	v, err := parseDecimal(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
