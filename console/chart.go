package console

import (
	"math"
	"strconv"

	"github.com/portolan/portolan/composition"
)

// The geometry of every bar chart, in the SVG's own units (the stylesheet
// scales the drawing to the page's width).
const (
	chartWidth   = 720
	chartHeight  = 200
	chartLeft    = 56 // room for the value labels
	chartRight   = 8
	chartTop     = 12
	chartBottom  = 24 // room for the time labels
	chartMaxTick = 8  // at most this many time labels under the bars
)

// Chart is a bar chart drawn server-side: the template turns it into an
// <svg role="img"> named by Title and a table of the same numbers.
type Chart struct {
	// Title names the chart for assistive technology (<title>, aria-label)
	// and captions its table.
	Title string
	// Width and Height are the SVG's viewBox.
	Width, Height int
	// PlotLeft, PlotRight, PlotTop and PlotBottom bound the bars' area.
	PlotLeft, PlotRight, PlotTop, PlotBottom int
	// Max is the tallest bar's value; Total the sum of all, saturating.
	Max, Total int64
	Bars       []Bar
}

// Bar is one bar: its value, its label (the period it counts) and where it
// is drawn. Tick marks the bars whose label is written under the chart.
type Bar struct {
	Label      string
	Value      int64
	X, Y, W, H int
	// TextX is the centre of the bar, where its tick label is written.
	TextX int
	Tick  bool
}

// MaxLabel is the value written at the top of the value axis.
func (c Chart) MaxLabel() string { return strconv.FormatInt(c.Max, 10) }

// barChart lays out values (one per label) as bars whose heights are
// proportional to the values, the tallest filling the plot. A value above
// zero is at least one unit tall, so no traffic is never confused with a
// little; negative values (which counters never hold) are drawn as zero.
// Heights are computed in float64, so values up to math.MaxInt64 scale
// without overflow.
func barChart(title string, labels []string, values []int64) Chart {
	n := len(values)
	c := Chart{Title: title, Width: chartWidth, Height: chartHeight,
		PlotLeft: chartLeft, PlotRight: chartWidth - chartRight,
		PlotTop: chartTop, PlotBottom: chartHeight - chartBottom}
	if n == 0 {
		return c
	}
	for _, v := range values {
		if v > c.Max {
			c.Max = v
		}
		if v > 0 {
			c.Total = composition.AddSaturating(c.Total, v)
		}
	}
	slot := (c.PlotRight - c.PlotLeft) / n
	if slot < 2 {
		// More bars than the width holds: widen the drawing instead of
		// drawing bars of no width.
		slot = 2
		c.PlotRight = c.PlotLeft + n*slot
		c.Width = c.PlotRight + chartRight
	}
	w := max(1, slot*4/5)
	plotH := c.PlotBottom - c.PlotTop
	every := (n + chartMaxTick - 1) / chartMaxTick
	c.Bars = make([]Bar, n)
	for i, v := range values {
		h := 0
		if v > 0 && c.Max > 0 {
			h = int(math.Round(float64(v) / float64(c.Max) * float64(plotH)))
			h = min(max(h, 1), plotH)
		}
		x := c.PlotLeft + i*slot + (slot-w)/2
		label := ""
		if i < len(labels) {
			label = labels[i]
		}
		c.Bars[i] = Bar{Label: label, Value: max(v, 0), X: x, Y: c.PlotBottom - h, W: w, H: h,
			TextX: x + w/2, Tick: i%every == 0}
	}
	return c
}
