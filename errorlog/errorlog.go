// Package errorlog reads the rows of an Error Log export (Service Center's
// monitoring screens export to Excel; people also share CSV and
// tab-separated pastes) and decodes shared text files. It is pure: bytes
// in, rows out, every size bounded by Limits.
package errorlog

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/charmap"
	textunicode "golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// Format is what a file's first bytes say it is.
type Format string

// The formats Read tells apart.
const (
	XLSX   Format = "XLSX"
	Text   Format = "text"   // UTF-8, or UTF-16 with a byte-order mark
	Binary Format = "binary" // anything else: not read
)

// Errors of Read and Decode; each says what was wrong.
var (
	ErrBinary      = errors.New("not a text, CSV or XLSX file")
	ErrEncoding    = errors.New("a text neither UTF-8 nor UTF-16 with a byte-order mark")
	ErrOldExcel    = errors.New("an old Excel (.xls) or password-protected workbook, which is not read; save it as .xlsx or CSV")
	ErrNoHeader    = errors.New("no header row with a Message column")
	ErrTooManyRows = errors.New("too many rows")
	ErrTooLarge    = errors.New("the workbook unpacks to more than the limit")
	ErrTooMuchText = errors.New("the rows hold more text than the limit")
	ErrBadXLSX     = errors.New("not a readable XLSX workbook")
	ErrTooWide     = fmt.Errorf("a row has cells beyond column %d", maxColumns)
)

// maxColumns bounds a sheet's width: an Error Log has about ten columns,
// and each row is read as wide as its last cell (one at XFD costs 16,384).
const maxColumns = 256

// Limits bound what Read takes from one file.
type Limits struct {
	MaxRows  int   // data rows; a file with more is refused whole
	MaxUnzip int64 // bytes an XLSX may unpack to (excelize's UnzipSizeLimit)
	// MaxText bounds the message and detail text of all rows, each cell
	// cut at maxCell first: a workbook's rows may all name one long shared
	// text, so a file of a few KB could ask for gigabytes to be diagnosed.
	MaxText int
}

// DefaultLimits are the limits the bot uses.
var DefaultLimits = Limits{MaxRows: 50_000, MaxUnzip: 64 << 20, MaxText: 32 << 20}

// maxCell is the most of a cell read: an Error Log message is far shorter,
// and a stack trace's first lines are those that matter.
const maxCell = 16 << 10

// Field is a column the bot uses, by what it holds.
type Field int

// The fields of an Error Log row.
const (
	Instant Field = iota
	Message
	Module
	Application
	User
	Detail
	nFields
)

// headers are the names OutSystems' Error Log uses for each field, lower case.
var headers = [nFields][]string{
	Instant:     {"instant", "time of log", "time"},
	Message:     {"message"},
	Module:      {"module_name", "module", "espace_name", "module name", "espace"},
	Application: {"application_name", "application", "application name"},
	User:        {"username", "user"},
	Detail:      {"stack", "detail", "details"},
}

// Row is one data row; Line is its row number as a spreadsheet shows it (the header's is 1 when it is first).
type Row struct {
	Line   int
	Fields [nFields]string
	empty  bool // no value in any column
}

// Get returns a field of the row.
func (r Row) Get(f Field) string { return r.Fields[f] }

// Log is an Error Log as read.
type Log struct {
	Format  string   // "CSV", "tab-separated text", "XLSX" or `XLSX, sheet "Data"` (of several)
	Columns []string // the header names used, in the file's spelling
	Rows    []Row    // rows with a message
	Blank   []int    // lines of rows without a message (not read)
	header  string   // the Message column's header: a row repeating it is the header again
	text    int      // bytes of message and detail in Rows
}

// Detect tells a file's format from its first bytes, whatever its name says.
func Detect(data []byte) Format {
	switch {
	case bytes.HasPrefix(data, []byte("PK\x03\x04")):
		return XLSX
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}), bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		return Text
	}
	head := data[:min(len(data), 4096)]
	if bytes.IndexByte(head, 0) >= 0 {
		return Binary
	}
	if !utf8.Valid(trimPartial(head, len(data) > len(head))) && !plainBytes(head) {
		return Binary
	}
	return Text
}

// plainBytes reports whether b holds no control character but tab and
// line breaks: a text, in Windows' code page (Excel's "CSV" on Windows)
// when it is no UTF-8.
func plainBytes(b []byte) bool {
	return !slices.ContainsFunc(b, func(c byte) bool { return c < 0x20 && c != '\t' && c != '\n' && c != '\r' || c == 0x7F })
}

