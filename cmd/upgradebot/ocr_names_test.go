package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gomono"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/ocr"
	"github.com/upgradebot/upgradebot/progress"
)

var updateNames = flag.Bool("update-names", false, "render testdata/ocrnames again (DejaVu from /usr/share/fonts)")

// The module names of the renderings, in OutSystems' naming styles.
var styleNames = []string{"Claims_Core", "Billing_CS", "Orders_IS", "Portal_Th", "HR_BL"}

// Fonts of the renderings: the Go fonts (embedded) and DejaVu (read from
// the system when rendering again; the PNGs are kept).
var nameFonts = []struct{ name, path string }{
	{"goregular", ""}, {"gomono", ""},
	{"dejavusans", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"},
	{"dejavuserif", "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"},
	{"dejavucondensed", "/usr/share/fonts/truetype/dejavu/DejaVuSansCondensed.ttf"},
}

// renderNames draws Service Center's screens naming a module — the
// publish error of a producer (the name twice) and an Error Log row
// (once) — in each font at 11, 13 and 16 px, and writes them as
// testdata/ocrnames/SCREEN-FONT-SIZE-NAME.png.
func renderNames(t *testing.T, dir string) {
	i := 0
	for _, f := range nameFonts {
		for _, size := range []float64{11, 13, 16} {
			for _, screen := range []string{"producer", "errorlog"} {
				renderScreen(t, dir, screen, f.name, f.path, size, styleNames[i%len(styleNames)])
				i++
			}
		}
	}
}

// The accented names of the second corpus (Portuguese and Spanish, as
// teams name modules there), rendered as a reviewer found them misread:
// DejaVu Sans and Serif at 13 and 16 px, every name on both screens.
var accentedNames = []string{"Faturação_CS", "Gestão_Clientes", "Relatórios_IS", "Configuración_Core", "Préstamos_BL"}

// renderAccented writes testdata/ocrnames-accented/SCREEN-FONT-SIZE-NAME.png.
func renderAccented(t *testing.T, dir string) {
	for _, f := range nameFonts[2:4] { // DejaVu Sans and Serif
		for _, size := range []float64{13, 16} {
			for _, name := range accentedNames {
				for _, screen := range []string{"producer", "errorlog"} {
					renderScreen(t, dir, screen, f.name, f.path, size, name)
				}
			}
		}
	}
}

// renderScreen writes one screen naming name in a font (path "" for the
// embedded Go fonts) at size px to dir/SCREEN-FONT-SIZE-NAME.png.
func renderScreen(t *testing.T, dir, screen, fontName, fontPath string, size float64, name string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data := map[string][]byte{"goregular": goregular.TTF, "gomono": gomono.TTF}[fontName]
	if fontPath != "" {
		var err error
		if data, err = os.ReadFile(fontPath); err != nil {
			t.Fatalf("rendering needs %s: %v", fontPath, err)
		}
	}
	otf, err := opentype.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	face, err := opentype.NewFace(otf, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		t.Fatal(err)
	}
	var img *image.NRGBA
	if screen == "producer" {
		img = drawLines(face, size, 760, []string{
			"1-Click Publish", "",
			"Old Producer: Producer module '" + name + "' hasn't been prepared for the current OutSystems",
			"environment version. The Preparation of Modules may not have finished yet, failed, or it is on",
			"hold. Check Service Center for more details or try to publish '" + name + "'.",
		})
	} else {
		img = drawLines(face, size, 760, []string{
			"Error Log", "",
			"Time of Log            Module           Message",
			"2026-12-01 10:31:07    ServiceCenter    Upgrade Failure: Upgrade failed for " + name,
			"2026-12-01 10:29:55    Orders2          Timeout expired. The timeout period elapsed.",
		})
	}
	gray := image.NewGray(img.Bounds()) // the screens are grey: a smaller file
	draw.Draw(gray, gray.Bounds(), img, image.Point{}, draw.Src)
	var b bytes.Buffer
	if err := png.Encode(&b, gray); err != nil {
		t.Fatal(err)
	}
	file := fmt.Sprintf("%s-%s-%02.0f-%s.png", screen, fontName, size, name)
	if err := os.WriteFile(filepath.Join(dir, file), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// drawLines draws text lines on Service Center's light grey, scaled to size.
func drawLines(face font.Face, size float64, width int, lines []string) *image.NRGBA {
	lineH := int(size*1.6 + 0.5)
	img := image.NewNRGBA(image.Rect(0, 0, int(float64(width)*size/13), 20+lineH*len(lines)))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.NRGBA{245, 246, 248, 255}), image.Point{}, draw.Src)
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.NRGBA{51, 51, 51, 255}), Face: face}
	for i, l := range lines {
		d.Dot = fixed.P(16, 10+lineH*(i+1)-lineH/3)
		d.DrawString(l)
	}
	return img
}

// On renderings of Service Center's screens naming modules in OutSystems'
// styles, in five fonts at three sizes, no wrong module name is recorded:
// each is recorded exactly or asked about; first with nothing listed yet,
// then with the modules already on the environment's list.
func TestOCRModuleNames(t *testing.T) {
	dir := filepath.Join("testdata", "ocrnames")
	if *updateNames {
		renderNames(t, dir)
	}
	needTesseract(t)
	measureNames(t, dir, 30, append(slices.Clone(styleNames), "Claims_UI", "Billing_Core"))
}

