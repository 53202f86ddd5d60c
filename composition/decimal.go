package composition

import (
	"strconv"
	"strings"
)

// porta keeps a cost as decimal(20,4) (pricing_rules.cost_per_unit,
// plans.setup_fee and cost_per_month): Rails rounds the value it is given
// to 4 places, half up, and answers BigDecimal#to_s, without trailing zeros
// but one ("0.5", "2.0"). Both the manifest's Decimal and the 3scale
// API's pricing rules write a cost with PortaDecimal, so an apply and the
// API store the same text.

// plainDecimal splits s, a decimal number without sign (a '+' aside), into
// its integer digits, its fraction's and its exponent; ok is false for
// anything else. (Written out rather than a regexp: one compiled at init
// would cost every program importing composition.)
func plainDecimal(s string) (intPart, frac, exp string, ok bool) {
	s = strings.TrimPrefix(s, "+")
	digits := func() string {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		d := s[:i]
		s = s[i:]
		return d
	}
	intPart = digits()
	if rest, found := strings.CutPrefix(s, "."); found {
		s = rest
		frac = digits()
	}
	if len(s) > 0 && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		sign := ""
		if len(s) > 0 && (s[0] == '+' || s[0] == '-') {
			sign, s = s[:1], s[1:]
		}
		if exp = digits(); exp == "" {
			return "", "", "", false
		}
		exp = sign + exp
	}
	return intPart, frac, exp, s == ""
}

// decimalScale is the places porta's decimal(20,4) columns keep.
const decimalScale = 4

// PortaDecimal writes s, a finite number of 0 or more that strconv reads
// as f, as porta answers it once stored.
func PortaDecimal(s string, f float64) string {
	if f == 0 {
		return "0.0" // -0 too
	}
	intPart, frac, exp, ok := plainDecimal(strings.TrimSpace(s))
	if !ok || intPart+frac == "" {
		// another notation ParseFloat reads (0x1p-2): its value, exactly
		intPart, frac, exp, _ = plainDecimal(strconv.FormatFloat(f, 'f', -1, 64))
	}
	return scaledDecimal(intPart, frac, exp)
}

// scaledDecimal writes the number of integer digits intPart, fraction
// digits frac and exponent exp rounded to decimalScale places, half up,
// as BigDecimal#to_s writes it. The number is finite (a huge exponent with
// a non-zero digit would not be), so the digits it writes are bounded by
// what ParseFloat accepts.
func scaledDecimal(intPart, frac, exp string) string {
	digits := []byte(strings.TrimLeft(intPart+frac, "0"))
	if len(digits) == 0 {
		return "0.0"
	}
	e, err := strconv.Atoi(exp)
	if exp != "" && err != nil {
		return "0.0" // an exponent past int is far below 1e-4: a finite number's is negative
	}
	// point is where the decimal point falls in digits.
	point := len(intPart) + e - (len(intPart+frac) - len(digits))
	keep := point + decimalScale
	if keep < 0 {
		return "0.0"
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
	return whole + "." + fraction
}
