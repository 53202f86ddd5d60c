package console

// routes registers the console's pages: one file per page, each adding its
// handler here.
func (c *Console) routes() {
	c.mux.Handle("GET "+Prefix+"static/", staticHandler())
}
