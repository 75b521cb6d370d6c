package scheduler

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func TestParseInvalid(t *testing.T) {
	for _, tc := range []struct {
		spec string
		want []string // substrings of the message
	}{
		{"   ", []string{"empty"}},
		{"0 9 * *", []string{"5 fields", "has 4", "Example: `0 9 * * 1-5`"}},
		{"0 0 9 * * 1-5", []string{"has 6", "Seconds are not supported"}},
		{"61 9 * * *", []string{"minute field", `"61"`, "use 0–59"}},
		{"0 25 * * *", []string{"hour field", `"25"`, "use 0–23"}},
		{"0 9 * * mon-fry", []string{`the day-of-week field "mon-fry" is not valid: use 0–6 or sun–sat (1-5 or mon-fri: weekdays)`}},
		{"0 9 * * 1-5/0", []string{"day-of-week field"}},
		{"0 9 0 * *", []string{"day-of-month field"}},
		{"0 9 * 13 *", []string{"month field"}},
		{"0 9 * * mon-funday", []string{"day-of-week field"}},
		{"0 9 30 2 *", []string{"no date ever matches"}},
		{"@fortnightly", []string{"unknown descriptor @fortnightly", "@every <duration>"}},
		{"@daily 9", []string{"takes nothing after it"}},
		{"@every", []string{"needs a duration"}},
		{"@every 4 hours", []string{`"4 hours" is not a duration`, "1h30m"}},
		{"@every 500ms", []string{"at least 1s"}},
		{"CRON_TZ=Mars/Olympus 0 9 * * *", []string{`unknown time zone "Mars/Olympus"`, "IANA"}},
		{"CRON_TZ= 0 9 * * *", []string{"needs a time zone name"}},
		{"CRON_TZ=Europe/Lisbon", []string{"a schedule must follow"}},
		{"TZ=Local 0 9 * * *", []string{"unknown time zone"}},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			_, err := Parse(tc.spec, time.UTC)
			if err == nil {
				t.Fatalf("Parse(%q) accepted it", tc.spec)
			}
			if !errors.Is(err, ErrInvalidSpec) {
				t.Errorf("error %v is not ErrInvalidSpec", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "strconv") || strings.Contains(err.Error(), "failed to parse") {
				t.Errorf("error %q shows the parser's own words", err)
			}
			if !strings.Contains(err.Error(), "Example:") {
				t.Errorf("error %q has no example", err)
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	lisbon := mustZone(t, "Europe/Lisbon")
	for _, tc := range []struct {
		spec, expr, zone string
	}{
		{"0 9 * * 1-5", "0 9 * * 1-5", "UTC"},
		{"  `0  9 * * MON-FRI`  ", "0 9 * * MON-FRI", "UTC"},
		{"@Daily", "@daily", "UTC"},
		{"@every 90m", "@every 1h30m", "UTC"},
		{"CRON_TZ=Europe/Lisbon 0 9 * * *", "0 9 * * *", "Europe/Lisbon"},
		{"cron_tz=America/New_York @hourly", "@hourly", "America/New_York"},
		{"TZ=UTC */30 * * * *", "*/30 * * * *", "UTC"},
	} {
		s, err := Parse(tc.spec, time.UTC)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.spec, err)
			continue
		}
		if s.expr != tc.expr || s.loc.String() != tc.zone {
			t.Errorf("Parse(%q) = %q in %s, want %q in %s", tc.spec, s.expr, s.loc, tc.expr, tc.zone)
		}
	}
	// The default zone applies without a prefix.
	s, err := Parse("0 9 * * *", lisbon)
	if err != nil || s.Describe() != "0 9 * * * (Europe/Lisbon)" {
		t.Errorf("Describe = %q, %v", s.Describe(), err)
	}
}

func TestCronTZPrefix(t *testing.T) {
	s, err := Parse("CRON_TZ=America/New_York 0 9 * * *", mustZone(t, "Europe/Lisbon"))
	if err != nil {
		t.Fatal(err)
	}
	// 09:00 in New York: 14:00 UTC in winter, 13:00 UTC in summer.
	for _, tc := range []struct{ after, want string }{
		{"2024-01-15T00:00:00Z", "2024-01-15T14:00:00Z"},
		{"2024-07-15T00:00:00Z", "2024-07-15T13:00:00Z"},
		{"2024-07-15T13:00:00Z", "2024-07-16T13:00:00Z"},
	} {
		after, _ := time.Parse(time.RFC3339, tc.after)
		if got := s.Next(after).UTC().Format(time.RFC3339); got != tc.want {
			t.Errorf("Next(%s) = %s, want %s", tc.after, got, tc.want)
		}
	}
}

func TestMinInterval(t *testing.T) {
	for _, tc := range []struct {
		spec string
		min  time.Duration
		ok   bool
	}{
		{"0 9 * * 1-5", 15 * time.Minute, true},
		{"*/15 * * * *", 15 * time.Minute, true},
		{"*/10 * * * *", 15 * time.Minute, false},
		{"* * * * *", 15 * time.Minute, false},
		{"0,5 9 * * *", 15 * time.Minute, false},              // 09:00 and 09:05
		{"55 23 * * *", 24 * time.Hour, true},                 // daily: exactly a day
		{"0 0,23 * * *", 2 * time.Hour, false},                // 23:00 then 00:00 the next day
		{"0 9 31 12 *", 24 * time.Hour, true},                 // yearly
		{"0 9 1,31 * *", 24 * time.Hour, true},                // 31 → 1 over month ends, at least a day
		{"0 9 1,31 * *", 25 * time.Hour, false},               // … and exactly a day
		{"@hourly", time.Hour, true},                          //
		{"@hourly", 61 * time.Minute, false},                  //
		{"@every 10m", 15 * time.Minute, false},               //
		{"@every 15m", 15 * time.Minute, true},                //
		{"CRON_TZ=Europe/Lisbon 30 1 * * *", time.Hour, true}, // DST days do not shorten it
	} {
		_, err := Validate(tc.spec, time.UTC, tc.min, time.Date(2024, 11, 20, 10, 0, 0, 0, time.UTC))
		if tc.ok && err != nil {
			t.Errorf("Validate(%q, min %s): %v", tc.spec, tc.min, err)
		}
		if !tc.ok {
			if !errors.Is(err, ErrTooFrequent) {
				t.Errorf("Validate(%q, min %s) = %v, want ErrTooFrequent", tc.spec, tc.min, err)
			} else if !strings.Contains(err.Error(), "shortest interval allowed here is") || !strings.Contains(err.Error(), "Example:") {
				t.Errorf("message %q", err)
			}
		}
	}
}

// dstCase is a schedule around a daylight-saving change.
type dstCase struct {
	name string
	spec string
	from string   // UTC, before the change
	want []string // the next occurrences, UTC
}

// dstCases cross spring-forward (the wall time does not exist that day)
// and fall-back (it happens twice) in Lisbon and New York.
var dstCases = []dstCase{
	{"lisbon spring 01:00", "CRON_TZ=Europe/Lisbon 0 1 * * *", "2024-03-29T12:00:00Z",
		// 31 March: 01:00 does not exist; clocks jump 01:00 WET → 02:00 WEST at 01:00 UTC.
		[]string{"2024-03-30T01:00:00Z", "2024-03-31T01:00:00Z", "2024-04-01T00:00:00Z", "2024-04-02T00:00:00Z"}},
	{"lisbon spring 01:30", "CRON_TZ=Europe/Lisbon 30 1 * * *", "2024-03-29T12:00:00Z",
		[]string{"2024-03-30T01:30:00Z", "2024-03-31T01:00:00Z", "2024-04-01T00:30:00Z"}},
	{"lisbon fall 01:30", "CRON_TZ=Europe/Lisbon 30 1 * * *", "2024-10-25T12:00:00Z",
		// 27 October: 01:30 happens at 00:30 UTC (WEST) and 01:30 UTC (WET); only the first.
		[]string{"2024-10-26T00:30:00Z", "2024-10-27T00:30:00Z", "2024-10-28T01:30:00Z"}},
	{"lisbon fall 01:00", "CRON_TZ=Europe/Lisbon 0 1 * * *", "2024-10-25T12:00:00Z",
		[]string{"2024-10-26T00:00:00Z", "2024-10-27T00:00:00Z", "2024-10-28T01:00:00Z"}},
	{"new york spring 02:30", "CRON_TZ=America/New_York 30 2 * * *", "2024-03-08T12:00:00Z",
		// 10 March: 02:30 does not exist; clocks jump 02:00 EST → 03:00 EDT at 07:00 UTC.
		[]string{"2024-03-09T07:30:00Z", "2024-03-10T07:00:00Z", "2024-03-11T06:30:00Z"}},
	{"new york fall 01:30", "CRON_TZ=America/New_York 30 1 * * *", "2024-11-01T12:00:00Z",
		[]string{"2024-11-02T05:30:00Z", "2024-11-03T05:30:00Z", "2024-11-04T06:30:00Z"}},
	{"new york fall 02:30", "CRON_TZ=America/New_York 30 2 * * *", "2024-11-01T12:00:00Z",
		[]string{"2024-11-02T06:30:00Z", "2024-11-03T07:30:00Z", "2024-11-04T07:30:00Z"}},
	{"new york spring hourly", "CRON_TZ=America/New_York 0 1-4 * * *", "2024-03-10T05:30:00Z",
		// 01:00 EST, then 02:00 (missing) and 03:00 are both 03:00 EDT: one reminder, then 04:00.
		[]string{"2024-03-10T06:00:00Z", "2024-03-10T07:00:00Z", "2024-03-10T08:00:00Z", "2024-03-11T05:00:00Z"}},
}

func TestNextAcrossDaylightSaving(t *testing.T) {
	for _, tc := range dstCases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.spec, time.UTC)
			if err != nil {
				t.Fatal(err)
			}
			at, _ := time.Parse(time.RFC3339, tc.from)
			for i, w := range tc.want {
				at = s.Next(at)
				if got := at.UTC().Format(time.RFC3339); got != w {
					t.Fatalf("occurrence %d = %s (%s), want %s", i, got, at, w)
				}
			}
		})
	}
}

