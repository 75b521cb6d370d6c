package ocr

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image/color"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/diagnosis"
)

// offline is a Reader for the checks that run before tesseract: no program is needed.
func offline(opts Options) *Reader {
	opts = opts.withDefaults()
	opts.Binary = "/nonexistent/tesseract"
	return &Reader{opts: opts, path: opts.Binary, sem: make(chan struct{}, opts.Concurrency)}
}

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		data string
		want Kind
	}{
		{"\x89PNG\r\n\x1a\n rest", PNG},
		{"\xff\xd8\xff\xe0 rest", JPEG},
		{"\x89PNG\r\n", ""}, // cut short
		{"<!DOCTYPE html><html>", ""},
		{"", ""},
	} {
		if got := Sniff([]byte(tc.data)); got != tc.want {
			t.Errorf("Sniff(%q) = %q, want %q", tc.data, got, tc.want)
		}
	}
}

func TestRefusesWhatIsNotAnImage(t *testing.T) {
	r := offline(Options{})
	for _, tc := range []struct {
		name, data, says string
	}{
		{"slack login page", "<!DOCTYPE html>\n<html lang=\"en\"><head><title>Slack</title></head><body>Sign in</body></html>", "an HTML page"},
		{"html with BOM and blank lines", "\xef\xbb\xbf\n\n  <html><body>error</body></html>", "an HTML page"},
		{"json error", `{"ok":false,"error":"invalid_auth"}`, "JSON or text"},
		{"gif", "GIF89a\x01\x00\x01\x00", "a GIF image"},
		{"webp", "RIFF\x10\x00\x00\x00WEBPVP8 ", "a WebP image"},
		{"pdf", "%PDF-1.7", "a PDF document"},
		{"empty", "", "empty"},
		{"text", "There were errors preparing some modules.", "neither PNG nor JPEG"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := r.Read(context.Background(), []byte(tc.data))
			var fe *FormatError
			if !errors.As(err, &fe) || !errors.Is(err, ErrNotImage) {
				t.Fatalf("Read = %v, want a *FormatError (ErrNotImage)", err)
			}
			if fe.Got != tc.says || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q says %q, want %q", err, fe.Got, tc.says)
			}
		})
	}
	// A PNG signature with garbage after it is a damaged PNG, not a crash.
	_, err := r.Read(context.Background(), append([]byte("\x89PNG\r\n\x1a\n"), "garbage garbage garbage"...))
	var fe *FormatError
	if !errors.As(err, &fe) || fe.Kind != PNG || !strings.Contains(err.Error(), "damaged png") {
		t.Errorf("damaged PNG: %v", err)
	}
}

// pngHeader is a PNG signature and IHDR chunk claiming w x h pixels, and nothing else.
func pngHeader(w, h uint32) []byte {
	var ihdr bytes.Buffer
	ihdr.WriteString("IHDR")
	binary.Write(&ihdr, binary.BigEndian, w)
	binary.Write(&ihdr, binary.BigEndian, h)
	ihdr.Write([]byte{8, 6, 0, 0, 0}) // 8-bit RGBA, no interlace
	var b bytes.Buffer
	b.Write(pngSignature)
	binary.Write(&b, binary.BigEndian, uint32(ihdr.Len()-4))
	b.Write(ihdr.Bytes())
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(ihdr.Bytes()))
	return b.Bytes()
}

// jpegHeader is a JPEG start, a JFIF marker and a baseline frame header claiming w x h pixels.
func jpegHeader(w, h uint16) []byte {
	b := []byte{0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0}
	b = append(b, 0xff, 0xc0, 0, 17, 8, byte(h>>8), byte(h), byte(w>>8), byte(w), 3)
	for id := byte(1); id <= 3; id++ {
		b = append(b, id, 0x11, 0)
	}
	return b
}

