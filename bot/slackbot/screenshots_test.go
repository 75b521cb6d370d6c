package slackbot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"

	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/ocr"
	"github.com/upgradebot/upgradebot/progress"
)

// The texts of Service Center's banners that the screenshots below show.
const (
	errorsBanner  = "There were errors preparing some modules."
	summaryBanner = "There were errors preparing some modules.\n26 modules prepared successfully, 1 modules failed and 3 modules skipped."
)

// fakeOCR reads known images (by their bytes) as known texts, after a delay;
// Check refuses what is not a PNG or JPEG, as ocr.Reader does.
type fakeOCR struct {
	gate   chan struct{} // non-nil: each read also waits for it to close
	mu     sync.Mutex
	texts  map[[32]byte]string
	delays map[[32]byte]time.Duration
	reads  int
	checks int
}

func newFakeOCR() *fakeOCR {
	return &fakeOCR{texts: map[[32]byte]string{}, delays: map[[32]byte]time.Duration{}}
}

// learn makes data read as text, taking delay.
func (f *fakeOCR) learn(data []byte, text string, delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.texts[sha256.Sum256(data)] = text
	f.delays[sha256.Sum256(data)] = delay
}

func (f *fakeOCR) Check(data []byte) error {
	f.mu.Lock()
	f.checks++
	f.mu.Unlock()
	if ocr.Sniff(data) == "" {
		return &ocr.FormatError{Got: "an HTML page"}
	}
	return nil
}

func (f *fakeOCR) Read(ctx context.Context, data []byte) (string, error) {
	if err := f.Check(data); err != nil {
		return "", err
	}
	f.mu.Lock()
	f.reads++
	text, delay := f.texts[sha256.Sum256(data)], f.delays[sha256.Sum256(data)]
	f.mu.Unlock()
	select {
	case <-time.After(delay):
	case <-ctx.Done():
		return "", &ocr.TimeoutError{Limit: delay, While: "running tesseract"}
	}
	if f.gate != nil {
		select {
		case <-f.gate:
		case <-ctx.Done():
			return "", &ocr.TimeoutError{Limit: delay, While: "running tesseract"}
		}
	}
	return text, nil
}

func (f *fakeOCR) counts() (checks, reads int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.checks, f.reads
}

