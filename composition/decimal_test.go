package composition

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// PortaDecimal is porta's decimal(20,4) as Rails answers it: rounded to 4
// places half up, BigDecimal#to_s's digits.
func TestPortaDecimal(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{".5", "0.5"}, {"0.50", "0.5"}, {"5e-1", "0.5"}, {" 2 ", "2.0"}, {"0", "0.0"}, {"-0", "0.0"},
		{"1E3", "1000.0"}, {"0.12345", "0.1235"}, {"0.00005", "0.0001"}, {"0.00004999", "0.0"},
		{"9.99995", "10.0"}, {"0x1p-2", "0.25"}, {"1e-400", "0.0"}, {"+7.25", "7.25"},
	} {
		f, err := strconv.ParseFloat(strings.TrimSpace(tc.in), 64) // as the 3scale API's pricing rules read it
		require.NoError(t, err, tc.in)
		assert.Equal(t, tc.want, PortaDecimal(tc.in, f), tc.in)
	}
}
