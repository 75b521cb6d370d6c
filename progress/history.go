package progress

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"strings"
	"time"
)

// describeChange is the history detail of a change: what was reported, the
// same text for both stores. The stores replace an add's or a done's by
// what it did (describeModules).
func describeChange(c Change, mods []normalizedModule) string {
	if c.Force && !c.Correction { // the life cycle would have refused it: the record says so
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
			// As Service Center wrote it, by its clock: the history's own times are UTC.
			parts = append(parts, "expected "+c.Preparation.Expected+" by Service Center's clock")
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
	case ChangeReset:
		return "reset for a new upgrade"
	case ChangeUndo:
		return "undo" // the store says of what (undoDetail)
	}
	return string(c.Kind)
}

// outcome is what an add or done did beyond its Result, for its history
// detail: the modules whose reason changed ("Name (was failed)"), those
// listed as failed or skipped another message showed to be producers not
// prepared, and how many counted but unnamed modules a done of all covered.
type outcome struct {
	moved, producers []string
	covered          int
}

// describeModules is the history detail of an add or done change, from
// what it did: the modules' own spelling, every name. "" when the change
// did nothing: it is not logged.
func describeModules(c Change, res Result, out outcome) string {
	var parts []string
	switch {
	case c.Kind == ChangeAddModules:
		if n := len(res.Added); n > 0 {
			noun := "modules"
			if n == 1 {
				noun = "module"
			}
			parts = append(parts, fmt.Sprintf("%d %s reported (%s): %s", n, noun, c.Reason, nameList(res.Added)))
		}
		if len(out.moved) > 0 {
			parts = append(parts, fmt.Sprintf("moved to %s: %s", c.Reason, strings.Join(out.moved, ", ")))
		}
		if len(out.producers) > 0 {
			parts = append(parts, "producers not prepared, to republish first: "+nameList(out.producers))
		}
	case c.All && (len(res.Removed) > 0 || out.covered > 0):
		s := "republished all"
		if len(res.Removed) > 0 {
			s += ": " + nameList(res.Removed)
		}
		parts = append(parts, s)
		if out.covered > 0 {
			parts = append(parts, fmt.Sprintf("%d counted by Service Center but not named", out.covered))
		}
	case len(res.Removed) > 0:
		parts = append(parts, "republished: "+nameList(res.Removed))
	}
	return strings.Join(parts, "; ")
}

// quotedName is a module name as a history detail lists it: quoted (a
// quote doubled) when it holds a comma, semicolon or quote, so that a list
// of names reads back. The Redis script's qname is the same.
func quotedName(n string) string {
	if strings.ContainsAny(n, `,;"`) {
		return `"` + strings.ReplaceAll(n, `"`, `""`) + `"`
	}
	return n
}

