package chart

import (
	"bytes"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var write = flag.Bool("write", false, "write the test charts to /tmp/chart-*.png to look at them")

var start = time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)

func ptr(n int) *int { return &n }

// upgrade is a 40-module upgrade: the preparation runs for two hours, then
// modules are republished over the next day.
func upgrade() []Sample {
	s := []Sample{{At: start, Percent: ptr(0)}}
	for i, p := range []int{20, 45, 80, 100} {
		s = append(s, Sample{At: start.Add(time.Duration(i+1) * 30 * time.Minute), Percent: ptr(p)})
	}
	at := start.Add(2*time.Hour + time.Minute)
	s = append(s, Sample{At: at, Counted: true, FailedLeft: 17, SkippedLeft: 23, Left: 40})
	for i := 1; i <= 30; i++ {
		last := s[len(s)-1]
		next := Sample{At: at.Add(time.Duration(i) * 40 * time.Minute), Counted: true, FailedLeft: last.FailedLeft, SkippedLeft: last.SkippedLeft}
		if i%2 == 0 && next.FailedLeft > 0 {
			next.FailedLeft--
		} else if next.SkippedLeft > 0 {
			next.SkippedLeft--
		}
		next.Left = next.FailedLeft + next.SkippedLeft
		s = append(s, next)
	}
	return s
}

func decode(t *testing.T, b []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	return img
}

// count is how many pixels are close to c.
func count(img image.Image, c color.RGBA) int {
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near(r>>8, c.R) && near(g>>8, c.G) && near(bl>>8, c.B) {
				n++
			}
		}
	}
	return n
}

func near(a uint32, b uint8) bool { return int(a)-int(b) < 8 && int(b)-int(a) < 8 }

