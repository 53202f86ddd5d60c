package registry

import "github.com/portolan/portolan/composition"

// Query parameters of PathAdminApply (paths.go), "true" to turn them on:
// ParamDryRun computes the plan without writing it, ParamPrune also deletes
// what the documents' services and backends own but no longer declare.
const (
	ParamDryRun = "dry_run"
	ParamPrune  = "prune"
)

// ApplyResult is home's answer to an apply: the plan and what came of it.
type ApplyResult struct {
	// Revision is the composition's revision after the call: the new one
	// when Applied, else the one the plan was computed against.
	Revision uint64 `json:"revision"`
	// Applied says the call wrote the plan: false for a dry run and for
	// documents home already holds (no change, no revision).
	Applied bool `json:"applied"`
	// Changes is the plan in the order it is written: deletes, then
	// creates and updates (each update with its fields, old and new);
	// never nil.
	Changes []composition.PlannedChange `json:"changes"`
}

// Counts returns how many changes of the result create, update and delete.
func (r *ApplyResult) Counts() (create, update, del int) {
	for _, ch := range r.Changes {
		switch ch.Op {
		case composition.OpCreate:
			create++
		case composition.OpUpdate:
			update++
		case composition.OpDelete:
			del++
		}
	}
	return create, update, del
}
