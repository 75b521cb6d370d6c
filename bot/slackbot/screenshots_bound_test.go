package slackbot

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
)

// waitFor polls cond, which says whether what the test waits for has happened.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Many messages with screenshots while OCR is stuck: the goroutines of
// screenshot work stay within MaxImageJobs (no goroutine waits for room),
// the screenshots beyond it are noted in the replies, and every message is
// answered once.
func TestScreenshotGoroutinesAreBounded(t *testing.T) {
	const jobs, slots, messages, perMessage = 6, 2, 40, 2
	gate := make(chan struct{})
	h := start(t, setup{mode: ModeHTTP, opts: withOCR(gatedOCR{open: gate}, time.Minute, func(o *Options) {
		o.MaxImageJobs, o.ImageConcurrency = jobs, slots
	})})
	h.track("prod")
	base := runtime.NumGoroutine()
	for i := 0; i < messages; i++ {
		var files []map[string]any
		for j := 0; j < perMessage; j++ {
			files = append(files, h.fake.AddFile(pngFile(fmt.Sprintf("F0GATE%02d%d", i, j), fmt.Sprintf("shot%d.png", j), pngOf(t, j))))
		}
		h.postEvent(fmt.Sprintf("EvGate%02d", i), slackfake.FileShare(channel, ana, fmt.Sprintf("1700007000.%06d", i), producerPaste, files...), 0)
	}
	// Each delivery's screenshot work started, or its busy reply was queued
	// in the channel's lane, before its acknowledgement.
	// Both slots taken: their screenshots downloaded, their reads stuck at the gate.
	waitUntil(t, "both slots busy", func() bool { return len(h.fake.Calls("download")) == slots })
	// Beyond the screenshot work: the test's connection to the bot, the
	// downloads' connections to the fake Slack and the lane's one post at a
	// time (3 goroutines each), a few more.
	bound := base + jobs + 3*(2+slots) + 5
	if n := runtime.NumGoroutine(); n > bound {
		t.Errorf("%d goroutines with %d messages of %d screenshots waiting, want at most %d", n, messages, perMessage, bound)
	}
	close(gate)
	h.waitIdle()
	posts := h.fake.Calls("chat.postMessage")
	if len(posts) != messages {
		t.Fatalf("%d replies to %d messages, want one each", len(posts), messages)
	}
	busy := 0
	for _, p := range posts {
		busy += strings.Count(decoded(p.Field("blocks")), busyNote)
	}
	downloads := len(h.fake.Calls("download"))
	if busy+downloads != messages*perMessage || downloads >= jobs || busy == 0 {
		t.Errorf("%d screenshots noted as not read and %d downloaded, of %d; want at most %d downloaded",
			busy, downloads, messages*perMessage, jobs-1)
	}
}