func TestBurnDown(t *testing.T) {
	until := start.Add(24 * time.Hour)
	cases := []struct {
		name    string
		samples []Sample
		opts    Options
		w, h    int
		colors  map[string]color.RGBA // series that must be drawn
		absent  map[string]color.RGBA
		alt     []string
	}{
		{
			name: "preparation then republishing", samples: upgrade(),
			opts: Options{Title: "prod → 11.31.0", Until: until}, w: 960, h: 540,
			colors: map[string]color.RGBA{"total": colorLeft, "failed": colorFailed, "skipped": colorSkipped},
			absent: map[string]color.RGBA{"percent": colorPercent},
			alt:    []string{"prod → 11.31.0", "over 24 hours", "40 modules left at the start (Mar 2 10:01 UTC)", "at most 40", "10 left now: 2 failed, 8 skipped."},
		},
		{
			name: "no preparation seen", samples: upgrade()[5:],
			opts: Options{Title: "stg", Width: 800, Height: 450}, w: 800, h: 450,
			colors: map[string]color.RGBA{"total": colorLeft, "failed": colorFailed, "skipped": colorSkipped},
			absent: map[string]color.RGBA{"percent": colorPercent},
			alt:    []string{"stg over 20 hours", "40 modules left at the start", "10 left now"},
		},
		{
			name: "one module", samples: []Sample{{At: start, Counted: true, FailedLeft: 1, Left: 1}}, w: 960, h: 540,
			colors: map[string]color.RGBA{"failed": colorFailed},
			alt:    []string{"1 module left at the start", "1 left now: 1 failed."},
		},
		{
			name: "one sample", samples: []Sample{{At: start, Counted: true, FailedLeft: 3, Left: 3}}, w: 960, h: 540,
			colors: map[string]color.RGBA{"failed": colorFailed},
			alt:    []string{"the upgrade over a minute", "3 left now: 3 failed."},
		},
		{
			name: "still preparing", samples: upgrade()[:3], opts: Options{Until: start.Add(time.Hour)}, w: 960, h: 540,
			colors: map[string]color.RGBA{"percent": colorPercent},
			alt:    []string{"no modules counted yet. The preparation is at 45%."},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := BurnDown(tc.samples, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			img := decode(t, c.PNG)
			if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
				t.Errorf("size %dx%d, want %dx%d", b.Dx(), b.Dy(), tc.w, tc.h)
			}
			for name, col := range tc.colors {
				if n := count(img, col); n < 200 {
					t.Errorf("series %s: %d pixels of its colour, want a drawn line", name, n)
				}
			}
			for name, col := range tc.absent {
				if n := count(img, col); n > 0 {
					t.Errorf("series %s drawn (%d pixels) although it has no data", name, n)
				}
			}
			for _, want := range tc.alt {
				if !strings.Contains(c.Alt, want) {
					t.Errorf("alt text lacks %q: %s", want, c.Alt)
				}
			}
			again, err := BurnDown(tc.samples, tc.opts)
			if err != nil || !bytes.Equal(again.PNG, c.PNG) || again.Alt != c.Alt {
				t.Errorf("the same history drew a different chart (err %v)", err)
			}
			if *write {
				name := strings.ReplaceAll(tc.name, " ", "-") + ".png"
				if err := os.WriteFile(filepath.Join(os.TempDir(), "chart-"+name), c.PNG, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// The alt text accounts for every module left now: named failed, named
// skipped, reported, and counted by Service Center but not named yet; the
// parts add up to the modules left.
func TestAltAccountsForEveryModuleLeft(t *testing.T) {
	cases := []struct {
		name string
		now  Sample
		want string
	}{
		{"only counted, nobody named", Sample{Counted: true, UnnamedLeft: 4, Left: 4},
			"4 left now: 4 counted by Service Center and not named yet."},
		{"one named, the rest counted", Sample{Counted: true, FailedLeft: 1, UnnamedLeft: 3, Left: 4},
			"4 left now: 1 failed, 3 counted by Service Center and not named yet."},
		{"every group", Sample{Counted: true, FailedLeft: 2, SkippedLeft: 3, ReportedLeft: 1, UnnamedLeft: 4, Left: 10},
			"10 left now: 2 failed, 3 skipped, 1 reported (not upgraded, or a producer not prepared), 4 counted by Service Center and not named yet."},
		{"kept before reported and unnamed were", Sample{Counted: true, FailedLeft: 1, Left: 4},
			"4 left now: 1 failed, 3 not named as failed or skipped."},
		{"nothing left", Sample{Counted: true}, "0 left now."},
	}
	number := regexp.MustCompile(`(\d+) (failed|skipped|reported|counted|not named)`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			first := Sample{At: start, Counted: true, UnnamedLeft: 4, Left: 4}
			tc.now.At = start.Add(time.Hour)
			c, err := BurnDown([]Sample{first, tc.now}, Options{Title: "prod"})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(c.Alt, tc.want) {
				t.Fatalf("alt text %q, want %q", c.Alt, tc.want)
			}
			_, now, _ := strings.Cut(c.Alt, "left now")
			sum := 0
			for _, m := range number.FindAllStringSubmatch(now, -1) {
				n, _ := strconv.Atoi(m[1])
				sum += n
			}
			if sum != tc.now.Left {
				t.Errorf("the parts of %q add up to %d, want %d", now, sum, tc.now.Left)
			}
		})
	}
}

// The legend is drawn beside the data, never over it: whatever corner the
// lines reach, none of their pixels is in the legend's box. The legend's
// pixels are those that differ from the same chart drawn without it.
func TestLegendBesideTheData(t *testing.T) {
	flat := []Sample{ // the most modules left from start to end: the top corners
		{At: start, Counted: true, FailedLeft: 17, SkippedLeft: 23, Left: 40},
		{At: start.Add(24 * time.Hour), Counted: true, FailedLeft: 17, SkippedLeft: 23, Left: 40},
	}
	var rising []Sample // modules named over the day: the top right corner
	for i := range 10 {
		rising = append(rising, Sample{At: start.Add(time.Duration(i) * time.Hour), Counted: true, FailedLeft: 4 * i, Left: 4*i + 4, UnnamedLeft: 4})
	}
	preparing := []Sample{ // modules named while the preparation runs: two panels
		{At: start, Percent: ptr(0)},
		{At: start.Add(time.Hour), Counted: true, FailedLeft: 12, Left: 12, Percent: ptr(60)},
		{At: start.Add(2 * time.Hour), Counted: true, FailedLeft: 12, Left: 12, Percent: ptr(95)},
	}
	series := []color.RGBA{colorLeft, colorFailed, colorSkipped, colorPercent}
	cases := []struct {
		name    string
		samples []Sample
		opts    Options
		legend  bool
	}{
		{"flat at its highest", flat, Options{Title: "prod"}, true},
		{"rising to the top right", rising, Options{Title: "prod", Width: 800, Height: 450}, true},
		{"burning down", upgrade(), Options{Title: "prod", Until: start.Add(24 * time.Hour)}, true},
		{"two panels", preparing, Options{Title: "prod", Until: start.Add(2 * time.Hour)}, true},
		{"preparation only", upgrade()[:3], Options{Title: "prod"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			with, err := BurnDown(tc.samples, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			tc.opts.hideLegend = true
			without, err := BurnDown(tc.samples, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			a, b := decode(t, with.PNG), decode(t, without.PNG)
			box, n := image.Rectangle{}, 0 // the legend's box and its pixels
			for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
				for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
					if a.At(x, y) != b.At(x, y) {
						box, n = box.Union(image.Rect(x, y, x+1, y+1)), n+1
					}
				}
			}
			if !tc.legend {
				if n > 0 {
					t.Fatalf("a legend of %d pixels at %v, want none", n, box)
				}
				return
			}
			if n < 500 {
				t.Fatalf("the legend has %d pixels, want it drawn", n)
			}
			// Its box, and a few pixels around it, shows none of the data.
			around := box.Inset(-3).Intersect(b.Bounds())
			for y := around.Min.Y; y < around.Max.Y; y++ {
				for x := around.Min.X; x < around.Max.X; x++ {
					for _, c := range series {
						if r, g, bl, _ := b.At(x, y).RGBA(); near(r>>8, c.R) && near(g>>8, c.G) && near(bl>>8, c.B) {
							t.Fatalf("a line's pixel at (%d, %d) is in the legend's box %v", x, y, box)
						}
					}
				}
			}
			if *write {
				name := "legend-" + strings.ReplaceAll(tc.name, " ", "-") + ".png"
				if err := os.WriteFile(filepath.Join(os.TempDir(), "chart-"+name), with.PNG, 0o644); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// Changes recorded within a second (a shell's, one after the other) are
// drawn over a minute from the left edge, not as one vertical line in the
// middle of an empty time axis.
func TestBurnDownWithinASecond(t *testing.T) {
	samples := []Sample{
		{At: start, Counted: true, SkippedLeft: 2, UnnamedLeft: 4, Left: 6},
		{At: start.Add(200 * time.Millisecond), Counted: true, FailedLeft: 1, SkippedLeft: 2, UnnamedLeft: 3, Left: 6},
		{At: start.Add(400 * time.Millisecond), Counted: true, SkippedLeft: 2, UnnamedLeft: 3, Left: 5},
	}
	c, err := BurnDown(samples, Options{Title: "prod", Until: start.Add(500 * time.Millisecond)})
	if err != nil {
		t.Fatal(err)
	}
	// The failed line (1 for a moment, then 0) in its own colour: the
	// columns it is drawn in, its legend's icon aside.
	img := decode(t, c.PNG)
	columns, minX := 0, img.Bounds().Max.X
	for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x++ {
		for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y++ {
			if r, g, b, _ := img.At(x, y).RGBA(); near(r>>8, colorFailed.R) && near(g>>8, colorFailed.G) && near(b>>8, colorFailed.B) {
				columns, minX = columns+1, min(minX, x)
				break
			}
		}
	}
	if w := img.Bounds().Dx(); minX > w/5 || columns < w/2 {
		t.Errorf("the failed line is in %d columns from x %d, of %d: want it from the left edge across the plot", columns, minX, w)
	}
	if !strings.Contains(c.Alt, "over a minute") {
		t.Errorf("alt text %q", c.Alt)
	}
}

func TestBurnDownNothingToDraw(t *testing.T) {
	if _, err := BurnDown(nil, Options{}); err == nil || !strings.Contains(err.Error(), "no history") {
		t.Fatalf("err = %v, want a clear error", err)
	}
}

// A 2,000-module upgrade over three days: one sample per change, 2,500 changes.
func BenchmarkBurnDown2000Modules3Days(b *testing.B) {
	samples := make([]Sample, 0, 2500)
	for i := range 2500 {
		left := max(2000-i, 0)
		samples = append(samples, Sample{At: start.Add(time.Duration(i) * 3 * 24 * time.Hour / 2500), Counted: true,
			FailedLeft: left / 3, SkippedLeft: left - left/3, Left: left})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := BurnDown(samples, Options{Title: "prod"}); err != nil {
			b.Fatal(err)
		}
	}
}

// Every span gets four to eight ticks, a span just over seven steps too.
func TestHourTicks(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)
	for _, span := range []time.Duration{20 * time.Minute, 3 * time.Hour, 21*time.Hour + 34*time.Minute, 49 * time.Hour, 72 * time.Hour, 30 * 24 * time.Hour} {
		ticks := hourTicks{now: t0}.Ticks(float64(t0.Unix()), float64(t0.Add(span).Unix()))
		if len(ticks) < 1 || len(ticks) > 8 {
			t.Errorf("%v: %d ticks, want 1 to 8", span, len(ticks))
		}
	}
	// A chart of a minute, or a few, starting at no round minute (a shell's
	// changes, one after the other) has a time axis too.
	t1 := time.Date(2026, 12, 6, 10, 41, 23, 0, time.UTC)
	for _, span := range []time.Duration{time.Minute, 90 * time.Second, 4 * time.Minute, 20 * time.Minute} {
		ticks := hourTicks{now: t1}.Ticks(float64(t1.Unix()), float64(t1.Add(span).Unix()))
		if len(ticks) < 1 || len(ticks) > 8 {
			t.Errorf("%v from %s: %d ticks, want 1 to 8", span, t1.Format("15:04:05"), len(ticks))
		}
	}
}

// The count axis is labelled in whole modules, whatever its range.
func TestCountTicks(t *testing.T) {
	if _, ok := countPlot("", time.UTC, time.Time{}).Y.Tick.Marker.(countTicks); !ok {
		t.Error("the burn-down's count axis does not use countTicks")
	}
	for _, r := range [][2]float64{{0, 1}, {0, 3}, {0, 5}, {0, 5.2}, {0, 10}, {0, 12.5}, {0, 43}, {0, 1200}} {
		var labels []string
		for _, tk := range (countTicks{}).Ticks(r[0], r[1]) {
			if tk.Label == "" {
				continue
			}
			if _, err := strconv.Atoi(tk.Label); err != nil {
				t.Errorf("%v: tick label %q is not a whole number", r, tk.Label)
			}
			labels = append(labels, tk.Label)
		}
		if len(labels) < 2 {
			t.Errorf("%v: labels %q, want at least two", r, labels)
		}
	}
}

// The time axis and the alt text are in the bot's zone, named: ticks fall
// on the zone's round hours, even for a zone half an hour off UTC.
func TestChartInTheZone(t *testing.T) {
	zone := time.FixedZone("IST", 5*3600+30*60)
	t0 := time.Date(2026, 3, 2, 8, 10, 0, 0, time.UTC)
	ticks := hourTicks{zone: zone, now: t0}.Ticks(float64(t0.Unix()), float64(t0.Add(6*time.Hour).Unix()))
	if len(ticks) == 0 || !strings.HasSuffix(ticks[0].Label, " IST") {
		t.Fatalf("ticks %v: the first does not name the zone", ticks)
	}
	for _, tk := range ticks {
		if at := time.Unix(int64(tk.Value), 0).In(zone); at.Minute() != 0 {
			t.Errorf("tick %q at %s: not a round hour of the zone", tk.Label, at.Format("15:04"))
		}
	}
	// Across a change of summer time, ticks stay on round hours of the wall clock.
	if ny, err := time.LoadLocation("America/New_York"); err == nil {
		from := time.Date(2026, 3, 8, 0, 30, 0, 0, ny)
		for _, tk := range (hourTicks{zone: ny, now: from}).Ticks(float64(from.Unix()), float64(from.Add(20*time.Hour).Unix())) {
			if at := time.Unix(int64(tk.Value), 0).In(ny); at.Minute() != 0 || at.Hour()%3 != 0 {
				t.Errorf("tick %q at %s: not a round 3 hours of New York's clock", tk.Label, at.Format("15:04 MST"))
			}
		}
	}
	c, err := BurnDown([]Sample{{At: t0, Counted: true, FailedLeft: 2, Left: 2}, {At: t0.Add(time.Hour), Counted: true, FailedLeft: 1, Left: 1}},
		Options{Title: "prod", Zone: zone})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.Alt, "Mar 2 13:40 IST") || strings.Contains(c.Alt, "UTC") {
		t.Errorf("alt text not in the zone: %s", c.Alt)
	}
}

// The lines drawn add up to the total at every sample: modules counted
// by Service Center and not named, or reported, have lines of their own
// (only when there are any).
func TestLinesAddUpToTheTotal(t *testing.T) {
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name    string
		samples []Sample
		want    []string
	}{
		{"only failed and skipped", []Sample{{At: at, Counted: true, FailedLeft: 2, SkippedLeft: 1, Left: 3}}, []string{"total left", "failed left", "skipped left"}},
		{"counted, none named", []Sample{{At: at, Counted: true, UnnamedLeft: 3, Left: 3}}, []string{"total left", "failed left", "skipped left", "counted, not named"}},
		{"every group", []Sample{{At: at, Counted: true, FailedLeft: 2, SkippedLeft: 3, ReportedLeft: 1, UnnamedLeft: 4, Left: 10}, {At: at.Add(time.Hour), Counted: true, Left: 0}},
			[]string{"total left", "failed left", "skipped left", "reported left", "counted, not named"}},
	} {
		ls := lines(tc.samples)
		var names []string
		for _, l := range ls {
			names = append(names, l.name)
		}
		if !slices.Equal(names, tc.want) {
			t.Errorf("%s: lines %q, want %q", tc.name, names, tc.want)
		}
		for _, s := range tc.samples {
			sum := 0.0
			for _, l := range ls[1:] {
				v, _ := l.value(s)
				sum += v
			}
			if total, _ := ls[0].value(s); sum != total {
				t.Errorf("%s: the lines add up to %v at %s, the total is %v", tc.name, sum, s.At, total)
			}
		}
		if _, err := BurnDown(tc.samples, Options{Title: "t"}); err != nil {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}

// A chart of an upgrade of another year names that year, in the alt text
// and on the first tick of the time axis: "Dec 30" alone reads as this
// year's. Within the year, or drawn at its end, it is left out.
func TestChartNamesTheYear(t *testing.T) {
	t0 := time.Date(2024, 12, 30, 10, 0, 0, 0, time.UTC)
	samples := []Sample{{At: t0, Counted: true, FailedLeft: 2, Left: 2}, {At: t0.Add(96 * time.Hour), Counted: true, Left: 0}}
	for _, tc := range []struct {
		name      string
		now       time.Time
		alt, tick string
	}{
		{"a year later", time.Date(2026, 1, 2, 10, 0, 0, 0, time.UTC), "2 modules left at the start (Dec 30 2024 10:00 UTC)", "Dec 31 2024\n"},
		{"the same year", time.Date(2024, 12, 31, 10, 0, 0, 0, time.UTC), "2 modules left at the start (Dec 30 10:00 UTC)", "Dec 31\n"},
		{"no clock: its end's", time.Time{}, "2 modules left at the start (Dec 30 2024 10:00 UTC)", "Dec 31 2024\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := BurnDown(samples, Options{Title: "prod", Now: tc.now})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(c.Alt, tc.alt) {
				t.Errorf("alt text %q, want %q", c.Alt, tc.alt)
			}
			now := tc.now
			if now.IsZero() {
				now = samples[1].At
			}
			ticks := hourTicks{zone: time.UTC, now: now}.Ticks(float64(t0.Unix()), float64(samples[1].At.Unix()))
			if len(ticks) == 0 || !strings.HasPrefix(ticks[0].Label, tc.tick) {
				t.Errorf("ticks %v, want the first to start %q", ticks, tc.tick)
			}
		})
	}
}

// Each line has a dash pattern of its own (the total solid): lines that
// differ only by colour are one to a reader who does not tell the colours
// apart.
func TestLinesDifferBeyondColour(t *testing.T) {
	at := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	seen := map[string]string{}
	for _, l := range lines([]Sample{{At: at, Counted: true, FailedLeft: 2, SkippedLeft: 3, ReportedLeft: 1, UnnamedLeft: 4, Left: 10}}) {
		pattern := fmt.Sprint(l.dashes)
		if other, ok := seen[pattern]; ok {
			t.Errorf("%q and %q are drawn alike (%s)", other, l.name, pattern)
		}
		seen[pattern] = l.name
	}
	if len(seen) != 5 {
		t.Errorf("%d lines, want 5", len(seen))
	}
}
