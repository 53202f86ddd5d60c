package composition

// What every kind of entity shares. Each kind's type is in its kind_*.go file.
//
// Field tags: `json` is the 3scale wire name (and the storage name); `wire`
// options tell the API layer how to treat the field: ro (never set from request
// parameters), secret (exported only on request), attr (an XML attribute),
// omitempty, and - (never on the wire).

// ProviderAccountID is the id of the provider's own account, the owner of every
// service and backend API. Entity ids start above it.
const ProviderAccountID int64 = 1

// Owner kinds for metrics and mapping rules, which belong either to a service
// (product) or to a backend API.
const (
	OwnerService    = "Service"
	OwnerBackendAPI = "BackendApi"
)
