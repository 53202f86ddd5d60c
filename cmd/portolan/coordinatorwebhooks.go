//go:build !agentonly

package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/coordinator"
)

// webhookFlags pace the delivery of 3scale webhook events.
func webhookFlags() []cli.Flag {
	return []cli.Flag{
		&cli.IntFlag{Name: "webhook-attempts", Value: 5,
			Usage: "tries of a webhook event before it is listed in GET /admin/api/webhooks/failures.json (3scale: 5)"},
		&cli.DurationFlag{Name: "webhook-backoff-min", Value: time.Second, Usage: "wait after a webhook event's first failed try; doubles per try"},
		&cli.DurationFlag{Name: "webhook-backoff-max", Value: time.Minute, Usage: "longest wait between a webhook event's tries (3scale: 60s)"},
		&cli.DurationFlag{Name: "webhook-timeout", Value: 10 * time.Second, Usage: "how long a webhook receiver may take to answer"},
	}
}

// webhookConfig reads the webhook flags.
func webhookConfig(c *cli.Context) coordinator.WebhookConfig {
	return coordinator.WebhookConfig{Attempts: c.Int("webhook-attempts"), MinBackoff: c.Duration("webhook-backoff-min"),
		MaxBackoff: c.Duration("webhook-backoff-max"), Timeout: c.Duration("webhook-timeout")}
}
