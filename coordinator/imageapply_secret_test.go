package coordinator

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/portolan/portolan/threescale"
)

// An image's documents may give the proxy's secret token (the token its
// own app checks on every request from the gateway): home stores it, and
// a later version changing it changes it.
func TestImageSecretTokenIsStored(t *testing.T) {
	c := newApplyCoordinator(t, threescale.Caps{})
	image := func(version, token string) string {
		return "apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: news\nname: News\nversion: " + version +
			"\nproxy:\n  secret_token: " + token + "\n"
	}
	for _, v := range []struct{ version, token string }{{"1", "image-chosen-secret"}, {"2", "rotated-secret"}} {
		_, err := bringImage(t, c, "news", image(v.version, v.token))
		require.NoError(t, err)
		snap := c.store.Snapshot()
		svc, _ := snap.ServiceBySystemName("news")
		p, _ := snap.Proxies.Get(svc.ID)
		require.Equal(t, v.token, p.SecretToken, "version %s", v.version)
	}
}
