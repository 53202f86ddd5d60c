package threescale

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/portolan/portolan/composition"
)

// The Analytics API's answers. JSON carries porta's hashes (times in ISO
// 8601 with the zone's offset); XML carries porta's builder templates
// (times as Rails prints them, "2026-03-29 00:00:00 +0100").

type statsMetric struct {
	XMLName    xml.Name `json:"-" xml:"metric"`
	ID         int64    `json:"id" xml:"id"`
	Name       string   `json:"name" xml:"name"`
	SystemName string   `json:"system_name" xml:"system_name"`
	Unit       string   `json:"unit" xml:"unit"`
}

func newStatsMetric(m *composition.Metric) statsMetric {
	return statsMetric{ID: m.ID, Name: m.FriendlyName, SystemName: m.SystemName, Unit: m.Unit}
}

type statsPeriod struct {
	Name     *string `json:"name"`
	Since    *string `json:"since"`
	Until    *string `json:"until"`
	Timezone string  `json:"timezone,omitempty"`
	// Granularity is a name, or porta's 21600 (six hours) as a number.
	Granularity any `json:"granularity,omitempty"`
}

type statsRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name,omitempty"`
}

type statsApplication struct {
	ID          int64    `json:"id"`
	Name        string   `json:"name"`
	State       string   `json:"state"`
	Description string   `json:"description"`
	Plan        statsRef `json:"plan"`
	Account     statsRef `json:"account"`
	Service     statsRef `json:"service"`
}

// newStatsApplication is an application as porta's analytics show it: with
// its plan's and account's names.
func newStatsApplication(snap *composition.Snapshot, app *composition.Application) *statsApplication {
	sa := &statsApplication{ID: app.ID, Name: app.Name, State: app.State, Description: app.Description,
		Plan: statsRef{ID: app.PlanID}, Account: statsRef{ID: app.AccountID}, Service: statsRef{ID: app.ServiceID}}
	if p, ok := snap.ApplicationPlans.Get(app.PlanID); ok {
		sa.Plan.Name = p.Name
	}
	if acct, ok := snap.Accounts.Get(app.AccountID); ok {
		sa.Account.Name = acct.OrgName
	}
	if svc, ok := snap.Services.Get(app.ServiceID); ok {
		sa.Service.Name = svc.Name
	}
	return sa
}

type statsService struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	SystemName string `json:"system_name"`
	State      string `json:"state"`
}

// statsUsage is the usage answer of a service, an application or a backend
// API.
type statsUsage struct {
	Metric      statsMetric       `json:"metric"`
	Period      statsPeriod       `json:"period"`
	Total       int64             `json:"total"`
	Values      []int64           `json:"values"`
	Application *statsApplication `json:"application,omitempty"`
	Service     *statsService     `json:"service,omitempty"`
	// With skip_change=false: the previous range's total and the change
	// from it, in percent.
	PreviousTotal *int64   `json:"previous_total,omitempty"`
	Change        *float64 `json:"change,omitempty"`

	sr *statsRange
}

// setChange sets previous_total and porta's percentage change from it:
// 0 when both are zero, 100 from zero.
func (u *statsUsage) setChange(previous int64) {
	change := 100.0
	switch {
	case previous == 0 && u.Total == 0:
		change = 0
	case previous != 0:
		change = float64(u.Total-previous) / float64(previous) * 100
	}
	u.PreviousTotal, u.Change = &previous, &change
}

// fill sets the metric, the period and the values.
func (u *statsUsage) fill(m *composition.Metric, sr *statsRange, values []int64) {
	u.sr = sr
	u.Metric = newStatsMetric(m)
	u.Period = statsPeriod{Timezone: sr.zone, Granularity: sr.granularity}
	if sr.granularity == granSixHours {
		u.Period.Granularity = 6 * 60 * 60
	}
	if sr.period != "" {
		u.Period.Name = &sr.period
	}
	if !sr.since.IsZero() {
		since, until := sr.since.Format(time.RFC3339), sr.until.Add(-time.Second).Format(time.RFC3339)
		u.Period.Since, u.Period.Until = &since, &until
	}
	u.Values = values
	for _, v := range values {
		u.Total = composition.AddSaturating(u.Total, v)
	}
}

// railsTime is how Rails prints a time in a zone: the offset, or UTC when
// it is zero.
func railsTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if _, off := t.Zone(); off == 0 {
		return t.Format("2006-01-02 15:04:05") + " UTC"
	}
	return t.Format("2006-01-02 15:04:05 -0700")
}

type xmlRef struct {
	ID   int64  `xml:"id"`
	Name string `xml:"name"`
}

// xmlAccountRef is porta's account element: name before id.
type xmlAccountRef struct {
	Name string `xml:"name"`
	ID   int64  `xml:"id"`
}

type xmlUsage struct {
	XMLName xml.Name    `xml:"usage"`
	Metric  statsMetric `xml:"metric"`
	Period  struct {
		Since       string `xml:"since"`
		Until       string `xml:"until"`
		Name        string `xml:"name"`
		Granularity string `xml:"granularity"`
	} `xml:"period"`
	Data struct {
		Total  int64 `xml:"total"`
		Values struct {
			Length int    `xml:"length,attr"`
			Text   string `xml:",chardata"`
		} `xml:"values"`
	} `xml:"data"`
	Application *struct {
		ID      int64         `xml:"id"`
		Name    string        `xml:"name"`
		Plan    xmlRef        `xml:"plan"`
		Account xmlAccountRef `xml:"account"`
	} `xml:"application,omitempty"`
}

// xmlValue is porta's usage.xml.builder: the values joined by commas.
func (u *statsUsage) xmlValue() any {
	var x xmlUsage
	x.Metric = u.Metric
	x.Period.Granularity = u.sr.granularity
	if u.sr.period != "" {
		x.Period.Name = u.sr.period
	}
	x.Period.Since = railsTime(u.sr.since)
	if !u.sr.since.IsZero() {
		x.Period.Until = railsTime(u.sr.until.Add(-time.Second))
	}
	x.Data.Total = u.Total
	parts := make([]string, len(u.Values))
	for i, v := range u.Values {
		parts[i] = strconv.FormatInt(v, 10)
	}
	x.Data.Values.Length, x.Data.Values.Text = len(u.Values), strings.Join(parts, ",")
	if a := u.Application; a != nil {
		x.Application = &struct {
			ID      int64         `xml:"id"`
			Name    string        `xml:"name"`
			Plan    xmlRef        `xml:"plan"`
			Account xmlAccountRef `xml:"account"`
		}{a.ID, a.Name, xmlRef{a.Plan.ID, a.Plan.Name}, xmlAccountRef{a.Account.Name, a.Account.ID}}
	}
	return &x
}

// xmlValuer is an answer with an XML shape of its own.
type xmlValuer interface{ xmlValue() any }

// writeStats writes v as JSON, or its XML shape.
func writeStats(w http.ResponseWriter, f Format, v xmlValuer) {
	Write(w, f, http.StatusOK, func(wr io.Writer) error {
		if f == XML {
			// Builder's instruct!, with no line break after it.
			if _, err := io.WriteString(wr, strings.TrimSuffix(xml.Header, "\n")); err != nil {
				return err
			}
			if err := xml.NewEncoder(wr).Encode(v.xmlValue()); err != nil {
				return fmt.Errorf("encode analytics XML: %w", err)
			}
			return nil
		}
		return json.NewEncoder(wr).Encode(v)
	})
}
