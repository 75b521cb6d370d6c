package ocr

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"strings"
	"sync"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// canvas draws test screenshots: text in the Go fonts, at UI sizes, with
// the chrome of Service Center around it (banners, table rows, icons).
type canvas struct {
	t   testing.TB
	img *image.NRGBA
}

var (
	fontsOnce         sync.Once
	regular, boldFont *opentype.Font
	fontErr           error
)

func newCanvas(t testing.TB, w, h int, bg color.Color) *canvas {
	t.Helper()
	fontsOnce.Do(func() {
		regular, fontErr = opentype.Parse(goregular.TTF)
		if fontErr == nil {
			boldFont, fontErr = opentype.Parse(gobold.TTF)
		}
	})
	if fontErr != nil {
		t.Fatal(fontErr)
	}
	c := &canvas{t: t, img: image.NewNRGBA(image.Rect(0, 0, w, h))}
	c.rect(0, 0, w, h, bg)
	return c
}

func (c *canvas) rect(x0, y0, x1, y1 int, col color.Color) {
	draw.Draw(c.img, image.Rect(x0, y0, x1, y1), image.NewUniform(col), image.Point{}, draw.Src)
}

// box draws a filled rectangle with a one-pixel border.
func (c *canvas) box(x0, y0, x1, y1 int, fill, border color.Color) {
	c.rect(x0, y0, x1, y1, border)
	c.rect(x0+1, y0+1, x1-1, y1-1, fill)
}

// dot draws a filled circle: the status icons before Service Center messages.
func (c *canvas) dot(cx, cy, r int, col color.Color) {
	for y := -r; y <= r; y++ {
		for x := -r; x <= r; x++ {
			if x*x+y*y <= r*r {
				c.img.Set(cx+x, cy+y, col)
			}
		}
	}
}

func (c *canvas) face(size float64, bold bool) font.Face {
	f := regular
	if bold {
		f = boldFont
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		c.t.Fatal(err)
	}
	return face
}

// text draws one line with its baseline at y.
func (c *canvas) text(x, y int, size float64, bold bool, col color.Color, s string) {
	d := font.Drawer{Dst: c.img, Src: image.NewUniform(col), Face: c.face(size, bold), Dot: fixed.P(x, y)}
	d.DrawString(s)
}

// paragraph draws s wrapped at word boundaries within width, the first
// baseline at y, and returns the baseline after the last line.
func (c *canvas) paragraph(x, y, width int, size float64, bold bool, col color.Color, s string) int {
	face := c.face(size, bold)
	lineH := int(size*1.45 + 0.5)
	d := font.Drawer{Face: face}
	var line string
	for _, w := range strings.Fields(s) {
		try := strings.TrimSpace(line + " " + w)
		if line != "" && d.MeasureString(try).Ceil() > width {
			c.text(x, y, size, bold, col, line)
			y += lineH
			line = w
			continue
		}
		line = try
	}
	if line != "" {
		c.text(x, y, size, bold, col, line)
		y += lineH
	}
	return y
}

func (c *canvas) png() []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, c.img); err != nil {
		c.t.Fatal(err)
	}
	return b.Bytes()
}

func (c *canvas) jpeg(quality int) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, c.img, &jpeg.Options{Quality: quality}); err != nil {
		c.t.Fatal(err)
	}
	return b.Bytes()
}

// Service Center's colours.
var (
	white      = color.NRGBA{255, 255, 255, 255}
	pageGrey   = color.NRGBA{245, 246, 248, 255}
	rowGrey    = color.NRGBA{238, 239, 241, 255}
	lineGrey   = color.NRGBA{222, 224, 228, 255}
	textDark   = color.NRGBA{51, 51, 51, 255}
	textGrey   = color.NRGBA{85, 85, 85, 255}
	linkBlue   = color.NRGBA{24, 100, 200, 255}
	errorRed   = color.NRGBA{204, 34, 34, 255}
	okGreen    = color.NRGBA{30, 140, 60, 255}
	warnOrange = color.NRGBA{240, 150, 30, 255}
	bannerOrng = color.NRGBA{253, 240, 222, 255}
	bannerBlue = color.NRGBA{220, 234, 250, 255}
	bannerGrn  = color.NRGBA{224, 246, 214, 255}
	bannerRed  = color.NRGBA{252, 228, 228, 255}
)

