package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
)

// The workbook has a sheet each for the summary, the modules and the
// timeline; times are dates a spreadsheet sorts and filters; text that
// looks like a formula stays text; a cell holds no more than Excel takes.
func TestWriteChangeRecordXLSX(t *testing.T) {
	at := time.Date(2026, 12, 7, 9, 30, 0, 0, time.FixedZone("WET+1", 3600))
	rec := ChangeRecord{
		Environment: "prod",
		Summary:     [][2]string{{"Target", "Platform Server 11.31.0"}, {"State", "preparing"}},
		Open:        []Module{{Name: "=HYPERLINK(\"x\")", Reason: ReasonFailed, ReportedBy: "Ana Silva", ReportedAt: at, Error: strings.Repeat("e", 40000)}},
		Republished: []Module{{Name: "Billing_CS", Reason: ReasonProducerNotPrepared, ReportedBy: "Ana Silva", ReportedAt: at, RepublishedBy: "Bruno Costa", RepublishedAt: at.Add(time.Hour)}},
		History:     []HistoryEntry{{Time: at, Actor: "Ana Silva", Action: ActionTrack, Detail: "followed in #upgrade-prod"}, {Time: at, Actor: "Carla", Action: ActionTake}},
		Owners:      map[string]string{ModuleKey("=HYPERLINK(\"x\")"): "Carla"},
	}
	var buf bytes.Buffer
	if err := WriteChangeRecordXLSX(&buf, rec); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatalf("not a workbook: %v", err)
	}
	defer f.Close()
	if got := strings.Join(f.GetSheetList(), ","); got != "Summary,Modules,Timeline" {
		t.Errorf("sheets %s", got)
	}
	for _, c := range []struct{ sheet, cell, want string }{
		{"Summary", "A1", "Target"},
		{"Summary", "B1", "Platform Server 11.31.0"},
		{"Modules", "A1", "Module"},
		{"Modules", "F1", "Reported at (UTC)"},
		{"Modules", "A2", "=HYPERLINK(\"x\")"},
		{"Modules", "D2", "open"},
		{"Modules", "I2", "Carla"},
		{"Modules", "F2", "2026-12-07 08:30:00"}, // UTC
		{"Modules", "A3", "Billing_CS"},
		{"Modules", "G3", "Bruno Costa"},
		{"Modules", "H3", "2026-12-07 09:30:00"},
		{"Timeline", "A2", "2026-12-07 08:30:00"},
		{"Timeline", "D2", "followed in #upgrade-prod"},
		{"Timeline", "D3", "take"}, // the action when there is no detail
	} {
		if got, err := f.GetCellValue(c.sheet, c.cell); err != nil || got != c.want {
			t.Errorf("%s!%s = %q, %v; want %q", c.sheet, c.cell, got, err, c.want)
		}
	}
	if formula, _ := f.GetCellFormula("Modules", "A2"); formula != "" {
		t.Errorf("a module name became the formula %q", formula)
	}
	if typ, _ := f.GetCellType("Modules", "F2"); typ != excelize.CellTypeUnset && typ != excelize.CellTypeNumber {
		t.Errorf("a time is a cell of type %v, want a number (a date)", typ)
	}
	if raw, _ := f.GetCellValue("Modules", "F2", excelize.Options{RawCellValue: true}); strings.Contains(raw, "-") {
		t.Errorf("a time is stored as the text %q, not as a date", raw)
	}
	if e, _ := f.GetCellValue("Modules", "J2"); len([]rune(e)) > 32767 || !strings.HasSuffix(e, "…") {
		t.Errorf("a 40,000-character error is %d characters in its cell, want it cut below Excel's 32,767", len([]rune(e)))
	}
}