// nameList joins module names for a history detail.
func nameList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quotedName(n)
	}
	return strings.Join(q, ", ")
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
	// Brackets and angle brackets too: a name written as a link or an
	// image ("[Sign in](https://…)") is shown as typed, not followed.
	return strings.NewReplacer(`\`, `\\`, "|", `\|`, "[", `\[`, "]", `\]`, "<", `\<`, ">", `\>`, "\r", " ", "\n", " ").Replace(s)
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

// ChangeRecord is what an export holds: every module of an environment's
// upgrade, still open or republished, and the timeline.
type ChangeRecord struct {
	Environment string
	// Summary is where the upgrade stands, label and value (target, state,
	// counts…), written under the Markdown record's title.
	Summary     [][2]string
	Open        []Module // in the order to republish
	Republished []Module
	History     []HistoryEntry
	Owners      map[string]string // who took which module, by ModuleKey (Owners)
}

// changeRecordColumns head the module table of both formats. Owner is who
// took an open module; Error is the first line of the error that reported
// the module, when known.
var changeRecordColumns = []string{"Module", "Group", "Reason", "State", "Reported by", "Reported at", "Republished by", "Republished at", "Owner", "Error"}

// rows are the module table's rows, times formatted with layout.
func (r ChangeRecord) rows(layout string) [][]string {
	var out [][]string
	row := func(m Module, state string) {
		at := func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format(layout)
		}
		out = append(out, []string{m.Name, string(m.Reason.Group()), string(m.Reason), state, m.ReportedBy, at(m.ReportedAt), m.RepublishedBy, at(m.RepublishedAt), r.Owners[ModuleKey(m.Name)], m.Error})
	}
	for _, m := range r.Open {
		row(m, "open")
	}
	for _, m := range r.Republished {
		row(m, "republished")
	}
	return out
}

// WriteChangeRecordMarkdown writes a change record: a table of the modules, one row each, then the timeline.
func WriteChangeRecordMarkdown(w io.Writer, r ChangeRecord) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Change record: upgrade of %s\n\n", mdCell(r.Environment))
	for _, kv := range r.Summary {
		fmt.Fprintf(&b, "- **%s:** %s\n", mdCell(kv[0]), mdCell(kv[1]))
	}
	if len(r.Summary) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("## Modules\n\n")
	if rows := r.rows(historyTimeLayout); len(rows) == 0 {
		b.WriteString("No modules named.\n")
	} else {
		b.WriteString("| " + strings.Join(changeRecordColumns, " | ") + " |\n")
		b.WriteString(strings.Repeat("|---", len(changeRecordColumns)) + "|\n")
		for _, row := range rows {
			for i := range row {
				row[i] = mdCell(row[i])
			}
			b.WriteString("| " + strings.Join(row, " | ") + " |\n")
		}
	}
	b.WriteString("\n## Timeline\n\n")
	if len(r.History) == 0 {
		b.WriteString("No history yet.\n")
	} else {
		b.WriteString("| Time | Who | What | Source |\n|---|---|---|---|\n")
		for _, e := range r.History {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", e.Time.UTC().Format(historyTimeLayout), mdCell(e.Actor), mdCell(cmp.Or(e.Detail, e.Action)), mdCell(e.Source))
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("progress: write change record markdown: %w", err)
	}
	return nil
}

// WriteChangeRecordCSV writes a change record as CSV: the module table with
// its header row, an empty line, then the timeline as WriteHistoryCSV does.
func WriteChangeRecordCSV(w io.Writer, r ChangeRecord) error {
	cw := csv.NewWriter(w)
	header := make([]string, len(changeRecordColumns))
	for i, c := range changeRecordColumns {
		header[i] = strings.ReplaceAll(strings.ToLower(c), " ", "_")
	}
	records := [][]string{header}
	for _, row := range r.rows(time.RFC3339) {
		for i := range row {
			row[i] = csvCell(row[i])
		}
		records = append(records, row)
	}
	if err := cw.WriteAll(append(records, []string{""})); err != nil {
		return fmt.Errorf("progress: write change record csv: %w", err)
	}
	return WriteHistoryCSV(w, r.History)
}

// tally fills st's module count and counts by group from every module
// listed (key → record) and republished since the last reset (key → JSON;
// one listed again counts as listed); with all, RepublishedModules too.
// Counting from the records keeps the counts right whatever an undo puts back.
func (st *Status) tally(listed map[string]wireModule, repub map[string]string, all bool) error {
	st.ModuleCount = len(listed)
	for _, w := range listed {
		st.Open.add(Reason(w.Reason).Group(), 1)
	}
	for k, v := range repub {
		if _, again := listed[k]; again {
			continue
		}
		w, err := decodeModule([]byte(v))
		if err != nil {
			return fmt.Errorf("progress: decode republished module: %w", err)
		}
		st.Republished.add(Reason(w.Reason).Group(), 1)
		if all {
			st.RepublishedModules = append(st.RepublishedModules, w.module())
		}
	}
	sortRepublished(st.RepublishedModules)
	return nil
}