// publishScreen is the 1-Click Publish page with the message in its
// failed Compiling step, drawn at the given text size.
func publishScreen(t testing.TB, size float64, message string) *canvas {
	w := int(size * 70)
	c := newCanvas(t, w, int(size*26), pageGrey)
	c.text(16, int(size*2.6), size*2, true, textDark, "Publish Module Billing")
	c.text(16, int(size*4.2), size, false, linkBlue, "Back to Module detail")
	c.rect(16, int(size*5.5), w-16, int(size*6.2), errorRed)
	y := int(size * 7.5)
	for i, step := range []string{"Uploading", "Upgrading", "Compiling"} {
		c.box(16, y, w-16, y+int(size*2.9), white, lineGrey)
		col := okGreen
		if i == 2 {
			col = errorRed
		}
		c.dot(44, y+int(size*1.45), int(size*0.65), col)
		c.text(int(size*8), y+int(size*1.9), size, true, textDark, step)
		y += int(size * 2.9)
	}
	c.box(16, y, w-16, y+int(size*9), rowGrey, lineGrey)
	c.text(int(size*8), y+int(size*1.9), size, false, textDark, "Compiling Module to Platform Server.")
	c.dot(int(size*6), y+int(size*4.4), int(size*0.65), errorRed)
	c.paragraph(int(size*8), y+int(size*4.6), w-int(size*10), size, false, textDark, message)
	return c
}

