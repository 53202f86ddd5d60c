package console

// routes registers the console's pages: one file per page, each adding its
// handler here.
func (c *Console) routes() {
	c.mux.Handle("GET "+Prefix+"static/", staticHandler())
	// The composition and traffic pages (composition.go, traffic.go).
	c.mux.Handle("GET "+Prefix+"services", c.authed(c.serveServices))
	c.mux.Handle("GET "+Prefix+"services/{id}", c.authed(c.serveService))
	c.mux.Handle("GET "+Prefix+"traffic", c.authed(c.serveTraffic))
}
