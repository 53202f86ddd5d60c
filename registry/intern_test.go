package registry

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

func TestInternerSharesAndStaysBounded(t *testing.T) {
	var in interner
	a := in.str(strings.Repeat("x", 40))
	b := in.str(strings.Repeat("x", 40))
	assert.Equal(t, unsafe.StringData(a), unsafe.StringData(b), "one copy shared")
	assert.Equal(t, unsafe.StringData(StatusPassing), unsafe.StringData(in.str(string([]byte("passing")))), "statuses are the constants")

	long := strings.Repeat("y", maxInternedString+1)
	assert.Equal(t, unsafe.StringData(long), unsafe.StringData(in.str(long)), "a long string is kept as it comes")

	for i := range 3 * maxInterned {
		in.str(fmt.Sprintf("output %d", i))
	}
	assert.LessOrEqual(t, len(in.strings.m), maxInterned)

	l1 := in.labelSet(map[string]string{"pool": "gold", "zone": "a"})
	l2 := in.labelSet(map[string]string{"zone": "a", "pool": "gold"})
	assert.Equal(t, l1.key, l2.key)
	assert.Equal(t, reflect.ValueOf(l1.m).UnsafePointer(), reflect.ValueOf(l2.m).UnsafePointer(), "one map shared")
	assert.NotEqual(t, labelsKey(map[string]string{"a": "b:1"}), labelsKey(map[string]string{"a:": "b1"}), "keys cannot collide")
}