// ordinaryScreens are screens without any upgrade error or status: a
// dashboard, code, other Service Center, LifeTime and Service Studio
// screens, a chat. OCR of them must not raise a finding.
func ordinaryScreens(t testing.TB) []rendered {
	var out []rendered
	add := func(name string, c *canvas, words ...string) {
		out = append(out, rendered{name: name, data: c.png(), words: words, want: []map[string]any{}})
	}

	c := newCanvas(t, 980, 260, color.NRGBA{24, 27, 31, 255}) // a dark monitoring dashboard
	c.text(20, 34, 18, true, white, "Production overview - last 24 hours")
	for i, p := range [][2]string{{"Requests per second", "1,204"}, {"Error rate", "0.3%"}, {"p95 latency", "212 ms"}, {"Deployments today", "4"}} {
		x := 20 + i*240
		c.box(x, 60, x+225, 160, color.NRGBA{34, 37, 43, 255}, color.NRGBA{60, 64, 72, 255})
		c.text(x+14, 88, 13, false, color.NRGBA{190, 195, 205, 255}, p[0])
		c.text(x+14, 136, 30, true, color.NRGBA{115, 191, 105, 255}, p[1])
	}
	c.text(20, 200, 13, false, color.NRGBA{190, 195, 205, 255}, "Alerts: none firing. Last deploy: Billing_CS v2.14 by ana at 09:42.")
	c.text(20, 230, 13, false, color.NRGBA{190, 195, 205, 255}, "Platform upgrade to 11.31 scheduled for Saturday 22:00; modules will be prepared afterwards.")
	add("dashboard", c, "Requests per second", "Error rate")

	c = newCanvas(t, 900, 250, color.NRGBA{250, 250, 250, 255}) // code in an editor
	code := []string{
		"func prepareModules(ctx context.Context, mods []Module) error {",
		"    for i, m := range mods {",
		"        log.Printf(\"preparing module %d of %d: %s\", i+1, len(mods), m.Name)",
		"        if err := m.Publish(ctx); err != nil {",
		"            return fmt.Errorf(\"publish %s: %w\", m.Name, err)",
		"        }",
		"    }",
		"    return nil // every module is ready",
		"}",
	}
	for i, l := range code {
		c.text(14, 24+i*24, 14, false, color.NRGBA{40, 40, 40, 255}, fmt.Sprintf("%2d  %s", 41+i, l))
	}
	add("code", c, "prepareModules", "log.Printf")

	c = newCanvas(t, 1000, 230, pageGrey) // Service Center's Modules list
	c.text(20, 40, 26, true, textDark, "Modules")
	c.box(20, 60, 980, 95, white, lineGrey)
	for _, h := range []struct {
		x int
		s string
	}{{34, "Name"}, {300, "Application"}, {560, "Last Published"}, {800, "Status"}} {
		c.text(h.x, 83, 13, true, textDark, h.s)
	}
	for i, row := range [][4]string{
		{"Billing_CS", "Billing", "2024-03-12 10:15 by jane.doe", "Up-to-date"},
		{"Customer_Portal", "Customer Portal", "2024-03-11 17:02 by ana", "Up-to-date"},
		{"Orders2", "Orders", "2024-02-28 09:31 by bruno", "Outdated references"},
	} {
		y := 95 + i*40
		c.box(20, y, 980, y+40, white, lineGrey)
		for j, x := range []int{34, 300, 560, 800} {
			col := textDark
			if j == 0 {
				col = linkBlue
			}
			c.text(x, y+25, 13, false, col, row[j])
		}
	}
	add("service center modules list", c, "Billing_CS", "Up-to-date")

	c = newCanvas(t, 1000, 220, white) // LifeTime deployment
	c.text(20, 40, 24, true, textDark, "Deploy to Production")
	c.box(20, 60, 980, 110, bannerGrn, color.NRGBA{190, 225, 170, 255})
	c.dot(40, 85, 8, okGreen)
	c.text(58, 90, 14, true, textDark, "Deployment finished successfully. 3 applications were deployed to Production.")
	c.text(20, 145, 14, false, textDark, "Started by jane.doe at 3/12/2024 10:15:02 PM. Duration: 4 min 12 s.")
	c.text(20, 175, 14, false, linkBlue, "View deployment log")
	add("lifetime deployment finished", c, "Deployment finished successfully")

	c = newCanvas(t, 1000, 200, pageGrey) // Service Center Error Log with other errors
	c.text(20, 36, 24, true, textDark, "Error Log")
	c.box(20, 55, 980, 90, white, lineGrey)
	for _, h := range []struct {
		x int
		s string
	}{{34, "Time of Log"}, {220, "Module"}, {340, "Message"}, {820, "Source"}} {
		c.text(h.x, 78, 13, true, textDark, h.s)
	}
	for i, row := range [][4]string{
		{"2024-03-12 10:31:07", "Orders2", "Timeout expired. The timeout period elapsed prior to completion.", "Orders2"},
		{"2024-03-12 10:29:55", "Billing_CS", "Email failed for invoice 4471: mailbox unavailable", "SMTP"},
	} {
		y := 90 + i*45
		c.box(20, y, 980, y+45, white, lineGrey)
		for j, x := range []int{34, 220, 340, 820} {
			c.text(x, y+28, 13, false, textDark, row[j])
		}
	}
	add("error log, other errors", c, "Timeout expired")

	c = newCanvas(t, 900, 260, white) // Service Studio publish that went well
	c.text(20, 36, 22, true, textDark, "1-Click Publish")
	for i, step := range []string{"Uploading", "Upgrading", "Compiling", "Deploying"} {
		y := 60 + i*34
		c.dot(36, y+12, 8, okGreen)
		c.text(56, y+17, 14, false, textDark, step)
	}
	c.text(20, 225, 14, false, textDark, "Module Directory was published successfully. Version 43 is now running in Development.")
	add("service studio publish done", c, "published successfully")

	c = newCanvas(t, 900, 210, white) // a chat about the upgrade, without an error
	for i, m := range [][2]string{
		{"ana 09:12", "is the upgrade on QA done? I want to publish the invoice screen"},
		{"bruno 09:14", "not yet, the modules are still preparing - should be ready around 10:30"},
		{"ana 09:15", "ok, I'll wait. ping me when the environment is ready"},
		{"bruno 10:41", "all good now, publish away"},
	} {
		y := 30 + i*46
		c.text(20, y, 13, true, textDark, m[0])
		c.text(20, y+20, 14, false, textDark, m[1])
	}
	add("chat about the upgrade", c, "modules are still preparing")
	return out
}
