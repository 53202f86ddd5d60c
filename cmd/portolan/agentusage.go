package main

import (
	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/agent/ledger"
)

// usageFlags are the agent's usage reporting flags.
func usageFlags() []cli.Flag {
	return []cli.Flag{
		&cli.DurationFlag{Name: "report-interval", Value: ledger.DefaultReportInterval,
			Usage: "how often the gateway reports usage to home and learns the cluster-wide totals; unacknowledged usage is kept in --cache-dir/usage"},
	}
}
