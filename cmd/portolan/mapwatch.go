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

// mapWatcher redraws the map on every change. Following the map, it asks
// home for the changes since the map it holds (MapDelta) and applies them;
// following a summary, it asks for the summary again.
type mapWatcher struct {
	source *mapSource
	query  registry.MapQuery
	want   mapWant
	format string
	render func(io.Writer, *registry.Map) error
	out    io.Writer
	errOut io.Writer
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
	var held *registry.Map // the map followed, brought forward by deltas
	for {
		start := time.Now()
		timeout := w.timeout
		if index > 0 {
			timeout += w.wait + w.wait/16 // the coordinator may add jitter to wait
		}
		rctx, cancel := context.WithTimeout(ctx, timeout)
		v, idx, err := w.next(rctx, held, index)
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
		held = v.m
		w.retry.Reset()
		if draws == 0 || idx != drawn {
			if err := w.draw(v, idx, draws); err != nil {
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

// next reads the next drawing: the summary, or the map held brought to
// home's changes since index (the whole map when index is 0, or when home
// cannot tell what changed).
func (w *mapWatcher) next(ctx context.Context, held *registry.Map, index uint64) (mapView, uint64, error) {
	q := w.query
	if w.want == wantAuto {
		// Decided once, at the first answer: the counts of a large map,
		// else the map.
		sq := q
		sq.Summary = true
		a, err := w.source.query(ctx, sq, 0, 0)
		if err != nil {
			return mapView{}, 0, err
		}
		if a.Summary.Instances > mapTableMax {
			w.want = wantSummary
			return mapView{s: a.Summary}, a.Index, nil
		}
		w.want = wantMap
	}
	if w.want == wantSummary {
		q.Summary = true
		a, err := w.source.query(ctx, q, index, w.wait)
		return mapView{s: a.Summary}, a.Index, err
	}
	q.Delta = true
	if held == nil {
		index = 0
	}
	a, err := w.source.query(ctx, q, index, w.wait)
	if err != nil {
		return mapView{}, 0, err
	}
	m := &registry.Map{}
	if a.Delta.Full == nil {
		m = held
	}
	m.Apply(*a.Delta)
	return mapView{m: m}, a.Index, nil
}

// draw prints one drawing of the map: on a terminal over the previous one,
// elsewhere after a separator line. The JSON and DOT outputs get neither a
// title nor a separator, so that the output stays a stream of documents (jq
// and dot read several).
func (w *mapWatcher) draw(v mapView, index uint64, draws int) error {
	machine := w.format == mapFormatJSON || w.format == mapFormatDOT
	var buf bytes.Buffer
	if w.tty {
		buf.WriteString(clearScreen)
	} else if draws > 0 && !machine {
		buf.WriteString("\n" + strings.Repeat("─", 60) + "\n")
	}
	if !machine {
		fmt.Fprintf(&buf, "%s · index %d · revision %d · %s\n\n",
			w.source.client.Address(), index, v.revision(), w.now().Format("15:04:05"))
		if v.m != nil && w.query.Service != "" && len(v.m.Services) == 0 {
			fmt.Fprintf(&buf, "(no service %q on the map)\n", w.query.Service)
		}
	}
	if err := printView(&buf, w.errOut, v, w.format, wantMap, w.render); err != nil {
		return err
	}
	_, err := w.out.Write(buf.Bytes())
	return err
}
