// Package humantime writes times for people. A date names its year only
// when it is not the current one: an upgrade tracked for months crosses a
// new year, and "30 Dec" alone would then be read as this year's.
package humantime

import (
	"strings"
	"time"
)

// withYear puts the year after the day and month of a layout.
var withYear = strings.NewReplacer("2 Jan", "2 Jan 2006", "Jan 2", "Jan 2 2006")

// Format writes t in loc with layout, a time.Format layout without a year
// that names the day and month as "2 Jan" or "Jan 2". When t's year in loc
// is not now's, the year follows them: "Mon 30 Dec 2024 10:00".
func Format(t, now time.Time, loc *time.Location, layout string) string {
	if t = t.In(loc); t.Year() != now.In(loc).Year() {
		layout = withYear.Replace(layout)
	}
	return t.Format(layout)
}
