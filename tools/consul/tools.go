//go:build tools

// Package tools pins the Consul release that `make consul` builds for
// development and tests. It is a separate module so that Consul's large
// dependency tree stays out of the main module.
package tools

import (
	_ "github.com/hashicorp/consul"
)