// trimPartial drops a character cut at the end of a prefix (cut: there is more).
func trimPartial(b []byte, cut bool) []byte {
	for i := 0; cut && i < utf8.UTFMax-1 && len(b) > 0 && !utf8.Valid(b); i++ {
		b = b[:len(b)-1]
	}
	return b
}

// Decode returns a text file's text: UTF-8 (a byte-order mark dropped),
// UTF-16 with a byte-order mark, or else Windows-1252 (Latin-1's superset)
// where it is no UTF-8, or code page 850 or Mac OS Roman when the
// Windows-1252 reading looks wrong and one of these reads better (ToUTF8);
// a text with control characters and not UTF-8, or one every code page
// reads with symbols inside words, is ErrEncoding, anything else ErrBinary.
func Decode(data []byte) (string, error) {
	if Detect(data) != Text {
		return "", notText(data)
	}
	if bytes.HasPrefix(data, []byte{0xFF, 0xFE}) || bytes.HasPrefix(data, []byte{0xFE, 0xFF}) {
		dec := textunicode.UTF16(textunicode.BigEndian, textunicode.ExpectBOM).NewDecoder()
		out, _, err := transform.Bytes(dec, data)
		if err != nil {
			return "", fmt.Errorf("decoding UTF-16: %w", err)
		}
		data = out
	}
	data = bytes.TrimPrefix(data, []byte("\xEF\xBB\xBF"))
	// NUL bytes past a text's start: a log file padded with zeros after a
	// crash, not a binary file (that one has them at its start).
	data = bytes.ReplaceAll(data, []byte{0}, nil)
	if t, ok := cutUTF8(data); ok {
		// A UTF-8 log cut inside its last character (head -c, a cut
		// export): read as UTF-8, not every accent garbled.
		return string(t), nil
	}
	if !utf8.Valid(data) && plainBytes(data) {
		text, ok := toUTF8(string(data))
		if !ok {
			return "", ErrEncoding
		}
		return text, nil
	}
	if bytes.IndexByte(data, 0) >= 0 || !utf8.Valid(data) {
		return "", notText(data)
	}
	return string(data), nil
}

// ToUTF8 decodes a text that may not be all UTF-8, line by line: a line
// that is UTF-8 stays as it is; in one that is not, what reads as UTF-8
// Latin letters (two bytes, below U+0250) or punctuation (… ’ – €) stays
// (a UTF-8 log line quoting Latin-1), and every other byte is read as
// Windows-1252 (Excel's CSV on Windows), whose letters and symbols can
// form other UTF-8 ("é »" is E9 A0 BB). Excel's "CSV (MS-DOS)" is code
// page 850 and its "CSV (Macintosh)" Mac OS Roman, whose accents read as
// Windows-1252 are mostly symbols inside words (Faturação as Fatura‡Æo or
// Fatura�‹o), or capitals inside words (GestÆo): such a text is read in
// whichever of the two reads better (see oddness). A text that reads
// cleanly as Windows-1252, whatever its letters (Kunde_Søgning, Cœur) and
// symbols (€100, Acme™Portal), reads as it always did.
func ToUTF8(data string) string {
	text, _ := toUTF8(data)
	return text
}

// toUTF8 is ToUTF8's text, and false when its reading still has symbols
// or undefined bytes inside words: a text in an encoding it cannot tell.
// Lines are decoded one at a time, so that a large file costs no more
// than a line.
func toUTF8(data string) (string, bool) {
	if utf8.ValidString(data) {
		return data, true
	}
	pages := [...]*charmap.Charmap{charmap.Windows1252, charmap.CodePage850, charmap.Macintosh}
	var buf []decoded
	var odd [len(pages)]oddity
	best := 0
	for i, cm := range pages {
		for line := range strings.SplitAfterSeq(data, "\n") {
			if !utf8.ValidString(line) {
				buf = decodeLine(buf[:0], line, cm)
				odd[i].add(oddness(buf))
			}
		}
		if odd[0].score == 0 {
			break // Windows-1252 that reads cleanly reads as it always did
		}
		// Another page only when it has no symbol inside a word and reads
		// better than Windows-1252: a Danish text whose ø is ° in code
		// page 850 stays Windows-1252. Of 850 and Mac OS Roman, the one
		// with fewer odd, then rare letters.
		o := odd[i]
		if i > 0 && !o.inWord && (odd[0].inWord || o.score < odd[0].score) &&
			(best == 0 || o.score < odd[best].score || o.score == odd[best].score && o.rare < odd[best].rare) {
			best = i
		}
	}
	var b strings.Builder
	b.Grow(len(data))
	for line := range strings.SplitAfterSeq(data, "\n") {
		if utf8.ValidString(line) {
			b.WriteString(line)
			continue
		}
		buf = decodeLine(buf[:0], line, pages[best])
		for _, d := range buf {
			b.WriteRune(d.r)
		}
	}
	return b.String(), !odd[best].inWord
}

