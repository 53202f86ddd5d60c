package usage

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

// A Madrid month (2026-03-01 00:00 CET to 2026-04-01 00:00 CEST) is the UTC
// hour before it, March whole, and the last UTC day's first 22 hours.
func TestPiecesCoverAZoneMonthWithFewCounters(t *testing.T) {
	got := Pieces(utc("2026-02-28 23:00"), utc("2026-03-31 22:00"))
	want := []Piece{{"hour", utc("2026-02-28 23:00")}, {"day", utc("2026-03-01 00:00")}}
	for d := 2; d <= 30; d++ {
		want = append(want, Piece{"day", time.Date(2026, 3, d, 0, 0, 0, 0, time.UTC)})
	}
	for h := 0; h < 22; h++ {
		want = append(want, Piece{"hour", time.Date(2026, 3, 31, h, 0, 0, 0, time.UTC)})
	}
	assert.Equal(t, want, got)
	assert.Equal(t, []Piece{{"month", utc("2026-03-01 00:00")}, {"hour", utc("2026-04-01 00:00")}},
		Pieces(utc("2026-03-01 00:00"), utc("2026-04-01 01:00")))
}

// Spans on half hours (Asia/Kolkata, +05:30) are floored to the UTC hour:
// consecutive spans neither overlap nor leave a gap.
func TestPiecesFloorHalfHourBoundsToTheHour(t *testing.T) {
	kolkata := time.FixedZone("IST", 5*3600+1800)
	d1 := time.Date(2026, 3, 10, 0, 0, 0, 0, kolkata) // 2026-03-09 18:30 UTC
	d2 := d1.AddDate(0, 0, 1)
	d3 := d2.AddDate(0, 0, 1)
	first, second := Pieces(d1, d2), Pieces(d2, d3)
	assert.Equal(t, Piece{"hour", utc("2026-03-09 18:00")}, first[0])
	assert.Equal(t, Piece{"hour", utc("2026-03-10 17:00")}, first[len(first)-1])
	assert.Equal(t, Piece{"hour", utc("2026-03-10 18:00")}, second[0])
	assert.Empty(t, Pieces(d1, d1.Add(20*time.Minute)), "within one UTC hour: nothing of its own")
	assert.Empty(t, Pieces(d2, d1), "an empty span")
}
