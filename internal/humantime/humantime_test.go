package humantime

import (
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	lisbon, err := time.LoadLocation("Europe/Lisbon")
	if err != nil {
		t.Skip(err)
	}
	now := time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		t      time.Time
		loc    *time.Location
		layout string
		want   string
	}{
		{time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC), time.UTC, "Mon 2 Jan 15:04 MST", "Thu 1 Jan 09:00 UTC"},
		{time.Date(2025, 12, 29, 10, 0, 0, 0, time.UTC), time.UTC, "Mon 2 Jan 15:04 MST", "Mon 29 Dec 2025 10:00 UTC"},
		{time.Date(2024, 12, 30, 10, 0, 0, 0, time.UTC), time.UTC, "2 Jan 15:04 MST", "30 Dec 2024 10:00 UTC"},
		{time.Date(2024, 12, 30, 10, 0, 0, 0, time.UTC), time.UTC, "Jan 2 15:04 MST", "Dec 30 2024 10:00 UTC"},
		{time.Date(2024, 12, 30, 10, 0, 0, 0, time.UTC), time.UTC, "Jan 2\n15:04", "Dec 30 2024\n10:00"},
		{time.Date(2027, 3, 1, 9, 0, 0, 0, time.UTC), time.UTC, "Mon 2 Jan 15:04", "Mon 1 Mar 2027 09:00"},
		// The year is the zone's: New Year's Eve at 23:30 UTC is already
		// the new year in Tokyo, and now is still the old one there.
		{time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC), time.FixedZone("JST", 9*3600), "2 Jan 15:04 MST", "1 Jan 08:30 JST"},
		{time.Date(2025, 12, 31, 23, 30, 0, 0, time.UTC), lisbon, "2 Jan 15:04 MST", "31 Dec 2025 23:30 WET"},
	} {
		if got := Format(tc.t, now, tc.loc, tc.layout); got != tc.want {
			t.Errorf("Format(%v, %q) = %q, want %q", tc.t, tc.layout, got, tc.want)
		}
	}
}
