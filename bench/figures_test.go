package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bench/internal/load"
)

// TestLoad's plan from its flags, and the figures of its table.
func TestLoadPlan(t *testing.T) {
	for _, c := range []struct {
		rates        string
		d, memory    time.Duration
		rounds, conc int
		want         string // the runs: name/rate/rounds/floor
		wantErr      bool
	}{
		{"max,2000", 30 * time.Second, 2 * time.Minute, 3, 0, "[{the maximum rate 0 3 true} {2,000 events/s 2000 3 true} {1,000 events/s (memory) 1000 1 false}]", false},
		{" 500 ", time.Minute, 0, 1, 16, "[{500 events/s 500 1 true}]", false},
		{"max,fast", time.Minute, 0, 1, 0, "", true},
		{"0", time.Minute, 0, 1, 0, "", true},
		{"max", 31 * time.Minute, 0, 1, 0, "", true},
		{"max", time.Minute, 0, 10, 0, "", true},
		{"max", time.Minute, 0, 1, 100, "", true},
	} {
		specs, err := plan(c.rates, c.d, c.memory, c.rounds, c.conc)
		if (err != nil) != c.wantErr {
			t.Errorf("plan(%q, %v, %v, %d, %d): %v", c.rates, c.d, c.memory, c.rounds, c.conc, err)
			continue
		}
		var got []string
		for _, s := range specs {
			if s.duration != c.d && s.duration != c.memory || s.concurrency != c.conc {
				t.Errorf("plan(%q): %+v does not keep the duration or concurrency", c.rates, s)
			}
			got = append(got, fmt.Sprintf("{%s %v %d %v}", s.name, s.rate, s.rounds, s.floor))
		}
		if !c.wantErr && fmt.Sprint(got) != c.want {
			t.Errorf("plan(%q) = %v, want %v", c.rates, got, c.want)
		}
	}
}

func TestLoadFigures(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{num(0), "0"},
		{num(999.4), "999"},
		{num(1000), "1,000"},
		{num(1987051), "1,987,051"},
		{spread(nil, "%.2f"), "—"},
		{spread([]float64{0.4}, "%.2f"), "0.40"},
		{spread([]float64{3, 1, 2, 10}, "%.1f×"), "2.5× (rounds 1.0×–10.0×)"},
		{ms(1500 * time.Microsecond), "1.50 ms"},
		{ms(15800 * time.Microsecond), "15.8 ms"},
		{ms(120 * time.Millisecond), "120 ms"},
		{perEvent(time.Second, 0), "—"},
		{perEvent(time.Second, 10000), "100 µs"},
		{failed(&load.Result{Failures: map[string]int{"transport": 2, "HTTP 503": 1}, Unsent: 4}), "1 HTTP 503, 2 transport, 4 not sent in time"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
	// Each round against the mean of the floors on either side.
	at := func(acked int, d time.Duration) *load.Result {
		start := time.Unix(0, 0)
		return &load.Result{Acked: acked, Start: start, End: start.Add(d)}
	}
	r := &botRun{
		rounds: []round{{at(500, time.Second), 2 * time.Second}, {at(900, time.Second), time.Second}},
		floors: []floorRun{{res: at(1000, time.Second)}, {res: at(3000, time.Second)}, {res: at(1000, time.Second)}},
	}
	if got := r.ratios(func(rd round) float64 { return float64(rd.bot.Acked) / rd.drained.Seconds() }, (*load.Result).Throughput); fmt.Sprint(got) != "[0.125 0.45]" {
		t.Errorf("handled ratios %v, want [0.125 0.45]", got)
	}
	if got := median([]float64{5, 1, 3}); got != 3 {
		t.Errorf("median %v, want 3", got)
	}
}
