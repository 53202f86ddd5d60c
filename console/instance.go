package console

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/portolan/portolan/registry"
)

// instanceView is what templates/instance.html receives.
type instanceView struct {
	Missing           string // the id asked for, when the map holds no such instance
	In                registry.MapInstance
	MapService        string // the service of the map it is drawn under
	Address           string
	Age               string
	LastHeartbeat     string
	Labels            []labelPair
	Placements        []registry.MapPlacement // of its map service that picked it
	TTL               string                  // home's; an agent may ask for another
	HeartbeatInterval string
}

type labelPair struct{ Key, Value string }

// heartbeatIntervaler is the part of *registry.Registry that tells the
// interval home gives agents; a Map without it shows none.
type heartbeatIntervaler interface{ HeartbeatInterval() time.Duration }

// instancePage serves GET /ui/instances/{id}.
func (c *Console) instancePage(w http.ResponseWriter, r *http.Request, p Page) {
	id := r.PathValue("id")
	m, ok := c.cfg.Map.MapOne(id)
	var v instanceView
	if ok {
		v, ok = findInstance(m, id)
	}
	p.Nav = "map"
	if !ok {
		p.Title = "No such instance"
		p.Data = instanceView{Missing: id}
		c.render(w, http.StatusNotFound, "instance", p)
		return
	}
	v.TTL = c.cfg.Map.TTL().String()
	if hb, ok := c.cfg.Map.(heartbeatIntervaler); ok {
		v.HeartbeatInterval = hb.HeartbeatInterval().String()
	}
	p.Title, p.Data = "Instance "+id, v
	c.render(w, http.StatusOK, "instance", p)
}

// findInstance returns the view of instance id on m.
func findInstance(m registry.Map, id string) (instanceView, bool) {
	for _, s := range m.Services {
		for _, in := range s.Instances {
			if in.ID != id {
				continue
			}
			v := instanceView{In: in, MapService: s.Name, Age: age(time.Duration(in.Age)), Address: in.Address}
			if in.Port != 0 {
				v.Address += ":" + strconv.Itoa(in.Port)
			}
			if !in.LastHeartbeat.IsZero() {
				v.LastHeartbeat = in.LastHeartbeat.UTC().Format(time.RFC3339)
			}
			for _, k := range slices.Sorted(maps.Keys(in.Labels)) {
				v.Labels = append(v.Labels, labelPair{k, in.Labels[k]})
			}
			for _, pl := range s.Placements {
				if slices.Contains(in.Placements, pl.Name) {
					v.Placements = append(v.Placements, pl)
				}
			}
			return v, true
		}
	}
	return instanceView{}, false
}
