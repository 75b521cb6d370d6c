package scheduler

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Schedules are parsed with robfig/cron's parser (five fields and
// descriptors), but their occurrences are computed here: robfig/cron's
// runner counts @every from when each process added the job (replicas
// would disagree), and its SpecSchedule.Next skips a wall time that does
// not exist on a spring-forward day and fires twice in the repeated hour
// of a fall-back day. A reminder occurrence must be the same instant on
// every replica (it names the claim that lets one replica post it), so:
//
//   - a cron occurrence is a wall-clock time of the schedule's zone mapped
//     to the first instant at which the zone's clocks reach it: an
//     ambiguous time (fall-back) is its first instant, a nonexistent time
//     (spring-forward) is the instant the clocks jump past it;
//   - @every occurrences are anchor + k×interval (k ≥ 1), the anchor being
//     a stored time (when the channel's schedule was set).
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// starBit is robfig/cron's marker of a "*" field (see dayMatches).
const starBit = 1 << 63

// maxSearchDays bounds the search for the next occurrence: eight years
// reach any 29 February.
const maxSearchDays = 8*366 + 1

// Errors matched by every *SpecError.
var (
	// ErrInvalidSpec means the schedule cannot be read.
	ErrInvalidSpec = errors.New("scheduler: invalid schedule")
	// ErrTooFrequent means the schedule is shorter than the minimum interval.
	ErrTooFrequent = errors.New("scheduler: schedule too frequent")
)

// SpecError says why a schedule was refused; its message is for the user
// and includes an example of what works.
type SpecError struct {
	Spec    string
	Problem string
	kind    error
}

// Error says which schedule was refused and why.
func (e *SpecError) Error() string {
	return fmt.Sprintf("%q is not a schedule I can use: %s", e.Spec, e.Problem)
}

// Unwrap lets errors.Is match ErrInvalidSpec or ErrTooFrequent.
func (e *SpecError) Unwrap() error { return e.kind }

const exampleSpec = "Example: `0 9 * * 1-5` (09:00 on weekdays), `@daily`, `@every 4h` or `CRON_TZ=Europe/Lisbon 0 9 * * *`."

