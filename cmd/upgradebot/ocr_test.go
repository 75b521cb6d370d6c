package main

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/upgradebot/upgradebot/ocr"
)

// screenshot draws lines of text in a Service Center-like banner and
// returns the image.
func screenshot(t *testing.T, lines ...string) image.Image {
	t.Helper()
	f, err := opentype.Parse(goregular.TTF)
	if err != nil {
		t.Fatal(err)
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: 15, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewNRGBA(image.Rect(0, 0, 900, 40+24*len(lines)))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.NRGBA{245, 246, 248, 255}), image.Point{}, draw.Src)
	banner := image.Rect(10, 10, 890, 30+24*len(lines))
	draw.Draw(img, banner, image.NewUniform(color.NRGBA{252, 228, 228, 255}), image.Point{}, draw.Src)
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.NRGBA{51, 51, 51, 255}), Face: face}
	for i, l := range lines {
		d.Dot = fixed.P(30, 36+24*i)
		d.DrawString(l)
	}
	return img
}

func writeImage(t *testing.T, img image.Image, name string) string {
	t.Helper()
	var b bytes.Buffer
	var err error
	if strings.HasSuffix(name, ".jpg") {
		err = jpeg.Encode(&b, img, &jpeg.Options{Quality: 85})
	} else {
		err = png.Encode(&b, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// needTesseract skips without Tesseract, or fails when CI is set.
func needTesseract(t *testing.T) {
	t.Helper()
	if err := ocr.Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and Tesseract is required: %v", err)
		}
		t.Skipf("skipped without Tesseract: %v", err)
	}
}

// withoutTesseract makes the OCR reader look for a program that does not exist.
func withoutTesseract(t *testing.T) {
	saved := ocrOptions
	ocrOptions.Binary = "tesseract-not-installed-7d2e"
	t.Cleanup(func() { ocrOptions = saved })
}

var producerLines = []string{
	"Old Producer: Producer module 'Billing_CS' hasn't been prepared for the current OutSystems environment version.",
	"The Preparation of Modules may not have finished yet, failed, or it is on hold. Check Service Center for more",
	"details or try to publish Billing_CS.",
}

func TestDiagnoseScreenshotJSON(t *testing.T) {
	needTesseract(t)
	img := screenshot(t, producerLines...)
	want := `{"findings":[{"id":"producer-not-prepared","module":"Billing_CS"}]}`
	for _, name := range []string{"producer.png", "producer.jpg"} {
		t.Run(name, func(t *testing.T) {
			path := writeImage(t, img, name)
			for _, args := range [][]string{{"diagnose", "--json", path}, {"diagnose", path, "--json"}} {
				r := run(t, "", nil, args...)
				if r.code != 0 {
					t.Fatalf("%v: exit %d, stderr %q", args, r.code, r.stderr)
				}
				if got, want := contractJSON(t, r.stdout), contractJSON(t, want); !reflect.DeepEqual(got, want) {
					t.Errorf("%v:\n got  %v\n want %v", args, got, want)
				}
			}
		})
	}
	// From standard input too, and the text form.
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	r := run(t, b.String(), nil, "diagnose", "-")
	if r.code != 0 || !strings.Contains(r.stdout, "Billing_CS") {
		t.Errorf("diagnose - with a PNG: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}

func TestDiagnoseScreenshotErrors(t *testing.T) {
	path := writeImage(t, screenshot(t, producerLines...), "producer.png")
	damaged := filepath.Join(t.TempDir(), "damaged.png")
	if err := os.WriteFile(damaged, []byte("\x89PNG\r\n\x1a\nnot really"), 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("off", func(t *testing.T) {
		r := run(t, "", map[string]string{"UPGRADEBOT_OCR": "off"}, "diagnose", "--json", path)
		if r.code != 1 || !strings.Contains(r.stderr, "screenshots are turned off (UPGRADEBOT_OCR=off)") || r.stdout != "" {
			t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("auto without tesseract", func(t *testing.T) {
		withoutTesseract(t)
		r := run(t, "", nil, "diagnose", "--json", path)
		if r.code != 1 || !strings.Contains(r.stderr, "producer.png is an image: screenshots cannot be read: Tesseract OCR (tesseract-not-installed-7d2e) was not found on PATH") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
		// Text still works.
		r = run(t, "There were errors preparing some modules.", nil, "diagnose", "--json", "-")
		if r.code != 0 || !strings.Contains(r.stdout, "modules-preparation-errors") {
			t.Errorf("text without tesseract: exit %d, %q %q", r.code, r.stdout, r.stderr)
		}
	})
	t.Run("on without tesseract", func(t *testing.T) {
		withoutTesseract(t)
		r := run(t, "", map[string]string{"UPGRADEBOT_OCR": "on"}, "diagnose", "--json", path)
		if r.code != 1 || !strings.Contains(r.stderr, "UPGRADEBOT_OCR: is on, but screenshots cannot be read") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
	t.Run("damaged png", func(t *testing.T) {
		needTesseract(t)
		r := run(t, "", nil, "diagnose", "--json", damaged)
		if r.code != 1 || !strings.Contains(r.stderr, "reading the screenshot "+damaged+": not a readable PNG or JPEG image: a damaged png file") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
}

func TestShellImage(t *testing.T) {
	path := writeImage(t, screenshot(t, producerLines...), "producer.png")
	environ := func() map[string]string {
		return map[string]string{"UPGRADEBOT_DATA": filepath.Join(t.TempDir(), "u.db"), "USER": "ana"}
	}
	t.Run("reads the screenshot", func(t *testing.T) {
		needTesseract(t)
		r := run(t, ":image "+path+"\n:image /no/such/file.png\n", environ(), "shell")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		for _, want := range []string{"(read from the screenshot:", "Billing_CS", "Read from the screenshot producer.png", "Could not read /no/such/file.png"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("output lacks %q:\n%s", want, r.stdout)
			}
		}
	})
	t.Run("auto without tesseract starts and says why", func(t *testing.T) {
		withoutTesseract(t)
		r := run(t, ":image "+path+"\n/upgrade help\n\n", environ(), "shell")
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		note := "Screenshots cannot be read on this server (Tesseract OCR is not installed): paste the error text instead."
		if !strings.Contains(r.stdout, "Screenshots are not read: "+note) {
			t.Errorf(":image output lacks the reason:\n%s", r.stdout)
		}
		if strings.Count(r.stdout, note) < 2 {
			t.Errorf("help does not say why screenshots are not read:\n%s", r.stdout)
		}
		if n := strings.Count(r.stderr, "screenshots are not read"); n != 1 {
			t.Errorf("logged %d times, want once:\n%s", n, r.stderr)
		}
	})
	t.Run("on without tesseract is a start-up error", func(t *testing.T) {
		withoutTesseract(t)
		env := environ()
		env["UPGRADEBOT_OCR"] = "on"
		r := run(t, "", env, "shell")
		if r.code != 1 || !strings.Contains(r.stderr, "UPGRADEBOT_OCR: is on, but screenshots cannot be read: Tesseract OCR (tesseract-not-installed-7d2e) was not found on PATH") {
			t.Errorf("exit %d, stderr %q", r.code, r.stderr)
		}
	})
	t.Run("off", func(t *testing.T) {
		env := environ()
		env["UPGRADEBOT_OCR"] = "off"
		r := run(t, ":image "+path+"\n", env, "shell")
		if r.code != 0 || !strings.Contains(r.stdout, "Screenshots are not read: Screenshots are turned off on this server (UPGRADEBOT_OCR=off)") {
			t.Errorf("exit %d, stdout %q", r.code, r.stdout)
		}
	})
}

func TestOCRRequiredNamesTheSetting(t *testing.T) {
	err := ocrRequired(errors.New("screenshots cannot be read: Tesseract OCR (tesseract) was not found on PATH"))
	if !strings.HasPrefix(err.Error(), "UPGRADEBOT_OCR: is on, but screenshots cannot be read") {
		t.Errorf("error %q", err)
	}
}
