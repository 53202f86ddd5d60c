package composition

import (
	"encoding/json"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ParseDecimal takes what porta takes for a decimal(20,4) column and
// answers what porta stores. The cases are Ruby's own answers (Ruby 3.1):
// Rails' numericality (an integer, or Kernel.Float of a string that is no
// hexadecimal literal), then String#to_d rounded to 4 places, to_s('F').
func TestParseDecimalTakesWhatPortaTakes(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1", "1.0"}, {"1.5", "1.5"}, {".5", "0.5"}, {"+.5", "0.5"}, {"+1", "1.0"}, {"0.50", "0.5"}, {"5e-1", "0.5"},
		{"1_000", "1000.0"}, {"1_000.5", "1000.5"}, {"1.0_5", "1.05"}, {"1e1_0", "10000000000.0"}, {"1_0.5_5e1_0", "105500000000.0"},
		{"1e5", "100000.0"}, {"1E5", "100000.0"}, {"1e+5", "100000.0"}, {"1e-5", "0.0"}, {"0.1e1", "1.0"},
		{"07", "7.0"}, {"008", "8.0"}, {" 1.5", "1.5"}, {"1.5 ", "1.5"}, {"\t2\n", "2.0"}, {"\n1.5", "1.5"},
		{"0.30000000000000004", "0.3"}, {"1.00005", "1.0001"}, {"0.00005", "0.0001"}, {"0.000049999", "0.0"},
		{"0.12345", "0.1235"}, {"9.99995", "10.0"}, {"-0", "0.0"}, {"0", "0.0"}, {"1e-400", "0.0"},
		{"0e999999999999999999", "0.0"}, {"1e-99999999999999999999", "0.0"}, {"12345678901234.12345", "12345678901234.1235"},
		{"9999999999999999.9999", "9999999999999999.9999"}, {"1e15", "1000000000000000.0"},
	} {
		got, err := ParseDecimal(tc.in)
		if assert.NoError(t, err, "%q", tc.in) {
			assert.Equal(t, Decimal(tc.want), got, "%q", tc.in)
		}
	}
	for _, tc := range []struct {
		in   string
		want error
	}{
		{"1.", ErrDecimalNotANumber}, {"5.", ErrDecimalNotANumber}, {"1__000", ErrDecimalNotANumber}, {"_1", ErrDecimalNotANumber},
		{"1_", ErrDecimalNotANumber}, {"1e", ErrDecimalNotANumber}, {"1e_5", ErrDecimalNotANumber}, {"1.5e", ErrDecimalNotANumber},
		{"0x1p-2", ErrDecimalNotANumber}, {"+0x1p-2", ErrDecimalNotANumber}, {"0X10", ErrDecimalNotANumber}, {"0x_1p0", ErrDecimalNotANumber},
		{"0b11", ErrDecimalNotANumber}, {"0o7", ErrDecimalNotANumber}, {"Infinity", ErrDecimalNotANumber}, {"NaN", ErrDecimalNotANumber},
		{"inf", ErrDecimalNotANumber}, {"1,5", ErrDecimalNotANumber}, {"1d5", ErrDecimalNotANumber}, {"1 5", ErrDecimalNotANumber},
		{"", ErrDecimalNotANumber}, {" ", ErrDecimalNotANumber}, {".", ErrDecimalNotANumber}, {"+", ErrDecimalNotANumber},
		{"1._5", ErrDecimalNotANumber}, {"1_.5", ErrDecimalNotANumber}, {"\u0661", ErrDecimalNotANumber}, {"1\x00", ErrDecimalNotANumber},
		{"-1", ErrDecimalNegative}, {"-0.00001", ErrDecimalNegative},
		{"1e16", ErrDecimalOutOfRange}, {"9999999999999999.99995", ErrDecimalOutOfRange}, {"1e400", ErrDecimalOutOfRange},
		{"1e99999999999999999999", ErrDecimalOutOfRange}, {"0.0001e9223372036854775807", ErrDecimalOutOfRange},
	} {
		_, err := ParseDecimal(tc.in)
		assert.ErrorIs(t, err, tc.want, "%q", tc.in)
	}
}

// Whatever ParseDecimal takes, its answer is the amount Go reads from the
// same text rounded to 4 places (within a float's precision), and reading
// the answer again gives it back.
func TestParseDecimalAgreesWithFloatReading(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	const alphabet = "0123456789._eE+- x"
	for range 200_000 {
		b := make([]byte, 1+r.IntN(10))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		s := string(b)
		d, err := ParseDecimal(s)
		if err != nil {
			continue
		}
		again, err := ParseDecimal(string(d))
		require.NoError(t, err, "%q gave %q", s, d)
		require.Equal(t, d, again, "%q", s)
		f, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSpace(s), "_", ""), 64)
		require.NoError(t, err, "%q was taken; Go reads the same digits", s)
		require.InDelta(t, f, d.Float64(), 0.00005+f*1e-15, "%q gave %q", s, d)
	}
}

