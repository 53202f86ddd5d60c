package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/portolan/portolan/internal/backoff"
	"github.com/portolan/portolan/registry"
	"github.com/portolan/portolan/registry/client"
)

// Defaults of the --watch loop.
const (
	// watchWait is how long one blocking query may wait for a change.
	watchWait = 5 * time.Minute
	// watchMinInterval spaces queries out, so that a coordinator that answers
	// at once (or a map that changes all the time) cannot make a busy loop.
	watchMinInterval = 200 * time.Millisecond
	// Backoff between failed queries: doubling from the first to the last,
	// with jitter.
	watchBackoffMin = 500 * time.Millisecond
	watchBackoffMax = 30 * time.Second
)

// clearScreen moves the cursor home and clears the terminal.
const clearScreen = "\x1b[H\x1b[2J"

// mapWatcher redraws the map on every change.
type mapWatcher struct {
	source  *mapSource
	service string
	format  string
	render  func(io.Writer, *registry.Map) error
	out     io.Writer
	errOut  io.Writer
	// tty: clear the screen before each drawing; otherwise separate drawings.
	tty bool
	// wait is the longest a blocking query waits; timeout is added to it for
	// one request.
	wait, timeout time.Duration
	// minInterval is the shortest time between the starts of two queries.
	minInterval time.Duration
	// retry paces the queries after failures.
	retry backoff.Backoff
	now   func() time.Time
}

// run draws the map, then redraws it on every change, until ctx ends (it then
// returns nil). Failed queries are retried with backoff and jitter; only a
// refused token (401), or a failure to write the output, stops it.
func (w *mapWatcher) run(ctx context.Context) error {
	var (
		index uint64 // of the next blocking query; 0 for one that answers at once
		drawn uint64 // index of the map on screen
		draws int
	)
	for {
		start := time.Now()
		timeout := w.timeout
		if index > 0 {
			timeout += w.wait + w.wait/16 // the coordinator may add jitter to wait
		}
		rctx, cancel := context.WithTimeout(ctx, timeout)
		m, idx, err := w.source.fetch(rctx, index, w.wait)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if errors.Is(err, client.ErrUnauthorized) {
				return err
			}
			d := w.retry.Next()
			fmt.Fprintf(w.errOut, "portolan map: %v; retrying in %s\n", err, d.Round(time.Millisecond))
			if !backoff.Sleep(ctx, d) {
				return nil
			}
			continue
		}
		w.retry.Reset()
		if draws == 0 || idx != drawn {
			if err := w.draw(m, idx, draws); err != nil {
				return err
			}
			drawn = idx
			draws++
		}
		if idx < index {
			// The index went backwards (the coordinator restarted): start
			// over with a query that answers at once, as Consul's clients do.
			index = 0
		} else {
			// Never block on index 0: such a query would answer at once.
			index = max(idx, 1)
		}
		if !backoff.Sleep(ctx, w.minInterval-time.Since(start)) {
			return nil
		}
	}
}

// draw prints one drawing of the map: on a terminal over the previous one,
// elsewhere after a separator line. The JSON and DOT outputs get neither a
// title nor a separator, so that the output stays a stream of documents (jq
// and dot read several).
func (w *mapWatcher) draw(m *registry.Map, index uint64, draws int) error {
	machine := w.format == mapFormatJSON || w.format == mapFormatDOT
	var buf bytes.Buffer
	if w.tty {
		buf.WriteString(clearScreen)
	} else if draws > 0 && !machine {
		buf.WriteString("\n" + strings.Repeat("─", 60) + "\n")
	}
	if !machine {
		fmt.Fprintf(&buf, "%s · index %d · revision %d · %s\n\n",
			w.source.client.Address(), index, m.Revision, w.now().Format("15:04:05"))
		if w.service != "" && len(m.Services) == 0 {
			fmt.Fprintf(&buf, "(no service %q on the map)\n", w.service)
		}
	}
	if err := w.render(&buf, m); err != nil {
		return err
	}
	_, err := w.out.Write(buf.Bytes())
	return err
}
