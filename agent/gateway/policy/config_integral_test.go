package policy

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// An integer field written with a zero fractional part (503.0, 1e3) is an
// integer to JSON Schema (draft-07 6.1.1: "a number with a zero fractional
// part"), so the coordinator's check stores it, and APIcast's Lua reads it;
// the gateway must read it too, not fail the service closed. A fraction
// is still refused, and a number past 2^53 is not rounded into range.
func TestDecodeReadsIntegralNumbersIntoIntegerFields(t *testing.T) {
	var c struct {
		Status int64   `json:"error_status_code"`
		Limit  int64   `json:"limit"`
		Ratio  float64 `json:"ratio"`
		Nested []struct {
			N int64 `json:"n"`
		} `json:"nested"`
	}
	require.NoError(t, Decode(json.RawMessage(`{"error_status_code":503.0,"limit":1e3,"ratio":0.5,"nested":[{"n":2.00}]}`), &c))
	assert.EqualValues(t, 503, c.Status)
	assert.EqualValues(t, 1000, c.Limit)
	assert.Equal(t, 0.5, c.Ratio)
	require.Len(t, c.Nested, 1)
	assert.EqualValues(t, 2, c.Nested[0].N)

	err := Decode(json.RawMessage(`{"error_status_code":503.5}`), &c)
	assert.EqualError(t, err, "configuration.error_status_code: must be an integer, not number 503.5")
	err = Decode(json.RawMessage(`{"limit":1e30}`), &c)
	assert.Error(t, err, "out of int64's range")
}