// Accented names (Faturação_CS) are what the English model misreads
// most: it drops the accent (Gestao_Clientes), reads ç as g (Faturagao_CS)
// or ó as é (Relatérios_IS), with word confidences as high as correct
// readings get. None of these may be recorded wrong: a first-seen name
// with a non-ASCII letter or an accent's place is asked about, and a
// reading without its accents records the listed name.
func TestOCRAccentedModuleNames(t *testing.T) {
	dir := filepath.Join("testdata", "ocrnames-accented")
	if *updateNames {
		renderAccented(t, dir)
	}
	needTesseract(t)
	measureNames(t, dir, 40, append(slices.Clone(accentedNames), "Faturação_IS", "Gestão_Core"))
}

// The real screenshots' module names (../shared/screenshots, read from
// there, never copied) are ordinary names: each one the bot records from its
// screenshot is recorded as read, none asked about; the others (a publish
// blocked while the preparation runs) record nothing.
func TestOCRRealScreenshotNames(t *testing.T) {
	dir := os.Getenv("UPGRADEBOT_SCREENSHOTS")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "screenshots")
	}
	shots := []struct{ file, module, want string }{
		{"module-preparation-producer-error-sc.png", "EmployeeServices", "exact"},
		{"module-preparation-failure-logs-sc.png", "Employees", "exact"},
		{"module-preparation-publish-error-sc.png", "Directory", "not found"},
		{"module-preparation-apply-error-sc.png", "Directory", "not found"},
		{"module-preparation-delete-error-sc.png", "FieldServicesMobile", "not found"},
	}
	if _, err := os.Stat(filepath.Join(dir, shots[0].file)); err != nil {
		t.Skipf("the real screenshots are not here (%v): set UPGRADEBOT_SCREENSHOTS", err)
	}
	needTesseract(t)
	reader, err := ocr.New(ocr.Options{Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range shots {
		text, err := reader.ReadFile(context.Background(), filepath.Join(dir, s.file))
		if err != nil {
			t.Fatal(err)
		}
		if got := namesOutcome(t, text, s.module, nil); got != s.want {
			t.Errorf("%s: %s, want %s\n%s", s.file, got, s.want, text)
		}
	}
}

// measureNames reads the renderings in dir (at least min) and fails on
// any wrong name recorded, with nothing listed and with list listed.
func measureNames(t *testing.T, dir string, min int, list []string) {
	t.Helper()
	reader, err := ocr.New(ocr.Options{Concurrency: 2, Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.png"))
	if err != nil || len(files) < min {
		t.Fatalf("%d renderings in %s (%v): render them with -update-names", len(files), dir, err)
	}
	texts := make([]string, len(files))
	next := make(chan int)
	var wg sync.WaitGroup
	for range 2 { // as many as the reader runs at once
		wg.Go(func() {
			for i := range next {
				data, err := os.ReadFile(files[i])
				if err == nil {
					texts[i], err = reader.Read(context.Background(), data)
				}
				if err != nil {
					t.Errorf("%s: %v", files[i], err)
				}
			}
		})
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	for _, listed := range [][]string{nil, list} {
		counts := map[string]int{}
		var lines []string
		for i, f := range files {
			base := strings.TrimSuffix(filepath.Base(f), ".png")
			truth := base[strings.LastIndex(base, "-")+1:]
			got := namesOutcome(t, texts[i], truth, listed)
			kind, _, _ := strings.Cut(got, " (")
			counts[kind]++
			if got != "exact" {
				lines = append(lines, base+": "+got)
			}
			if strings.HasPrefix(got, "wrong") {
				t.Errorf("%s (listed %v): %s\n%s", base, listed != nil, got, texts[i])
			}
		}
		sort.Strings(lines)
		t.Logf("listed %v: %d renderings: %d exact, %d asked, %d not found; wrong: %d\n  %s", listed != nil, len(files),
			counts["exact"], counts["asked"], counts["not found"], len(files)-counts["exact"]-counts["asked"]-counts["not found"], strings.Join(lines, "\n  "))
	}
}

// namesOutcome says what the bot did with a screenshot's text naming
// truth: "exact" (truth recorded, nothing else), "asked", "not found", or
// "wrong: …" (another name recorded); listed are the modules on the list
// before (none when nil).
func namesOutcome(t *testing.T, text, truth string, listed []string) string {
	store, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "n.db"), progress.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	b := bot.New(bot.Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store})
	ctx := context.Background()
	c := bot.Command{Workspace: "T", Channel: "C", User: "U", ID: "1", Text: "track prod"}
	b.HandleCommand(ctx, c)
	if listed != nil {
		c.ID, c.Text = "2", "failed "+strings.Join(listed, " ")
		b.HandleCommand(ctx, c)
	}
	before, _ := store.Status(ctx, "T", "prod", -1)
	resp := b.HandleMessage(ctx, bot.Message{Workspace: "T", Channel: "C", User: "U", TS: fmt.Sprint(time.Now().UnixNano()),
		Images: []bot.ImageText{{Name: "shot.png", Text: text}}})
	after, _ := store.Status(ctx, "T", "prod", -1)
	var added []string
	for _, m := range after.Modules {
		if !strings.Contains(fmt.Sprint(before.Modules), "{"+m.Name+" ") {
			added = append(added, m.Name)
		}
	}
	out := bot.RenderText(resp.Reply)
	switch {
	case len(added) > 1 || (len(added) == 1 && added[0] != truth):
		return fmt.Sprintf("wrong: recorded %q", added)
	case len(added) == 1:
		return "exact"
	case strings.Contains(out, "Read as "):
		read, _, _ := strings.Cut(out[strings.Index(out, "Read as ")+len("Read as "):], ":")
		return "asked (read as " + read + ")"
	case listed != nil && (strings.Contains(out, "Recorded for prod") || strings.Contains(out, "Already on prod's list")) && strings.Contains(out, truth):
		return "exact" // already on the list: recorded again under its listed name
	}
	return "not found"
}