func TestRefusesOversizedImages(t *testing.T) {
	r := offline(Options{})
	for _, tc := range []struct {
		name string
		data []byte
		says string
	}{
		{"png 100000x100000", pngHeader(100000, 100000), "100000x100000 pixels (10000.0 megapixels) is over the limit of 40 megapixels"},
		{"png 8000x5001", pngHeader(8000, 5001), "8000x5001 pixels (40.0 megapixels) is over the limit of 40 megapixels"},
		{"jpeg 65535x65535", jpegHeader(65535, 65535), "65535x65535 pixels (4294.8 megapixels)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := r.Read(context.Background(), tc.data)
			var te *TooLargeError
			if !errors.As(err, &te) || !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Read = %v, want a *TooLargeError", err)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			if grown := after.TotalAlloc - before.TotalAlloc; grown > 1<<20 {
				t.Errorf("refusing the header allocated %d bytes: the image was decoded", grown)
			}
		})
	}
	// Exactly at the limit passes the check.
	if err := r.Check(pngHeader(8000, 5000)); err != nil {
		t.Errorf("8000x5000 (40 MP, the limit): %v", err)
	}
	// The byte limit comes first, before any parsing.
	small := offline(Options{MaxBytes: 1000})
	_, err := small.Read(context.Background(), append(pngHeader(10, 10), make([]byte, 2000)...))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "over the limit of 1000 bytes") {
		t.Errorf("byte limit: %v", err)
	}
	big := offline(Options{})
	_, err = big.Read(context.Background(), make([]byte, DefaultMaxBytes+1))
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "20.0 MB is over the limit of 20.0 MB") {
		t.Errorf("default byte limit: %v", err)
	}
	// ReadFile refuses a large file by its size, without reading it.
	path := filepath.Join(t.TempDir(), "big.png")
	if err := os.WriteFile(path, append(pngHeader(10, 10), make([]byte, 2000)...), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := small.ReadFile(context.Background(), path); !errors.Is(err, ErrTooLarge) {
		t.Errorf("ReadFile: %v", err)
	}
}

func TestMissingBinary(t *testing.T) {
	_, err := New(Options{Binary: "tesseract-no-such-program-4f1c"})
	var ue *UnavailableError
	if !errors.As(err, &ue) || !errors.Is(err, ErrUnavailable) {
		t.Fatalf("New = %v, want an *UnavailableError", err)
	}
	for _, want := range []string{"tesseract-no-such-program-4f1c", "was not found on PATH", "apt-get install tesseract-ocr tesseract-ocr-eng"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	t.Setenv("PATH", t.TempDir())
	if err := Available(); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Available with an empty PATH = %v", err)
	}
}

// fakeTesseract writes a shell script that stands in for tesseract: it
// answers --list-langs with langs and runs body for an OCR call.
func fakeTesseract(t *testing.T, langs, body string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake tesseract is a shell script")
	}
	path := filepath.Join(t.TempDir(), "tesseract")
	script := "#!/bin/sh\ncase \"$1\" in\n--list-langs) printf 'List of available languages in \"/x/\" (2):\\n" + langs + "\\n'; exit 0;;\n--version) echo 'tesseract 0.0-fake'; exit 0;;\nesac\n" + body + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMissingLanguageData(t *testing.T) {
	_, err := New(Options{Binary: fakeTesseract(t, "osd", "exit 0")})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), `has no "eng" language data`) {
		t.Errorf("New = %v", err)
	}
}

// A tiny test image: the checks pass, tesseract (real or fake) gets it.
func tinyPNG(t *testing.T) []byte {
	return newCanvas(t, 40, 20, white).png()
}

