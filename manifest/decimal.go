package manifest

import (
	"errors"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/portolan/portolan/composition"
)

// Decimal is a non-negative decimal number as porta answers one it keeps as
// decimal(20,4) (a pricing rule's cost, a plan's fees): read as porta reads
// it and rounded to 4 places, half up, as Rails casts it, and written as
// BigDecimal#to_s does, without trailing zeros but one, so 0.50, .5 and
// 5e-1 are all "0.5" and 2 is "2.0" (composition.ParseDecimal, the one
// reading the 3scale API has too). It is a number in YAML and JSON; a
// string holding a number is taken too, as 3scale answers one.
type Decimal string

// parseDecimal reads s as porta would and returns it in porta's form.
func parseDecimal(s string) (Decimal, error) {
	d, err := composition.ParseDecimal(s)
	switch {
	case errors.Is(err, composition.ErrDecimalNegative):
		return "", errors.New(s + " is less than 0") // as the document's other bounds say it
	case err != nil:
		return "", errors.New(strconv.Quote(s) + " " + err.Error())
	}
	return Decimal(d), nil
}

// fee is a stored amount as a document writes it (nonZero).
func fee(d composition.Decimal) Decimal { return nonZero(Decimal(d.Canonical())) }

// nonZero is d, or nothing for 0, which a document leaves out.
func nonZero(d Decimal) Decimal {
	if composition.Decimal(d).IsZero() {
		return ""
	}
	return d
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
