package console

import (
	"fmt"
	"time"

	"github.com/portolan/portolan/composition"
)

// The traffic page's two windows, chosen by what usage keeps:
// applications' counters per minute (for 48 hours), hour, day and longer;
// services' per hour, day and longer.
//
//   - The last hour is 12 bars of 5 minutes on the clock's 5-minute marks,
//     the last one holding the current minute: an application's bar adds
//     its minute counters, a service's adds those of its applications
//     (services keep no minute counters).
//   - The last day is the 24 UTC hours ending with the current one, drawn
//     as 24 hourly bars from the hourly counters.
//
// Both read committed counters, which include the current minute and hour:
// usage is written before it is acknowledged.
const (
	hourBars      = 12
	minutesPerBar = 60 / hourBars
	dayBars       = 24
)

// window is the minutes and hours the charts cover at one instant.
type window struct {
	minutes []time.Time // the starts of the last hour's 60 minutes (the latest may be to come)
	hours   []time.Time // the 25 bounds of the last day's 24 hours
}

func windowAt(now time.Time) window {
	var w window
	end := now.UTC().Truncate(minutesPerBar * time.Minute).Add(minutesPerBar * time.Minute)
	for i := range 60 {
		w.minutes = append(w.minutes, end.Add(time.Duration(i-60)*time.Minute))
	}
	end = now.UTC().Truncate(time.Hour).Add(time.Hour)
	for i := range dayBars + 1 {
		w.hours = append(w.hours, end.Add(time.Duration(i-dayBars)*time.Hour))
	}
	return w
}

// hourLabels name the last hour's bars by the minute each starts at.
func (w window) hourLabels() []string {
	out := make([]string, hourBars)
	for i := range out {
		out[i] = w.minutes[i*minutesPerBar].Format("15:04")
	}
	return out
}

// dayLabels name the last day's bars by their hour.
func (w window) dayLabels() []string {
	out := make([]string, dayBars)
	for i := range out {
		out[i] = w.hours[i].Format("15:04")
	}
	return out
}

// series is the hits of one application or service over both windows.
type series struct {
	hour []int64 // hourBars values
	day  []int64 // dayBars values
}

func (s series) hourTotal() int64 { return sumSaturating(s.hour) }
func (s series) dayTotal() int64  { return sumSaturating(s.day) }

func sumSaturating(vs []int64) int64 {
	var t int64
	for _, v := range vs {
		t = composition.AddSaturating(t, v)
	}
	return t
}

// appSeries reads an application's hits of metricID over w.
func (c *Console) appSeries(appID, metricID int64, w window) (series, error) {
	minutes, err := c.cfg.Usage.AppValues(appID, metricID, "minute", w.minutes)
	if err != nil {
		return series{}, fmt.Errorf("application %d: %w", appID, err)
	}
	s := series{hour: make([]int64, hourBars)}
	for i, v := range minutes {
		s.hour[i/minutesPerBar] = composition.AddSaturating(s.hour[i/minutesPerBar], v)
	}
	if s.day, err = c.cfg.Usage.AppSums(appID, metricID, w.hours); err != nil {
		return series{}, fmt.Errorf("application %d: %w", appID, err)
	}
	return s, nil
}

// serviceSeries reads a service's hits over w: its own hourly counters for
// the day, and the sum of its applications' last hours (apps) for the hour.
func (c *Console) serviceSeries(serviceID, metricID int64, apps []appTraffic, w window) (series, error) {
	s := series{hour: make([]int64, hourBars)}
	for _, a := range apps {
		for i, v := range a.series.hour {
			s.hour[i] = composition.AddSaturating(s.hour[i], v)
		}
	}
	var err error
	if s.day, err = c.cfg.Usage.ServiceSums(serviceID, metricID, w.hours); err != nil {
		return series{}, fmt.Errorf("service %d: %w", serviceID, err)
	}
	return s, nil
}
