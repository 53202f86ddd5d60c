// Package composition is Portolan's domain: the 3scale service composition
// (services, metrics, mapping rules, backends, plans, limits, accounts,
// applications, proxy settings, placements), its validation rules, mapping-rule
// matching, and the Store that keeps it as a sequence of immutable revisions.
//
// Readers work on a *Snapshot, which never changes once published. Writers run a
// function against a Tx; the Tx validates every change with 3scale's rules and
// records it, and the store persists the recorded changes as one new revision or
// nothing at all.
//
// The package imports nothing of Portolan's and no storage or network code.
package composition