// decoded is a character of a line read by toUTF8; byte: read from one
// byte in a code page, not from UTF-8.
type decoded struct {
	r    rune
	byte bool
}

// decodeLine appends to out a line that is not all UTF-8, read as ToUTF8
// says, its other bytes in cm.
func decodeLine(out []decoded, line string, cm *charmap.Charmap) []decoded {
	for i := 0; i < len(line); {
		r, size := utf8.DecodeRuneInString(line[i:])
		if size == 1 || size == 2 && r >= 0x250 || size > 2 && (r < 0x2000 || r > 0x20cf) {
			out = append(out, decoded{r: cm.DecodeByte(line[i]), byte: line[i] >= utf8.RuneSelf})
			i++
			continue
		}
		out = append(out, decoded{r: r})
		i += size
	}
	return out
}

// oddity is what oddness finds in a reading: symbols or undefined bytes
// inside words (inWord), other signs of a wrong code page (score) and
// letters seldom accented in the languages that write module names with
// accents (rare: Gestïo, Configuraciùn, Mac OS Roman read as code page
// 850), which only choose between 850 and Mac OS Roman.
type oddity struct {
	inWord      bool
	score, rare int
}

func (o *oddity) add(p oddity) {
	o.inWord, o.score, o.rare = o.inWord || p.inWord, o.score+p.score, o.rare+p.rare
}

// oddness finds in a line read from bytes in a code page what a text in
// the right one rarely has: an undefined byte, a box-drawing character or
// a symbol inside a word (inWord: Fatura‡Æo, Relat¢rios, Caf‚_Core); a
// symbol before a word's small letters (™ffnung), a capital inside a word
// (GestÆo, CafŽ, SÆo), a ç not before a, o or u (Usuçrios), or a letter
// Latin-1 lacks (Nœmero, MŸller; œ only before u or i, or starting a word:
// Cœur, Œuvre).
// Every other letter of Latin-1 is a letter (Kunde_Søgning, Città, 40µs);
// symbols before digits are a text's own (€100, §3). Apostrophes stand
// inside words in any text, quotes before them, and a dash, ™, ® or
// no-break space between a word and a capital is a break between words
// (Billing_CS—Orders_Core, Acme™Portal).
func oddness(text []decoded) (o oddity) {
	// Greek letters, ligatures and modifiers (Mac OS Roman's Ω π ﬁ ˆ) read
	// inside Latin words are symbols.
	letter := func(r rune) bool { return unicode.IsLetter(r) && r < 0x250 }
	symbol := func(i int) bool {
		r := text[i].r
		return text[i].byte && !letter(r) && !unicode.IsDigit(r)
	}
	at := func(i int) rune {
		if i < 0 || i >= len(text) {
			return 0
		}
		return text[i].r
	}
	// near is the nearest character from i in direction d that is not a
	// symbol read from a byte, within 3 (0 past the text or farther: an
	// accent is a character or two, and a run of symbols costs no more).
	near := func(i, d int) rune {
		for j := i + d; j >= 0 && j < len(text) && j != i+4*d; j += d {
			if !symbol(j) {
				return text[j].r
			}
		}
		return 0
	}
	wordChar := func(r rune) bool { return r == '_' || letter(r) || unicode.IsDigit(r) }
	for i, d := range text {
		if !d.byte {
			continue
		}
		r, prev, next := d.r, near(i, -1), near(i, 1)
		lower := unicode.ToLower(r)
		switch {
		case r == utf8.RuneError || unicode.IsControl(r) || r >= 0x2500 && r <= 0x259F:
			o.score, o.inWord = o.score+1, true
		case letter(r):
			if unicode.IsUpper(r) && (unicode.IsLower(prev) || letter(prev) && unicode.IsLower(next)) ||
				lower == 'ç' && letter(next) && !strings.ContainsRune("aouãõáóúâô", unicode.ToLower(next)) ||
				lower == 'œ' && !(letter(next) && (!letter(prev) || strings.ContainsRune("ui", unicode.ToLower(next)))) ||
				r > 0xFF && lower != 'œ' {
				o.score++
			}
			if !strings.ContainsRune("áàâãäçéèêíóôõöúüñß", lower) {
				o.rare++
			}
		case strings.ContainsRune("’‘·", r): // apostrophes, within words too
		case strings.ContainsRune("—–™®\u00a0", r) && next >= 'A' && next <= 'Z':
		case strings.ContainsRune("…–—•™®\u00a0\u00ad", r) && letter(prev) && letter(next):
			// Typography glued between words ("SAP…tentando", "pre–prod")
			// in a text of its own, or another page's accent (850's à is
			// "…", Mac OS Roman's ó "—"): odd, but no sign of a text no
			// page reads, so one such in a Windows-1252 file keeps it so
			// unless another page reads better.
			o.score++
		case letter(prev) && letter(next) ||
			r != '\u00a0' && (letter(at(i-1)) && at(i+1) == '_' || at(i-1) == '_' && letter(at(i+1))): // Caf‚_Core
			o.score, o.inWord = o.score+1, true
		case !wordChar(prev) && unicode.IsLower(next) && !strings.ContainsRune("“”„«»‹›¿¡", r):
			o.score++
		}
	}
	return o
}

