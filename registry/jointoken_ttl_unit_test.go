package registry

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A join token's ttl given as a JSON number is read as nanoseconds ("ttl":
// 3600 is 3.6 µs): such a token would be dead when made, yet answered 201.
// A lifetime under a second is refused, naming the field and the form that
// was meant.
func TestJoinTokenTTLUnderASecondIsRefused(t *testing.T) {
	var spec JoinTokenSpec
	require.NoError(t, spec.TTL.UnmarshalJSON([]byte("3600")))
	err := validateSpec(&spec)
	var fe interface{ Error() string }
	require.Error(t, err)
	fe = err
	assert.Contains(t, fe.Error(), "ttl")
	assert.Contains(t, fe.Error(), `"1h"`)

	spec.TTL = Duration(time.Second)
	assert.NoError(t, validateSpec(&spec), "a second is a lifetime")
	spec.TTL = 0
	assert.NoError(t, validateSpec(&spec), "0 never expires")
}
