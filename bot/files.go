package bot

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/errorlog"
	"github.com/upgradebot/upgradebot/ocr"
	"github.com/upgradebot/upgradebot/progress"
)

// MaxFileBytes bounds a shared file (text, snippet, CSV, XLSX) that is
// read; a transport downloads at most this much.
const MaxFileBytes = 10 << 20

// MaxTextBytes bounds a text file read as a pasted message (not a table).
const MaxTextBytes = 1 << 20

// Sheet is an Error Log export as ReadFile read it, every row diagnosed;
// it is kept with the message (JSON) for the buttons of its reply.
type Sheet struct {
	Format  string   // "CSV", "tab-separated text", "XLSX"
	Columns []string // the header names used
	Rows    int      // rows with a message
	Errors  int      // rows with a known message
	Groups  []Group  // what the rows say, in order of appearance
	Modules []string // every module named, once
	Blank   []int    // the first rows without a message (not read)
	BlankN  int      // how many rows have no message
	Found   []Found  // one per message and values: what is recorded
	// Internal: a row shows an Error Log "Internal Error" (see internalError).
	Internal bool
}

// Group is a kind of message in an Error Log and how many rows have it.
type Group struct {
	Title string
	Rows  int
}

// Found is a finding of an Error Log, without its entry (kept as JSON).
type Found struct {
	ID     string
	Values []diagnosis.Value
}

// findings are a sheet's findings, with their entries from the knowledge
// base in use (an entry since removed is left out).
func (s *Sheet) findings(kb *diagnosis.KB) []diagnosis.Finding {
	var out []diagnosis.Finding
	for _, f := range s.Found {
		if e := kb.Entry(f.ID); e != nil {
			out = append(out, diagnosis.Finding{ID: f.ID, Entry: e, Values: f.Values, Offset: len(out)})
		}
	}
	return out
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
		im.Problem = fmt.Sprintf("it is larger than the %d MB I read, so none of it was read: share the lines around the errors, or an Error Log export of fewer rows", MaxFileBytes>>20)
		return im
	}
	if len(bytes.TrimSpace(data)) == 0 {
		im.Problem = "it is empty: share it again once it holds the errors, or paste the error's text"
		return im
	}
	var err error
	switch im.Sheet, im.Text, err = b.readFile(data, MaxTextBytes); {
	case errors.Is(err, errTextTooLarge):
		// A long log ends with what went wrong last: its end is read, from a line's start.
		end := data[len(data)-MaxTextBytes:]
		if i := bytes.IndexByte(end, '\n'); i >= 0 {
			end = end[i+1:]
		}
		if im.Text, err = errorlog.Decode(end); err != nil {
			im.Problem = fmt.Sprintf("it is a text larger than the %d MB I read of one, and its end could not be read (%s): paste or share the lines around the errors", MaxTextBytes>>20, fileProblem(err))
		}
		im.Tail = err == nil
	case err != nil:
		im.Problem = fileProblem(err)
	}
	return im
}

var errTextTooLarge = errors.New("bot: text too large")

// picture is a file that is an image in a format OCR does not take.
type picture string

func (p picture) Error() string { return string(p) }

// readFile reads an Error Log export row by row, or a text (of at most
// maxText bytes, 0 for any) as if pasted.
func (b *Bot) readFile(data []byte, maxText int) (*Sheet, string, error) {
	log, err := errorlog.Read(data, errorlog.DefaultLimits)
	switch {
	case err == nil:
		return b.readSheet(log), "", nil
	case errors.Is(err, errorlog.ErrBinary) && strings.Contains(ocr.Describe(data), " image"):
		return nil, "", picture(ocr.Describe(data)) // a screenshot in a format OCR does not take
	case !errors.Is(err, errorlog.ErrNoHeader) || errorlog.Detect(data) != errorlog.Text:
		return nil, "", err
	case maxText > 0 && len(data) > maxText:
		return nil, "", errTextTooLarge
	}
	text, err := errorlog.Decode(data) // not a table: a text, read as if pasted
	return nil, text, err
}

// DiagnoseFile explains a file as the diagnose command explains a text:
// an Error Log export (XLSX, CSV, tab-separated) row by row, any other
// text as pasted. nil findings and reply when nothing is known in it; the
// error says why the file could not be read.
func (b *Bot) DiagnoseFile(data []byte) ([]diagnosis.Finding, *Reply, error) {
	sheet, text, err := b.readFile(data, 0)
	if err != nil {
		return nil, nil, errors.New(fileProblem(err))
	}
	findings := b.engine.Diagnose(text)
	if sheet != nil {
		findings = sheet.findings(b.engine.KB())
	}
	if len(findings) == 0 {
		return nil, nil, nil
	}
	return findings, b.diagnosisReply(findings, known{internal: internalError(text) || sheet != nil && sheet.Internal}), nil
}

