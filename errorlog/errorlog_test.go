package errorlog

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"

	"github.com/upgradebot/upgradebot/internal/errorlogtest"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

func xlsx(t testing.TB, rows [][]string) []byte { return errorlogtest.XLSX(t, rows) }

func utf16le(t *testing.T, s string) []byte {
	b, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const producer = "Producer module 'Claims_Core' hasn't been prepared for the current OutSystems environment version."

func TestRead(t *testing.T) {
	csvText := "Instant,Module_Name,Application_Name,Username,Message,Stack\n" +
		"2026-12-01 10:00,Claims_UI,Claims,admin,\"" + producer + "\",at X\n" +
		"2026-12-01 10:01,Billing_CS,,,,\n" +
		"2026-12-01 10:02,Billing_CS,,,\"Upgrade Failure: Upgrade failed for Billing_CS\",\"line 1\nline 2\"\n"
	tests := []struct {
		name    string
		data    []byte
		format  string
		columns string
		rows    int
		blank   []int
		module  string // of the first row
		err     error
	}{
		{"csv", []byte(csvText), "CSV", "Instant,Module_Name,Application_Name,Username,Message,Stack", 2, []int{3}, "Claims_UI", nil},
		{"csv with a UTF-8 BOM and CRLF", []byte("\xEF\xBB\xBFMESSAGE,Module\r\n" + producer + ",Claims_Core\r\n"), "CSV", "MESSAGE,Module", 1, nil, "Claims_Core", nil},
		{"tab-separated paste", []byte("Time of Log\tMessage\teSpace_Name\tDetail\n10:00\t" + producer + "\tOrders_IS\tx\n"), "tab-separated text", "Time of Log,Message,eSpace_Name,Detail", 1, nil, "Orders_IS", nil},
		{"semicolons", []byte("Instant;Message;Module\n1;m;HR_BL\n"), "CSV", "Instant,Message,Module", 1, nil, "HR_BL", nil},
		{"Excel's sep= line above the header", []byte("sep=;\r\nInstant;Message;Module\r\n1;m;HR_BL\r\n2;;X\r\n"), "CSV", "Instant,Message,Module", 1, []int{4}, "HR_BL", nil},
		{"UTF-16 with a BOM", utf16le(t, "Instant\tMessage\tModule\n1\t"+producer+"\tPortal_Th\n"), "tab-separated text", "Instant,Message,Module", 1, nil, "Portal_Th", nil},
		{"xlsx", xlsx(t, [][]string{{"Instant", "Module_Name", "Message", "Stack"}, {"1", "Claims_UI", producer, "s"}, {"2", "X", "", ""}}), "XLSX", "Instant,Module_Name,Message,Stack", 1, []int{3}, "Claims_UI", nil},
		{"xlsx header after an empty row", xlsx(t, [][]string{{}, {"message"}, {"m"}}), "XLSX", "message", 1, nil, "", nil},
		{"csv under a title and a blank line", []byte("Error Log exported from Service Center, 2026-12-06\n\nInstant;Module_Name;Message\n1;Orders_CS;m\n"), "CSV", "Instant,Module_Name,Message", 1, nil, "Orders_CS", nil},
		{"xlsx under two title rows", xlsx(t, [][]string{{"Error Log"}, {"exported 2026-12-06"}, {}, {"Instant", "Module_Name", "Message"}, {"1", "Orders_CS", "m"}}), "XLSX", "Instant,Module_Name,Message", 1, nil, "Orders_CS", nil},
		{"an error's detail page copied out (label, tab, value)", []byte("Error Log Detail\nTime of Log\t2026-12-06 10:00:01\nModule\tOrders_CS\nMessage\tUpgrade Failure: Upgrade failed for Orders_CS\nStack\tat x\n"), "", "", 0, nil, "", ErrNoHeader},
		{"xlsx of label and value rows", xlsx(t, [][]string{{"Error Log Detail"}, {"Module", "Orders_CS"}, {"Message", "Upgrade Failure: Upgrade failed for Orders_CS"}}), "", "", 0, nil, "", ErrNoHeader},
		{"header below ten lines of text", []byte(strings.Repeat("notes, more notes\n", 10) + "Message,Module\nm,X\n"), "", "", 0, nil, "", ErrNoHeader},
		{"a header repeated below (two exports pasted together)", []byte("Instant,Module_Name,Message\n1,Orders_CS,m\nInstant,Module_Name,MESSAGE\n2,Billing_CS,m\n"), "CSV", "Instant,Module_Name,Message", 2, nil, "Orders_CS", nil},
		{"no message column", []byte("a,b\n1,2\n"), "", "", 0, nil, "", ErrNoHeader},
		{"plain text", []byte(producer + "\n"), "", "", 0, nil, "", ErrNoHeader},
		{"xlsx without a message column", xlsx(t, [][]string{{"a", "b"}, {"1", "2"}}), "", "", 0, nil, "", ErrNoHeader},
		{"a PNG named .csv", []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), "", "", 0, nil, "", ErrBinary},
		{"Windows-1252 text (Excel's CSV on Windows)", []byte("Message;Module\nm;Caf\xe9_Core\n"), "CSV", "Message,Module", 1, nil, "Café_Core", nil},
		{"UTF-8 cut inside its last character", []byte("Message;Module\nm;José_Core\nm;Zoë_UI\xc3"), "CSV", "Message,Module", 2, nil, "José_Core", nil},
		{"Windows-1252 with its only accent at its end", []byte("Message;Module\nm;Caf\xe9\r\n"), "CSV", "Message,Module", 1, nil, "Café", nil},
		{"UTF-8 with a line appended in Latin-1", []byte("Message;Module\nm;Faturação_CS\nm;Caf\xe9\n"), "CSV", "Message,Module", 2, nil, "Faturação_CS", nil},
		{"Windows-1252 whose bytes are UTF-8 in places", []byte("Message;Module\nm;\xe9chou\xe9\xa0\xbb_CS\n"), "CSV", "Message,Module", 1, nil, "échoué\u00a0»_CS", nil},
		{"UTF-8 lines beside one that is not", []byte("Message;Module\nm → ✓ 模块 😀;Orders_UI\nCaf\xe9;x\n"), "CSV", "Message,Module", 2, nil, "Orders_UI", nil},
		{"Windows-1252 capital and no-break space", []byte("Message;Module\nm;\xc9T\xc9\xa0_CS\n"), "CSV", "Message,Module", 1, nil, "ÉTÉ\u00a0_CS", nil},
		{"a UTF-8 line quoting Windows-1252", []byte("Message;Module\nacc\xe8s refus\xe9 \xe2\x80\xa6;Faturação_CS\n"), "CSV", "Message,Module", 1, nil, "Faturação_CS", nil},
		{"a log padded with zeros after a crash", []byte("Message;Module\nm;Orders_CS\n" + strings.Repeat("m;Y\n", 1250) + "\x00\x00\x00"), "CSV", "Message,Module", 1251, nil, "Orders_CS", nil},
		{"another encoding, with control characters", []byte("Message\nModule \xe9\x01t\xe9\n"), "", "", 0, nil, "", ErrEncoding},
		{"UTF-16 without a BOM", []byte("M\x00e\x00s\x00"), "", "", 0, nil, "", ErrBinary},
		{"xlsx with a cell far to the right (each row is read as wide)", xlsx(t, [][]string{{"Message"}, {"m"}, append(make([]string, 299), "x")}), "", "", 0, nil, "", ErrTooWide},
		{"an old .xls", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest"), "", "", 0, nil, "", ErrOldExcel},
		{"a zip that is no workbook", zipOf(t, "a.txt", 10), "", "", 0, nil, "", ErrBadXLSX},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, err := Read(tt.data, DefaultLimits)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if log.Format != tt.format || strings.Join(log.Columns, ",") != tt.columns || len(log.Rows) != tt.rows || fmt.Sprint(log.Blank) != fmt.Sprint(tt.blank) {
				t.Fatalf("got %s %v %d rows, blank %v", log.Format, log.Columns, len(log.Rows), log.Blank)
			}
			if log.Rows[0].Get(Module) != tt.module {
				t.Fatalf("module = %q, want %q", log.Rows[0].Get(Module), tt.module)
			}
		})
	}
}

