package console

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func plotHeight(c Chart) int { return c.PlotBottom - c.PlotTop }

func TestBarChartHeightsAreProportional(t *testing.T) {
	c := barChart("t", []string{"a", "b", "c", "d"}, []int64{10, 20, 40, 0})
	require.Len(t, c.Bars, 4)
	h := plotHeight(c)
	assert.Equal(t, []int{h / 4, h / 2, h, 0}, heights(c), "plot height %d", h)
	assert.Equal(t, int64(40), c.Max)
	assert.Equal(t, int64(70), c.Total)
	for i, b := range c.Bars {
		assert.Equal(t, c.PlotBottom, b.Y+b.H, "bar %d stands on the axis", i)
		if i > 0 {
			assert.Greater(t, b.X, c.Bars[i-1].X+c.Bars[i-1].W, "bar %d does not touch the one before", i)
		}
	}
	assert.Equal(t, "b", c.Bars[1].Label)
	assert.Equal(t, "40", c.MaxLabel())
}

func TestBarChartOfNothing(t *testing.T) {
	c := barChart("quiet", []string{"a", "b", "c"}, []int64{0, 0, 0})
	assert.Equal(t, []int{0, 0, 0}, heights(c), "no traffic draws no bar")
	assert.Equal(t, int64(0), c.Max)
	assert.Equal(t, int64(0), c.Total)
	for _, b := range c.Bars {
		assert.Equal(t, c.PlotBottom, b.Y)
	}
	empty := barChart("none", nil, nil)
	assert.Empty(t, empty.Bars)
	assert.Equal(t, chartWidth, empty.Width)
}

func TestBarChartKeepsSmallValuesVisibleBesideAHugeOne(t *testing.T) {
	c := barChart("spike", nil, []int64{1, 2, 1_000_000_000_000_000, 0})
	assert.Equal(t, []int{1, 1, plotHeight(c), 0}, heights(c), "a little traffic is one unit tall, never none")
	assert.Equal(t, "", c.Bars[0].Label, "missing labels are empty")
}

func TestBarChartSaturatesAtTheLargestCounter(t *testing.T) {
	c := barChart("max", nil, []int64{math.MaxInt64, math.MaxInt64, 5, -7})
	assert.Equal(t, int64(math.MaxInt64), c.Total, "the total saturates instead of wrapping")
	assert.Equal(t, int64(math.MaxInt64), c.Max)
	assert.Equal(t, []int{plotHeight(c), plotHeight(c), 1, 0}, heights(c))
	assert.Equal(t, int64(0), c.Bars[3].Value, "a negative value is drawn as zero")
}

func TestBarChartWidensForManyBars(t *testing.T) {
	values := make([]int64, 1000)
	for i := range values {
		values[i] = int64(i)
	}
	c := barChart("many", nil, values)
	require.Len(t, c.Bars, 1000)
	ticks := 0
	for i, b := range c.Bars {
		assert.GreaterOrEqual(t, b.W, 1)
		if i > 0 {
			assert.Greater(t, b.X, c.Bars[i-1].X, "bars advance")
		}
		if b.Tick {
			ticks++
		}
	}
	last := c.Bars[999]
	assert.LessOrEqual(t, last.X+last.W, c.PlotRight, "the last bar fits the plot")
	assert.LessOrEqual(t, c.PlotRight, c.Width)
	assert.LessOrEqual(t, ticks, chartMaxTick, "time labels do not crowd")
	assert.Equal(t, plotHeight(c), last.H)
}

func heights(c Chart) []int {
	out := make([]int, len(c.Bars))
	for i, b := range c.Bars {
		out[i] = b.H
	}
	return out
}