// cutUTF8 is data without its last character when that is the start of a
// UTF-8 sequence cut short and the rest is UTF-8; false otherwise (a
// Windows-1252 accent near the end is a whole character, not a cut one).
func cutUTF8(data []byte) ([]byte, bool) {
	for i := len(data) - 1; i >= 0 && i >= len(data)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(data[i]) {
			tail := data[i:]
			return data[:i], data[i] >= 0xC0 && !utf8.FullRune(tail) && utf8.Valid(data[:i])
		}
	}
	return nil, false
}

// notText tells a text in another encoding (no NUL byte) from binary data.
func notText(data []byte) error {
	if bytes.IndexByte(data, 0) < 0 {
		return ErrEncoding
	}
	return ErrBinary
}

// Read reads an Error Log from an XLSX workbook or a CSV (or tab- or
// semicolon-separated) text. A text without a Message header is ErrNoHeader:
// the caller reads it as plain text.
func Read(data []byte, lim Limits) (*Log, error) {
	switch Detect(data) {
	case XLSX:
		return readXLSX(data, lim)
	case Binary:
		if bytes.HasPrefix(data, []byte{0xD0, 0xCF, 0x11, 0xE0}) {
			return nil, ErrOldExcel
		}
		return nil, notText(data)
	}
	text, err := Decode(data)
	if err != nil {
		return nil, err
	}
	return readCSV(text, lim)
}

// columns maps a header row to the fields it has; ok when it has a Message.
func columns(header []string) (idx [nFields]int, used []string, ok bool) {
	for f := range idx {
		idx[f] = -1
	}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF")))
		for f, names := range headers {
			for _, n := range names {
				if name == n && idx[f] < 0 {
					idx[f] = i
					used = append(used, strings.TrimSpace(h))
				}
			}
		}
	}
	return idx, used, idx[Message] >= 0
}

// rowOf picks a record's fields.
func rowOf(line int, rec []string, idx [nFields]int) Row {
	r := Row{Line: line, empty: !slices.ContainsFunc(rec, func(v string) bool { return strings.TrimSpace(v) != "" })}
	for f, i := range idx {
		if i >= 0 && i < len(rec) {
			r.Fields[f] = strings.TrimSpace(cutCell(rec[i]))
		}
	}
	return r
}

// add appends a row, or notes it as blank; an error when over the row
// limit. A row of no values at all (Excel's used range reaching far below
// the data) is left out, uncounted.
func (l *Log) add(r Row, lim Limits) error {
	if r.empty || strings.EqualFold(r.Get(Message), l.header) {
		return nil // a header repeated (exports pasted one below the other) is no row either
	}
	if len(l.Rows)+len(l.Blank) >= lim.MaxRows {
		return fmt.Errorf("%w: more than %d", ErrTooManyRows, lim.MaxRows)
	}
	if r.Get(Message) == "" {
		l.Blank = append(l.Blank, r.Line)
		return nil
	}
	if l.text += len(r.Get(Message)) + len(r.Get(Detail)); lim.MaxText > 0 && l.text > lim.MaxText {
		return fmt.Errorf("%w: more than %d MB", ErrTooMuchText, lim.MaxText>>20)
	}
	l.Rows = append(l.Rows, r)
	return nil
}

