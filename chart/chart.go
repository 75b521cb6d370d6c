// Package chart draws an environment's burn-down chart: the modules left to
// republish over time, and the preparation's percent while it runs. It is
// pure: samples in, PNG bytes and alt text out. Fonts are gonum/plot's
// embedded Liberation fonts, so no system font is needed.
package chart

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"image/color"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/upgradebot/upgradebot/internal/humantime"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Sample is the state of an upgrade at one moment, taken from its history.
type Sample struct {
	At time.Time
	// Counted says the module counts below are known: the preparation's
	// summary came, or modules were named. Before that only Percent is drawn.
	Counted      bool
	FailedLeft   int // modules named failed still to republish
	SkippedLeft  int // modules named skipped still to republish
	ReportedLeft int // modules other messages reported (not upgraded, a producer not prepared) still to republish
	// UnnamedLeft is how many failed or skipped modules Service Center
	// counted beyond those named so far.
	UnnamedLeft int
	// Left is every module still to republish: the four counts above. A
	// sample kept before ReportedLeft and UnnamedLeft were has them 0; the
	// rest of its Left is neither failed nor skipped by name.
	Left    int
	Percent *int // the preparation's percent while it runs; nil otherwise
}

// Options say what to draw around the samples.
type Options struct {
	Title string         // e.g. "prod → 11.31.0"
	Until time.Time      // the right end of the time axis ("now"); zero: the last sample
	Zone  *time.Location // the zone of the times shown (the bot's); nil: UTC
	// Now is the bot's clock: a date in another year names its year.
	// Zero: Until.
	Now time.Time
	// Width and height in pixels; zero means 960×540, whose 16-point labels
	// stay readable when Slack shows the image 360 pixels high.
	Width, Height int

	hideLegend bool // tests: lay the legend out but draw it nowhere, to tell its pixels from the data's
}

// Chart is a drawn burn-down chart.
type Chart struct {
	PNG []byte
	Alt string // the chart in words, for the image block's alt text
}

var (
	colorLeft     = color.RGBA{R: 0x1d, G: 0x1c, B: 0x1d, A: 0xff}
	colorFailed   = color.RGBA{R: 0xe0, G: 0x1e, B: 0x5a, A: 0xff}
	colorSkipped  = color.RGBA{R: 0xec, G: 0xb2, B: 0x2e, A: 0xff}
	colorPercent  = color.RGBA{R: 0x36, G: 0xc5, B: 0xf0, A: 0xff}
	colorReported = color.RGBA{R: 0x2e, G: 0xb6, B: 0x7d, A: 0xff}
	colorUnnamed  = color.RGBA{R: 0x86, G: 0x86, B: 0x86, A: 0xff}
)

// line is one count drawn over time.
type line struct {
	name   string
	color  color.Color
	value  func(Sample) (float64, bool)
	dashes []vg.Length // nil: solid
}

// Each count's own dash pattern, in points: lines told apart by colour
// alone are one to a reader who does not see the colours, or a grey print.
var (
	dashFailed   = []vg.Length{vg.Points(14), vg.Points(3)}
	dashSkipped  = []vg.Length{vg.Points(4), vg.Points(4)}
	dashReported = []vg.Length{vg.Points(14), vg.Points(4), vg.Points(3), vg.Points(4)}
	dashUnnamed  = []vg.Length{vg.Points(2), vg.Points(7)}
)

