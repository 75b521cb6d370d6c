package progress

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
)

func TestHistoryExportEscaping(t *testing.T) {
	entries := []HistoryEntry{{Time: t0, Actor: "=cmd|' /C calc'!A0", Action: "add", Detail: "line one\nline two | pipe \\ slash [Sign in](https://evil.example) <b>", Source: "+1"}}
	var md bytes.Buffer
	if err := WriteHistoryMarkdown(&md, "dev", entries); err != nil {
		t.Fatal(err)
	}
	row := strings.Split(md.String(), "\n")[4]
	want := `| 2025-03-01 09:00:00 UTC | =cmd\|' /C calc'!A0 | add | line one line two \| pipe \\ slash \[Sign in\](https://evil.example) \<b\> | +1 |`
	if row != want {
		t.Errorf("markdown row = %s\nwant %s", row, want)
	}
	var out bytes.Buffer
	if err := WriteHistoryCSV(&out, entries); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	// Cells a spreadsheet would evaluate as formulas are quoted with "'".
	if got := recs[1]; got[1] != "'=cmd|' /C calc'!A0" || got[3] != entries[0].Detail || got[4] != "'+1" {
		t.Errorf("csv row = %q", got)
	}
	var empty bytes.Buffer
	if err := WriteHistoryMarkdown(&empty, "qa", nil); err != nil || empty.String() != "# History of qa\n\nNo history yet.\n" {
		t.Errorf("empty history = %q, %v", empty.String(), err)
	}
}
