package coordinator

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/rs/zerolog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/internal/pki"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// instanceWriteHeld is a store whose writes made for an instance (an
// image's apply) wait until release is closed; entered is closed when the
// first one waits. Other writes go through.
type instanceWriteHeld struct {
	composition.Store
	entered, release chan struct{}
}

func (s *instanceWriteHeld) Update(ctx context.Context, fn func(*composition.Tx) error) (*composition.Snapshot, error) {
	if _, ok := registry.InstanceOf(ctx); ok {
		select {
		case <-s.entered:
		default:
			close(s.entered)
		}
		select {
		case <-s.release:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	return s.Store.Update(ctx, fn)
}

// An image apply holds the decode slot while it decodes, not while it
// writes: with its write held, a `portolan apply` is decoded and applied
// meanwhile, as applies hold no slot through their write either.
func TestImageApplyWriteHoldsNoOtherApplyBack(t *testing.T) {
	c, err := New(Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(), AccessToken: fixtureToken, Logger: zerolog.Nop()})
	require.NoError(t, err)
	held := &instanceWriteHeld{Store: c.store, entered: make(chan struct{}), release: make(chan struct{})}
	c.store = held // before Run: nothing writes yet
	runCtx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

	jt, err := c.instances.CreateJoinToken(registry.JoinTokenSpec{Service: "news"}, pki.Pin{})
	require.NoError(t, err)
	agent, err := client.New(client.Config{Address: "http://" + c.Addr(), Token: jt.Token})
	require.NoError(t, err)
	ctx := context.Background()
	reg, err := agent.Register(ctx, "news-1", &registry.Registration{Service: "news", Address: "10.0.0.1", Port: 80})
	require.NoError(t, err)
	agent.SetCredential(reg.Credential)

	docs := decodeDocs(t, "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\nversion: 1\n")
	brought := make(chan error, 1)
	go func() {
		_, err := agent.BringComposition(ctx, "news-1", docs)
		brought <- err
	}()
	select {
	case <-held.entered:
	case err := <-brought:
		t.Fatalf("the image apply ended before its write: %v", err)
	case <-time.After(time.Minute):
		t.Fatal("the image apply never reached its write")
	}

	// Milliseconds of work: half a minute's wait is the image's write it
	// waited for.
	applyCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	got := postApplyContext(applyCtx, c, "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: weather\nname: Weather\n")
	assert.Equal(t, http.StatusOK, got.code, "an apply waited for an image's write: %s", got.body)

	close(held.release)
	require.NoError(t, <-brought)
	_, ok := c.store.Snapshot().ServiceBySystemName("news")
	assert.True(t, ok, "the image's documents were applied once its write went on")
}
