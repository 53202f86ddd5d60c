package registry

import (
	"net/url"
	"slices"
)

// The URLs of the agent ↔ home protocol are written here and nowhere else:
// the server's route table (Handler, and the coordinator's mount of the
// usage handler) and the one client (registry/client) both use these.
const (
	// PathInstances is the prefix of an instance's path: PUT
	// PathInstances+id registers it, DELETE deregisters it.
	PathInstances = "/v1/instances/"
	// PathHeartbeat and PathDrain follow an instance's path.
	PathHeartbeat = "/heartbeat"
	PathDrain     = "/drain"
	// PathImageComposition follows an instance's path: PUT carries the
	// documents its image brought (portolan agent --composition).
	PathImageComposition = "/composition"
	// PathMap serves the service map (GET, blocking).
	PathMap = "/v1/map"
	// PathComposition serves an instance's signed view of the composition
	// (GET, blocking; ParamInstance names the instance).
	PathComposition = "/v1/composition"
	// PathUsage takes usage batches (POST).
	PathUsage = "/v1/usage"
)

// PathAdminComposition is the coordinator's admin API for the whole
// composition: GET exports it, POST imports a document. It takes the admin
// access token, as 3scale's admin APIs do, not the agent token.
const PathAdminComposition = "/admin/portolan/composition"

// PathAdminApply is the coordinator's admin API for declarative documents:
// POST documents (YAML or JSON, package manifest's format) and home's
// composition becomes what they declare, in one revision or none; the
// answer is an ApplyResult. It takes the admin access token, rw.
const PathAdminApply = "/admin/portolan/apply"

// PathAdminTokens is the coordinator's admin API for join tokens: GET lists
// them, POST creates one (JoinTokenSpec → JoinTokenCreated), DELETE
// PathAdminTokens+"/"+id revokes one. It takes the admin access token.
const PathAdminTokens = "/admin/portolan/tokens"

// PathAdminFeatures is where home announces what it does beyond what every
// home of the API does (AdminFeatures), so that a newer CLI can tell before
// sending what an older home would misread. It needs no token, as the
// documents' schema does not: it holds nothing of the composition. A home
// that answers anything but 200 there announces nothing.
const PathAdminFeatures = "/admin/portolan/features"

// FeatureRestoresHiddenSecrets is announced by a home that puts its own
// value back for each policy secret an export without secrets hid
// (manifest.SecretPlaceholder, "xxxxx" in a URL), on apply and import, and
// refuses one it cannot: an older home stores the placeholder as the
// secret.
const FeatureRestoresHiddenSecrets = "restores_hidden_policy_secrets"

// AdminFeatures is the answer of PathAdminFeatures.
type AdminFeatures struct {
	Features []string `json:"features"`
}

// Has reports whether f announces feature.
func (f AdminFeatures) Has(feature string) bool { return slices.Contains(f.Features, feature) }

// AdminTokenPath is the path of the join token with the given id.
func AdminTokenPath(id string) string { return PathAdminTokens + "/" + url.PathEscape(id) }

// Query parameters of the blocking reads (PathMap, PathComposition).
const (
	// ParamIndex makes the read block until the answer's index passes it.
	ParamIndex = "index"
	// ParamWait bounds the block: a duration ("30s", "5m"; a bare number is seconds).
	ParamWait = "wait"
	// ParamService narrows the map to one service (its system_name).
	ParamService = "service"
	// ParamInstance names the instance whose view PathComposition serves.
	ParamInstance = "instance"
)

// Query parameters of PathMap beyond the blocking ones (mapquery.go). A
// query with none of them (ParamService alone included) is answered with
// the whole map as it always was; with any of them the answer carries
// MapAnswerHeader, so a client can tell a peer that ignored them (an
// agent's /v1/agent/map, an older home) and do the work itself.
const (
	// ParamPlan keeps the instances serving the plan of this system_name.
	ParamPlan = "plan"
	// ParamStatus keeps the instances of this status (passing, warning,
	// critical, draining).
	ParamStatus = "status"
	// ParamLabel keeps the instances with this label: "key=value", or
	// "key" for any value; repeated, all must match.
	ParamLabel = "label"
	// ParamLimit pages the instances: at most this many, by instance id;
	// the answer's Next is the cursor of the next page.
	ParamLimit = "limit"
	// ParamCursor starts a page after this instance id (a previous answer's
	// Next).
	ParamCursor = "cursor"
	// ParamSummary ("1") answers a MapSummary: counts only, no instances.
	ParamSummary = "summary"
	// ParamDelta ("1"), with ParamIndex, answers a MapDelta: the instances
	// that changed since the index, or the whole (filtered, paged) map
	// flagged full when home can no longer tell.
	ParamDelta = "delta"
)

// MapAnswerHeader says which answer GET PathMap gave to a query with the
// parameters above: MapAnswerPage, MapAnswerSummary or MapAnswerDelta.
const MapAnswerHeader = "X-Portolan-Map-Answer"

// Values of MapAnswerHeader.
const (
	MapAnswerPage    = "page"    // a Map, filtered and paged
	MapAnswerSummary = "summary" // a MapSummary
	MapAnswerDelta   = "delta"   // a MapDelta
)

// CredentialHeader carries, on a registration, the instance credential
// the agent holds from its last one (registry/rejoin.go): with it, an
// instance home issued a credential to registers again through its join
// token after the token's lifetime ended (home restarted, or dropped it).
const CredentialHeader = "X-Portolan-Instance-Credential"

// IndexHeader carries the index of a blocking query's answer: the map index
// on PathMap, the composition revision on PathComposition.
const IndexHeader = "X-Portolan-Index"

// InstancePath is the path of the instance with the given id.
func InstancePath(id string) string { return PathInstances + url.PathEscape(id) }

// HeartbeatPath is where the instance with the given id heartbeats.
func HeartbeatPath(id string) string { return InstancePath(id) + PathHeartbeat }

// ImageCompositionPath is where the instance with the given id brings its
// image's documents.
func ImageCompositionPath(id string) string { return InstancePath(id) + PathImageComposition }

// DrainPath is where the instance with the given id is drained.
func DrainPath(id string) string { return InstancePath(id) + PathDrain }
