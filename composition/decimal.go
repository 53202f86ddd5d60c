package composition

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
)

// Decimal is an amount porta keeps as decimal(20,4): a plan's setup_fee and
// cost_per_month, a subscription's setup_fee (a pricing rule's
// cost_per_unit is the same text, kept as a string). It holds the amount
// as BigDecimal#to_s writes it once stored ("0.5", "2.0", "0.1235"); ""
// is 0. In JSON it is a number, exactly these digits, so a composition
// stored by a version that kept float64 loads, and one stored now loads in
// that version too.
type Decimal string

// Porta's messages for a decimal it refuses (Rails' numericality, and the
// column's 16 integer digits, which porta's database refuses).
var (
	ErrDecimalNotANumber = errors.New("is not a number")
	ErrDecimalNegative   = errors.New("must be greater than or equal to 0")
	ErrDecimalOutOfRange = errors.New("must be less than 10000000000000000")
)

// decimalScale and decimalIntDigits are decimal(20,4)'s: 4 places, 16
// integer digits.
const (
	decimalScale     = 4
	decimalIntDigits = 16
)

// ParseDecimal reads s as porta takes a number for a decimal(20,4) column,
// and returns it as porta stores and answers it. Rails' numericality takes
// an integer or what Ruby's Kernel.Float reads, bar a hexadecimal literal:
// spaces around, a sign, digits with single underscores between them
// ("1_000"), a fraction whose point has digits after it (".5", not "1."),
// an exponent ("5e-1"); not "0x1p-2", "inf" or "1,5". The column then
// keeps the value rounded to 4 places, half up (0.12345 is 0.1235,
// 0.30000000000000004 is 0.3). A negative value, or one of 10^16 or more,
// is refused with porta's message.
func ParseDecimal(s string) (Decimal, error) {
	neg, intPart, frac, exp, ok := rubyFloat(s)
	if !ok {
		return "", ErrDecimalNotANumber
	}
	if neg && strings.Trim(intPart+frac, "0") != "" {
		return "", ErrDecimalNegative // Rails compares what was given, before rounding
	}
	d, err := scaledDecimal(intPart, frac, exp)
	if err != nil {
		return "", err
	}
	return Decimal(d), nil
}

// Canonical returns d as porta stores it, or d itself when it is no
// amount ParseDecimal takes (Validate reports it).
func (d Decimal) Canonical() Decimal {
	if d == "" {
		return "0.0"
	}
	if c, err := ParseDecimal(string(d)); err == nil {
		return c
	}
	return d
}

// Float64 is the amount as a float: what porta's JSON answers for a plan's
// fees (PlanRepresenter's to_f). 0 for an empty or unreadable d.
func (d Decimal) Float64() float64 {
	c, err := ParseDecimal(string(d))
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(string(c), 64) // ParseDecimal's digits always parse
	return f
}

// IsZero reports whether d is 0 (or empty).
func (d Decimal) IsZero() bool { return d.Float64() == 0 }

// MarshalJSON writes the amount as a JSON number of its digits. One kept
// as loaded (UnmarshalJSON) is written back as it was: a number as a
// number (a float64's 1e+21), anything else as a string.
func (d Decimal) MarshalJSON() ([]byte, error) {
	c := d.Canonical()
	if _, err := ParseDecimal(string(c)); err == nil {
		return []byte(c), nil
	}
	if c != "" && (c[0] == '-' || c[0] >= '0' && c[0] <= '9') && json.Valid([]byte(c)) {
		return []byte(c), nil
	}
	return json.Marshal(string(d))
}

// UnmarshalJSON reads a number or a string holding one. It takes what a
// float64 was written as (0.30000000000000004, 1e+21) and keeps what it
// cannot read as it is, so loading a stored composition never fails on
// one; only a write validates the amount.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		*d = ""
		return nil
	}
	if u, err := strconv.Unquote(s); err == nil {
		s = u
	}
	if c, err := ParseDecimal(s); err == nil {
		*d = c
		return nil
	}
	*d = Decimal(s)
	return nil
}

// validDecimal adds porta's message for an amount it would not store.
func validDecimal(v *ValidationError, field string, d Decimal) {
	if d == "" {
		return
	}
	if _, err := ParseDecimal(string(d)); err != nil {
		v.Add(field, err.Error())
	}
}