// pngOf is a small PNG, different for each seed (the fake OCR tells them apart).
func pngOf(t *testing.T, seed int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, 20+seed, 10))
	draw.Draw(img, img.Bounds(), image.NewUniform(color.NRGBA{uint8(seed * 40), 200, 200, 255}), image.Point{}, draw.Src)
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// renderBanner draws lines of text as Service Center shows its banners, as a PNG.
func renderBanner(t *testing.T, lines ...string) []byte {
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
	draw.Draw(img, image.Rect(10, 10, 890, 30+24*len(lines)), image.NewUniform(color.NRGBA{252, 228, 228, 255}), image.Point{}, draw.Src)
	d := font.Drawer{Dst: img, Src: image.NewUniform(color.NRGBA{51, 51, 51, 255}), Face: face}
	for i, l := range lines {
		d.Dot = fixed.P(30, 36+24*i)
		d.DrawString(l)
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pngFile(id, name string, data []byte) slackfake.File {
	return slackfake.File{ID: id, Name: name, Mimetype: "image/png", Filetype: "png", Content: data, Width: 20, Height: 10}
}

// withOCR sets the OCR reader and short screenshot waits.
func withOCR(r OCR, wait time.Duration, more ...func(*Options)) func(*Options) {
	return func(o *Options) {
		o.OCR, o.ImageWait, o.ImageTimeout = r, wait, 10*time.Second
		for _, f := range more {
			f(o)
		}
	}
}

// waitIdle waits until no request is queued or running and no message with
// screenshots is being answered. After waitJobs(n) for the n deliveries
// made, nothing is left to post once it returns: a delivery's screenshot
// work is counted before its job ends, and a job is always queued, running
// or completed.
func (h *harness) waitIdle() {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for h.app.lanes.pending() > 0 || h.app.bgRunning.Load() > 0 {
		if time.Now().After(deadline) {
			h.t.Fatalf("still busy: %d requests pending, %d messages with screenshots", h.app.lanes.pending(), h.app.bgRunning.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A summary banner shared as a screenshot (file_share, no text) gets one
// threaded reply with the finding and the line saying it was read from the
// screenshot, and records the counts as the pasted text would. The file is
// downloaded with the bot token, following Slack's redirect.
func TestScreenshotGetsOneThreadedReply(t *testing.T) {
	fo := newFakeOCR()
	data := pngOf(t, 1)
	fo.learn(data, summaryBanner, 0)
	h := start(t, setup{mode: ModeHTTP, opts: withOCR(fo, 5*time.Second)})
	h.track("prod")
	f := pngFile("F0SUMMARY", "error.png", data)
	f.Redirect = true
	ts := "1700005000.000100"
	h.postEvent("EvShot", slackfake.FileShare(channel, ana, ts, "", h.fake.AddFile(f)), 0)
	posts := h.fake.WaitCalls(1, 10*time.Second, "chat.postMessage")
	h.waitJobs(1)
	h.waitIdle()
	if posts = h.fake.Calls("chat.postMessage"); len(posts) != 1 {
		t.Fatalf("%d replies, want 1", len(posts))
	}
	p := posts[0]
	if p.Field("thread_ts") != ts {
		t.Errorf("reply in thread %q, want %s", p.Field("thread_ts"), ts)
	}
	mustContain(t, "reply", p.Field("blocks"), "Some modules failed the modules preparation step", "Read from the screenshot *error.png*",
		"Recorded for *prod*: preparation finished: 26 prepared, 1 failed, 3 skipped")
	downloads := h.fake.Calls("download")
	if len(downloads) != 2 || !strings.HasPrefix(downloads[0].Path, "/files-pri/") || !strings.HasPrefix(downloads[1].Path, "/files-moved/") {
		t.Fatalf("downloads: %+v, want the URL and its redirect", downloads)
	}
	for _, d := range downloads {
		if d.Token != botToken {
			t.Errorf("download of %s with token %q, want the bot token", d.Path, d.Token)
		}
	}
	if n := len(h.fake.Calls("chat.update", "files.info")); n != 0 {
		t.Errorf("%d chat.update/files.info calls, want none", n)
	}
	st, err := h.store.Status(context.Background(), slackfake.TeamID, "prod", -1)
	if err != nil || st.Counts.Prepared == nil || *st.Counts.Prepared != 26 || st.Counts.Failed == nil || *st.Counts.Failed != 1 {
		t.Errorf("tracking after the screenshot: %+v, %v", st.Counts, err)
	}
	if got := h.counter("upgradebot_findings_total", "id", "preparation-summary"); got != 1 {
		t.Errorf("preparation-summary counted %v times", got)
	}
}

// The same with Tesseract: a PNG drawn with a Go font is read for real.
// Without Tesseract the test is skipped, unless CI is set: then it fails.
func TestScreenshotReadWithTesseract(t *testing.T) {
	r, err := ocr.New(ocr.Options{})
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI is set and Tesseract is required: %v", err)
		}
		t.Skipf("skipped without Tesseract: %v", err)
	}
	h := start(t, setup{mode: ModeHTTP, opts: withOCR(r, 30*time.Second)})
	h.track("prod")
	data := renderBanner(t, errorsBanner)
	ts := "1700005100.000100"
	h.postEvent("EvTess", slackfake.FileShare(channel, ana, ts, "", h.fake.AddFile(pngFile("F0TESS", "modules.png", data))), 0)
	h.fake.WaitCalls(1, 40*time.Second, "chat.postMessage")
	h.waitIdle()
	posts := h.fake.Calls("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("%d replies, want 1", len(posts))
	}
	mustContain(t, "reply", posts[0].Field("blocks"), "Some modules failed the modules preparation step", "Read from the screenshot *modules.png*", "Recorded for *prod*")
}

// Slack answering an HTML page (status 200) instead of the image: the
// image is refused without OCR, logged, and noted in the reply to the
// message's text; with no text, nothing is posted. Nothing crashes.
func TestScreenshotHTMLInsteadOfImageIsRefused(t *testing.T) {
	fo := newFakeOCR()
	h := start(t, setup{mode: ModeHTTP, opts: withOCR(fo, 5*time.Second)})
	h.track("prod")
	page := []byte("<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in</body></html>")
	html := slackfake.File{ID: "F0HTML", Name: "error.png", Mimetype: "image/png", Filetype: "png", Content: page, ContentType: "text/html; charset=utf-8"}
	ts := "1700005200.000100"
	h.postEvent("EvHTML", slackfake.FileShare(channel, ana, ts, producerPaste, h.fake.AddFile(html)), 0)
	h.fake.WaitCalls(1, 10*time.Second, "chat.postMessage")
	h.waitIdle()
	posts := h.fake.Calls("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("%d replies, want 1", len(posts))
	}
	mustContain(t, "reply", posts[0].Field("blocks"), "Billing_CS", "Could not read the screenshot *error.png*", "Slack sent something other than the image")
	if strings.Contains(decoded(posts[0].Field("blocks")), "Read from the screenshot") {
		t.Errorf("the reply says the refused image was read")
	}
	if _, reads := fo.counts(); reads != 0 {
		t.Errorf("OCR ran %d times on a web page", reads)
	}
	if logs := h.logs.String(); !strings.Contains(logs, "Slack did not send an image") || !strings.Contains(logs, "F0HTML") {
		t.Errorf("no log line for the refused download:\n%s", logs)
	}
	// The image alone: refused, logged, nothing posted.
	h.postEvent("EvHTML2", slackfake.FileShare(channel, ana, "1700005200.000200", "", h.fake.AddFile(slackfake.File{ID: "F0HTML2", Name: "b.png", Mimetype: "image/png", Filetype: "png", Content: page, ContentType: "text/html"})), 0)
	h.fake.WaitCalls(2, 10*time.Second, "download")
	h.waitJobs(2)
	h.waitIdle()
	if n := len(h.fake.Calls("chat.postMessage", "chat.update", "chat.postEphemeral")); n != 1 {
		t.Errorf("%d posts after an unreadable image alone, want still 1", n)
	}
}

// A file declared larger than the limit, or with more pixels, is not
// downloaded: a log line, and a note in the reply to the text.
func TestOversizedScreenshotIsNotDownloaded(t *testing.T) {
	fo := newFakeOCR()
	h := start(t, setup{mode: ModeHTTP, opts: withOCR(fo, 5*time.Second, func(o *Options) { o.MaxImageBytes, o.MaxImagePixels = 1<<20, 1_000_000 })})
	h.track("prod")
	big := pngFile("F0BIG", "huge.png", pngOf(t, 2))
	big.Size = 5 << 20
	wide := pngFile("F0WIDE", "wide.png", pngOf(t, 3))
	wide.Width, wide.Height = 8000, 4000
	ts := "1700005300.000100"
	h.postEvent("EvBig", slackfake.FileShare(channel, ana, ts, producerPaste, h.fake.AddFile(big), h.fake.AddFile(wide)), 0)
	h.fake.WaitCalls(1, 10*time.Second, "chat.postMessage")
	h.waitIdle()
	if n := len(h.fake.Calls("download")); n != 0 {
		t.Errorf("%d downloads of files over the limits", n)
	}
	posts := h.fake.Calls("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("%d replies, want 1", len(posts))
	}
	mustContain(t, "reply", posts[0].Field("blocks"), "Billing_CS", "Could not read the screenshot *huge.png*: it is too large (5.0 MB; at most 1.0 MB are read)",
		"Could not read the screenshot *wide.png*: it is too large (8000×4000 pixels")
	if logs := h.logs.String(); !strings.Contains(logs, "screenshot not downloaded: larger than the limit") || !strings.Contains(logs, "screenshot not downloaded: more pixels than the limit") {
		t.Errorf("no log lines for the skipped files:\n%s", logs)
	}
	// A file that declares less than it is stops downloading at the limit.
	liar := pngFile("F0LIAR", "liar.png", append(pngOf(t, 4), make([]byte, 2<<20)...))
	liar.Size = 1000
	h.postEvent("EvLiar", slackfake.FileShare(channel, ana, "1700005300.000200", "There was an error preparing your modules.", h.fake.AddFile(liar)), 0)
	h.fake.WaitCalls(2, 10*time.Second, "chat.postMessage")
	h.waitIdle()
	mustContain(t, "reply", h.fake.Calls("chat.postMessage")[1].Field("blocks"), "Could not read the screenshot *liar.png*: it is too large (at most 1.0 MB are read)")
	// A screenshot alone, too large: one reply says so and what to do.
	alone := pngFile("F0ALONE", "alone.png", pngOf(t, 5))
	alone.Size = 5 << 20
	h.postEvent("EvAlone", slackfake.FileShare(channel, ana, "1700005300.000300", "", h.fake.AddFile(alone)), 0)
	h.fake.WaitCalls(3, 10*time.Second, "chat.postMessage")
	h.waitIdle()
	if posts := h.fake.Calls("chat.postMessage"); len(posts) != 3 {
		t.Fatalf("%d replies, want 3", len(posts))
	}
	mustContain(t, "reply", h.fake.Calls("chat.postMessage")[2].Field("blocks"), "Paste the error's text here",
		"Could not read the screenshot *alone.png*: it is too large (5.0 MB; at most 1.0 MB are read)")
	if _, reads := fo.counts(); reads != 0 {
		t.Errorf("OCR ran %d times", reads)
	}
}

// A screenshot read after the wait updates the reply posted for the text:
// one chat.postMessage (saying the screenshot is still being read) and one
// chat.update (with its finding). What the text recorded stays in the reply,
// and what the screenshot says is recorded too.
func TestSlowScreenshotUpdatesTheReply(t *testing.T) {
	fo := newFakeOCR()
	data := pngOf(t, 5)
	fo.learn(data, summaryBanner, 800*time.Millisecond)
	h := start(t, setup{mode: ModeHTTP, opts: withOCR(fo, 100*time.Millisecond)})
	h.track("prod")
	ts := "1700005400.000100"
	h.postEvent("EvSlow", slackfake.FileShare(channel, ana, ts, producerPaste, h.fake.AddFile(pngFile("F0SLOW", "summary.png", data))), 0)
	h.fake.WaitCalls(1, 10*time.Second, "chat.update")
	h.waitJobs(1)
	h.waitIdle()
	posts, updates := h.fake.Calls("chat.postMessage"), h.fake.Calls("chat.update")
	if len(posts) != 1 || len(updates) != 1 {
		t.Fatalf("%d posts and %d updates, want 1 and 1", len(posts), len(updates))
	}
	first := decoded(posts[0].Field("blocks"))
	mustContain(t, "first reply", first, "Billing_CS", "Still reading the screenshot *summary.png*", "Recorded for *prod*: 1 module to republish")
	if strings.Contains(first, "Modules preparation finished") {
		t.Errorf("the first reply has the screenshot's finding already")
	}
	replyTS, _ := posts[0].Answer["ts"].(string)
	if updates[0].Field("ts") != replyTS || updates[0].Field("channel") != channel {
		t.Errorf("updated %s %s, want the reply %s %s", updates[0].Field("channel"), updates[0].Field("ts"), channel, replyTS)
	}
	updated := decoded(updates[0].Field("blocks"))
	mustContain(t, "updated reply", updated, "Billing_CS", "Modules preparation finished", "Read from the screenshot *summary.png*",
		"Recorded for *prod*: 1 module to republish (`Billing_CS`)", "preparation finished: 26 prepared, 1 failed, 3 skipped")
	if strings.Contains(updated, "Still reading") {
		t.Errorf("the update still says the screenshot is being read")
	}
	st, err := h.store.Status(context.Background(), slackfake.TeamID, "prod", -1)
	if err != nil || len(st.Modules) != 1 || st.Counts.Prepared == nil || *st.Counts.Prepared != 26 {
		t.Errorf("tracking: modules %+v counts %+v, %v", st.Modules, st.Counts, err)
	}
	if got := h.counter("upgradebot_replies_total", "kind", "update"); got != 1 {
		t.Errorf("updates counted: %v", got)
	}
}

// A slow screenshot shared without text: nothing is posted until it is
// read, then the one reply.
func TestSlowScreenshotAloneIsTheReply(t *testing.T) {
	fo := newFakeOCR()
	data := pngOf(t, 6)
	fo.learn(data, errorsBanner, 500*time.Millisecond)
	h := start(t, setup{mode: ModeHTTP, opts: withOCR(fo, 50*time.Millisecond)})
	h.track("prod")
	h.postEvent("EvAlone", slackfake.FileShare(channel, ana, "1700005500.000100", "", h.fake.AddFile(pngFile("F0ALONE", "image.png", data))), 0)
	h.fake.WaitCalls(1, 10*time.Second, "chat.postMessage")
	h.waitJobs(1)
	h.waitIdle()
	if p, u := len(h.fake.Calls("chat.postMessage")), len(h.fake.Calls("chat.update")); p != 1 || u != 0 {
		t.Fatalf("%d posts and %d updates, want 1 and 0", p, u)
	}
	mustContain(t, "reply", h.fake.Calls("chat.postMessage")[0].Field("blocks"), "Some modules failed the modules preparation step", "Read from the screenshot *image.png*")
}

// Re-deliveries of a file_share event (late acks), and the app_mention of
// the same message, give one reply and one download.
func TestScreenshotRedeliveriesGiveOneReply(t *testing.T) {
	fo := newFakeOCR()
	data := pngOf(t, 7)
	fo.learn(data, errorsBanner, 200*time.Millisecond)
	h := start(t, setup{mode: ModeHTTP, opts: withOCR(fo, 5*time.Second)})
	h.track("prod")
	ts := "1700005600.000100"
	file := h.fake.AddFile(pngFile("F0AGAIN", "error.png", data))
	ev := slackfake.FileShare(channel, ana, ts, "<@"+slackfake.BotUserID+"> look", file)
	h.postEvent("EvFile", ev, 0)
	mention := slackfake.AppMention(channel, ana, ts, "<@"+slackfake.BotUserID+"> look")
	mention["files"] = []any{file}
	h.postEvent("EvFileMention", mention, 0)
	for retry := 1; retry <= 3; retry++ {
		h.postEvent("EvFile", ev, retry)
	}
	h.fake.WaitCalls(1, 10*time.Second, "chat.postMessage")
	h.waitJobs(5)
	h.waitIdle()
	if n := len(h.fake.Calls("chat.postMessage")); n != 1 {
		t.Fatalf("%d replies, want 1", n)
	}
	if n := len(h.fake.Calls("download")); n != 1 {
		t.Errorf("%d downloads, want 1", n)
	}
	if got := h.counter("upgradebot_duplicates_suppressed_total"); got != 4 {
		t.Errorf("duplicates suppressed: %v, want 4", got)
	}
}

// Without OCR (Tesseract missing, UPGRADEBOT_OCR=off) images are ignored
// (a debug line) and the text is answered as ever.
func TestScreenshotsIgnoredWithoutOCR(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	h.track("prod")
	h.postEvent("EvNoOCR", slackfake.FileShare(channel, ana, "1700005700.000100", producerPaste, h.fake.AddFile(pngFile("F0NOOCR", "error.png", pngOf(t, 8)))), 0)
	h.waitJobs(1)
	if n := len(h.fake.Calls("download", "files.info")); n != 0 {
		t.Errorf("%d file calls without OCR", n)
	}
	posts := h.fake.Calls("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("%d replies, want 1", len(posts))
	}
	if b := decoded(posts[0].Field("blocks")); !strings.Contains(b, "Billing_CS") || strings.Contains(b, "screenshot") {
		t.Errorf("reply without OCR:\n%s", b)
	}
	if !strings.Contains(h.logs.String(), "images not read: screenshots are off") {
		t.Errorf("no debug line for the ignored image")
	}
}

// A file the event names only by id (Slack Connect) is looked up with
// files.info; at most MaxImages screenshots of a message are read, the
// others noted; a PDF is left alone.
func TestScreenshotFileInfoAndLimit(t *testing.T) {
	fo := newFakeOCR()
	h := start(t, setup{mode: ModeHTTP, opts: withOCR(fo, 5*time.Second, func(o *Options) { o.MaxImages = 2 })})
	h.track("prod")
	hidden := pngFile("F0INFO", "connect.png", pngOf(t, 9))
	hidden.CheckFileInfo = true
	fo.learn(hidden.Content, producerPaste, 0)
	other := pngFile("F0OTHER", "other.png", pngOf(t, 10))
	third := pngFile("F0THIRD", "third.png", pngOf(t, 11))
	pdf := slackfake.File{ID: "F0PDF", Name: "notes.pdf", Mimetype: "application/pdf", Filetype: "pdf", Content: []byte("%PDF-1.4")}
	ts := "1700005800.000100"
	h.postEvent("EvInfo", slackfake.FileShare(channel, ana, ts, "", h.fake.AddFile(pdf), h.fake.AddFile(hidden), h.fake.AddFile(other), h.fake.AddFile(third)), 0)
	h.fake.WaitCalls(1, 10*time.Second, "chat.postMessage")
	h.waitIdle()
	if c := h.fake.Calls("files.info"); len(c) != 1 || c[0].Field("file") != "F0INFO" || c[0].Token != botToken {
		t.Errorf("files.info calls: %+v", c)
	}
	var got []string
	for _, d := range h.fake.Calls("download") {
		got = append(got, d.Path)
	}
	if len(got) != 2 || !strings.Contains(got[0]+got[1], "F0INFO") || !strings.Contains(got[0]+got[1], "F0OTHER") {
		t.Errorf("downloads %v, want F0INFO and F0OTHER", got)
	}
	posts := h.fake.Calls("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("%d replies, want 1", len(posts))
	}
	mustContain(t, "reply", posts[0].Field("blocks"), "Billing_CS", "Read from the screenshot *connect.png*", "Could not read the screenshot *third.png*: at most 2 screenshots and files of a message are read")
	if strings.Contains(decoded(posts[0].Field("blocks")), "notes.pdf") {
		t.Errorf("the PDF is mentioned")
	}
}

// Screenshots are read off the workers: with one worker, a message whose
// screenshot downloads slowly does not hold up the next message, and the
// Socket Mode acknowledgement does not wait for either.
func TestSlowScreenshotDoesNotBlockOtherMessages(t *testing.T) {
	fo := newFakeOCR()
	data := pngOf(t, 12)
	fo.learn(data, errorsBanner, 0)
	h := start(t, setup{mode: ModeSocket, opts: withOCR(fo, 10*time.Second, func(o *Options) { o.Workers = 1 })})
	h.fake.WaitConnected(1, 5*time.Second)
	h.track("prod")
	slow := pngFile("F0SLOWDL", "slow.png", data)
	slow.Delay = 1500 * time.Millisecond
	id := h.fake.Send("events_api", json.RawMessage(slackfake.EventCallback("EvSlowDL", slackfake.FileShare(channel, ana, "1700005900.000100", "", h.fake.AddFile(slow)))), 0)
	if d, _ := h.fake.WaitAck(id, 3*time.Second); d > time.Second {
		t.Errorf("acknowledged after %v", d)
	}
	id = h.fake.Send("events_api", json.RawMessage(slackfake.EventCallback("EvText", slackfake.Message(channel, ana, "1700005900.000200", producerPaste))), 0)
	h.fake.WaitAck(id, 3*time.Second)
	posts := h.fake.WaitCalls(1, 5*time.Second, "chat.postMessage")
	if posts[0].Field("thread_ts") != "1700005900.000200" {
		t.Fatalf("first reply in thread %s, want the text message's", posts[0].Field("thread_ts"))
	}
	if dl := h.fake.Calls("download"); len(dl) != 1 || (!dl[0].Ended.IsZero() && dl[0].Ended.Before(posts[0].At)) {
		t.Errorf("the text was answered after the slow download ended: %+v", dl)
	}
	posts = h.fake.WaitCalls(2, 10*time.Second, "chat.postMessage")
	if posts[1].Field("thread_ts") != "1700005900.000100" {
		t.Errorf("second reply in thread %s, want the screenshot's", posts[1].Field("thread_ts"))
	}
	h.waitIdle()
}

// A failing download (5xx, retried, then given up) is noted; the text is answered.
func TestScreenshotDownloadFailure(t *testing.T) {
	fo := newFakeOCR()
	h := start(t, setup{mode: ModeHTTP, opts: withOCR(fo, 5*time.Second)})
	h.track("prod")
	broken := pngFile("F0BROKEN", "broken.png", pngOf(t, 13))
	broken.Status = 503
	h.postEvent("EvBroken", slackfake.FileShare(channel, ana, "1700006000.000100", producerPaste, h.fake.AddFile(broken)), 0)
	h.fake.WaitCalls(1, 15*time.Second, "chat.postMessage")
	h.waitIdle()
	if n := len(h.fake.Calls("download")); n != 4 {
		t.Errorf("%d download attempts, want 4 (retried)", n)
	}
	mustContain(t, "reply", h.fake.Calls("chat.postMessage")[0].Field("blocks"), "Billing_CS", "Could not read the screenshot *broken.png*: the download from Slack failed (http_503)")
	if !strings.Contains(h.logs.String(), "screenshot not read: the download failed") {
		t.Errorf("no log line for the failed download")
	}
}

// Shutting down while a screenshot is read lets the reply finish within
// the shutdown time.
func TestShutdownWaitsForScreenshots(t *testing.T) {
	fo := newFakeOCR()
	data := pngOf(t, 14)
	fo.learn(data, errorsBanner, 300*time.Millisecond)
	h := start(t, setup{mode: ModeHTTP, opts: withOCR(fo, 5*time.Second)})
	h.track("prod")
	h.postEvent("EvStop", slackfake.FileShare(channel, ana, "1700006100.000100", "", h.fake.AddFile(pngFile("F0STOP", "stop.png", data))), 0)
	h.fake.WaitCalls(1, 5*time.Second, "download")
	if err := h.stop(); err != nil {
		t.Fatal(err)
	}
	if n := len(h.fake.Calls("chat.postMessage")); n != 1 {
		t.Errorf("%d replies after shutdown, want 1", n)
	}
}

// A file object Slack describes unexpectedly (a number as a string, an id
// that is not a string) never makes the message unreadable.
func TestOddFileObjectsDoNotBreakTheMessage(t *testing.T) {
	fo := newFakeOCR()
	data := pngOf(t, 15)
	fo.learn(data, errorsBanner, 0)
	h := start(t, setup{mode: ModeHTTP, opts: withOCR(fo, 5*time.Second)})
	h.track("prod")
	odd := h.fake.AddFile(pngFile("F0ODD", "odd.png", data))
	odd["size"], odd["original_w"], odd["original_h"] = "87", "20", "10"
	ev := slackfake.FileShare(channel, ana, "1700006200.000100", producerPaste, odd)
	ev["files"] = append(ev["files"].([]any), map[string]any{"id": 42, "name": []any{}})
	h.postEvent("EvOdd", ev, 0)
	h.fake.WaitCalls(1, 10*time.Second, "chat.postMessage")
	h.waitIdle()
	mustContain(t, "reply", h.fake.Calls("chat.postMessage")[0].Field("blocks"), "Billing_CS", "Some modules failed the modules preparation step", "Read from the screenshot *odd.png*")
}

// panicClaim panics when a message is claimed: a bug in the work on it.
type panicClaim struct{ progress.Store }

func (p panicClaim) Claim(ctx context.Context, ws, key, token string, ttl time.Duration) (bool, error) {
	if strings.HasPrefix(key, "slack:msg:") {
		panic("a bug")
	}
	return p.Store.Claim(ctx, ws, key, token, ttl)
}

// Screenshot work that panics before its reply is queued gives back the
// room it took in the bound.
func TestScreenshotPanicGivesBackItsRoom(t *testing.T) {
	bs, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "bot.db"), progress.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bs.Close() })
	fo := newFakeOCR()
	data := pngOf(t, 1)
	fo.learn(data, summaryBanner, 0)
	h := start(t, setup{mode: ModeHTTP, store: panicClaim{bs}, opts: withOCR(fo, 5*time.Second)})
	h.track("prod")
	h.postEvent("EvShot", slackfake.FileShare(channel, ana, "1700005000.000100", "", h.fake.AddFile(pngFile("F0PANIC", "error.png", data))), 0)
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(h.logs.String(), "answering a message with screenshots panicked"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the screenshot work did not panic")
		}
	}
	h.waitIdle()
	h.app.lanes.mu.Lock()
	jobs, bytes := h.app.lanes.jobs, h.app.lanes.bytes
	h.app.lanes.mu.Unlock()
	if jobs != 0 || bytes != 0 {
		t.Errorf("the bound still holds %d jobs, %d bytes after the work panicked", jobs, bytes)
	}
}

