package bot

import (
	"archive/zip"
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/upgradebot/upgradebot/internal/errorlogtest"
)

// A 300-row Error Log shared as a snippet, a CSV or an XLSX gives one reply
// that says what was read, and records every module in one change per reason.
func TestErrorLogFileRecordsEveryModule(t *testing.T) {
	rows, want := errorlogtest.Log(300)
	for _, tt := range []struct {
		name, format string
		data         []byte
	}{
		{"snippet.txt", "tab-separated text", errorlogtest.Paste(rows)},
		{"errors.csv", "CSV", errorlogtest.CSV(rows)},
		{"errors.xlsx", "XLSX", errorlogtest.XLSX(t, rows)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, store := newTestBot(t)
			cmd(t, b, "C1", "U1", "track prod")
			resp := imageMsg(t, b, "5.1", "", b.ReadFile(tt.name, tt.data))
			out := text(resp)
			for _, s := range []string{"Read " + tt.name + " (" + tt.format + ", columns Instant, Module_Name, Application_Name, Username, Message, Stack): 275 rows, 250 with an upgrade error, 237 modules", "Not read: 25 rows without a message (rows 7, 19, 31, 43, 55, … and 20 more)",
				"A producer module has not been compiled for the new version (100 rows)"} {
				if !strings.Contains(out, s) {
					t.Errorf("reply lacks %q:\n%s", s, out)
				}
			}
			names := map[string]bool{} // the list holds a module once, whatever its reasons
			for _, m := range want {
				for _, n := range m {
					names[n] = true
				}
			}
			st, err := store.Status(context.Background(), "T1", "prod", -1)
			if err != nil || st.ModuleCount != len(names) {
				t.Fatalf("%d modules recorded, want %d (%v)", st.ModuleCount, len(names), err)
			}
			for _, m := range st.Modules {
				delete(names, m.Name)
			}
			if len(names) > 0 {
				t.Errorf("not recorded: %v", names)
			}
			h, err := store.History(context.Background(), "T1", "prod")
			if err != nil {
				t.Fatal(err)
			}
			adds := 0
			for _, e := range h {
				if strings.Contains(e.Action, "add") {
					adds++
				}
			}
			if adds != len(want) {
				t.Errorf("%d additions in the history, want one per reason (%d): %+v", adds, len(want), h)
			}
		})
	}
}

// Files that cannot be read get a clear reply and record nothing.
func TestUnreadableFiles(t *testing.T) {
	many := [][]string{{"Message", "Module"}}
	for range 60_000 {
		many = append(many, []string{"Upgrade Failure: Upgrade failed for Claims_Core", "x"})
	}
	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"screenshot.csv", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"), "is not a text, CSV or XLSX file"},
		{"big.csv", make([]byte, MaxFileBytes+1), "larger than the 10 MB I read, so none of it was read"},
		{"many.csv", errorlogtest.CSV(many), "more than 50000 rows, so none were recorded"},
		{"old.xls", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"), "old Excel (.xls)"},
		{"ErrorLog.zip", zipOf(t, "ErrorLog.csv", "Message\nm\n"), "a zip of other files, or a damaged workbook): share the CSV or XLSX inside a zip"},
		{"shot.webp", []byte("RIFF\x10\x00\x00\x00WEBPVP8 \x00\x00"), "it is a WebP image, and I read screenshots as PNG or JPEG only"},
		{"symbols.csv", []byte("Message;Module\nUpgrade Failure: Upgrade failed for Fatura\xbb\xbc\xbdo_CS;Fatura\xbb\xbc\xbdo_CS\n"), "its encoding is not one I can tell: it is not UTF-8 or UTF-16, and read in the code pages Excel saves a CSV in (Windows-1252, 850, Mac OS Roman) it has control characters or symbols inside words"},
		{"mixed.txt", []byte("Upgrade failed for Caf\xe9_Core\x01\n"), "its encoding is not one I can tell: it is not UTF-8 or UTF-16, and read in the code pages Excel saves a CSV in (Windows-1252, 850, Mac OS Roman) it has control characters or symbols inside words; save it as UTF-8"},
		{"no-header.xlsx", errorlogtest.XLSX(t, [][]string{{"a"}, {"b"}}), "no sheet has a header row with a Message column"},
		{"wide.xlsx", errorlogtest.XLSX(t, [][]string{{"Message"}, append(make([]string, 299), "x")}), "cells far to the right of an Error Log's columns"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, store := newTestBot(t)
			cmd(t, b, "C1", "U1", "track prod")
			out := text(imageMsg(t, b, "6.1", "", b.ReadFile(tt.name, tt.data)))
			if !strings.Contains(out, "Could not read the file "+tt.name+": ") || !strings.Contains(out, tt.want) {
				t.Errorf("reply:\n%s", out)
			}
			if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 0 {
				t.Errorf("recorded %d modules", st.ModuleCount)
			}
		})
	}
}

