package scheduler

import (
	"cmp"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// robfig/cron parses schedules and finds their wall-clock times (in UTC,
// where no clock jumps). An occurrence must be the same instant on every
// replica (it names the claim), and robfig's own Next skips a time that
// spring-forward skips and repeats a fall-back's hour, and counts @every
// from when each process added the job. So a wall time is mapped here to
// the first instant the zone's clocks reach it, and @every occurrences are
// anchor + k×interval, the anchor being when the schedule was set.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Errors of refused schedules; their messages are for the user.
var (
	ErrInvalidSpec = errors.New("scheduler: invalid schedule")
	ErrTooFrequent = errors.New("scheduler: schedule too frequent")
)

// specError says which schedule was refused and why, with an example that works.
type specError struct {
	spec, problem string
	kind          error // ErrInvalidSpec or ErrTooFrequent
}

func (e *specError) Error() string {
	return fmt.Sprintf("%q is not a schedule I can use: %s", e.spec, e.problem)
}
func (e *specError) Unwrap() error { return e.kind }

func invalidSpec(spec, format string, args ...any) error {
	return &specError{spec, fmt.Sprintf(format, args...) +
		" Example: `0 9 * * 1-5` (09:00 on weekdays), `@daily`, `@every 4h` or `CRON_TZ=Europe/Lisbon 0 9 * * *`.", ErrInvalidSpec}
}

// Schedule is a parsed reminder or digest schedule.
type Schedule struct {
	spec   string         // normalized, as stored
	expr   string         // spec without its CRON_TZ= prefix
	loc    *time.Location // CRON_TZ zone, else the default zone
	every  time.Duration  // > 0 for @every
	cron   *cron.SpecSchedule
	anchor time.Time // @every counts from here
}

// NormalizeSpec trims a schedule as typed: quotes or backticks around it go, runs of spaces become one.
func NormalizeSpec(spec string) string {
	s := strings.TrimSpace(spec)
	for len(s) >= 2 && strings.ContainsRune("`\"'", rune(s[0])) && s[len(s)-1] == s[0] {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	return strings.Join(strings.Fields(s), " ")
}

// Parse reads five cron fields, a descriptor (@daily, …) or @every <duration>,
// optionally prefixed CRON_TZ=<zone> (or TZ=); times are in zone unless it names another.
func Parse(spec string, zone *time.Location) (*Schedule, error) {
	spec = NormalizeSpec(spec)
	if spec == "" {
		return nil, invalidSpec(spec, "the schedule is empty.")
	}
	s := &Schedule{spec: spec, expr: spec, loc: cmp.Or(zone, time.UTC)}
	first, rest, _ := strings.Cut(spec, " ")
	if upper := strings.ToUpper(first); strings.HasPrefix(upper, "CRON_TZ=") || strings.HasPrefix(upper, "TZ=") {
		_, name, _ := strings.Cut(first, "=")
		if name == "" {
			return nil, invalidSpec(spec, "CRON_TZ= needs a time zone name, such as CRON_TZ=Europe/Lisbon.")
		}
		loc, err := time.LoadLocation(name)
		if strings.EqualFold(name, "utc") {
			loc, err = time.UTC, nil
		}
		if err != nil || loc == time.Local {
			return nil, invalidSpec(spec, "unknown time zone %q: use an IANA name such as Europe/Lisbon, America/New_York or UTC.", name)
		}
		if rest == "" {
			return nil, invalidSpec(spec, "a schedule must follow %s.", first)
		}
		s.loc, s.expr = loc, rest
	}
	word, arg, _ := strings.Cut(s.expr, " ")
	fields := strings.Fields(s.expr)
	switch word = strings.ToLower(word); {
	case word == "@every":
		d, err := time.ParseDuration(strings.ReplaceAll(arg, " ", ""))
		switch {
		case arg == "":
			return nil, invalidSpec(spec, "@every needs a duration, such as @every 4h.")
		case err != nil:
			return nil, invalidSpec(spec, "%q is not a duration: write a number and a unit, such as 30m, 4h or 1h30m.", arg)
		case d < time.Second:
			return nil, invalidSpec(spec, "the interval must be at least 1s.")
		}
		s.every = d.Truncate(time.Second)
		s.expr = "@every " + formatDuration(s.every)
		return s, nil
	case strings.HasPrefix(word, "@") && arg != "":
		return nil, invalidSpec(spec, "%s takes nothing after it.", word)
	case strings.HasPrefix(word, "@"):
		if _, err := cronParser.Parse(word); err != nil {
			return nil, invalidSpec(spec, "unknown descriptor %s: use @yearly, @monthly, @weekly, @daily, @hourly or @every <duration>.", word)
		}
		s.expr = word
	case len(fields) != 5:
		hint := map[bool]string{true: " Seconds are not supported."}[len(fields) == 6]
		return nil, invalidSpec(spec, "a cron schedule has 5 fields (minute hour day-of-month month day-of-week), this one has %d.%s", len(fields), hint)
	}
	sched, err := cronParser.Parse(s.expr)
	if err != nil {
		// Say which field is wrong: parse each alone.
		for i, f := range [][2]string{{"minute", "0–59"}, {"hour", "0–23"}, {"day-of-month", "1–31"}, {"month", "1–12 or jan–dec"}, {"day-of-week", "0–6 or sun–sat (1-5 or mon-fri: weekdays)"}} {
			probe := []string{"*", "*", "*", "*", "*"}
			probe[i] = fields[i]
			if _, ferr := cronParser.Parse(strings.Join(probe, " ")); ferr != nil {
				return nil, invalidSpec(spec, "the %s field %q is not valid: use %s, a range (a-b), a list (a,b), a step (*/2) or *.", f[0], fields[i], f[1])
			}
		}
		return nil, invalidSpec(spec, "%v.", err)
	}
	c := *sched.(*cron.SpecSchedule)
	c.Location = time.UTC // robfig finds wall times (see cronParser)
	if c.Next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, invalidSpec(spec, "no date ever matches it.")
	}
	s.cron = &c
	return s, nil
}

// Describe says the schedule and its zone, e.g. "0 9 * * 1-5 (Europe/Lisbon)".
func (s *Schedule) Describe() string { return fmt.Sprintf("%s (%s)", s.expr, s.loc) }

// Anchored returns the schedule with @every occurrences counted from
// anchor (to the second; zero: the Unix epoch). Cron schedules ignore it.
func (s *Schedule) Anchored(anchor time.Time) *Schedule {
	c := *s
	c.anchor = anchor.Truncate(time.Second)
	return &c
}

// Next returns the first occurrence strictly after t, the zero time when none within five years.
func (s *Schedule) Next(t time.Time) time.Time {
	if s.every > 0 {
		a := s.anchor
		if a.IsZero() {
			a = time.Unix(0, 0)
		}
		k := max(t.Sub(a)/s.every+1, 1)
		return a.Add(k * s.every).In(s.loc)
	}
	// The first wall time after t's reading whose first instant is after t
	// (a reading of a repeated hour is reached once).
	for wall := civil(t.In(s.loc)); ; {
		if wall = s.cron.Next(wall); wall.IsZero() {
			return wall
		}
		if u := resolve(wall, s.loc); u.After(t) {
			return u
		}
	}
}

// civil is t's wall-clock reading as the same reading in UTC.
func civil(t time.Time) time.Time {
	y, m, d := t.Date()
	h, mi, sec := t.Clock()
	return time.Date(y, m, d, h, mi, sec, 0, time.UTC)
}

// resolve maps a wall time (as the same reading in UTC) to the first instant
// loc's clocks show it or later: an ambiguous reading's first, a skipped one's gap end.
func resolve(wall time.Time, loc *time.Location) time.Time {
	t := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), 0, loc)
	start, end := t.ZoneBounds()
	switch c := civil(t); {
	case c.Before(wall): // in a gap, read in the zone before it
		return end
	case c.After(wall): // in a gap, read in the zone after it
		return start
	case start.IsZero():
		return t
	}
	// The reading may also exist in the zone before t's (a repeated hour).
	_, off := start.Add(-time.Second).Zone()
	if u := wall.Add(-time.Duration(off) * time.Second).In(loc); u.Before(t) && civil(u).Equal(wall) {
		return u
	}
	return t
}

