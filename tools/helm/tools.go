//go:build tools

// Package tools pins the Helm release that `make helm` builds to render and
// lint the chart in deploy/helm in tests. It is a separate module so that
// Helm's large dependency tree (client-go and friends) stays out of the main
// module. It imports nothing of Portolan.
package tools

import (
	_ "helm.sh/helm/v4/cmd/helm"
)