// TestRobfigCronDST documents why occurrences are computed here: robfig's
// own Next skips the spring-forward day and fires twice on the fall-back day.
func TestRobfigCronDST(t *testing.T) {
	count := func(spec, from string, day string) int {
		s, err := cron.ParseStandard(spec)
		if err != nil {
			t.Fatal(err)
		}
		at, _ := time.Parse(time.RFC3339, from)
		n := 0
		for range 6 {
			at = s.Next(at)
			if at.In(s.(*cron.SpecSchedule).Location).Format("2006-01-02") == day {
				n++
			}
		}
		return n
	}
	if n := count("CRON_TZ=America/New_York 30 2 * * *", "2024-03-08T12:00:00Z", "2024-03-10"); n != 0 {
		t.Errorf("robfig/cron ran %d times on the spring-forward day; this test expects its known skip", n)
	}
	if n := count("CRON_TZ=America/New_York 30 1 * * *", "2024-11-01T12:00:00Z", "2024-11-03"); n != 2 {
		t.Errorf("robfig/cron ran %d times on the fall-back day; this test expects its known repeat", n)
	}
}

func TestEveryAnchored(t *testing.T) {
	anchor := time.Date(2024, 11, 20, 10, 0, 7, 123e6, time.UTC)
	s, err := Parse("@every 4h", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	a := s.Anchored(anchor)
	// Whatever moment a replica asks from, the occurrences are anchor + k×4h.
	for _, from := range []time.Time{anchor, anchor.Add(time.Minute), anchor.Add(3*time.Hour + 59*time.Minute)} {
		if got, want := a.Next(from), time.Date(2024, 11, 20, 14, 0, 7, 0, time.UTC); !got.Equal(want) {
			t.Errorf("Next(%s) = %s, want %s", from, got, want)
		}
	}
	if got, want := a.Next(anchor.Add(4*time.Hour)), time.Date(2024, 11, 20, 18, 0, 7, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Next at an occurrence = %s, want %s", got, want)
	}
	if got, want := a.Next(anchor.Add(-time.Hour)), time.Date(2024, 11, 20, 14, 0, 7, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Next before the anchor = %s, want %s", got, want)
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		15 * time.Minute: "15m", 90 * time.Minute: "1h30m", 48 * time.Hour: "48h", 45 * time.Second: "45s", 0: "0s",
	} {
		if got := formatDuration(d); got != want {
			t.Errorf("formatDuration(%s) = %q, want %q", d, got, want)
		}
		if d > 0 {
			if back, err := time.ParseDuration(formatDuration(d)); err != nil || back != d {
				t.Errorf("ParseDuration(%q) = %s, %v", formatDuration(d), back, err)
			}
		}
	}
}