// shortestInterval is the shortest gap between occurrences in wall-clock time (so
// daylight saving does not shorten it) over the year from `from`, or the first below stopBelow.
func (s *Schedule) shortestInterval(from time.Time, stopBelow time.Duration) time.Duration {
	if s.every > 0 {
		return s.every
	}
	const year = 366 * 24 * time.Hour
	shortest, start := year, civil(from.In(s.loc))
	for prev := s.cron.Next(start); shortest >= stopBelow && prev.Sub(start) < year; {
		next := s.cron.Next(prev)
		if next.IsZero() {
			break
		}
		shortest, prev = min(shortest, next.Sub(prev)), next
	}
	return shortest
}

// Validate parses spec in zone and refuses it when more frequent than min
// over the year from `from` (min ≤ 0 checks nothing), as /upgrade remind does.
func Validate(spec string, zone *time.Location, min time.Duration, from time.Time) (*Schedule, error) {
	s, err := Parse(spec, zone)
	if err != nil || min <= 0 {
		return s, err
	}
	if gap := s.shortestInterval(from, min); gap < min {
		return nil, &specError{kind: ErrTooFrequent, spec: s.spec, problem: fmt.Sprintf(
			"it would remind as often as every %s; the shortest interval allowed here is %s (UPGRADEBOT_MIN_REMINDER_INTERVAL). Example: `@every %s` or `0 9 * * 1-5`.",
			formatDuration(gap), formatDuration(min), formatDuration(max(min, time.Hour).Round(time.Hour)))}
	}
	return s, nil
}

// formatDuration writes a duration as time.ParseDuration reads it, without zero units: 15m, 1h30m, 48h.
func formatDuration(d time.Duration) string {
	s := d.String()
	for _, zeros := range []string{"m0s", "h0m"} {
		if strings.HasSuffix(s, zeros) {
			s = s[:len(s)-2]
		}
	}
	return s
}
