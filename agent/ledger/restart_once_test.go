package ledger

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/registry"
)

// freezing posts to home and, at its nth batch with usage, freezes once
// home applied it: the reply never comes, as when the agent is killed
// while home answers. It stays frozen until the test ends.
type freezing struct {
	home Reporter
	n    int // 0: never
	mu   sync.Mutex
	sent int
	hold chan struct{}
}

func (f *freezing) PostUsage(ctx context.Context, b *registry.UsageBatch) (*registry.UsageReply, error) {
	reply, err := f.home.PostUsage(ctx, b)
	f.mu.Lock()
	if len(b.Entries) > 0 {
		f.sent++
	}
	freeze := f.sent == f.n
	f.mu.Unlock()
	if freeze {
		<-f.hold
		return nil, errors.New("killed while home answered")
	}
	return reply, err
}

// Incarnations of an agent follow one another on one cache dir, each
// admitting usage while its reporter runs against a real home: one is
// killed (frozen, its files as a kill -9 leaves them) just after home
// applied a batch whose reply it never read, with an open journal; the
// next stops gracefully (its last report, then Close). Each next
// incarnation reports what the one before left, and home counts every
// admitted request exactly once.
func TestUsageCountedOnceAcrossAgentRestartsOverTheSpool(t *testing.T) {
	co, _, svc, metric, app := rotationHome(t)
	dir := t.TempDir()
	var admitted int64
	for i := range 4 {
		l, home := incarnation(t, co, dir, "once-"+strconv.Itoa(i), svc, nil)
		l.SendsWith("")
		killed := i%2 == 0
		f := &freezing{home: home, hold: make(chan struct{})}
		if killed {
			f.n = 3
		}
		ctx, cancel := context.WithCancel(context.Background())
		ran := make(chan struct{})
		go func() { defer close(ran); l.Run(ctx, f, 30*time.Millisecond) }()
		t.Cleanup(func() { <-ran; l.Close() }) // last: the frozen reporter ends
		t.Cleanup(func() { close(f.hold) })
		t.Cleanup(cancel)
		for deadline := time.Now().Add(400 * time.Millisecond); time.Now().Before(deadline); {
			require.NoError(t, l.Admit(app, []composition.Hit{{MetricID: metric, Delta: 1}}, time.Now(), admitAny))
			admitted++
			time.Sleep(time.Millisecond)
		}
		if killed {
			l.mu.Lock() // the gateway admits no more: only the files count
			l.closed = true
			l.mu.Unlock()
		} else {
			cancel()
			<-ran
			require.NoError(t, l.Close())
		}
		t.Logf("incarnation %d (killed %v): admitted %d, home %d, spool %v", i, killed, admitted,
			statsTotal(t, co, app, "calls"), spoolFiles(t, dir))
	}
	l, home := incarnation(t, co, dir, "once-last", svc, nil)
	l.SendsWith("")
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{})
	go func() { defer close(ran); l.Run(ctx, home, 30*time.Millisecond) }()
	defer func() { cancel(); <-ran; l.Close() }()
	require.Eventually(t, func() bool { return statsTotal(t, co, app, "calls") >= admitted }, 10*time.Second, 20*time.Millisecond)
	time.Sleep(200 * time.Millisecond) // a few report intervals: nothing more arrives
	assert.Equal(t, admitted, statsTotal(t, co, app, "calls"), "every admitted request once")
}