// rubyFloat splits s as Ruby's Kernel.Float reads a decimal number into
// its sign and its integer, fraction and exponent digits (underscores
// dropped); ok is false for what Ruby refuses, and for a hexadecimal
// literal, which Rails' numericality refuses before asking Ruby. (Written
// out rather than a regexp: one compiled at init would cost every program
// importing composition.)
func rubyFloat(s string) (neg bool, intPart, frac, exp string, ok bool) {
	s = strings.Trim(s, " \t\n\v\f\r")
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg, s = s[0] == '-', s[1:]
	}
	// digits reads digits with single underscores between them.
	digits := func() (string, bool) {
		var b strings.Builder
		i := 0
		for i < len(s) {
			c := s[i]
			switch {
			case c >= '0' && c <= '9':
				b.WriteByte(c)
			case c == '_' && i > 0 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' && s[i-1] != '_':
			default:
				s = s[i:]
				return b.String(), true
			}
			i++
		}
		s = ""
		return b.String(), true
	}
	if len(s) > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		return false, "", "", "", false
	}
	if len(s) > 0 && s[0] == '_' {
		return false, "", "", "", false
	}
	intPart, _ = digits()
	if rest, found := strings.CutPrefix(s, "."); found {
		if rest == "" || rest[0] < '0' || rest[0] > '9' {
			return false, "", "", "", false // Ruby wants a digit after the point
		}
		s = rest
		frac, _ = digits()
	}
	if intPart+frac == "" {
		return false, "", "", "", false
	}
	if s != "" && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		sign := ""
		if s != "" && (s[0] == '+' || s[0] == '-') {
			sign, s = s[:1], s[1:]
		}
		if s == "" || s[0] < '0' || s[0] > '9' {
			return false, "", "", "", false
		}
		e, _ := digits()
		exp = sign + e
	}
	return neg, intPart, frac, exp, s == ""
}

// scaledDecimal writes the number of integer digits intPart, fraction
// digits frac and exponent exp rounded to decimalScale places, half up, as
// BigDecimal#to_s writes it, or ErrDecimalOutOfRange past decimal(20,4)'s
// integer digits.
func scaledDecimal(intPart, frac, exp string) (string, error) {
	digits := []byte(strings.TrimLeft(intPart+frac, "0"))
	if len(digits) == 0 {
		return "0.0", nil
	}
	e, err := strconv.Atoi(exp)
	switch {
	case exp != "" && err != nil && strings.HasPrefix(exp, "-"):
		return "0.0", nil // an exponent past int: far below 1e-4
	case exp != "" && err != nil:
		return "", ErrDecimalOutOfRange
	}
	// point is where the decimal point falls in digits.
	point := len(intPart) - (len(intPart+frac) - len(digits))
	// An exponent past these bounds puts the point far out either way:
	// settled before adding it, which could overflow.
	switch n := len(intPart) + len(frac); {
	case e > n+decimalIntDigits:
		return "", ErrDecimalOutOfRange
	case e < -(n + decimalScale + 1):
		return "0.0", nil
	}
	point += e
	keep := point + decimalScale
	if keep < 0 {
		return "0.0", nil
	}
	if keep < len(digits) {
		up := digits[keep] >= '5'
		digits = digits[:keep]
		if up {
			i := len(digits) - 1
			for ; i >= 0 && digits[i] == '9'; i-- {
				digits[i] = '0'
			}
			if i >= 0 {
				digits[i]++
			} else {
				digits = append([]byte{'1'}, digits...)
				point++
			}
		}
	}
	if point > decimalIntDigits {
		return "", ErrDecimalOutOfRange
	}
	var whole, fraction string
	switch {
	case point <= 0:
		whole, fraction = "0", strings.Repeat("0", -point)+string(digits)
	case point >= len(digits):
		whole = string(digits) + strings.Repeat("0", point-len(digits))
	default:
		whole, fraction = string(digits[:point]), string(digits[point:])
	}
	if fraction = strings.TrimRight(fraction, "0"); fraction == "" {
		fraction = "0"
	}
	return whole + "." + fraction, nil
}