// BurnDown draws the samples, oldest first, as step lines: a count holds
// until the next sample changes it.
func BurnDown(samples []Sample, o Options) (Chart, error) {
	if len(samples) == 0 {
		return Chart{}, errors.New("chart: no history to draw yet")
	}
	if o.Width <= 0 || o.Height <= 0 {
		o.Width, o.Height = 960, 540
	}
	zone := cmp.Or(o.Zone, time.UTC)
	until := o.Until
	if last := samples[len(samples)-1].At; until.Before(last) {
		until = last
	}
	now := o.Now
	if now.IsZero() {
		now = until
	}
	// One sample, or changes within a minute (a shell's, pasted at once):
	// a minute, so the time axis, in whole seconds, is not empty.
	if until.Sub(samples[0].At) < time.Minute {
		until = samples[0].At.Add(time.Minute)
	}

	left := countPlot(o.Title, zone, now)
	// The legend goes beside the plot, not in it: the lines reach any
	// corner (a count that holds at its highest reaches both top ones).
	legend := plot.NewLegend()
	legend.Top, legend.Left = true, true
	legend.TextStyle.Font.Size = vg.Points(16)
	legend.ThumbnailWidth = vg.Points(36) // long enough to show each line's dashes
	// The percent panel only while the preparation runs: afterwards the
	// modules left are all that matters.
	hasPercent := samples[len(samples)-1].Percent != nil
	series := lines(samples)
	for _, sr := range series {
		if err := addSteps(left, &legend, samples, until, sr); err != nil {
			return Chart{}, err
		}
	}
	counted := false
	for _, s := range samples {
		counted = counted || s.Counted
	}
	plots := [][]*plot.Plot{{left}}
	if hasPercent {
		prep := newPlot("", "preparation %", zone, now)
		prep.Y.Min, prep.Y.Max = 0, 100
		percent := func(s Sample) (float64, bool) {
			if s.Percent == nil {
				return 0, false
			}
			return float64(*s.Percent), true
		}
		// No legend: the axis label names the one series.
		if err := addSteps(prep, nil, samples, until, line{"preparation", colorPercent, percent, nil}); err != nil {
			return Chart{}, err
		}
		prep.X.Min, prep.X.Max = left.X.Min, left.X.Max
		plots = [][]*plot.Plot{{left}, {prep}}
		if !counted { // nothing to count yet: the percent alone, full size
			prep.Title.Text = o.Title
			plots, left = [][]*plot.Plot{{prep}}, prep
		}
	}

	img := vgimg.PngCanvas{Canvas: vgimg.NewWith(
		vgimg.UseWH(vg.Length(o.Width)*vg.Inch/96, vg.Length(o.Height)*vg.Inch/96), vgimg.UseDPI(96))}
	dc := draw.New(img)
	// A column on the right for the legend, as wide as its widest entry.
	area := dc
	legendWidth := legend.Rectangle(dc).Size().X
	if legendWidth > 0 {
		area = draw.Crop(dc, 0, -(legendWidth + legendGap + legendMargin), 0, 0)
	}
	top := area
	if len(plots) == 1 {
		left.Draw(area)
	} else {
		// Aligned, so that one moment is at the same x in both panels.
		rows := plot.Align(plots, draw.Tiles{Rows: 2, Cols: 1, PadY: vg.Points(6)}, area)
		top = rows[0][0]
		left.Draw(top)
		plots[1][0].Draw(rows[1][0])
	}
	if legendWidth > 0 && !o.hideLegend {
		// Beside the top panel's data, from its top edge.
		data := left.DataCanvas(top)
		legend.Draw(draw.Canvas{Canvas: dc.Canvas, Rectangle: vg.Rectangle{
			Min: vg.Point{X: data.Max.X + legendGap, Y: data.Min.Y},
			Max: vg.Point{X: dc.Max.X - legendMargin, Y: data.Max.Y},
		}})
	}
	var buf bytes.Buffer
	if _, err := img.WriteTo(&buf); err != nil {
		return Chart{}, fmt.Errorf("chart: encoding the PNG: %w", err)
	}
	return Chart{PNG: buf.Bytes(), Alt: alt(samples, o.Title, until, now, zone)}, nil
}

func newPlot(title, yLabel string, zone *time.Location, now time.Time) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Size = vg.Points(22)
	p.Y.Label.Text = yLabel
	p.Y.Label.TextStyle.Font.Size = vg.Points(18)
	p.X.Tick.Marker = hourTicks{zone, now}
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Tick.Label.Font.Size = vg.Points(16)
	}
	p.Add(plotter.NewGrid())
	return p
}

// The legend's column: the gap between the data and the legend, and the
// margin after it, in points.
const legendGap, legendMargin vg.Length = 12, 6

