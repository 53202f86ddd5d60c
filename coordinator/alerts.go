package coordinator

import (
	"github.com/portolan/portolan/composition"
	"github.com/portolan/portolan/threescale"
	"github.com/portolan/portolan/usage"
)

// backendEvents is the usage store's events as the internal API serves them
// (threescale.BackendEvents): usage imports nothing of threescale.
type backendEvents struct{ *usage.Alerts }

// Events converts the events kept.
func (b backendEvents) Events() []threescale.BackendEvent {
	evs := b.Alerts.Events()
	out := make([]threescale.BackendEvent, len(evs))
	for i, ev := range evs {
		out[i] = threescale.BackendEvent{ID: ev.ID, Type: ev.Type, Time: ev.Time, ServiceID: ev.ServiceID, ApplicationID: ev.AppID}
		if al := ev.Alert; al != nil {
			out[i].Alert = &threescale.BackendAlert{ID: al.ID, Level: al.Level, Utilization: al.Utilization,
				Metric: al.Metric, Period: al.Period, Current: al.Current, Max: al.Max}
		}
	}
	return out
}

// hasUsage reports whether hits add anything.
func hasUsage(hits []composition.Hit) bool {
	for _, h := range hits {
		if h.Delta != 0 {
			return true
		}
	}
	return false
}