// A snippet in UTF-16 (with its byte-order mark) is read like pasted text;
// a text with no known error gets no reply, like a pasted one.
func TestTextFiles(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	utf16 := []byte{0xFF, 0xFE}
	for _, r := range "Upgrade Failure: Upgrade failed for Claims_Core" {
		utf16 = append(utf16, byte(r), 0)
	}
	out := text(imageMsg(t, b, "7.1", "", b.ReadFile("paste.txt", utf16)))
	if !strings.Contains(out, "Read from the file paste.txt") || !strings.Contains(out, "1 module to republish (Claims_Core)") {
		t.Errorf("reply:\n%s", out)
	}
	if resp := imageMsg(t, b, "7.2", "", b.ReadFile("notes.log", []byte("lunch at noon\n"))); !resp.Reply.Empty() || resp.React != "" {
		t.Errorf("a text without errors was answered: %s", text(resp))
	}
	if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 1 {
		t.Errorf("modules: %+v", st.Modules)
	}
}

// In a channel with several environments, the choice button records the
// whole Error Log: the message is kept with what was read from the file.
func TestErrorLogChooseEnvironment(t *testing.T) {
	rows, _ := errorlogtest.Log(300)
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track qa")
	cmd(t, b, "C1", "U1", "track prod")
	resp := imageMsg(t, b, "8.1", "", b.ReadFile("errors.csv", errorlogtest.CSV(rows)))
	if !strings.Contains(text(resp), "Which environment is this about?") || !strings.HasSuffix(resp.Reply.Summary, " · which environment is it about?") {
		t.Fatalf("reply (summary %q):\n%s", resp.Reply.Summary, text(resp))
	}
	got := click(b, "choose", buttonsOf(resp.Reply)["prod"])
	if !strings.Contains(text(got), "Recorded for prod: 100 modules to republish") {
		t.Errorf("after the choice:\n%s", text(got))
	}
	if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 237 {
		t.Errorf("%d modules recorded on prod, want 237", st.ModuleCount)
	}
}

// An Error Log export whose rows show an internal error gets the advice a
// paste of the same rows gets: the platform broke, open a case.
func TestErrorLogFileInternalError(t *testing.T) {
	csv := "Instant,Module_Name,Message\n" +
		"2026-12-06 10:00:00,Employees,Upgrade Failure: Upgrade failed for Employees\n" +
		"2026-12-06 10:00:01,Employees,Internal Error: Object reference not set to an instance of an object.\n"
	b, _ := newTestBot(t)
	mustSay(t, text(imageMsg(t, b, "6.1", "", b.ReadFile("errors.csv", []byte(csv)))), "open a case with OutSystems Support with the Internal Error entry's Detail")
	_, r, err := b.DiagnoseFile([]byte(csv))
	if err != nil || r == nil {
		t.Fatalf("DiagnoseFile: %v, %v", r, err)
	}
	mustSay(t, RenderText(r), "open a case with OutSystems Support with the Internal Error entry's Detail")
}