// lines are the counts drawn: the total, failed and skipped, and the rest
// of the total (reported, counted and not named), each only when there is
// any, so that the lines add up to the total.
func lines(samples []Sample) []line {
	series := []line{
		{"total left", colorLeft, func(s Sample) (float64, bool) { return float64(s.Left), s.Counted }, nil},
		{"failed left", colorFailed, func(s Sample) (float64, bool) { return float64(s.FailedLeft), s.Counted }, dashFailed},
		{"skipped left", colorSkipped, func(s Sample) (float64, bool) { return float64(s.SkippedLeft), s.Counted }, dashSkipped},
	}
	var reported, unnamed bool
	for _, s := range samples {
		reported, unnamed = reported || s.ReportedLeft > 0, unnamed || s.UnnamedLeft > 0
	}
	if reported {
		series = append(series, line{"reported left", colorReported, func(s Sample) (float64, bool) { return float64(s.ReportedLeft), s.Counted }, dashReported})
	}
	if unnamed {
		series = append(series, line{"counted, not named", colorUnnamed, func(s Sample) (float64, bool) { return float64(s.UnnamedLeft), s.Counted }, dashUnnamed})
	}
	return series
}

// addSteps adds one series as step lines: each run of samples where the
// series is known holds its last value until the next sample, or until;
// the series gets an entry in legend unless it is nil.
func addSteps(p *plot.Plot, legend *plot.Legend, samples []Sample, until time.Time, sr line) error {
	p.X.Min, p.X.Max = float64(samples[0].At.Unix()), float64(until.Unix())
	var run plotter.XYs
	inLegend := false
	for i, s := range samples {
		v, ok := sr.value(s)
		if ok {
			run = append(run, plotter.XY{X: float64(s.At.Unix()), Y: v})
		}
		end := i == len(samples)-1
		if len(run) == 0 || (ok && !end) {
			continue
		}
		stop := until
		if !ok {
			stop = s.At
		}
		run = append(run, plotter.XY{X: float64(stop.Unix()), Y: run[len(run)-1].Y})
		line, err := plotter.NewLine(run)
		if err != nil {
			return fmt.Errorf("chart: %s: %w", sr.name, err)
		}
		line.StepStyle = plotter.PostStep
		line.Color = sr.color
		line.Width = vg.Points(3)
		line.Dashes = sr.dashes
		p.Add(line)
		if legend != nil && !inLegend {
			legend.Add(sr.name, line)
			inLegend = true
		}
		run = nil
	}
	return nil
}

// alt says what the chart shows: where the upgrade started, where it is now,
// the lowest and highest points, and the time it spans. What is left now
// is broken down so that its parts add up to it.
func alt(samples []Sample, title string, until, now time.Time, zone *time.Location) string {
	first, last := samples[0], samples[len(samples)-1]
	// The start is the first sample with counts: before it only the
	// preparation's percent is known, not 0 modules left.
	start, counted := first, false
	for _, s := range samples {
		if s.Counted {
			start, counted = s, true
			break
		}
	}
	text := fmt.Sprintf("Burn-down chart of %s over %s: ", cmpTitle(title), span(until.Sub(first.At)))
	if !counted {
		text += "no modules counted yet."
	} else {
		peak := start
		for _, s := range samples {
			if s.Counted && s.Left > peak.Left {
				peak = s
			}
		}
		text += fmt.Sprintf("%s left at the start (%s), at most %d (%s), %s.",
			plural(start.Left, "module", "modules"), humantime.Format(start.At, now, zone, "Jan 2 15:04 MST"),
			peak.Left, humantime.Format(peak.At, now, zone, "Jan 2 15:04 MST"), leftNow(last))
	}
	if last.Percent != nil {
		text += fmt.Sprintf(" The preparation is at %d%%.", *last.Percent)
	}
	return text
}