func invalidSpec(spec, format string, args ...any) error {
	return &SpecError{Spec: spec, Problem: fmt.Sprintf(format, args...) + " " + exampleSpec, kind: ErrInvalidSpec}
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

// NormalizeSpec trims a schedule as typed: surrounding quotes or
// backticks go, and runs of spaces become one.
func NormalizeSpec(spec string) string {
	s := strings.TrimSpace(spec)
	for len(s) >= 2 && (s[0] == '`' || s[0] == '"' || s[0] == '\'') && s[len(s)-1] == s[0] {
		s = strings.TrimSpace(s[1 : len(s)-1])
	}
	return strings.Join(strings.Fields(s), " ")
}

// Parse reads a schedule: five cron fields (minute hour day-of-month month
// day-of-week), a descriptor (@yearly, @monthly, @weekly, @daily,
// @hourly), or @every <duration>, optionally prefixed CRON_TZ=<zone> (or
// TZ=<zone>). Times are in zone unless the prefix names another.
func Parse(spec string, zone *time.Location) (*Schedule, error) {
	if zone == nil {
		zone = time.UTC
	}
	spec = NormalizeSpec(spec)
	if spec == "" {
		return nil, invalidSpec(spec, "the schedule is empty.")
	}
	s := &Schedule{spec: spec, expr: spec, loc: zone}
	first, rest, _ := strings.Cut(spec, " ")
	if upper := strings.ToUpper(first); strings.HasPrefix(upper, "CRON_TZ=") || strings.HasPrefix(upper, "TZ=") {
		_, name, _ := strings.Cut(first, "=")
		if name == "" {
			return nil, invalidSpec(spec, "CRON_TZ= needs a time zone name, such as CRON_TZ=Europe/Lisbon.")
		}
		loc, err := loadZone(name)
		if err != nil {
			return nil, invalidSpec(spec, "unknown time zone %q: use an IANA name such as Europe/Lisbon, America/New_York or UTC.", name)
		}
		if rest == "" {
			return nil, invalidSpec(spec, "a schedule must follow %s.", first)
		}
		s.loc, s.expr = loc, rest
	}
	if strings.HasPrefix(s.expr, "@") {
		return s, s.parseDescriptor(spec)
	}
	fields := strings.Fields(s.expr)
	if len(fields) != 5 {
		hint := ""
		if len(fields) == 6 {
			hint = " Seconds are not supported."
		}
		return nil, invalidSpec(spec, "a cron schedule has 5 fields (minute hour day-of-month month day-of-week), this one has %d.%s", len(fields), hint)
	}
	sched, err := cronParser.Parse(s.expr)
	if err != nil {
		// Say which field is wrong: parse each alone.
		names := [5]string{"minute", "hour", "day-of-month", "month", "day-of-week"}
		for i := range fields {
			probe := []string{"*", "*", "*", "*", "*"}
			probe[i] = fields[i]
			if _, ferr := cronParser.Parse(strings.Join(probe, " ")); ferr != nil {
				return nil, invalidSpec(spec, "the %s field %q is wrong (%v).", names[i], fields[i], ferr)
			}
		}
		return nil, invalidSpec(spec, "%v.", err)
	}
	s.cron = sched.(*cron.SpecSchedule)
	if s.cronNever() {
		return nil, invalidSpec(spec, "no date ever matches it.")
	}
	return s, nil
}

func loadZone(name string) (*time.Location, error) {
	if strings.EqualFold(name, "local") {
		return nil, errors.New("the local zone is not a fixed zone")
	}
	if strings.EqualFold(name, "utc") {
		return time.UTC, nil
	}
	return time.LoadLocation(name)
}

func (s *Schedule) parseDescriptor(spec string) error {
	word, arg, _ := strings.Cut(s.expr, " ")
	word = strings.ToLower(word)
	if word == "@every" {
		if arg == "" {
			return invalidSpec(spec, "@every needs a duration, such as @every 4h.")
		}
		d, err := time.ParseDuration(strings.ReplaceAll(arg, " ", ""))
		if err != nil {
			return invalidSpec(spec, "%q is not a duration: write a number and a unit, such as 30m, 4h or 1h30m.", arg)
		}
		if d < time.Second {
			return invalidSpec(spec, "the interval must be at least 1s.")
		}
		s.every = d.Truncate(time.Second)
		s.expr = "@every " + formatDuration(s.every)
		return nil
	}
	if arg != "" {
		return invalidSpec(spec, "%s takes nothing after it.", word)
	}
	sched, err := cronParser.Parse(word)
	if err != nil {
		return invalidSpec(spec, "unknown descriptor %s: use @yearly, @monthly, @weekly, @daily, @hourly or @every <duration>.", word)
	}
	s.cron = sched.(*cron.SpecSchedule)
	s.expr = word
	return nil
}

// String returns the schedule as stored.
func (s *Schedule) String() string { return s.spec }

// Expr returns the schedule without its CRON_TZ= prefix.
func (s *Schedule) Expr() string { return s.expr }

// Location returns the zone the schedule's times are in.
func (s *Schedule) Location() *time.Location { return s.loc }

// Every returns the interval of an @every schedule, 0 for others.
func (s *Schedule) Every() time.Duration { return s.every }

// Anchored returns the schedule with @every occurrences counted from
// anchor (truncated to the second); a zero anchor means the Unix epoch.
// Other schedules ignore the anchor.
func (s *Schedule) Anchored(anchor time.Time) *Schedule {
	c := *s
	c.anchor = anchor.Truncate(time.Second)
	return &c
}

// Describe says the schedule and its zone, e.g. "0 9 * * 1-5 (Europe/Lisbon)".
func (s *Schedule) Describe() string {
	return fmt.Sprintf("%s (%s)", s.expr, s.loc)
}

// Next returns the first occurrence strictly after t, the zero time when none within eight years.
func (s *Schedule) Next(t time.Time) time.Time {
	if s.every > 0 {
		a := s.anchor
		if a.IsZero() {
			a = time.Unix(0, 0)
		}
		if t.Before(a) {
			return a.Add(s.every).In(s.loc)
		}
		k := t.Sub(a)/s.every + 1
		return a.Add(k * s.every).In(s.loc)
	}
	return s.nextCron(t)
}

// civil is a wall-clock time as seconds since 1970-01-01 00:00 of its own
// calendar, whatever the zone (the Unix time of the same reading in UTC).
func civil(t time.Time) int64 {
	y, m, d := t.Date()
	h, mi, sec := t.Clock()
	return time.Date(y, m, d, h, mi, sec, 0, time.UTC).Unix()
}

// resolve maps a wall-clock time of loc to the first instant at which
// loc's clocks show it or a later time: the earlier instant of an
// ambiguous reading, the end of the gap for a reading that a
// spring-forward change skips.
func resolve(wall int64, loc *time.Location) time.Time {
	var offsets []int
	for _, probe := range []int64{wall - 86400, wall, wall + 86400} {
		_, off := time.Unix(probe, 0).In(loc).Zone()
		if !containsInt(offsets, off) {
			offsets = append(offsets, off)
		}
	}
	var best, latest int64
	found := false
	for i, off := range offsets {
		u := wall - int64(off)
		if i == 0 || u > latest {
			latest = u
		}
		if _, o := time.Unix(u, 0).In(loc).Zone(); o == off && (!found || u < best) {
			best, found = u, true
		}
	}
	if found {
		return time.Unix(best, 0).In(loc)
	}
	// In a gap: the clocks jump past wall when the zone in effect at the
	// latest candidate begins.
	start, _ := time.Unix(latest, 0).In(loc).ZoneBounds()
	if start.IsZero() {
		return time.Unix(latest, 0).In(loc)
	}
	return start.In(loc)
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// dayMatches applies cron's day rule: when either day field is "*" both
// must match, else either may.
func (s *Schedule) dayMatches(day time.Time) bool {
	c := s.cron
	if c.Month&(1<<uint(day.Month())) == 0 {
		return false
	}
	dom := c.Dom&(1<<uint(day.Day())) != 0
	dow := c.Dow&(1<<uint(day.Weekday())) != 0
	if c.Dom&starBit != 0 || c.Dow&starBit != 0 {
		return dom && dow
	}
	return dom || dow
}

// eachWall calls f with the wall-clock times (civil seconds) of the
// schedule on day, in order, until f returns false; it reports whether f
// asked to stop.
func (s *Schedule) eachWall(day time.Time, f func(wall int64) bool) bool {
	base := day.Unix()
	for h := int64(0); h < 24; h++ {
		if s.cron.Hour&(1<<uint(h)) == 0 {
			continue
		}
		for m := int64(0); m < 60; m++ {
			if s.cron.Minute&(1<<uint(m)) == 0 {
				continue
			}
			if !f(base + h*3600 + m*60) {
				return true
			}
		}
	}
	return false
}

func (s *Schedule) nextCron(t time.Time) time.Time {
	lt := t.In(s.loc)
	after := civil(lt)
	y, m, d := lt.Date()
	day0 := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	var found time.Time
	for i := range maxSearchDays {
		day := day0.AddDate(0, 0, i)
		if !s.dayMatches(day) {
			continue
		}
		stopped := s.eachWall(day, func(wall int64) bool {
			// A reading at or before t's own is reached by t already.
			if wall <= after {
				return true
			}
			if u := resolve(wall, s.loc); u.After(t) {
				found = u
				return false
			}
			return true
		})
		if stopped {
			return found
		}
	}
	return time.Time{}
}

// cronNever reports whether no date matches within eight years.
func (s *Schedule) cronNever() bool {
	day0 := time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range maxSearchDays {
		if s.dayMatches(day0.AddDate(0, 0, i)) {
			return false
		}
	}
	return true
}

// ShortestInterval is the shortest gap between consecutive occurrences,
// counted in wall-clock time over the year from `from` (so daylight-saving
// days do not change it); an @every schedule's interval. It stops early
// once a gap below stopBelow is seen. A schedule with one occurrence a
// year or less reports a year.
func (s *Schedule) ShortestInterval(from time.Time, stopBelow time.Duration) time.Duration {
	if s.every > 0 {
		return s.every
	}
	const year = 366 * 24 * time.Hour
	shortest := year
	lt := from.In(s.loc)
	y, m, d := lt.Date()
	day0 := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	prev := int64(-1)
	for i := range 367 {
		day := day0.AddDate(0, 0, i)
		if !s.dayMatches(day) {
			continue
		}
		if s.eachWall(day, func(wall int64) bool {
			if prev >= 0 {
				if gap := time.Duration(wall-prev) * time.Second; gap < shortest {
					shortest = gap
				}
			}
			prev = wall
			return shortest >= stopBelow
		}) {
			break
		}
	}
	return shortest
}

// checkInterval refuses a schedule more frequent than min.
func checkInterval(s *Schedule, from time.Time, min time.Duration) error {
	if min <= 0 {
		return nil
	}
	if gap := s.ShortestInterval(from, min); gap < min {
		return &SpecError{Spec: s.spec, kind: ErrTooFrequent, Problem: fmt.Sprintf(
			"it would remind as often as every %s; the shortest interval allowed here is %s (UPGRADEBOT_MIN_REMINDER_INTERVAL). Example: `@every %s` or `0 9 * * 1-5`.",
			formatDuration(gap), formatDuration(min), formatDuration(max(min, time.Hour).Round(time.Hour)))}
	}
	return nil
}

// Validate parses spec in zone and refuses it when more frequent than min
// (min ≤ 0 checks nothing), as /upgrade remind does.
func Validate(spec string, zone *time.Location, min time.Duration) error {
	s, err := Parse(spec, zone)
	if err != nil {
		return err
	}
	return checkInterval(s, time.Now(), min)
}

// formatDuration writes a duration compactly, as time.ParseDuration reads
// it: 15m, 1h30m, 48h, 45s.
func formatDuration(d time.Duration) string {
	if d <= 0 {
		return "0s"
	}
	var b strings.Builder
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dh", h)
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dm", m)
		d -= m * time.Minute
	}
	if sec := d / time.Second; sec > 0 || b.Len() == 0 {
		fmt.Fprintf(&b, "%ds", sec)
	}
	return b.String()
}
