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
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	i := 0
	for _, f := range nameFonts {
		data := map[string][]byte{"goregular": goregular.TTF, "gomono": gomono.TTF}[f.name]
		if f.path != "" {
			var err error
			if data, err = os.ReadFile(f.path); err != nil {
				t.Fatalf("rendering needs %s: %v", f.path, err)
			}
		}
		otf, err := opentype.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		for _, size := range []float64{11, 13, 16} {
			face, err := opentype.NewFace(otf, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
			if err != nil {
				t.Fatal(err)
			}
			for _, screen := range []string{"producer", "errorlog"} {
				name := styleNames[i%len(styleNames)]
				i++
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
				file := fmt.Sprintf("%s-%s-%02.0f-%s.png", screen, f.name, size, name)
				if err := os.WriteFile(filepath.Join(dir, file), b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
		}
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
	reader, err := ocr.New(ocr.Options{Concurrency: 2, Timeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.png"))
	if err != nil || len(files) < 30 {
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
	for _, listed := range []bool{false, true} {
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
				t.Errorf("%s (listed %v): %s\n%s", base, listed, got, texts[i])
			}
		}
		sort.Strings(lines)
		t.Logf("listed %v: %d renderings: %d exact, %d asked, %d not found; wrong: %d\n  %s", listed, len(files),
			counts["exact"], counts["asked"], counts["not found"], len(files)-counts["exact"]-counts["asked"]-counts["not found"], strings.Join(lines, "\n  "))
	}
}

// namesOutcome says what the bot did with a screenshot's text naming
// truth: "exact" (truth recorded, nothing else), "asked", "not found", or
// "wrong: …" (another name recorded).
func namesOutcome(t *testing.T, text, truth string, listed bool) string {
	store, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "n.db"), progress.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	b := bot.New(bot.Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store})
	ctx := context.Background()
	c := bot.Command{Workspace: "T", Channel: "C", User: "U", ID: "1", Text: "track prod"}
	b.HandleCommand(ctx, c)
	if listed {
		c.ID, c.Text = "2", "failed "+strings.Join(styleNames, " ")+" Claims_UI Billing_Core"
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
	case listed && strings.Contains(out, "Recorded for prod") && strings.Contains(out, truth):
		return "exact" // already on the list: recorded again under its listed name
	}
	return "not found"
}