// A CSV Excel saved on Windows (its code page, not UTF-8) is read, and so
// are its "CSV (MS-DOS)" (code page 850) and "CSV (Macintosh)" (Mac OS
// Roman), which read as Windows-1252 recorded Fatura‡Æo_CS and Fatura�‹o_CS.
// Windows-1252 that reads cleanly reads as it always did, whatever its
// letters: Danish names were refused whole, French ones recorded as Mac OS
// Roman (Cúur_MÈtier_CS).
func TestWindows1252ErrorLog(t *testing.T) {
	for _, tt := range []struct {
		name string
		data []string // the modules, as bytes in the file
		want string   // the modules recorded
	}{
		{"Windows-1252", []string{"Caf\xe9_Core"}, "Café_Core"},
		{"code page 850", []string{"Fatura\x87\xc6o_CS"}, "Faturação_CS"},
		{"Mac OS Roman", []string{"Fatura\x8d\x8bo_CS"}, "Faturação_CS"},
		{"Windows-1252 Danish", []string{"Kunde_S\xf8gning", "L\xf8n_Beregning", "\xc6ndringer_CS", "\xc5rsopg\xf8relse_IS"}, "Kunde_Søgning,Løn_Beregning,Ændringer_CS,Årsopgørelse_IS"},
		{"Windows-1252 Danish capital after an underscore", []string{"Kundeoversigt_\xc6r\xf8"}, "Kundeoversigt_Ærø"},
		{"Windows-1252 French œ", []string{"C\x9cur_M\xe9tier_CS"}, "Cœur_Métier_CS"},
		{"Windows-1252 ™ before a capital", []string{"Acme\x99Portal"}, "Acme™Portal"},
	} {
		var rows strings.Builder
		for _, m := range tt.data {
			rows.WriteString("2026-12-06 10:00;" + m + ";Upgrade Failure: Upgrade failed for " + m + "\r\n")
		}
		b, store := newTestBot(t)
		cmd(t, b, "C1", "U1", "track prod")
		out := text(imageMsg(t, b, "8.1", "", b.ReadFile("errors.csv", []byte("Instant;Module_Name;Message\r\n"+rows.String()))))
		st, err := store.Status(context.Background(), "T1", "prod", -1)
		var got []string
		for _, m := range st.Modules {
			got = append(got, m.Name)
		}
		want := strings.Split(tt.want, ",")
		slices.Sort(got)
		slices.Sort(want)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("%s: recorded %q (%v), want %s\n%s", tt.name, got, err, tt.want, out)
		}
	}
}

// A text file longer than MaxTextBytes (a Configuration Tool log) is read
// from its end, where the last errors are, and the reply says so.
func TestLongLogReadFromItsEnd(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	log := strings.Repeat("2026-12-06 10:00:00 INFO compiling\n", 2*MaxTextBytes/34) + "2026-12-06 11:00:00 ERROR Upgrade failed for Big2_Core\n"
	out := text(imageMsg(t, b, "9.1", "", b.ReadFile("big.log", []byte(log))))
	mustSay(t, out, "Read from the file big.log (its last 1 MB: it is longer than I read of a text)")
	if st, _ := store.Status(context.Background(), "T1", "prod", -1); len(st.Modules) != 1 || st.Modules[0].Name != "Big2_Core" {
		t.Errorf("recorded %+v, want Big2_Core", st.Modules)
	}
}

