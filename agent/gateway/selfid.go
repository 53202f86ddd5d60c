package gateway

// SetSelf tells the gateway the id home now knows its instance by, after
// the agent took a new one (its old id held by another registration): the
// instance is never a route of its own, under either id. It redraws the
// routes from the last map.
func (g *Gateway) SetSelf(id string) {
	g.routesMu.Lock()
	g.self = id
	m := g.lastMap
	g.routesMu.Unlock()
	g.SetMap(m)
}
