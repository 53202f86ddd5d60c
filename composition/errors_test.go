package composition

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestValidationErrorError(t *testing.T) {
	v := &ValidationError{Fields: map[string][]string{"system_name": {"has already been taken"}, "name": {"can't be blank", "is too short"}, "base": {"Locked"}}}
	for range 5 {
		assert.Equal(t, "invalid: base Locked; name can't be blank, is too short; system_name has already been taken", v.Error())
	}
	assert.NoError(t, (&ValidationError{}).Err(), "an empty ValidationError is no error")
	var fe interface{ FieldErrors() map[string][]string }
	assert.True(t, errors.As(fmt.Errorf("x: %w", v), &fe))
	assert.Equal(t, v.Fields, fe.FieldErrors())
}

func TestFieldError(t *testing.T) {
	cause := errors.New("cause")
	fe := &FieldError{Field: "f", Message: "m", Err: cause}
	assert.ErrorIs(t, fe, cause)
	assert.Equal(t, "f m", fe.Error())
	assert.Equal(t, map[string][]string{"f": {"m"}}, fe.FieldErrors())
}