// A composition stored by a version that kept the fees as float64 loads:
// its numbers are read and kept as porta would have stored them, and the
// amounts are written back as JSON numbers that version reads too.
func TestDecimalLoadsFeesStoredAsFloats(t *testing.T) {
	stored := `{"format":"portolan.composition/v1","revision":3,
	"services":[{"id":1,"name":"News","system_name":"news"}],
	"application_plans":[{"id":2,"service_id":1,"name":"Gold","system_name":"gold","state":"hidden",
		"setup_fee":0.30000000000000004,"cost_per_month":10,"trial_period_days":0,"cancellation_period":0}],
	"account_plans":[{"id":3,"name":"Partners","system_name":"partners","state":"hidden","setup_fee":1e+21,"cost_per_month":0.12345}]}`
	var d Document
	require.NoError(t, json.Unmarshal([]byte(stored), &d))
	c, err := d.Composition()
	require.NoError(t, err)
	plan, ok := c.ApplicationPlans.Get(2)
	require.True(t, ok)
	assert.Equal(t, Decimal("0.3"), plan.SetupFee)
	assert.Equal(t, Decimal("10.0"), plan.CostPerMonth)
	ap, ok := c.AccountPlans.Get(3)
	require.True(t, ok)
	assert.Equal(t, Decimal("1e+21"), ap.SetupFee, "kept as stored: only a write validates it")
	assert.Equal(t, Decimal("0.1235"), ap.CostPerMonth)

	b, err := json.Marshal(plan)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"setup_fee":0.3,"cost_per_month":10.0,`)
	var old struct {
		SetupFee     float64 `json:"setup_fee"`
		CostPerMonth float64 `json:"cost_per_month"`
	}
	require.NoError(t, json.Unmarshal(b, &old), "the previous version reads it")
	assert.Equal(t, 0.3, old.SetupFee)
	b, err = json.Marshal(ap)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &old), "the previous version reads what it wrote")
	assert.Equal(t, 1e21, old.SetupFee)

	for _, in := range []string{`null`, `"2"`, `2`, `"0x1p-2"`, `"-1"`} {
		var got Decimal
		require.NoError(t, json.Unmarshal([]byte(in), &got), in)
		out, err := json.Marshal(got)
		require.NoError(t, err, in)
		var back Decimal
		require.NoError(t, json.Unmarshal(out, &back), "%s wrote %s", in, out)
		assert.Equal(t, got.Canonical(), back.Canonical(), in)
	}
}

// A plan's fees are stored as porta stores them, whoever writes them, and
// one porta would not store is refused with porta's message.
func TestPlanFeesAreValidatedAsPortaDecimal(t *testing.T) {
	tx := NewTx(New(), testNow)
	svc := &Service{Name: "News", SystemName: "news"}
	require.NoError(t, tx.Create(svc))
	p := &ApplicationPlan{ServiceID: svc.ID, Name: "Gold", SetupFee: "0.12345", CostPerMonth: " 1_000 "}
	require.NoError(t, tx.Create(p))
	assert.Equal(t, Decimal("0.1235"), p.SetupFee)
	assert.Equal(t, Decimal("1000.0"), p.CostPerMonth)
	free := &ApplicationPlan{ServiceID: svc.ID, Name: "Free"}
	require.NoError(t, tx.Create(free))
	assert.Equal(t, Decimal("0.0"), free.SetupFee)

	for _, tc := range []struct{ fee, msg string }{
		{"0x1p-2", "is not a number"}, {"1.", "is not a number"}, {"-1", "must be greater than or equal to 0"},
		{"1e16", "must be less than 10000000000000000"},
	} {
		err := tx.Create(&ApplicationPlan{ServiceID: svc.ID, Name: "Bad " + tc.fee, CostPerMonth: Decimal(tc.fee)})
		requireField(t, err, "cost_per_month")
		assert.Contains(t, err.Error(), tc.msg, tc.fee)
		err = tx.Create(&AccountPlan{Name: "Bad " + tc.fee, SetupFee: Decimal(tc.fee)})
		requireField(t, err, "setup_fee")
		err = tx.Create(&ServicePlan{ServiceID: svc.ID, Name: "Bad " + tc.fee, SetupFee: Decimal(tc.fee)})
		requireField(t, err, "setup_fee")
	}
}