func TestCommandLineAndStdin(t *testing.T) {
	dir := t.TempDir()
	bin := fakeTesseract(t, "eng\nosd", `printf '%s\n' "$@" > "`+dir+`/args"
echo "$OMP_THREAD_LIMIT" > "`+dir+`/omp"
cat > "`+dir+`/stdin"
printf 'level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n'
printf '5\t1\t1\t1\t1\t1\t10\t10\t50\t12\t96\tHello\n'
printf '5\t1\t1\t1\t1\t2\t64\t10\t50\t12\t96\tworld\n'`)
	t.Setenv("OMP_THREAD_LIMIT", "8")
	r, err := New(Options{Binary: bin})
	if err != nil {
		t.Fatal(err)
	}
	if r.Version() != "tesseract 0.0-fake" {
		t.Errorf("Version = %q", r.Version())
	}
	text, err := r.Read(context.Background(), tinyPNG(t))
	if err != nil {
		t.Fatal(err)
	}
	if text != "Hello world" {
		t.Errorf("text = %q", text)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	if got, want := strings.Fields(string(args)), []string{"stdin", "stdout", "-l", "eng", "--psm", "11", "--dpi", "288", "tsv"}; !reflect.DeepEqual(got, want) {
		t.Errorf("arguments %q, want %q", got, want)
	}
	if omp, _ := os.ReadFile(filepath.Join(dir, "omp")); strings.TrimSpace(string(omp)) != "1" {
		t.Errorf("OMP_THREAD_LIMIT = %q, want 1", omp)
	}
	in, _ := os.ReadFile(filepath.Join(dir, "stdin"))
	if want := "P5\n120 60\n255\n"; !bytes.HasPrefix(in, []byte(want)) || len(in) != len(want)+120*60 {
		t.Errorf("stdin: %d bytes starting %q, want a 120x60 PGM (3x upscaled)", len(in), in[:min(len(in), 16)])
	}
}

func TestTesseractFailure(t *testing.T) {
	r, err := New(Options{Binary: fakeTesseract(t, "eng", "echo 'Error in pixReadMem: Unknown format' >&2\necho 'Error during processing.' >&2\nexit 1")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Read(context.Background(), tinyPNG(t))
	var ee *ExecError
	if !errors.As(err, &ee) || !strings.Contains(err.Error(), "Error during processing.") {
		t.Errorf("Read = %v, want an *ExecError with the last line of stderr", err)
	}
}

func TestTimeoutWithTesseract(t *testing.T) {
	r := needTesseract(t, Options{Timeout: time.Millisecond})
	c := publishScreen(t, 14, "The 1-Click Publish started by admin at 10:15 can't proceed because there is an ongoing Modules upgrade.")
	_, err := r.Read(context.Background(), c.png())
	if !errors.Is(err, ErrTimeout) {
		t.Fatalf("Read with a 1ms limit = %v, want ErrTimeout", err)
	}
	t.Log(err)
}

func TestConcurrencyIsBounded(t *testing.T) {
	dir := t.TempDir()
	bin := fakeTesseract(t, "eng", `echo start >> "`+dir+`/log"
sleep 0.2
echo end >> "`+dir+`/log"`)
	r, err := New(Options{Binary: bin, Concurrency: 2})
	if err != nil {
		t.Fatal(err)
	}
	img := tinyPNG(t)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if _, err := r.Read(context.Background(), img); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	log, _ := os.ReadFile(filepath.Join(dir, "log"))
	running, most := 0, 0
	for _, l := range strings.Fields(string(log)) {
		if l == "start" {
			running++
		} else {
			running--
		}
		most = max(most, running)
	}
	if most != 2 {
		t.Errorf("at most %d tesseract processes ran at once, want 2 (log %q)", most, log)
	}
	// A caller whose context ends while waiting for a slot gets its error.
	slow, _ := New(Options{Binary: fakeTesseract(t, "eng", "sleep 1"), Concurrency: 1})
	go slow.Read(context.Background(), img)
	time.Sleep(100 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := slow.Read(ctx, img); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting for a slot past the deadline: %v", err)
	}
}

// rendered is a drawn screen and what OCR and the engine must get from it.
type rendered struct {
	name  string
	data  []byte
	words []string         // must appear in the text
	want  []map[string]any // the engine's findings (id and contract keys)
	// wordsOnly: only the words are asserted, the findings logged. At
	// 12 px Tesseract misreads some digits of the Go font ("10:15:02" as
	// "16:15:62"), so values are not reliable at that size.
	wordsOnly bool
}

func renderedScreens(t *testing.T) []rendered {
	publishMsg := "The 1-Click Publish started by jane.doe at 3/12/2024 10:15:02 AM can't proceed because there is an ongoing Modules upgrade, started by Compiler Service at 3/12/2024 10:01:44 AM, that is locking 'Billing_CS' module:"
	publishWant := []map[string]any{{"id": "publish-blocked-by-preparation", "module": "Billing_CS", "user": "jane.doe",
		"started_at": "3/12/2024 10:15:02 AM", "upgrade_started_at": "3/12/2024 10:01:44 AM"}}
	var out []rendered
	for _, size := range []float64{12, 14, 18} {
		out = append(out, rendered{fmt.Sprintf("publish page, %gpx", size), publishScreen(t, size, publishMsg).png(),
			[]string{"1-Click Publish", "Billing_CS", "Compiler Service"}, publishWant, size < 13})
	}
	out = append(out, rendered{"publish page, 14px, JPEG quality 75", publishScreen(t, 14, publishMsg).jpeg(75),
		[]string{"1-Click Publish", "Billing_CS"}, publishWant, false})

	// Two banners on a Service Center page: green (version), orange (errors, blue counts link).
	c := newCanvas(t, 1000, 190, pageGrey)
	c.box(20, 20, 800, 80, bannerGrn, color.NRGBA{190, 225, 170, 255})
	c.dot(38, 38, 8, okGreen)
	c.text(56, 43, 14, true, textDark, "The first step of the upgrade process has finished. This environment has been successfully")
	c.text(56, 63, 14, true, textDark, "upgraded to Platform Server version 11.31.0 (Build 41812) (Release Notes)")
	c.box(20, 92, 800, 170, bannerOrng, color.NRGBA{240, 215, 180, 255})
	c.dot(38, 110, 8, warnOrange)
	c.text(56, 115, 13, true, textDark, "There were errors preparing some modules.")
	c.text(56, 135, 13, false, linkBlue, "112 modules prepared successfully, 4 modules failed and 17 modules skipped.")
	c.text(56, 155, 13, false, textDark, "If republishing the failed and the skipped modules doesn't solve the problem, contact our support team.")
	c.box(830, 20, 985, 120, bannerBlue, color.NRGBA{180, 205, 235, 255})
	c.text(845, 45, 12, true, textDark, "Preparing Modules")
	c.text(845, 80, 22, true, textDark, "100%")
	out = append(out, rendered{"errors banner with counts", c.png(),
		[]string{"There were errors preparing some modules", "112", "17"},
		[]map[string]any{{"id": "modules-preparation-errors", "version": "11.31.0"},
			{"id": "preparation-summary", "prepared": float64(112), "failed": float64(4), "skipped": float64(17), "version": "11.31.0"}}, false})

	// Blue progress banner in a small font.
	c = newCanvas(t, 900, 90, white)
	c.box(10, 10, 890, 80, bannerBlue, color.NRGBA{180, 205, 235, 255})
	c.text(60, 32, 12, true, textDark, "We are now preparing your modules - 47% (We expect them to be ready at 21:05)")
	c.text(60, 50, 12, false, textDark, "During this second step, you won't be able to publish any applications or modules in this environment.")
	c.text(60, 68, 12, false, linkBlue, "Click here for more details")
	out = append(out, rendered{"progress banner, 12px", c.png(), []string{"preparing your modules", "47%", "21:05"},
		[]map[string]any{{"id": "preparation-in-progress", "percent": float64(47), "expected_at": "21:05"}}, false})

	// White text on a dark red bar: inverted text.
	c = newCanvas(t, 700, 70, white)
	c.rect(0, 10, 700, 60, errorRed)
	c.text(20, 41, 16, true, white, "There was an error preparing your modules.")
	out = append(out, rendered{"white on red", c.png(), []string{"There was an error preparing your modules"},
		[]map[string]any{{"id": "modules-preparation-failed"}}, false})

	// Error Log table: the message wraps in its cell, the time is centred on the row.
	c = newCanvas(t, 980, 170, white)
	c.box(10, 10, 970, 50, white, lineGrey)
	for _, h := range []struct {
		x int
		s string
	}{{30, "Time of Log"}, {200, "Module"}, {290, "Message"}, {720, "Source"}, {860, "Server"}} {
		c.text(h.x, 36, 13, true, textDark, h.s)
	}
	c.box(10, 50, 970, 160, white, lineGrey)
	c.text(30, 110, 13, false, textDark, "2021-02-24 16:05:38")
	c.paragraph(290, 80, 400, 13, false, textDark, "Outdated Service Center: Service Center has not been updated to the last version. That must happen before the upgrade can take place.")
	c.text(720, 110, 13, false, textDark, "CompilerService")
	c.text(880, 110, 13, false, linkBlue, "Detail")
	out = append(out, rendered{"error log row with a wrapped message", c.png(), []string{"Outdated Service Center", "16:05:38"},
		[]map[string]any{{"id": "service-center-outdated"}}, false})

	// Configuration Tool: small text, two spaces before the counter.
	c = newCanvas(t, 520, 110, white)
	c.box(8, 8, 512, 102, white, color.NRGBA{130, 135, 144, 255})
	mods := []string{"Billing_CS", "Orders2", "CustomerPortal", "HR_Onboarding"}
	for i, m := range mods {
		c.text(14, 28+i*20, 12, false, color.NRGBA{0, 0, 0, 255}, fmt.Sprintf("Preparing Module Database  %d of 120: %s", 41+i, m))
	}
	var ct []map[string]any
	for i, m := range mods {
		ct = append(ct, map[string]any{"id": "preparing-module-database", "module": m, "current": float64(41 + i), "total": float64(120)})
	}
	out = append(out, rendered{"configuration tool lines", c.png(), []string{"Preparing Module Database", "Billing_CS"}, ct, false})

	// A grey status row with an orange icon and light grey text.
	c = newCanvas(t, 980, 80, white)
	c.box(10, 10, 970, 70, white, errorRed)
	c.text(24, 36, 14, false, textGrey, "Status")
	c.dot(230, 31, 8, warnOrange)
	c.text(248, 36, 14, false, textGrey, "This Module hasn't been upgraded to the current environment version. Please publish the module.")
	c.text(248, 56, 14, false, textGrey, "Alternatively, run another environment upgrade.")
	out = append(out, rendered{"module status row, grey text", c.png(), []string{"upgraded to the current environment version"},
		[]map[string]any{{"id": "module-not-upgraded"}}, false})
	return out
}

// squash lowers s and drops whitespace, so a check does not depend on how OCR spaced the words.
func squash(s string) string {
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '\n' || r == '\t' {
			return -1
		}
		return r
	}, strings.ToLower(s))
}

func TestRenderedScreens(t *testing.T) {
	r := needTesseract(t, Options{})
	engine := diagnosis.New(diagnosis.Builtin())
	for _, tc := range renderedScreens(t) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			text, err := r.Read(context.Background(), tc.data)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.words {
				if !strings.Contains(squash(text), squash(w)) {
					t.Errorf("the text lacks %q", w)
				}
			}
			got := contractView(t, engine.Diagnose(text))
			switch {
			case reflect.DeepEqual(got, tc.want):
			case tc.wordsOnly:
				t.Logf("findings (not asserted at this size)\n got  %s\n want %s", jsonText(got), jsonText(tc.want))
			default:
				t.Errorf("findings\n got  %s\n want %s", jsonText(got), jsonText(tc.want))
			}
			if t.Failed() {
				t.Logf("OCR text:\n%s", text)
			}
		})
	}
}

func TestRenderedOrdinaryScreens(t *testing.T) {
	r := needTesseract(t, Options{})
	engine := diagnosis.New(diagnosis.Builtin())
	for _, tc := range ordinaryScreens(t) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			text, err := r.Read(context.Background(), tc.data)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.words {
				if !strings.Contains(squash(text), squash(w)) {
					t.Errorf("the text lacks %q", w)
				}
			}
			if got := contractView(t, engine.Diagnose(text)); len(got) > 0 {
				t.Errorf("false alarm: %s", jsonText(got))
			}
			if t.Failed() {
				t.Logf("OCR text:\n%s", text)
			}
		})
	}
}