// leftNow says what s has left, each module in one part: named failed,
// named skipped, reported, counted by Service Center and not named yet.
func leftNow(s Sample) string {
	if !s.Counted {
		return "no modules counted now"
	}
	if s.Left == 0 {
		return "0 left now"
	}
	var parts []string
	add := func(n int, what string) {
		if n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, what))
		}
	}
	add(s.FailedLeft, "failed")
	add(s.SkippedLeft, "skipped")
	add(s.ReportedLeft, "reported (not upgraded, or a producer not prepared)")
	add(s.UnnamedLeft, "counted by Service Center and not named yet")
	// A sample kept before the reported and unnamed counts were.
	add(s.Left-s.FailedLeft-s.SkippedLeft-s.ReportedLeft-s.UnnamedLeft, "not named as failed or skipped")
	return fmt.Sprintf("%d left now: %s", s.Left, strings.Join(parts, ", "))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// countPlot is the plot of the modules left: from 0, in whole modules.
func countPlot(title string, zone *time.Location, now time.Time) *plot.Plot {
	p := newPlot(title, "modules left", zone, now)
	p.Y.Min = 0
	p.Y.Tick.Marker = countTicks{}
	return p
}

// countTicks marks module counts: whole numbers, each one up to ten ("2.50
// modules left" means nothing), else plot's own with the fractions unlabelled.
type countTicks struct{}

// Ticks returns the ticks between min and max.
func (countTicks) Ticks(min, max float64) []plot.Tick {
	if max-min <= 10 {
		var ticks []plot.Tick
		for v := math.Ceil(min); v <= max; v++ {
			ticks = append(ticks, plot.Tick{Value: v, Label: strconv.Itoa(int(v))})
		}
		return ticks
	}
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i, t := range ticks {
		if t.Label != "" {
			ticks[i].Label = ""
			if t.Value == math.Trunc(t.Value) {
				ticks[i].Label = strconv.Itoa(int(t.Value))
			}
		}
	}
	return ticks
}

// hourTicks marks round minutes, hours or days in zone, four to eight of
// them, so a reader sees at a glance how long the upgrade has run; the
// first names the zone, and the year when it is not now's (the others
// leave it out, for room).
type hourTicks struct {
	zone *time.Location
	now  time.Time
}

// Ticks returns the ticks between min and max, Unix seconds.
func (h hourTicks) Ticks(min, max float64) []plot.Tick {
	steps := []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour}
	// One comparison for both loops: with integer division in one and not
	// the other, a span just over 7 steps (21h34m) got no tick at all.
	d := time.Duration(max-min) * time.Second
	step := steps[len(steps)-1]
	for _, st := range steps {
		if d <= 7*st {
			step = st
			break
		}
	}
	for d > 7*step {
		step += 24 * time.Hour // upgrades that run for weeks
	}
	var ticks []plot.Tick
	// Round in the zone: truncate the zone's wall clock, as if it were UTC,
	// at every tick (a change of summer time moves the wall clock).
	zone := cmp.Or(h.zone, time.UTC)
	round := func(t time.Time) time.Time {
		_, offset := t.In(zone).Zone()
		shift := time.Duration(offset) * time.Second
		return t.Add(shift).UTC().Truncate(step).Add(-shift).In(zone)
	}
	for t := round(time.Unix(int64(min), 0)); float64(t.Unix()) <= max; t = round(t.Add(step)) {
		if float64(t.Unix()) < min {
			continue
		}
		label := t.Format("15:04")
		switch {
		case len(ticks) == 0:
			label = humantime.Format(t, h.now, zone, "Jan 2\n15:04 MST")
		case step >= 24*time.Hour || t.Hour() == 0 && t.Minute() == 0:
			label = t.Format("Jan 2\n15:04")
		}
		ticks = append(ticks, plot.Tick{Value: float64(t.Unix()), Label: label})
	}
	return ticks
}

func cmpTitle(title string) string {
	if title == "" {
		return "the upgrade"
	}
	return title
}

func span(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d.Hours()/24))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d.Hours()))
	case d >= 2*time.Minute:
		return fmt.Sprintf("%d minutes", int(d.Minutes()))
	default:
		return "a minute"
	}
}