// A long log whose end holds no known error, and an empty file, are
// answered: the sender would otherwise take silence for "no error in it".
func TestFilesWithNothingReadAreAnswered(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	early := "2026-12-06 10:00:00 ERROR Upgrade failed for Early_Core\n" + strings.Repeat("2026-12-06 10:00:00 INFO compiling\n", 2*MaxTextBytes/34)
	mustSay(t, text(imageMsg(t, b, "9.1", "", b.ReadFile("early.log", []byte(early)))),
		"Read the end of the file early.log (its last 1 MB: it is longer than I read of a text): no upgrade error I know there", "share the lines around them")
	mustSay(t, text(imageMsg(t, b, "9.2", "", b.ReadFile("errors.txt", []byte(" \n")))), "Could not read the file errors.txt: it is empty")
	if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 0 {
		t.Errorf("recorded %+v", st.Modules)
	}
	// A short text without an error is still let be, as a pasted one is.
	if resp := imageMsg(t, b, "9.3", "", b.ReadFile("notes.log", []byte("lunch at noon\n"))); !resp.Reply.Empty() {
		t.Errorf("answered: %s", text(resp))
	}
}

// An Error Log naming one module in several spellings lists it once, as
// the store keeps it (no invisible characters).
func TestErrorLogListsEachModuleOnce(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	csv := "Instant,Module_Name,Message\n"
	for _, name := range []string{"Orders_CS", "orders_cs", "Orders_CS\u200b", "ORDERS_CS"} {
		csv += "2026-12-06 10:00:00," + name + ",Upgrade Failure: Upgrade failed for " + name + "\n"
	}
	out := text(imageMsg(t, b, "9.1", "", b.ReadFile("errors.csv", []byte(csv))))
	mustSay(t, out, "1 module: Orders_CS")
	if strings.Contains(out, "\u200b") || strings.Contains(out, "orders_cs") {
		t.Errorf("a spelling listed apart:\n%s", out)
	}
	if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 1 {
		t.Errorf("recorded %+v", st.Modules)
	}
}

// Each Error Log row names its own Platform Server version, or none: only
// the rows of another version are held back, whatever their order.
func TestErrorLogRowsKeepTheirVersion(t *testing.T) {
	rows := []string{
		"2026-12-06 10:00:00,Old_Mod,Upgrade Failure: Upgrade failed for Old_Mod,Upgrading to Platform Server 11.18.1 failed",
		"2026-12-06 10:00:01,Orders_CS,This Module hasn't been upgraded to the current environment version. Please publish the module.,",
		"2026-12-06 10:00:02,Billing_CS,Upgrade Failure: Upgrade failed for Billing_CS,Upgrading to Platform Server 11.31.0 failed",
	}
	for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}} {
		csv := "Instant,Module_Name,Message,Detail\n"
		for _, i := range order {
			csv += rows[i] + "\n"
		}
		b, store := newTestBot(t)
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		out := text(imageMsg(t, b, "9.1", "", b.ReadFile("errors.csv", []byte(csv))))
		mustSay(t, out, "this message names Platform Server 11.18.1, but prod's target is 11.31.0")
		st, _ := store.Status(context.Background(), "T1", "prod", -1)
		var got []string
		for _, m := range st.Modules {
			got = append(got, m.Name)
		}
		slices.Sort(got)
		if !slices.Equal(got, []string{"Billing_CS", "Orders_CS"}) {
			t.Errorf("rows in order %v: recorded %v, want Billing_CS and Orders_CS\n%s", order, got, out)
		}
	}
}

// zipOf is a zip archive holding one file.
func zipOf(t *testing.T, name, content string) []byte {
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, err := w.Create(name)
	if err == nil {
		_, err = f.Write([]byte(content))
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// An error's detail page copied out as a text file (label, tab, value) is
// read as text, not as a table whose header is its Message line.
func TestDetailPageFileReadAsText(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	detail := "Error Log Detail\nTime of Log\t2026-12-06 10:00:01\nModule\tOrders_CS\nMessage\tUpgrade Failure: Upgrade failed for Orders_CS\nStack\tat x\n"
	mustSay(t, text(imageMsg(t, b, "9.1", "", b.ReadFile("detail.txt", []byte(detail)))), "Read from the file detail.txt", "Orders_CS")
	if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 1 || st.Modules[0].Name != "Orders_CS" {
		t.Errorf("recorded %+v, want Orders_CS", st.Modules)
	}
}
