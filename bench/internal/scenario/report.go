package scenario

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/upgradebot/upgradebot/bench/internal/load"
)

// Ms formats a duration in milliseconds.
func Ms(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms < 10:
		return fmt.Sprintf("%.2f ms", ms)
	case ms < 100:
		return fmt.Sprintf("%.1f ms", ms)
	}
	return fmt.Sprintf("%.0f ms", ms)
}

// MiB formats KiB as MiB.
func MiB(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }

// Failures describes the requests not acknowledged with 200.
func Failures(r *load.Result) string {
	n := r.FailureCount()
	if n == 0 && r.Unsent == 0 {
		return "0"
	}
	var parts []string
	keys := make([]string, 0, len(r.Failures))
	for k := range r.Failures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d %s", r.Failures[k], k))
	}
	if r.Unsent > 0 {
		parts = append(parts, fmt.Sprintf("%d not sent in time", r.Unsent))
	}
	return strings.Join(parts, ", ")
}

func ratio(a, b float64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", a/b)
}

// PrintRun writes one run (and its floors, when measured) as a table.
func PrintRun(w io.Writer, run *BotRun) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "\tno-op floor\tupgradebot\tbot / floor")
	res, floor := run.Load, run.FloorLoad()
	fl := func(f func(*load.Result) string) string {
		if floor == nil {
			return "—"
		}
		return f(floor)
	}
	rr := func(f func(*load.Result) float64) string {
		v := run.RoundRatios(f)
		if len(v) == 0 {
			return "—"
		}
		out := fmt.Sprintf("%.2f", Median(v))
		if len(v) > 1 {
			sort.Float64s(v)
			out += fmt.Sprintf(" (rounds %.2f–%.2f)", v[0], v[len(v)-1])
		}
		return out
	}
	frate := run.FloorRate()
	fmt.Fprintf(tw, "events acknowledged/s\t%s\t%.0f\t%s\n", fl(func(*load.Result) string { return fmt.Sprintf("%.0f", frate) }), run.AckRate(), ratio(run.AckRate(), frate))
	fmt.Fprintf(tw, "events handled/s (until the queue drained)\t—\t%.0f\t%s\n", run.Handled, ratio(run.Handled, frate))
	for _, q := range []struct {
		name string
		q    float64
	}{{"p50 acknowledgement", 0.5}, {"p99 acknowledgement", 0.99}, {"max acknowledgement", 1}} {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", q.name, fl(func(r *load.Result) string { return Ms(r.Quantile(q.q)) }), Ms(res.Quantile(q.q)),
			rr(func(r *load.Result) float64 { return float64(r.Quantile(q.q)) }))
	}
	fmt.Fprintf(tw, "requests sent\t%s\t%d\t\n", fl(func(r *load.Result) string { return fmt.Sprint(r.Sent) }), res.Sent)
	fmt.Fprintf(tw, "errors (not acknowledged 200)\t%s\t%s\t\n", fl(Failures), Failures(res))
	fmt.Fprintf(tw, "mix acknowledged: chat / pasted errors / re-deliveries\t\t%d / %d / %d\t\n", res.ByKind[load.Chat], res.ByKind[load.Paste], res.ByKind[load.Redelivery])
	fmt.Fprintf(tw, "pasted errors answered exactly once\t\t%d of %d (%d missing, %d more than once)\t\n", run.Expected-run.Missing-run.Duplicated, run.Expected, run.Missing, run.Duplicated)
	fmt.Fprintf(tw, "replies posted\t\t%d\t\n", run.Replies)
	fmt.Fprintf(tw, "bot peak memory (VmHWM)\t\t%s\t\n", MiB(run.PeakRSS))
	if f, what := run.Flatness(); f > 0 && floor == nil {
		fmt.Fprintf(tw, "bot memory, %s\t\t%.2f\t\n", what, f)
	}
	fmt.Fprintf(tw, "time to handle everything (rounds added up)\t\t%s\t\n", run.Drained.Round(100*time.Millisecond))
	fmt.Fprintf(tw, "store errors / Slack API errors / duplicates suppressed\t\t%.0f / %.0f / %.0f\t\n",
		run.Metrics["upgradebot_store_errors_total"], run.Metrics["upgradebot_slack_api_errors_total"], run.Metrics["upgradebot_duplicates_suppressed_total"])
	fc, fn := run.FloorCPU()
	fmt.Fprintf(tw, "CPU per event: load tool (+ no-op server or fake Slack)\t%s\t%s\t\n", fl(func(*load.Result) string { return PerEvent(fc, fn) }), PerEvent(run.CPUTool, res.Sent))
	fmt.Fprintf(tw, "CPU per event: upgradebot / its Redis\t\t%s / %s\t\n", PerEvent(run.CPUBot, res.Acked), PerEvent(run.CPURedis, res.Acked))
	fmt.Fprintf(tw, "SIGTERM → exit\t\tstatus %d after %s\t\n", run.ExitCode, run.StopTime.Round(10*time.Millisecond))
	if run.Note != "" {
		fmt.Fprintf(tw, "note\t\t%s\t\n", run.Note)
	}
	tw.Flush()
}

// PerEvent is a CPU time per event.
func PerEvent(d time.Duration, n int) string {
	if n == 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f µs", float64(d.Microseconds())/float64(n))
}
