package client

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/portolan/portolan/registry"
)

// MapAnswer is the answer to a map query (MapQuery): one of Map (a page,
// or the whole map), Summary and Delta is set, as the query asked, whatever
// the peer could do; a summary computed here from the whole map comes with
// Map too, the page the query selects.
type MapAnswer struct {
	Index   uint64
	Map     *registry.Map
	Summary *registry.MapSummary
	Delta   *registry.MapDelta
	// Local tells that the peer answered the whole map (an agent's
	// /v1/agent/map, an older home) and the answer was computed here.
	Local bool
}

// MapQuery reads part of the service map at path: registry.PathMap on home,
// or a peer that answers the same way (an agent's /v1/agent/map). q asks
// for a filtered page, a summary (q.Summary) or, with index above 0, the
// changes since index (q.Delta); with index above 0 the read blocks until
// the map's index passes index, or for wait. A peer that ignores the query
// and answers the whole map is served all the same: the page, the counts
// or a full delta are computed here from it.
func (c *Client) MapQuery(ctx context.Context, path string, q registry.MapQuery, index uint64, wait time.Duration) (MapAnswer, error) {
	v := q.Values()
	if index > 0 {
		v.Set(registry.ParamIndex, strconv.FormatUint(index, 10))
		if wait > 0 {
			v.Set(registry.ParamWait, FormatWait(wait))
		}
	}
	r := &request{method: http.MethodGet, path: path, query: v, auth: bearer, blocking: index > 0}
	resp, err := c.do(ctx, r, http.StatusOK)
	if err != nil {
		return MapAnswer{}, err
	}
	idx, hasIndex := parseIndex(resp)
	var a MapAnswer
	switch kind := resp.Header.Get(registry.MapAnswerHeader); {
	case kind == registry.MapAnswerSummary && q.Summary:
		a.Summary = &registry.MapSummary{}
		err = decodeBody(ctx, resp, MaxDocumentBytes, "the map's summary", a.Summary)
	case kind == registry.MapAnswerDelta && q.Delta:
		a.Delta = &registry.MapDelta{}
		err = decodeBody(ctx, resp, MaxDocumentBytes, "the map's changes", a.Delta)
	case kind == registry.MapAnswerPage && !q.Summary && !q.Delta:
		a.Map = &registry.Map{}
		err = decodeBody(ctx, resp, MaxDocumentBytes, "home's map", a.Map)
	default:
		// The whole map: the peer does not know the query.
		var m registry.Map
		if err = decodeBody(ctx, resp, MaxDocumentBytes, "the service map", &m); err == nil {
			a = localAnswer(m, q)
		}
	}
	if err != nil {
		return MapAnswer{}, err
	}
	if !hasIndex {
		idx = a.index()
	}
	a.Index = idx
	return a, nil
}

// localAnswer answers q from the whole map m.
func localAnswer(m registry.Map, q registry.MapQuery) MapAnswer {
	a := MapAnswer{Local: true}
	page := m.Select(q)
	switch {
	case q.Summary:
		s := m.Summary(q)
		a.Summary = &s
		a.Map = &page // the instances came anyway: kept for the caller
	case q.Delta:
		a.Delta = &registry.MapDelta{Index: m.Index, Revision: m.Revision, Full: &page,
			Changed: []registry.MapChange{}, Removed: []string{}}
	default:
		a.Map = &page
	}
	return a
}

// index is the index an answer carries in its body.
func (a MapAnswer) index() uint64 {
	switch {
	case a.Summary != nil:
		return a.Summary.Index
	case a.Delta != nil:
		return a.Delta.Index
	case a.Map != nil:
		return a.Map.Index
	}
	return 0
}
