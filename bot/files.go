package bot

import (
	"errors"
	"fmt"
	"strings"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/errorlog"
)

// MaxFileBytes bounds a shared file (text, snippet, CSV, XLSX) that is
// read; a transport downloads at most this much.
const MaxFileBytes = 10 << 20

// MaxTextBytes bounds a text file read as a pasted message (not a table).
const MaxTextBytes = 1 << 20

// sheetRead is an Error Log export as read: every row diagnosed.
type sheetRead struct {
	format   string
	columns  []string
	rows     int      // rows with a message
	errors   int      // rows with a known message
	groups   []string // titles of the findings, in order of appearance
	counts   map[string]int
	modules  []string
	blank    []int // lines without a message
	findings []diagnosis.Finding
}

// ReadFile reads a file shared with a message, as the transport got it
// (at most MaxFileBytes): an Error Log export (XLSX, CSV or tab-separated
// text, told apart by its first bytes, whatever its name) row by row,
// any other text like a pasted message. The result goes with the
// message's screenshots (Message.Images): its findings are recorded and
// answered with the message's.
func (b *Bot) ReadFile(name string, data []byte) ImageText {
	im := ImageText{Name: name, File: true}
	if len(data) > MaxFileBytes {
		im.Problem = fmt.Sprintf("it is too large (at most %d MB are read)", MaxFileBytes>>20)
		return im
	}
	log, err := errorlog.Read(data, errorlog.DefaultLimits)
	switch {
	case err == nil:
		im.sheet = b.readSheet(log)
		return im
	case errors.Is(err, errorlog.ErrNoHeader) && errorlog.Detect(data) == errorlog.Text:
		// Not a table: a text, read as if pasted.
	default:
		im.Problem = fileProblem(err)
		return im
	}
	if len(data) > MaxTextBytes {
		im.Problem = fmt.Sprintf("it is too large for a text (at most %d MB are read; an Error Log export is read up to %d MB)", MaxTextBytes>>20, MaxFileBytes>>20)
		return im
	}
	text, err := errorlog.Decode(data)
	if err != nil {
		im.Problem = fileProblem(err)
		return im
	}
	im.Text = text
	return im
}

// fileProblem says in a few words why a file was not read, and what to do.
func fileProblem(err error) string {
	lim := errorlog.DefaultLimits
	switch {
	case errors.Is(err, errorlog.ErrBinary):
		return "it is not a text, CSV or XLSX file (its content says so, whatever its name); share the Error Log as .xlsx or CSV, or paste the text"
	case errors.Is(err, errorlog.ErrNoHeader):
		return "no sheet has a header row with a Message column (as the Error Log export has: Instant, Module_Name, Message, Stack)"
	case errors.Is(err, errorlog.ErrTooManyRows):
		return fmt.Sprintf("it has more than %d rows, so none were recorded; export a shorter period of the Error Log", lim.MaxRows)
	case errors.Is(err, errorlog.ErrTooLarge):
		return fmt.Sprintf("the workbook unpacks to more than %d MB, so it was not read; export a shorter period or save it as CSV", lim.MaxUnzip>>20)
	case errors.Is(err, errorlog.ErrOldExcel):
		return "it is an old Excel (.xls) or password-protected workbook; save it as .xlsx or CSV"
	case errors.Is(err, errorlog.ErrBadXLSX):
		return "it is not a readable XLSX workbook; save it again as .xlsx or CSV"
	}
	return "it could not be read as CSV (" + err.Error() + "); check its quotes, or paste the text"
}

// readSheet diagnoses every row of an Error Log; a module the message
// does not name is taken from the row's module column when the message is
// about "this module".
func (b *Bot) readSheet(log *errorlog.Log) *sheetRead {
	s := &sheetRead{format: log.Format, columns: log.Columns, rows: len(log.Rows), blank: log.Blank, counts: map[string]int{}}
	seen := map[string]bool{}
	modules := map[string]bool{}
	for _, row := range log.Rows {
		text := row.Get(errorlog.Message)
		if d := row.Get(errorlog.Detail); d != "" {
			text += "\n" + d
		}
		found := b.engine.Diagnose(text)
		if len(found) > 0 {
			s.errors++
		}
		inRow := map[string]bool{}
		for _, f := range found {
			if f.ID == "module-not-upgraded" && f.Text("module") == "" && row.Get(errorlog.Module) != "" {
				f.Values = append(f.Values, diagnosis.Value{Name: "module", Kind: diagnosis.ValueText, Text: row.Get(errorlog.Module)})
			}
			title := f.ID
			if f.Entry != nil {
				title = f.Entry.Title
			}
			if !inRow[title] {
				inRow[title] = true
				if s.counts[title] == 0 {
					s.groups = append(s.groups, title)
				}
				s.counts[title]++
			}
			if m := f.Text("module"); m != "" && !modules[m] {
				modules[m] = true
				s.modules = append(s.modules, m)
			}
			// One finding per message and values: the reply and the
			// recorded change list each module once.
			key := fmt.Sprint(f.ID, f.Values)
			if !seen[key] {
				seen[key] = true
				f.Offset = len(s.findings)
				s.findings = append(s.findings, f)
			}
		}
	}
	return s
}

// lines say what was read from an Error Log: the columns used, the rows,
// the groups of errors, the modules, and what could not be read.
func (s *sheetRead) lines(name string) []Line {
	l := Line{T(":bar_chart: Read "), B(imageName(name)), T(fmt.Sprintf(" (%s, columns ", s.format))}
	l = append(l, nameSpans(s.columns, 8)...)
	l = append(l, T(fmt.Sprintf("): %s, %d with an upgrade error", plural(s.rows, "row", "rows"), s.errors)))
	if len(s.modules) > 0 {
		l = append(l, T(", "+plural(len(s.modules), "module", "modules")+": "))
		l = append(l, nameSpans(s.modules, 8)...)
	}
	lines := []Line{l}
	if len(s.groups) > 0 {
		g := Line{T("By message: ")}
		for i, title := range s.groups {
			if i > 0 {
				g = append(g, T("; "))
			}
			g = append(g, T(fmt.Sprintf("%s (%s)", title, plural(s.counts[title], "row", "rows"))))
		}
		lines = append(lines, g)
	}
	if len(s.blank) > 0 {
		var n []string
		for i, line := range s.blank {
			if i == 5 {
				n = append(n, fmt.Sprintf("… and %d more", len(s.blank)-5))
				break
			}
			n = append(n, fmt.Sprint(line))
		}
		lines = append(lines, Line{T(fmt.Sprintf(":warning: Not read: %s without a message (%s %s)",
			plural(len(s.blank), "row", "rows"), map[bool]string{true: "row", false: "rows"}[len(s.blank) == 1], strings.Join(n, ", ")))})
	}
	return lines
}
