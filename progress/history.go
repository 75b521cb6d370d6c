package progress

import (
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"
)

// detailNames is how many module names a history detail spells out; the rest
// are counted, so one report of 5,000 modules stays a readable entry.
const detailNames = 20

// describeChange is the history detail of a change. It describes what was
// reported (the request), the same text for both stores.
func describeChange(c Change, mods []normalizedModule) string {
	if c.Force { // the life cycle would have refused it: the record says so
		c.Force = false
		return describeChange(c, mods) + " (recorded anyway)"
	}
	switch c.Kind {
	case ChangePreparing:
		var parts []string
		if p := c.Preparation.Percent; p != nil {
			parts = append(parts, fmt.Sprintf("%d%%", *p))
		}
		if c.Preparation.Expected != "" {
			parts = append(parts, "expected "+c.Preparation.Expected)
		}
		switch cur, tot := c.Preparation.Current, c.Preparation.Total; {
		case cur != nil && tot != nil:
			parts = append(parts, fmt.Sprintf("module %d of %d", *cur, *tot))
		case cur != nil:
			parts = append(parts, fmt.Sprintf("module %d", *cur))
		case tot != nil:
			parts = append(parts, fmt.Sprintf("%d modules", *tot))
		}
		if len(parts) == 0 {
			return "preparing"
		}
		return "preparing: " + strings.Join(parts, ", ")
	case ChangeSummary:
		var parts []string
		for _, f := range []struct {
			name string
			p    *int
		}{{"prepared", c.Counts.Prepared}, {"failed", c.Counts.Failed}, {"skipped", c.Counts.Skipped}} {
			if f.p != nil {
				parts = append(parts, fmt.Sprintf("%d %s", *f.p, f.name))
			}
		}
		return "summary: " + strings.Join(parts, ", ")
	case ChangeState:
		return "state set to " + string(c.State)
	case ChangeAddModules:
		noun := "modules"
		if len(mods) == 1 {
			noun = "module"
		}
		return fmt.Sprintf("%d %s reported (%s): %s", len(mods), noun, c.Reason, nameList(mods))
	case ChangeDone:
		if c.All {
			return "all modules republished"
		}
		return "republished: " + nameList(mods)
	case ChangeReset:
		return "reset for a new upgrade"
	}
	return string(c.Kind)
}

func nameList(mods []normalizedModule) string {
	names := make([]string, 0, min(len(mods), detailNames))
	for i, m := range mods {
		if i == detailNames {
			break
		}
		names = append(names, m.Name)
	}
	s := strings.Join(names, ", ")
	if len(mods) > detailNames {
		s += fmt.Sprintf(" … and %d more", len(mods)-detailNames)
	}
	return s
}

func describeTrack(req TrackRequest) string {
	parts := []string{"followed in " + req.Channel}
	if req.Version != "" {
		parts = append(parts, "version "+req.Version)
	}
	if req.FromVersion != "" {
		parts = append(parts, "from "+req.FromVersion)
	}
	if req.InstallType != InstallUnknown {
		parts = append(parts, string(req.InstallType))
	}
	return strings.Join(parts, ", ")
}

func describeUntrack(channel string) string { return "unfollowed in " + channel }

// historyTimeLayout is the time format of both exports: UTC, to the second.
const historyTimeLayout = "2006-01-02 15:04:05 UTC"

// WriteHistoryMarkdown writes entries as a Markdown table under a heading naming env.
func WriteHistoryMarkdown(w io.Writer, env string, entries []HistoryEntry) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# History of %s\n\n", mdCell(env))
	if len(entries) == 0 {
		b.WriteString("No history yet.\n")
	} else {
		b.WriteString("| Time | Who | Action | Detail | Source |\n")
		b.WriteString("|---|---|---|---|---|\n")
		for _, e := range entries {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n",
				e.Time.UTC().Format(historyTimeLayout), mdCell(e.Actor), mdCell(e.Action), mdCell(e.Detail), mdCell(e.Source))
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("progress: write history markdown: %w", err)
	}
	return nil
}

// mdCell keeps a value inside its table cell: pipes would start a new cell and
// newlines a new row; backslashes are escaped so the pipe escape stays intact.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, "|", `\|`)
	s = strings.ReplaceAll(s, "\r", " ")
	return strings.ReplaceAll(s, "\n", " ")
}

// WriteHistoryCSV writes entries as CSV with a header row: time (RFC 3339, UTC), actor, action, detail, source.
func WriteHistoryCSV(w io.Writer, entries []HistoryEntry) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"time", "actor", "action", "detail", "source"}); err != nil {
		return fmt.Errorf("progress: write history csv: %w", err)
	}
	for _, e := range entries {
		rec := []string{
			e.Time.UTC().Format(time.RFC3339),
			csvCell(e.Actor), csvCell(e.Action), csvCell(e.Detail), csvCell(e.Source),
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("progress: write history csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("progress: write history csv: %w", err)
	}
	return nil
}

// csvCell defuses spreadsheet formulas: user-written text starting with
// = + - @ would be evaluated when the export is opened in a spreadsheet.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
