package registry

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWaitWakesOnChange(t *testing.T) {
	f := newFixture(t)
	idx := f.r.Index()
	got := make(chan uint64, 1)
	go func() {
		n, err := f.r.Wait(context.Background(), idx)
		assert.NoError(t, err)
		got <- n
	}()
	select {
	case <-got:
		t.Fatal("Wait returned before any change")
	case <-time.After(50 * time.Millisecond):
	}
	_, err := f.r.Register("a", reg("news"))
	require.NoError(t, err)
	select {
	case n := <-got:
		assert.Equal(t, idx+1, n)
	case <-time.After(5 * time.Second):
		t.Fatal("Wait did not wake on a registration")
	}

	// An index already passed answers at once.
	n, err := f.r.Wait(context.Background(), idx-1)
	require.NoError(t, err)
	assert.Equal(t, idx+1, n)

	// A quiet registry times out with the same index.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	n, err = f.r.Wait(ctx, idx+1)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, idx+1, n)
}
