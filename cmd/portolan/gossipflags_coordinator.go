//go:build !agentonly

package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/portolan/portolan/coordinator"
	"github.com/portolan/portolan/gossip"
)

// coordinatorGossipFlags are the gossip flags of the coordinator: the shared
// ones and the rotation's grace.
func coordinatorGossipFlags() []cli.Flag {
	return append(gossipFlags(),
		&cli.DurationFlag{Name: "gossip-key-grace", Usage: "the shortest time portolan gossip rotate-key takes (the old key is accepted until its end); each step may wait up to one more grace for agents to hold the one before (0: 4 heartbeat intervals)"})
}

// coordinatorGossip reads the coordinator's gossip flags: its node (nil when
// off; its keys come from the keyring) and its keyring, handed to agents
// whether or not home gossips itself.
func coordinatorGossip(c *cli.Context) (*gossip.Config, coordinator.GossipKeyringConfig, error) {
	keys, insecure, err := gossipKeys(c)
	if err != nil {
		return nil, coordinator.GossipKeyringConfig{}, err
	}
	kc := coordinator.GossipKeyringConfig{Keys: keys, Insecure: insecure, Grace: c.Duration("gossip-key-grace")}
	if kc.Grace < 0 {
		return nil, kc, fmt.Errorf("--gossip-key-grace %s is negative", kc.Grace)
	}
	cfg, err := gossipNode(c)
	return cfg, kc, err
}
