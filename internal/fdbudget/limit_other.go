//go:build !unix

package fdbudget

// Limit is 0 (unknown): no descriptor limit bounds connections.
func Limit() uint64 { return 0 }
