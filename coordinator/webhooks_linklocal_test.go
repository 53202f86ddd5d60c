package coordinator

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// Cloud metadata services answer on link-local addresses (169.254.169.254,
// fd00:ec2::254): a webhook URL naming one would make home POST there on
// behalf of whoever may set the URL, and tell them, in the failure, how
// it answered. As the gateway's outbound clients, delivery never connects
// to a link-local, multicast or unspecified address.
func TestWebhookDeliveryNeverReachesALinkLocalAddress(t *testing.T) {
	for _, raw := range []string{
		"http://169.254.169.254/latest/meta-data/",
		"http://[fe80::1]:9/hook",
		"http://[::ffff:169.254.169.254]/x",
		"http://0.0.0.0:9/hook",
		"http://224.0.0.1:9/hook",
	} {
		_, failure := deliverOnce(t, raw, 2*time.Second)
		assert.Contains(t, failure, "link-local", "%s: the delivery was not refused: %s", raw, failure)
	}
}