// cutCell cuts a cell's text to maxCell bytes, at a character's start.
func cutCell(s string) string {
	if len(s) <= maxCell {
		return s
	}
	n := maxCell
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// readCSV reads a text whose header is among its first headerRows lines
// with values (below a title, the export's date, Excel's "sep=;" line).
func readCSV(text string, lim Limits) (*Log, error) {
	skipped := 0 // lines above the header
	for tries := 0; tries < headerRows && text != ""; {
		first, rest, _ := strings.Cut(text, "\n")
		if strings.TrimSpace(first) != "" {
			if log, err := readCSVFrom(text, first, skipped, tries > 0, lim); !errors.Is(err, ErrNoHeader) {
				return log, err
			}
			tries++
		}
		text, skipped = rest, skipped+1
	}
	return nil, ErrNoHeader
}

// readCSVFrom reads text as a table whose header is its first line, below
// skipped lines. A header below other lines (below) names a column besides
// Message: "Message<TAB>Upgrade failed…" is a line of a label/value text,
// such as an error's detail page copied out.
func readCSVFrom(text, first string, skipped int, below bool, lim Limits) (*Log, error) {
	for _, sep := range []struct {
		comma rune
		name  string
	}{{',', "CSV"}, {'\t', "tab-separated text"}, {';', "CSV"}} {
		if !strings.ContainsRune(first, sep.comma) {
			continue
		}
		// The header is looked for in its line alone: a stray quote would
		// make the reader scan the rest of the text for each line tried.
		reader := func(s string) *csv.Reader {
			r := csv.NewReader(strings.NewReader(s))
			r.Comma, r.LazyQuotes, r.FieldsPerRecord, r.ReuseRecord = sep.comma, true, -1, true
			return r
		}
		header, err := reader(first).Read()
		if err != nil {
			continue
		}
		idx, used, ok := columns(header)
		if !ok || below && len(used) < 2 {
			continue
		}
		r := reader(text)
		if _, err := r.Read(); err != nil {
			continue
		}
		log := &Log{Format: sep.name, Columns: used, header: strings.TrimSpace(header[idx[Message]])}
		for n := 2 + skipped; ; n++ { // rows as a spreadsheet numbers them: the header is 1 (or the line after those above it)
			rec, err := r.Read()
			if err == io.EOF {
				return log, nil
			}
			if err != nil {
				return nil, fmt.Errorf("row %d: %w", n, err)
			}
			if err := log.add(rowOf(n, rec, idx), lim); err != nil {
				return nil, err
			}
		}
	}
	return nil, ErrNoHeader
}

// TableLen is how much of text, a tab-separated table from its first line
// (a grid pasted in a message), the table takes: up to an empty line or a
// line without a tab outside a quoted cell, such as a sentence pasted
// after the grid; all of it when none comes.
func TableLen(text string) int {
	r := csv.NewReader(strings.NewReader(text))
	r.Comma, r.LazyQuotes, r.FieldsPerRecord, r.ReuseRecord = '\t', true, -1, true
	for end := 0; ; {
		if strings.HasPrefix(text[end:], "\n") || strings.HasPrefix(text[end:], "\r\n") {
			return end // an empty line, which the reader would skip
		}
		rec, err := r.Read()
		if err != nil {
			return len(text)
		}
		if len(rec) < 2 {
			return end
		}
		end = int(r.InputOffset())
	}
}

// maxSharedPerRow is how many different texts (a workbook's shared
// strings) a row may bring on average: an Error Log row has a few.
// excelize keeps them all in memory, about 110 bytes each: 60 MB of tiny
// ones, well under MaxUnzip, took 400 MB.
const maxSharedPerRow = 10

// checkSharedStrings refuses a workbook with more shared strings than
// MaxRows rows would use, before excelize loads them. A workbook that is
// no zip is left to excelize to say so.
func checkSharedStrings(data []byte, lim Limits) error {
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return nil
	}
	for _, f := range zr.File {
		if !strings.EqualFold(path.Base(f.Name), "sharedStrings.xml") {
			continue
		}
		part, err := f.Open()
		if err != nil {
			return nil
		}
		defer part.Close()
		if countElements(io.LimitReader(part, lim.MaxUnzip), "si", maxSharedPerRow*lim.MaxRows) > maxSharedPerRow*lim.MaxRows { // a bomb is excelize's to refuse
			return fmt.Errorf("%w: more than %d different texts", ErrTooMuchText, maxSharedPerRow*lim.MaxRows)
		}
	}
	return nil
}

