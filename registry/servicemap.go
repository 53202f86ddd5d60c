package registry

import "time"

// Map views an agent answers with (Map.View).
const (
	ViewHome       = "home"
	ViewHomeGossip = "home+gossip"
	ViewGossip     = "gossip"
)

// Map is the service map: every service with its plans, placements and
// instances. GET /v1/map serves it, with Index in the X-Portolan-Index header.
type Map struct {
	// View says where the map comes from when an agent answers it: "home",
	// "home+gossip" or "gossip" (home unreachable); empty from home itself.
	View     string       `json:"view,omitempty"`
	Index    uint64       `json:"index"`
	Revision uint64       `json:"revision"` // of the composition it was drawn from
	Services []MapService `json:"services"`
	// Matched and Next answer a filtered or paged query (MapQuery): how many
	// instances match in all, and the cursor of the next page (empty on the
	// last). A whole map leaves both out.
	Matched int    `json:"matched,omitempty"`
	Next    string `json:"next,omitempty"`
}

// MapService is one service of the map. Instances whose service the
// composition does not know appear under their own service name with ID 0.
type MapService struct {
	Name       string         `json:"name"` // system_name
	ID         int64          `json:"id,omitempty"`
	Plans      []PlanRef      `json:"plans"`
	Placements []MapPlacement `json:"placements"`
	Instances  []MapInstance  `json:"instances"`
}

// MapPlacement is a placement of a service.
type MapPlacement struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	// SelectorService is the service name the selector picks instances by (it
	// may differ from the map service the placement puts them in).
	SelectorService string            `json:"selector_service"`
	Selector        map[string]string `json:"selector"` // labels
	Plans           []PlanRef         `json:"plans"`
}

// MapInstance is an instance on the map.
type MapInstance struct {
	ID           string            `json:"id"`
	Service      string            `json:"service"` // the service the instance registered as
	Address      string            `json:"address"`
	Port         int               `json:"port"`
	Labels       map[string]string `json:"labels,omitempty"`
	Status       string            `json:"status"`
	Output       string            `json:"output,omitempty"`
	Plans        []PlanRef         `json:"plans"`
	Placements   []string          `json:"placements,omitempty"`
	AgentVersion string            `json:"agent_version,omitempty"`
	// Datacenter is the Consul datacenter the instance was read from; empty
	// for an instance that phones home here.
	Datacenter    string    `json:"datacenter,omitempty"`
	LastHeartbeat time.Time `json:"last_heartbeat"`
	Age           Duration  `json:"age"` // since the last heartbeat, when the map was drawn
}

// MapSummary counts the instances of the map (those a MapQuery keeps) by
// service, plan and status, without listing them: GET /v1/map?summary=1.
type MapSummary struct {
	Index     uint64              `json:"index"`
	Revision  uint64              `json:"revision"`
	Instances int                 `json:"instances"`
	Services  []MapServiceSummary `json:"services"`
}

// MapServiceSummary counts the instances of one map service. An instance
// serving several plans counts once in the service and once under each of
// its plans; one serving none is counted under the plan "".
type MapServiceSummary struct {
	Name      string           `json:"name"`
	Instances int              `json:"instances"`
	Statuses  map[string]int   `json:"statuses"`
	Plans     []MapPlanSummary `json:"plans"`
}

// MapPlanSummary counts the instances of a service serving one plan.
type MapPlanSummary struct {
	Plan      string         `json:"plan"` // system_name; "" for no plan
	Instances int            `json:"instances"`
	Statuses  map[string]int `json:"statuses"`
}

// MapDelta answers a watcher that is current (GET /v1/map?delta=1&index=N):
// only what changed since N among the instances its query keeps. When home
// can no longer tell (N is older than its change log, the composition or
// the catalog changed, home restarted) Full holds the whole (filtered,
// paged) map instead and the watcher starts over from it.
type MapDelta struct {
	Index    uint64 `json:"index"`
	Revision uint64 `json:"revision"`
	Full     *Map   `json:"full,omitempty"`
	// Changed are the instances added or changed since N that the query
	// keeps; Removed the ids of those gone, or no longer kept.
	Changed []MapChange `json:"changed"`
	Removed []string    `json:"removed"`
}

// MapChange is an instance added or changed, with the map service it is
// drawn under.
type MapChange struct {
	MapService string      `json:"map_service"`
	Instance   MapInstance `json:"instance"`
}
