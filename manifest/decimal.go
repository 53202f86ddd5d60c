package manifest

import (
	"errors"
	"math"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/portolan/portolan/composition"
)

// Decimal is a non-negative decimal number as porta answers one it keeps as
// decimal(20,4) (a pricing rule's cost, a plan's fees): rounded to 4
// places, half up, as Rails casts it, and written as BigDecimal#to_s does,
// without trailing zeros but one, so 0.50, .5 and 5e-1 are all "0.5" and 2
// is "2.0". It is a number in YAML and JSON; a string holding a number is
// taken too, as 3scale answers one.
type Decimal string

// parseDecimal checks s is a finite number of 0 or more and returns it in
// porta's form (Decimal).
func parseDecimal(s string) (Decimal, error) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return "", errors.New(strconv.Quote(s) + " is not a number")
	}
	if f < 0 {
		return "", errors.New(s + " is less than 0")
	}
	return Decimal(composition.PortaDecimal(s, f)), nil
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
