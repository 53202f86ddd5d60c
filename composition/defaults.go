package composition

import (
	"crypto/rand"
	"encoding/hex"
	"strings"
)

// SystemName derives a system_name from a display name the way 3scale does
// (porta's name.parameterize.underscore): accented Latin letters lose their
// accents, everything is lower case, each run of characters other than
// letters, digits and underscores becomes one separator, separators at the
// ends go, and the separators are underscores: "My Metric-One" gives
// "my_metric_one". Underscores already in the name are kept as they are.
func SystemName(name string) string {
	var b strings.Builder
	sep := false
	for _, r := range strings.ToLower(name) {
		r = unaccent(r)
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') || r == '_' {
			if sep && b.Len() > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(r)
			sep = false
		} else {
			sep = true
		}
	}
	return b.String()
}

// latinAccents lists accented lower-case Latin letters, each followed by the
// letter it transliterates to (ActiveSupport's transliterate).
const latinAccents = "àaáaâaãaäaåaāaăaąaçcćcĉcċcčcďdđdèeéeêeëeēeĕeėeęeěeĝgğgġgģgĥhħhìiíiîiïiĩiīiĭiįiıiĵjķkĺlļlľlŀlłlñnńnņnňnòoóoôoõoöoøoōoŏoőoŕrŗrřrśsŝsşsšsţtťtŧtùuúuûuüuũuūuŭuůuűuųuŵwýyÿyŷyźzżzžz"

// unaccent returns the plain letter for an accented Latin one, else r.
func unaccent(r rune) rune {
	if r < 0x80 {
		return r
	}
	accented := true
	match := false
	for _, c := range latinAccents {
		switch {
		case match:
			return c
		case accented:
			match = c == r
		}
		accented = !accented
	}
	return r
}

func defaultStr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// randomHex returns n random bytes in hex: generated credentials and secrets.
func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("composition: crypto/rand failed: " + err.Error()) // never happens on Linux
	}
	return hex.EncodeToString(b)
}
