package testenv

import (
	"net/http"
	"testing"
	"time"

	"github.com/3scale/3scale-porta-go-client/client"
)

// Client returns the official 3scale client pointed at c with its token.
func (c *Coordinator) Client(t testing.TB) *client.ThreeScaleClient {
	t.Helper()
	portal, err := client.NewAdminPortalFromStr(c.URL)
	if err != nil {
		t.Fatal(err)
	}
	return client.NewThreeScale(portal, c.Token, &http.Client{Timeout: 30 * time.Second})
}
