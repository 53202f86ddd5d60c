package console

import "net/http"

// routes registers the console's pages: one file per page, each adding its
// handler here.
func (c *Console) routes() {
	c.mux.Handle("GET "+Prefix+"static/", staticHandler())
	c.mux.HandleFunc("GET "+Prefix+"login", c.loginForm)
	c.mux.HandleFunc("POST "+Prefix+"login", c.login)
	c.mux.Handle("POST "+Prefix+"logout", c.signedIn(true, http.HandlerFunc(c.logout)))
}
