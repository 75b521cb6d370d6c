// Package errorlogtest writes Error Log exports for tests: the same rows
// as CSV, as a tab-separated paste (a Slack snippet) and as XLSX (excelize).
package errorlogtest

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"
)

// Header is the Error Log export's header row.
var Header = []string{"Instant", "Module_Name", "Application_Name", "Username", "Message", "Stack"}

// Log is an Error Log of n rows and the modules a reader must find in it,
// by reason: every third row a producer not prepared, every third a module
// whose upgrade failed, every sixth a module not upgraded (named only in
// the module column), the rest other errors or rows without a message.
func Log(n int) (rows [][]string, modules map[string][]string) {
	styles := []string{"Claims_Core", "Billing_CS", "Orders_IS", "Portal_Th", "HR_BL", "Payments_API", "Docs_Lib"}
	modules = map[string][]string{}
	seen := map[string]bool{}
	add := func(reason, m string) {
		if !seen[reason+m] {
			seen[reason+m] = true
			modules[reason] = append(modules[reason], m)
		}
	}
	rows = [][]string{Header}
	for i := range n {
		mod := fmt.Sprintf("%s%d", styles[i%len(styles)], i%40)
		when := fmt.Sprintf("2026-12-01 10:%02d:%02d", i/60%60, i%60)
		row := []string{when, "ServiceCenter", "ServiceCenter", "admin", "", ""}
		switch i % 6 {
		case 0, 3:
			row[4] = fmt.Sprintf("Producer module '%s' hasn't been prepared for the current OutSystems environment version. The Preparation of Modules may not have finished yet, failed, or it is on hold. Check Service Center for more details or try to publish '%s'.", mod, mod)
			row[5] = "at OutSystems.HubEdition.Publish\n   at OutSystems.HubEdition.Deploy"
			add("producer-not-prepared", mod)
		case 1, 4:
			row[4] = "Upgrade Failure: Upgrade failed for " + mod
			row[5] = "Internal error: the compiler stopped"
			add("failed", mod)
		case 2:
			row[1], row[4] = mod, "This Module hasn't been upgraded to the current environment version. Please publish the module. Alternatively, run another environment upgrade."
			add("not-upgraded", mod)
		case 5:
			if i%12 == 5 {
				row[4] = "" // a row the reader cannot use
			} else {
				row[4] = "Timeout expired. The timeout period elapsed prior to completion of the operation."
			}
		}
		rows = append(rows, row)
	}
	return rows, modules
}

// CSV writes rows as CSV.
func CSV(rows [][]string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.WriteAll(rows) // a bytes.Buffer does not fail
	return b.Bytes()
}

// Paste writes rows as a tab-separated paste from Service Center's grid,
// each cell on one line.
func Paste(rows [][]string) []byte {
	var b strings.Builder
	for _, r := range rows {
		cells := make([]string, len(r))
		for i, c := range r {
			cells[i] = strings.NewReplacer("\n", " ", "\t", " ").Replace(c)
		}
		b.WriteString(strings.Join(cells, "\t") + "\n")
	}
	return []byte(b.String())
}

// XLSX writes rows as a workbook of one sheet, with excelize.
func XLSX(t testing.TB, rows [][]string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	sw, err := f.NewStreamWriter("Sheet1")
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		cells := make([]any, len(r))
		for j, c := range r {
			cells[j] = c
		}
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := sw.SetRow(cell, cells); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if _, err := f.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