// countElements counts the start and empty tags named name in an XML
// text (<si>, <si/>, <si >, <x:si>), up to one more than limit: cheaper
// than parsing it, which excelize does next. In XML a '<' starts markup only.
func countElements(r io.Reader, name string, limit int) int {
	br := bufio.NewReaderSize(r, 64<<10)
	n := 0
	for n <= limit {
		if _, err := br.ReadSlice('<'); errors.Is(err, bufio.ErrBufferFull) {
			continue
		} else if err != nil {
			return n
		}
		tag, _ := br.Peek(64) // a name beyond 64 bytes is no si
		end := bytes.IndexAny(tag, " \t\r\n/>")
		if end <= 0 || tag[0] == '/' {
			continue // a closing tag, or not a tag's name
		}
		local := tag[:end]
		if i := bytes.IndexByte(local, ':'); i >= 0 {
			local = local[i+1:]
		}
		if string(local) == name {
			n++
		}
	}
	return n
}

func readXLSX(data []byte, lim Limits) (*Log, error) {
	if err := checkSharedStrings(data, lim); err != nil {
		return nil, err
	}
	xml := min(lim.MaxUnzip, 16<<20) // parts over this go to a temporary file
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: lim.MaxUnzip, UnzipXMLSizeLimit: xml})
	if err != nil {
		if strings.Contains(err.Error(), "unzip size exceeds") {
			return nil, fmt.Errorf("%w (%d MB)", ErrTooLarge, lim.MaxUnzip>>20)
		}
		return nil, fmt.Errorf("%w: %w", ErrBadXLSX, err)
	}
	defer f.Close()
	// The sheet shown when the workbook was saved first, then the others
	// in order; a hidden one (an old export kept aside) is not read.
	sheets := f.GetSheetList()
	if active := f.GetActiveSheetIndex(); active > 0 && active < len(sheets) {
		sheets = slices.Insert(slices.Delete(slices.Clone(sheets), active, active+1), 0, sheets[active])
	}
	for _, sheet := range sheets {
		if visible, err := f.GetSheetVisible(sheet); err == nil && !visible {
			continue
		}
		log, err := readSheet(f, sheet, lim)
		if errors.Is(err, ErrNoHeader) {
			continue
		}
		if log != nil && len(f.GetSheetList()) > 1 {
			log.Format = fmt.Sprintf("XLSX, sheet %q", sheet)
		}
		return log, err
	}
	return nil, ErrNoHeader
}

// headerRows is how many rows with values may stand above an export's
// header (a title, the date it was exported, a blank line).
const headerRows = 10

// readSheet reads one sheet whose header is among its first headerRows rows with values.
func readSheet(f *excelize.File, sheet string, lim Limits) (*Log, error) {
	rows, err := f.Rows(sheet)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadXLSX, err)
	}
	defer rows.Close()
	var log *Log
	var idx [nFields]int
	above := 0 // rows with values above the header
	for n := 1; rows.Next(); n++ {
		rec, err := rows.Columns()
		if err != nil {
			return nil, fmt.Errorf("%w: row %d: %w", ErrBadXLSX, n, err)
		}
		if len(rec) > maxColumns {
			return nil, fmt.Errorf("%w: row %d", ErrTooWide, n)
		}
		if log == nil {
			if len(rec) == 0 {
				continue
			}
			var used []string
			var ok bool
			if idx, used, ok = columns(rec); !ok || above > 0 && len(used) < 2 {
				if above++; above == headerRows {
					return nil, ErrNoHeader
				}
				continue
			}
			log = &Log{Format: "XLSX", Columns: used, header: strings.TrimSpace(rec[idx[Message]])}
			continue
		}
		if len(rec) == 0 {
			continue // excelize gives empty rows between those with values
		}
		if err := log.add(rowOf(n, rec, idx), lim); err != nil {
			return nil, err
		}
	}
	if err := rows.Error(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadXLSX, err)
	}
	if log == nil {
		return nil, ErrNoHeader
	}
	return log, nil
}
