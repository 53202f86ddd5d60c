// Package ledger is the agent's usage ledger: the gateway admits every
// request through it, it counts usage per application, metric and minute,
// keeps it in a journal and a spool on disk, cuts it into batches and
// reports them home, where each batch counts once (see ledger.go for the
// files and their durability).
//
// It talks to home through the Reporter interface it declares, and must
// never import agent or agent/gateway: the gateway holds it through an
// interface of its own.
package ledger
