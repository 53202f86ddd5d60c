//go:build !agentonly

package main

import (
	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/threescale"
)

// capFlags bound what the coordinator's composition may hold.
func capFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "max-applications", Value: threescale.DefaultMaxApplications,
			Usage: "most applications the composition may hold; a create beyond it answers 422 naming this flag (-1: no cap)"},
		&cli.IntFlag{Name: "max-placements", Value: threescale.DefaultMaxPlacements,
			Usage: "most placements the composition may hold; a create beyond it answers 422 naming this flag (-1: no cap)"},
		&cli.IntFlag{Name: "max-webhook-events", Value: threescale.DefaultMaxWebhookEvents,
			Usage: "most undelivered webhook events the outbox holds; past it an event is listed at once in GET /admin/api/webhooks/failures.json as \"outbox full\""},
		&cli.IntFlag{Name: "max-webhook-failures", Value: threescale.DefaultMaxWebhookFailures,
			Usage: "most failed webhook deliveries kept; past it the oldest are dropped (counted in portolan_webhook_failures_dropped_total)"},
	}
}

// capsConfig reads the cap flags.
func capsConfig(c *cli.Context) threescale.Caps {
	return threescale.Caps{Applications: c.Int("max-applications"), Placements: c.Int("max-placements"),
		WebhookEvents: c.Int("max-webhook-events"), WebhookFailures: c.Int("max-webhook-failures")}
}