func TestMultilineCellIsOneRow(t *testing.T) {
	log, err := Read([]byte("Message,Detail\n\"a\",\"b\nc\"\n\"d\",e\n"), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if got := []int{log.Rows[0].Line, log.Rows[1].Line}; fmt.Sprint(got) != "[2 3]" {
		t.Fatalf("lines %v", got)
	}
	if log.Rows[0].Get(Detail) != "b\nc" {
		t.Fatalf("detail %q", log.Rows[0].Get(Detail))
	}
}

// A grid pasted in a message ends at an empty line or a line without a tab,
// not inside a quoted cell of several lines.
func TestTableLen(t *testing.T) {
	const grid = "Time\tModule\tMessage\n10:00\tA\tx\n"
	for _, tc := range []struct{ text, table string }{
		{grid, grid},
		{grid + "\nthe banner says:\nThere were errors", grid},
		{grid + "There were errors preparing some modules.", grid},
		{grid + "\r\nthen", grid},
		{grid + "   \nthen", grid},
		{grid + "10:01\tB\t\"at a\nat b\nat c\"\n10:02\tC\ty\nthanks", grid + "10:01\tB\t\"at a\nat b\nat c\"\n10:02\tC\ty\n"},
		{grid + "10:01\tB\t\"unclosed\nrest", grid + "10:01\tB\t\"unclosed\nrest"},
	} {
		if n := TableLen(tc.text); tc.text[:n] != tc.table {
			t.Errorf("TableLen(%q) takes %q, want %q", tc.text, tc.text[:n], tc.table)
		}
	}
}

// zipOf is a zip holding one entry of n zero bytes (a zip bomb when n is large).
func zipOf(t testing.TB, name string, n int64) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for left := n; left > 0; left -= int64(len(chunk)) {
		if _, err := w.Write(chunk[:min(left, int64(len(chunk)))]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A worksheet that unpacks to 256 MB (256 MB) is refused from the zip's directory,
// before anything is unpacked.
func TestZipBomb(t *testing.T) {
	bomb := zipOf(t, "xl/worksheets/sheet1.xml", 256<<20)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Read(bomb, DefaultLimits)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	t.Logf("a %d KB zip of 256 MB: %v; %d KB allocated", len(bomb)>>10, err, (after.TotalAlloc-before.TotalAlloc)>>10)
}

// sharedWorkbook writes rows with excelize's shared strings (one text
// named by many cells is stored once), as Excel saves a workbook.
func sharedWorkbook(t *testing.T, rows [][]string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, r := range rows {
		for j, v := range r {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			if err := f.SetCellStr("Sheet1", cell, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	var b bytes.Buffer
	if _, err := f.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A workbook's rows may all name one long text, or hold a table of
// millions of tiny ones: a file of a few KB then asked for minutes of
// diagnosis or hundreds of MB. Cells are cut, the rows' text is bounded,
// and so are the shared strings excelize would load.
func TestWorkbookTextBounded(t *testing.T) {
	lim := Limits{MaxRows: 100, MaxUnzip: 64 << 20, MaxText: 1 << 20}
	long := producer + strings.Repeat(" and more", 1<<17) // about 1 MB
	rows := func(n int, cell func(i, j int) string) [][]string {
		out := [][]string{{"Instant", "Module_Name", "Message", "Stack"}}
		for i := range n {
			out = append(out, []string{cell(i, 0), cell(i, 1), cell(i, 2), cell(i, 3)})
		}
		return out
	}
	sameLong := func(i, j int) string { return []string{fmt.Sprint(i), "Billing_CS", long, long}[j] }
	distinct := func(i, j int) string { return fmt.Sprintf("%s %d-%d", producer, i, j) }
	for _, c := range []struct {
		name string
		file []byte
		want error
	}{
		{"30 rows naming one 1 MB text", sharedWorkbook(t, rows(30, sameLong)), nil},                      // 30 × 32 KB read
		{"40 rows naming one 1 MB text", sharedWorkbook(t, rows(40, sameLong)), ErrTooMuchText},           // 40 × 32 KB: over 1 MB
		{"99 rows of distinct texts", sharedWorkbook(t, rows(99, distinct)), nil},                         // 396 shared strings
		{"95 such rows and 700 more texts", withExtraStrings(t, rows(95, distinct), 700), ErrTooMuchText}, // 99 rows, over 10 texts a row
		// However the elements are written: empty, spaced, prefixed.
		{"1,000 more empty texts", padSharedStrings(t, sharedWorkbook(t, rows(10, distinct)), strings.Repeat("<si/>", 1000)), ErrTooMuchText},
		{"1,000 more spaced texts", padSharedStrings(t, sharedWorkbook(t, rows(10, distinct)), strings.Repeat(`<si ><t>x</t></si >`, 1000)), ErrTooMuchText},
		{"1,000 more prefixed texts", padSharedStrings(t, sharedWorkbook(t, rows(10, distinct)), strings.Repeat(`<x:si><x:t>x</x:t></x:si>`, 1000)), ErrTooMuchText},
		{"900 more empty texts", padSharedStrings(t, sharedWorkbook(t, rows(10, distinct)), strings.Repeat("<si/>", 900)), nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if len(c.file) > 64<<10 {
				t.Fatalf("the workbook is %d KB: not the small file the test is about", len(c.file)>>10)
			}
			log, err := Read(c.file, lim)
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if err != nil {
				return
			}
			for _, r := range log.Rows {
				if len(r.Get(Message)) > maxCell || len(r.Get(Detail)) > maxCell {
					t.Fatalf("row %d: a cell of %d bytes read, more than %d", r.Line, len(r.Get(Message)), maxCell)
				}
			}
		})
	}
}

// padSharedStrings adds pad to the end of a workbook's shared strings.
func padSharedStrings(t *testing.T, data []byte, pad string) []byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		if f.Name == "xl/sharedStrings.xml" {
			b = bytes.Replace(b, []byte("</sst>"), []byte(pad+"</sst>"), 1)
		}
		w, _ := zw.Create(f.Name)
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// withExtraStrings is sharedWorkbook with n more shared strings, in rows
// of 200 cells below the others.
func withExtraStrings(t *testing.T, rows [][]string, n int) []byte {
	extra := make([]string, 0, n)
	for i := range n {
		extra = append(extra, fmt.Sprintf("x%d", i))
	}
	for len(extra) > 0 {
		k := min(len(extra), 200)
		rows = append(rows, extra[:k])
		extra = extra[k:]
	}
	return sharedWorkbook(t, rows)
}

func TestTooManyRows(t *testing.T) {
	var b strings.Builder
	b.WriteString("Instant,Module_Name,Message\n")
	for i := range 100_000 {
		fmt.Fprintf(&b, "%d,M%d,%s\n", i, i%50, producer)
	}
	rows := make([][]string, 0, 100_001)
	rows = append(rows, []string{"Instant", "Module_Name", "Message"})
	for i := range 100_000 {
		rows = append(rows, []string{fmt.Sprint(i), "M", producer})
	}
	for name, data := range map[string][]byte{"csv": []byte(b.String()), "xlsx": xlsx(t, rows)} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := Read(data, DefaultLimits)
		runtime.ReadMemStats(&after)
		if !errors.Is(err, ErrTooManyRows) {
			t.Fatalf("%s: err = %v, want ErrTooManyRows", name, err)
		}
		t.Logf("%s of 100,000 rows (%d KB): %v; %d MB allocated", name, len(data)>>10, err, (after.TotalAlloc-before.TotalAlloc)>>20)
	}
}

func FuzzRead(f *testing.F) {
	f.Add([]byte("Instant,Module_Name,Message\n1,A,\"b\"\n"))
	f.Add([]byte("Time of Log\tMessage\n1\tx\n"))
	f.Add([]byte("\xFF\xFEM\x00e\x00"))
	f.Add(xlsx(f, [][]string{{"Message", "Module"}, {"m", "A_B"}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		log, err := Read(data, Limits{MaxRows: 100, MaxUnzip: 1 << 20})
		if err != nil {
			return
		}
		if len(log.Rows)+len(log.Blank) > 100 {
			t.Fatalf("%d rows over the limit", len(log.Rows))
		}
		for _, r := range log.Rows {
			if r.Get(Message) == "" || r.Line < 1 {
				t.Fatalf("row %+v", r)
			}
		}
	})
}

// Rows of no values at all (Excel's used range reaching far below the
// data) are left out: they count neither as rows nor toward the limit.
func TestEmptyRowsUncounted(t *testing.T) {
	data := "Instant;Module_Name;Message\n1;A;" + producer + "\n;;\n2;B;\n" + strings.Repeat(";;\n", 60_000)
	log, err := Read([]byte(data), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	if len(log.Rows) != 1 || len(log.Blank) != 1 || log.Blank[0] != 4 {
		t.Errorf("rows %d, blank %v; want 1 row and line 4 without a message", len(log.Rows), log.Blank)
	}
}

// Of a workbook's sheets, the one shown when it was saved is read first,
// a hidden one never, and the reply names the sheet read.
func TestWorkbookSheets(t *testing.T) {
	build := func(t *testing.T, hidden bool, active int) []byte {
		f := excelize.NewFile()
		defer f.Close()
		for i, sheet := range []struct {
			name, module string
		}{{"Sheet1", "Old_Module"}, {"Current", "New_Module"}} {
			if i > 0 {
				if _, err := f.NewSheet(sheet.name); err != nil {
					t.Fatal(err)
				}
			}
			for j, row := range [][]any{{"Message", "Module_Name"}, {producer, sheet.module}} {
				if err := f.SetSheetRow(sheet.name, fmt.Sprintf("A%d", j+1), &row); err != nil {
					t.Fatal(err)
				}
			}
		}
		f.SetActiveSheet(active)
		if hidden {
			if err := f.SetSheetVisible("Sheet1", false); err != nil {
				t.Fatal(err)
			}
		}
		var buf bytes.Buffer
		if err := f.Write(&buf); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	for _, c := range []struct {
		name   string
		hidden bool
		active int
		want   string
	}{
		{"the first sheet hidden", true, 1, "New_Module"},
		{"the second sheet shown", false, 1, "New_Module"},
		{"the first sheet shown", false, 0, "Old_Module"},
	} {
		log, err := Read(build(t, c.hidden, c.active), DefaultLimits)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		sheet := map[string]string{"New_Module": "Current", "Old_Module": "Sheet1"}[c.want]
		if got := log.Rows[0].Get(Module); got != c.want || log.Format != `XLSX, sheet "`+sheet+`"` {
			t.Errorf("%s: read %s as %s, want %s from sheet %s", c.name, got, log.Format, c.want, sheet)
		}
	}
}

// A text partly not UTF-8 keeps what is, and reads the rest as Windows-1252.
func TestToUTF8(t *testing.T) {
	for in, want := range map[string]string{
		"Módulo → falhou ✓ 模块 😀\nCaf\xe9":       "Módulo → falhou ✓ 模块 😀\nCafé", // a UTF-8 line stays whole
		"Fatura\xc3\xa7\xc3\xa3o_CS: acc\xe8s…": "Faturação_CS: accès…",         // a UTF-8 line quoting Latin-1
		"\xe9chou\xe9\xa0\xbb":                  "échoué\u00a0»",                // Windows-1252 whose bytes form UTF-8
		"\xc9T\xc9\xa0: erro":                   "ÉTÉ\u00a0: erro",
	} {
		if got := ToUTF8(in); got != want {
			t.Errorf("ToUTF8(%q) = %q, want %q", in, got, want)
		}
	}
}

// Excel saves a CSV in the code page of its choice: "CSV (Comma
// delimited)" on Windows in Windows-1252, "CSV (MS-DOS)" in code page 850,
// "CSV (Macintosh)" in Mac OS Roman. Each reads with its accents; before,
// the last two read as Windows-1252 (Fatura‡Æo_CS, Fatura�‹o_CS). A text
// that reads cleanly in Windows-1252 reads in it exactly, whatever its
// letters and symbols (it was refused, or read as code page 850 or Mac OS
// Roman: Kunde_Søgning refused, Cœur → Cúur, €100 → Ç100).
func TestExcelCodePages(t *testing.T) {
	names := []string{"Faturação_CS", "Gestão_Clientes", "Relatórios_IS", "Configuración_Core", "Préstamos_BL",
		"Usuários", "Informações_Core", "Crédito_Habitação", "Referência_CS", "Número_Conta", "Endereço_UI",
		"Año_Fiscal", "Müller_Lib", "Café_Core", "Größe_Core", "Élève_CS", "Ação", "Señal", "São_Paulo", "Médias_CS"}
	pages := []struct {
		name string
		cm   *charmap.Charmap
	}{{"Windows-1252", charmap.Windows1252}, {"code page 850", charmap.CodePage850}, {"Mac OS Roman", charmap.Macintosh}}
	for _, page := range pages {
		for _, name := range names {
			text := "Instant;Module_Name;Message\r\n12/03/2024 10:11:12;" + name + ";Upgrade Failure: Upgrade failed for " + name + "\r\n"
			data, err := page.cm.NewEncoder().Bytes([]byte(text))
			if err != nil {
				t.Fatalf("%s: %v", page.name, err)
			}
			log, err := Read(data, DefaultLimits)
			if err != nil {
				t.Errorf("%s %s: %v", page.name, name, err)
				continue
			}
			if got := log.Rows[0].Get(Module); got != name || !strings.HasSuffix(log.Rows[0].Get(Message), name) {
				t.Errorf("%s: read %q as %q (%q)", page.name, name, got, log.Rows[0].Get(Message))
			}
		}
	}
	for _, text := range []string{
		"Instant,Module_Name,Message,Stack\n2026-03-02 10:11:12,Kunde_Søgning,Upgrade failed for Kunde_Søgning,\n2026-03-02 10:11:13,Løn_Beregning,Upgrade failed for Løn_Beregning,\n2026-03-02 10:11:14,Ændringer_CS,Upgrade failed for Ændringer_CS,\n2026-03-02 10:11:15,Årsopgørelse_IS,Upgrade failed for Årsopgørelse_IS,\n",
		"Instant,Module_Name,Message,Stack\n2026-03-02 10:11:12,Cœur_Métier_CS,Upgrade failed for Cœur_Métier_CS,\n",
		"Instant,Module_Name,Message,Stack\n2026-03-02 10:11:12,Kundeoversigt_Ærø,Upgrade failed for Kundeoversigt_Ærø,\n",
		"Instant,Module_Name,Message,Stack\n2026-03-02 10:11:12,Acme™Portal,Upgrade failed for Acme™Portal,\n",
		"Instant,Module_Name,Message,Stack\n2026-03-02 10:11:12,Billing_CS,Upgrade failed for Billing_CS,\"Price list total €1,200 exceeded\"\n",
		"Message,Module\nCost: €100 per month,Billing_CS\n",
		"Message,Module\nprice £50,Billing_CS\n",
		"Message,Module\npages 10–20,Billing_CS\n",
		"Message,Module\nUpgrade failed for Billing_CS—Orders_Core,Billing_CS\n",
		"Message,Module\nsee §3,Billing_CS\n",
		"Message,Module\ntook 40µs,Billing_CS\n",
		// Typography glued between words, beside accented names: one such
		// character turned the whole file into code page 850 (GestÒo_Clientes).
		"Instant,Module_Name,Message,Stack\n2024-05-01 10:00:00,Gestão_Clientes,Upgrade failed for Faturação_CS,\n2024-05-01 10:02:00,Integração_SAP,Timeout ao chamar o serviço SAP…tentando novamente,\n",
		"Instant,Module_Name,Message,Stack\n2024-05-01 10:00:00,Gestão_Clientes,pre–prod failed,\n",
		"Instant,Module_Name,Message,Stack\n2024-05-01 10:00:00,Café_Core,the\u00a0module failed,\n",
		"Message,Module\nErreur : l’opération a échoué — réessayez « plus tard » à l’ÉTÉ,Noël_CS\n",
		"Message,Module\nFehler: „Größe“ überschreitet 10 MB,Straße_Öffnung\n",
		"Message,Module\n¿Por qué? ¡Error! Núñez,São_Paulo_Ação\n",
	} {
		data, err := charmap.Windows1252.NewEncoder().String(text)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := Decode([]byte(data)); got != text || err != nil {
			t.Errorf("Windows-1252 %q read as %q (%v)", text, got, err)
		}
	}
}

// A text whose Windows-1252 reading has symbols inside words and which no
// other code page reads as letters is refused (save it as CSV UTF-8), not
// recorded garbled; one that reads as well in Windows-1252 reads as always.
func TestOtherCodePageRefused(t *testing.T) {
	tests := []struct {
		name, data string
		want       string // "" when refused
	}{
		{"symbols inside a word in every code page", "Message;Module\nm;Fatura\xbb\xbc\xbdo_CS\n", ""},
		{"an undefined byte inside a word", "Message;Module\nm;Fatura\x81\xbdo_CS\n", ""},
		{"Polish in Windows-1250 (ł as ³)", "Message;Module\nm;Wroc\xb3aw_Oddzia\xb3_CS\n", ""},
		{"Windows-1252 apostrophe and dash", "Message;Module\nl\x92erreur \x96 \x93Core\x94\x85;Caf\xe9_Core\n", "Café_Core"},
		{"Windows-1252 capital inside a name", "Message;Module\nm;Relat\xf3rio\xdanico\n", "RelatórioÚnico"},
		{"Windows-1252 Italian", "Message;Module\ncos\xec;Citt\xe0_Core\n", "Città_Core"},
		{"Windows-1252 French", "Message;Module\nna\xefve Zo\xeb ma\xeetre;No\xebl_CS\n", "Noël_CS"},
		{"Windows-1252 symbols", "Message;Module\nOutSystems\x99 \x805 10\xb0C \xa9 \xabx\xbb;Ma\xf1ana_UI\n", "Mañana_UI"},
	}
	for _, tt := range tests {
		log, err := Read([]byte(tt.data), DefaultLimits)
		if tt.want == "" {
			if !errors.Is(err, ErrEncoding) {
				t.Errorf("%s: err = %v, want ErrEncoding", tt.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := log.Rows[0].Get(Module); got != tt.want {
			t.Errorf("%s: module %q, want %q", tt.name, got, tt.want)
		}
	}
}
