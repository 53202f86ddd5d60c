package console

import "net/http"

// routes registers the console's pages: one file per page, each adding its
// handler here.
func (c *Console) routes() {
	c.mux.Handle("GET "+Prefix+"static/", staticHandler())
	c.mux.HandleFunc("GET "+Prefix+"login", c.loginForm)
	c.mux.HandleFunc("POST "+Prefix+"login", c.login)
	c.mux.Handle("POST "+Prefix+"logout", c.signedIn(true, http.HandlerFunc(c.logout)))
	c.mux.Handle("GET "+Prefix+"{$}", c.page(c.mapPage))
	c.mux.Handle("GET "+Prefix+"map", c.page(c.mapPage))
	c.mux.Handle("GET "+Prefix+"events", c.signedIn(false, http.HandlerFunc(c.events)))
	c.mux.Handle("GET "+Prefix+"instances/{id}", c.page(c.instancePage))
	c.mux.Handle("GET "+Prefix+"services", c.page(c.serveServices))
	c.mux.Handle("GET "+Prefix+"services/{id}", c.page(c.serveService))
	c.mux.Handle("GET "+Prefix+"traffic", c.page(c.serveTraffic))
	// Anything else under the prefix is a 404, but only once signed in:
	// the console shows nothing, not even what it lacks, before login.
	c.mux.Handle(Prefix, c.signedIn(true, http.NotFoundHandler()))
}