// fileProblem says in a few words why a file was not read, and what to do.
func fileProblem(err error) string {
	lim := errorlog.DefaultLimits
	var pic picture
	switch {
	case errors.As(err, &pic):
		return "it is " + string(pic) + ", and I read screenshots as PNG or JPEG only: share it as one (a screenshot tool's default), or paste the text"
	case errors.Is(err, errorlog.ErrBinary):
		return "it is not a text, CSV or XLSX file (its content says so, whatever its name); share the Error Log as .xlsx or CSV, or paste the text"
	case errors.Is(err, errorlog.ErrEncoding):
		return "its encoding is not one I can tell: it is not UTF-8 or UTF-16, and read in the code pages Excel saves a CSV in (Windows-1252, 850, Mac OS Roman) it has control characters or symbols inside words; save it as UTF-8 (Excel: CSV UTF-8), or paste the text"
	case errors.Is(err, errorlog.ErrNoHeader):
		return "no sheet has a header row with a Message column (as the Error Log export has: Instant, Module_Name, Message, Stack)"
	case errors.Is(err, errorlog.ErrTooManyRows):
		return fmt.Sprintf("it has more than %d rows, so none were recorded; export a shorter period of the Error Log", lim.MaxRows)
	case errors.Is(err, errorlog.ErrTooLarge):
		return fmt.Sprintf("the workbook unpacks to more than %d MB, so it was not read; export a shorter period or save it as CSV", lim.MaxUnzip>>20)
	case errors.Is(err, errorlog.ErrTooMuchText):
		return fmt.Sprintf("it holds more text than I read from one file (%d MB of messages and stack traces, or as many different texts as %d rows), so it was not read; export a shorter period of the Error Log, or without its stack traces", lim.MaxText>>20, lim.MaxRows)
	case errors.Is(err, errorlog.ErrTooWide):
		return "a row of it has cells far to the right of an Error Log's columns, so it was not read; copy the Error Log's columns to a new sheet, or save it as CSV"
	case errors.Is(err, errorlog.ErrOldExcel):
		return "it is an old Excel (.xls) or password-protected workbook; save it as .xlsx or CSV"
	case errors.Is(err, errorlog.ErrBadXLSX):
		return "it is not a readable XLSX workbook (a zip of other files, or a damaged workbook): share the CSV or XLSX inside a zip, or save the workbook again as .xlsx or CSV"
	}
	return "it could not be read as CSV (" + err.Error() + "); check its quotes, or paste the text"
}

// readSheet diagnoses every row of an Error Log; a module the message
// does not name is taken from the row's module column when the message is
// about "this module".
func (b *Bot) readSheet(log *errorlog.Log) *Sheet {
	s := &Sheet{Format: log.Format, Columns: log.Columns, Rows: len(log.Rows), Blank: log.Blank[:min(len(log.Blank), 5)], BlankN: len(log.Blank)}
	seen := map[string]bool{}
	modules := map[string]bool{}
	group := map[string]int{} // title → index in Groups
	for _, row := range log.Rows {
		text := row.Get(errorlog.Message)
		if d := row.Get(errorlog.Detail); d != "" {
			text += "\n" + d
		}
		found := b.engine.Diagnose(text)
		if len(found) > 0 {
			s.Errors++
		}
		s.Internal = s.Internal || internalError(text)
		inRow := map[string]bool{}
		for _, f := range found {
			if f.ID == "module-not-upgraded" && f.Text("module") == "" && row.Get(errorlog.Module) != "" {
				f.Values = append(f.Values, diagnosis.Value{Name: "module", Kind: diagnosis.ValueText, Text: row.Get(errorlog.Module)})
			}
			// A producer's row names the module being published: its consumer (CONTRACTS.md).
			if f.ID == "producer-not-prepared" && f.Text("consumer") == "" && row.Get(errorlog.Module) != "" {
				f.Values = append(f.Values, diagnosis.Value{Name: "consumer", Kind: diagnosis.ValueText, Text: row.Get(errorlog.Module)})
			}
			if title := f.Entry.Title; !inRow[title] {
				inRow[title] = true
				i, ok := group[title]
				if !ok {
					i, group[title] = len(s.Groups), len(s.Groups)
					s.Groups = append(s.Groups, Group{Title: title})
				}
				s.Groups[i].Rows++
			}
			// Listed as the store keeps it, each module once however spelt.
			if m, err := progress.NormalizeModule(f.Text("module")); err == nil && !modules[moduleKey(m)] {
				modules[moduleKey(m)] = true
				s.Modules = append(s.Modules, m)
			}
			// One finding per message and values: the reply and the
			// recorded change list each module once.
			if key := fmt.Sprint(f.ID, f.Values); !seen[key] {
				seen[key] = true
				s.Found = append(s.Found, Found{ID: f.ID, Values: f.Values})
			}
		}
	}
	return s
}

// lines say what was read from an Error Log: the columns used, the rows,
// the groups of messages, the modules, and what could not be read.
func (s *Sheet) lines(name string) []Line {
	l := Line{T(":bar_chart: Read "), B(imageName(name)), T(fmt.Sprintf(" (%s, columns ", s.Format))}
	l = append(l, nameSpans(s.Columns, 8)...)
	l = append(l, T(fmt.Sprintf("): %s, %d with an upgrade error", plural(s.Rows, "row", "rows"), s.Errors)))
	if len(s.Modules) > 0 {
		l = append(l, T(", "+plural(len(s.Modules), "module", "modules")+": "))
		l = append(l, nameSpans(s.Modules, 8)...)
	}
	lines := []Line{l}
	if len(s.Groups) > 0 {
		g := Line{T("By message: ")}
		for i, gr := range s.Groups {
			if i > 0 {
				g = append(g, T("; "))
			}
			g = append(g, T(fmt.Sprintf("%s (%s)", gr.Title, plural(gr.Rows, "row", "rows"))))
		}
		lines = append(lines, g)
	}
	if s.BlankN > 0 {
		var n []string
		for _, line := range s.Blank {
			n = append(n, fmt.Sprint(line))
		}
		if s.BlankN > len(s.Blank) {
			n = append(n, fmt.Sprintf("… and %d more", s.BlankN-len(s.Blank)))
		}
		which := "rows"
		if s.BlankN == 1 {
			which = "row"
		}
		lines = append(lines, Line{T(fmt.Sprintf(":warning: Not read: %s without a message (%s %s)", plural(s.BlankN, "row", "rows"), which, strings.Join(n, ", ")))})
	}
	return lines
}
