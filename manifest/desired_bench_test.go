package manifest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/portolan/portolan/manifest"
)

// ownerDocument is one service document of about n entities, most under one
// owner: methods, a mapping rule for each, and plans limiting each method.
func ownerDocument(n int) string {
	methods := n / 4
	var b strings.Builder
	b.WriteString("apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: big\nname: Big\nmetrics:\n- system_name: hits\n  friendly_name: Hits\n  unit: hit\n  methods:\n")
	for i := range methods {
		fmt.Fprintf(&b, "  - {system_name: m%d, friendly_name: M%d}\n", i, i)
	}
	b.WriteString("mapping_rules:\n")
	for i := range methods {
		fmt.Fprintf(&b, "- {http_method: GET, pattern: /r%d, metric: m%d, delta: 1}\n", i, i)
	}
	b.WriteString("plans:\n")
	for p := range 2 {
		fmt.Fprintf(&b, "- system_name: p%d\n  name: P%d\n  limits:\n", p, p)
		for i := range methods {
			fmt.Fprintf(&b, "  - {metric: m%d, period: day, value: %d}\n", i, i+1)
		}
	}
	return b.String()
}

// BenchmarkDesiredOneOwner builds the desired composition of one service of
// about 3,000 and 12,000 entities: the cost per entity should not grow with
// the owner's size.
func BenchmarkDesiredOneOwner(b *testing.B) {
	for _, n := range []int{3000, 12000} {
		docs, err := manifest.Decode(strings.NewReader(ownerDocument(n)), "big.yaml")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				c, err := manifest.Desired(docs, nil)
				if err != nil {
					b.Fatal(err)
				}
				if c.Count() < n {
					b.Fatalf("%d entities, want %d", c.Count(), n)
				}
			}
		})
	}
}

// accountsDocument is a service and about n/3 accounts, each with a user and
// an application on the service: n entities checked for unique usernames,
// emails and credentials.
func accountsDocument(n int) string {
	var b strings.Builder
	b.WriteString("apiVersion: portolan.dev/v1\nkind: Service\nsystem_name: big\nname: Big\nplans:\n- {system_name: basic, name: Basic}\n")
	for i := range n / 3 {
		fmt.Fprintf(&b, "---\napiVersion: portolan.dev/v1\nkind: Account\norg_name: Org%d\nusers:\n- {username: u%d, email: u%d@x.example}\napplications:\n- {name: A, service: big, plan: basic}\n", i, i, i)
	}
	return b.String()
}

// BenchmarkDesiredAccounts builds the desired composition of about 3,000
// and 12,000 entities of accounts, users and applications.
func BenchmarkDesiredAccounts(b *testing.B) {
	for _, n := range []int{3000, 12000} {
		docs, err := manifest.Decode(strings.NewReader(accountsDocument(n)), "accounts.yaml")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				if _, err := manifest.Desired(docs, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// backendLimitsDocument is a backend of n/2 methods and a service using it
// whose two plans limit each of them: n limits naming a backend's metric.
func backendLimitsDocument(n int) string {
	methods := n / 2
	var b strings.Builder
	b.WriteString("apiVersion: portolan.dev/v1\nkind: Backend\nsystem_name: store\nname: Store\nprivate_endpoint: http://store:8080\nmetrics:\n- system_name: hits\n  methods:\n")
	for i := range methods {
		fmt.Fprintf(&b, "  - {system_name: m%d, friendly_name: M%d}\n", i, i)
	}
	b.WriteString("---\napiVersion: portolan.dev/v1\nkind: Service\nsystem_name: big\nname: Big\nbackend_usages: [{backend: store, path: /}]\nplans:\n")
	for p := range 2 {
		fmt.Fprintf(&b, "- system_name: p%d\n  name: P%d\n  limits:\n", p, p)
		for i := range methods {
			fmt.Fprintf(&b, "  - {metric: m%d, backend: store, period: day, value: %d}\n", i, i+1)
		}
	}
	return b.String()
}

// BenchmarkDesiredBackendLimits builds the desired composition of 2,000 and
// 8,000 limits on a backend's metrics: resolving each limit's metric should
// not cost a scan of the metrics, as Desired runs under the store's writer.
func BenchmarkDesiredBackendLimits(b *testing.B) {
	for _, n := range []int{2000, 8000} {
		docs, err := manifest.Decode(strings.NewReader(backendLimitsDocument(n)), "limits.yaml")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			for b.Loop() {
				c, err := manifest.Desired(docs, nil)
				if err != nil {
					b.Fatal(err)
				}
				if c.UsageLimits.Len() != n {
					b.Fatalf("%d limits, want %d", c.UsageLimits.Len(), n)
				}
			}
		})
	}
}
