package main

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/config"
	"github.com/upgradebot/upgradebot/ocr"
)

// bannerPNG draws a line of text as a Service Center banner, as a PNG.
func bannerPNG(t *testing.T, line string) []byte {
	t.Helper()
	f, err := opentype.Parse(goregular.TTF)
	if err != nil {
		t.Fatal(err)
	}
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: 15, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewNRGBA(image.Rect(0, 0, 700, 64))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.NRGBA{252, 228, 228, 255}), image.Point{}, draw.Src)
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.NRGBA{51, 51, 51, 255}), Face: face, Dot: fixed.P(20, 38)}
	d.DrawString(line)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// The Slack transport gets the OCR reader: nil (images ignored) when
// screenshots are off, the reader and its limits when Tesseract is found.
func TestSlackOCRReader(t *testing.T) {
	off := newOCR(&config.Config{OCR: config.OCROff}, slog.New(slog.DiscardHandler))
	if r := off.slackOCR(); r != nil {
		t.Errorf("UPGRADEBOT_OCR=off: slackOCR() = %#v, want nil", r)
	}
	if b, p := off.imageLimits(); b != 0 || p != 0 {
		t.Errorf("limits when off: %d %d", b, p)
	}
	if err := ocr.Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and Tesseract is required: %v", err)
		}
		t.Skipf("skipped without Tesseract: %v", err)
	}
	on := newOCR(&config.Config{OCR: config.OCRAuto}, slog.New(slog.DiscardHandler))
	if on.slackOCR() == nil {
		t.Fatal("Tesseract found, but Slack gets no OCR reader")
	}
	if b, p := on.imageLimits(); b != ocr.DefaultMaxBytes || p != ocr.DefaultMaxPixels {
		t.Errorf("limits %d %d, want the reader's defaults", b, p)
	}
}

// `upgradebot run` reads a screenshot shared in Slack (HTTP mode, real
// Tesseract) and answers it once in its thread; with UPGRADEBOT_OCR=off
// the image is not even downloaded.
func TestRunReadsSharedScreenshot(t *testing.T) {
	if err := ocr.Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and Tesseract is required: %v", err)
		}
		t.Skipf("skipped without Tesseract: %v", err)
	}
	const (
		botTok = "xoxb-shot-test-token"
		secret = "shot-test-signing-secret"
	)
	for _, setting := range []string{"auto", "off"} {
		t.Run(setting, func(t *testing.T) {
			fake := slackfake.New(t)
			fake.BotToken = botTok
			environ := map[string]string{
				"HOME":                 t.TempDir(),
				"SLACK_BOT_TOKEN":      botTok,
				"SLACK_SIGNING_SECRET": secret,
				"SLACK_API_URL":        fake.APIURL(),
				"UPGRADEBOT_ADDR":      "127.0.0.1:0",
				"UPGRADEBOT_DATA":      filepath.Join(t.TempDir(), "upgradebot.db"),
				"UPGRADEBOT_OCR":       setting,
			}
			base, stderr, done, cancel := startRun(t, environ)
			defer cancel()
			deadline := time.Now().Add(10 * time.Second)
			for {
				resp, err := http.Get(base + "/readyz")
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK {
						break
					}
				}
				if time.Now().After(deadline) {
					t.Fatalf("never ready:\n%s", stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}
			file := fake.AddFile(slackfake.File{ID: "F0RUN", Name: "modules.png", Mimetype: "image/png", Filetype: "png",
				Content: bannerPNG(t, "There were errors preparing some modules."), Width: 700, Height: 64})
			text := ""
			if setting == "off" {
				text = "There was an error preparing your modules."
			}
			ev := slackfake.EventCallback("EvShotRun", slackfake.FileShare("C0RUN", "U0ANA", "1700009100.000100", text, file))
			resp, err := http.DefaultClient.Do(slackfake.EventRequest(base+"/slack/events", secret, ev, 0))
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("event: %v %v", resp, err)
			}
			resp.Body.Close()
			post := fake.WaitCalls(1, 30*time.Second, "chat.postMessage")[0]
			blocks := strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(post.Field("blocks"))
			if post.Field("thread_ts") != "1700009100.000100" {
				t.Errorf("reply in thread %q", post.Field("thread_ts"))
			}
			downloads := fake.Calls("download")
			if setting == "auto" {
				if !strings.Contains(blocks, "Some modules failed the modules preparation step") || !strings.Contains(blocks, "Read from the screenshot *modules.png*") {
					t.Errorf("reply:\n%s", blocks)
				}
				if len(downloads) != 1 || downloads[0].Token != botTok {
					t.Errorf("downloads: %+v", downloads)
				}
			} else {
				if strings.Contains(blocks, "screenshot") {
					t.Errorf("reply with OCR off mentions the screenshot:\n%s", blocks)
				}
				if len(downloads) != 0 {
					t.Errorf("%d downloads with OCR off", len(downloads))
				}
			}
			cancel()
			select {
			case code := <-done:
				if code != 0 {
					t.Fatalf("exit %d:\n%s", code, stderr.String())
				}
			case <-time.After(15 * time.Second):
				t.Fatal("run did not stop")
			}
			if n := len(fake.Calls("chat.postMessage")); n != 1 {
				t.Errorf("%d replies, want 1", n)
			}
		})
	}
}
