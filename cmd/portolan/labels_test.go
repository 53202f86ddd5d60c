package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// --label k=v flags (agent, token create) make a map: a key given twice is
// an error naming it and both values, not the last one kept silently.
func TestLabelsRefuseAKeyGivenTwice(t *testing.T) {
	labels, err := parseLabels([]string{"pool=basic", "zone=a", "empty="})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"pool": "basic", "zone": "a", "empty": ""}, labels)

	_, err = parseLabels([]string{"zone=a", "pool=basic", "zone=b"})
	assert.EqualError(t, err, `--label zone is given twice ("a" and "b"): give each key once`)
	_, err = parseLabels([]string{"=a"})
	assert.EqualError(t, err, `--label "=a": want key=value`)
}
