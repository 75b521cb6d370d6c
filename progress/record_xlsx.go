package progress

import (
	"cmp"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
)

// maxCellRunes is what an Excel cell holds (32,767 characters), with room
// for the mark of a cut.
const maxCellRunes = 32000

// WriteChangeRecordXLSX writes a change record as a workbook, for the
// spreadsheet a postmortem is written in: where the upgrade stands, the
// modules (one row each) and the timeline, each on a sheet of its own,
// with times as dates (UTC) and each table filterable. Text stays text:
// a name starting with = is no formula.
func WriteChangeRecordXLSX(w io.Writer, r ChangeRecord) error {
	f := excelize.NewFile()
	defer f.Close()
	wrap := func(err error) error { return fmt.Errorf("progress: write change record xlsx: %w", err) }
	date, err := f.NewStyle(&excelize.Style{CustomNumFmt: new("yyyy-mm-dd hh:mm:ss")})
	if err != nil {
		return wrap(err)
	}
	at := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return excelize.Cell{StyleID: date, Value: t.UTC()}
	}
	var summary [][]any
	for _, kv := range r.Summary {
		summary = append(summary, []any{kv[0], cell(kv[1])})
	}
	var modules [][]any
	for _, g := range []struct {
		state string
		ms    []Module
	}{{"open", r.Open}, {"republished", r.Republished}} {
		for _, m := range g.ms {
			modules = append(modules, []any{cell(m.Name), string(m.Reason.Group()), string(m.Reason), g.state, m.ReportedBy, at(m.ReportedAt),
				m.RepublishedBy, at(m.RepublishedAt), r.Owners[ModuleKey(m.Name)], cell(m.Error)})
		}
	}
	var timeline [][]any
	for _, e := range r.History {
		timeline = append(timeline, []any{at(e.Time), e.Actor, e.Action, cell(cmp.Or(e.Detail, e.Action)), e.Source})
	}
	columns := append([]string(nil), changeRecordColumns...)
	columns[5], columns[7] = "Reported at (UTC)", "Republished at (UTC)"
	for i, s := range []struct {
		name   string
		header []string
		widths []float64
		rows   [][]any
	}{
		{"Summary", []string{"", ""}, []float64{24, 80}, summary},
		{"Modules", columns, []float64{32, 12, 24, 12, 20, 20, 20, 20, 20, 80}, modules},
		{"Timeline", []string{"Time (UTC)", "Who", "Action", "What", "Source"}, []float64{20, 20, 12, 80, 40}, timeline},
	} {
		if i == 0 {
			err = f.SetSheetName("Sheet1", s.name)
		} else {
			_, err = f.NewSheet(s.name)
		}
		if err == nil {
			err = writeSheet(f, s.name, s.header, s.widths, s.rows, i > 0)
		}
		if err != nil {
			return wrap(err)
		}
	}
	if _, err := f.WriteTo(w); err != nil {
		return wrap(err)
	}
	return nil
}

// writeSheet writes a table of rows under header (none when table is
// false: label and value), its header row frozen and filterable.
func writeSheet(f *excelize.File, sheet string, header []string, widths []float64, rows [][]any, table bool) error {
	sw, err := f.NewStreamWriter(sheet)
	if err != nil {
		return err
	}
	for i, wd := range widths {
		if err := sw.SetColWidth(i+1, i+1, wd); err != nil {
			return err
		}
	}
	first := 1
	if table {
		if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
			return err
		}
		h := make([]any, len(header))
		for i, c := range header {
			h[i] = c
		}
		if err := sw.SetRow("A1", h); err != nil {
			return err
		}
		first = 2
	}
	for i, row := range rows {
		ref, _ := excelize.CoordinatesToCellName(1, first+i)
		if err := sw.SetRow(ref, row); err != nil {
			return err
		}
	}
	if table && len(rows) > 0 {
		last, _ := excelize.CoordinatesToCellName(len(header), len(rows)+1)
		if err := sw.AddTable(&excelize.Table{Range: "A1:" + last, Name: sheet, StyleName: "TableStyleLight9"}); err != nil {
			return err
		}
	}
	return sw.Flush()
}

// cell is text cut to what a cell holds.
func cell(s string) string {
	if utf8.RuneCountInString(s) <= maxCellRunes {
		return s
	}
	r := []rune(s)
	return string(r[:maxCellRunes]) + "…"
}