// A message deleted while its screenshot is read records nothing from it:
// deleted before its first reply, it gets none and records nothing at all;
// deleted after, the reply keeps the deletion's note (Undo) when the
// screenshot is read.
func TestDeletedWhileScreenshotRead(t *testing.T) {
	for _, c := range []struct {
		name    string
		wait    time.Duration // ImageWait
		replied bool          // the first reply is out before the deletion
	}{
		{"before the first reply", 10 * time.Second, false},
		{"after the first reply", 50 * time.Millisecond, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			fo := newFakeOCR()
			fo.gate = make(chan struct{})
			data := pngOf(t, 9)
			fo.learn(data, summaryBanner, 0)
			h := start(t, setup{mode: ModeHTTP, opts: withOCR(fo, c.wait)})
			h.track("prod")
			const ts = "1700009000.000100"
			h.postEvent("EvShot", slackfake.FileShare(channel, ana, ts, producerPaste, h.fake.AddFile(pngFile("F0DEL", "err.png", data))), 0)
			waitUntil(t, "the screenshot being read", func() bool { _, reads := fo.counts(); return reads > 0 })
			if c.replied {
				h.fake.WaitCalls(1, 10*time.Second, "chat.postMessage")
				h.postEvent("EvDel", slackfake.Delete(channel, ts, producerPaste), 0)
				h.fake.WaitCalls(1, 10*time.Second, "chat.update") // the deletion's note
			} else {
				h.postEvent("EvDel", slackfake.Delete(channel, ts, producerPaste), 0)
				h.waitJobs(1) // the deletion: the message's own answer waits for the screenshot
			}
			close(fo.gate)
			h.waitIdle()
			st, err := h.store.Status(context.Background(), slackfake.TeamID, "prod", -1)
			if err != nil {
				t.Fatal(err)
			}
			if st.Counts.Prepared != nil {
				t.Errorf("the deleted message's screenshot was recorded: %d prepared", *st.Counts.Prepared)
			}
			if c.replied {
				ups := h.fake.Calls("chat.update")
				mustContain(t, "the reply's last update", decoded(ups[len(ups)-1].Field("blocks")), "was deleted")
			} else if n := len(postsIn(h.fake, ts)); len(st.Modules) != 0 || n != 0 {
				t.Errorf("deleted before its answer: %d modules recorded, %d replies; want none", len(st.Modules), n)
			}
		})
	}
}
