package slackbot

import (
	"context"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/ocr"
)

// countingEngine counts the texts it diagnoses.
type countingEngine struct {
	*diagnosis.Engine
	mu    sync.Mutex
	texts map[string]int
}

func (c *countingEngine) Diagnose(text string) []diagnosis.Finding {
	c.mu.Lock()
	c.texts[text]++
	c.mu.Unlock()
	return c.Engine.Diagnose(text)
}

func (c *countingEngine) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.texts)
}

// gatedOCR reads every image as text once open is closed.
type gatedOCR struct {
	text string
	open chan struct{}
}

func (g gatedOCR) Check(data []byte) error {
	if ocr.Sniff(data) == "" {
		return &ocr.FormatError{Got: "not an image"}
	}
	return nil
}

func (g gatedOCR) Read(ctx context.Context, data []byte) (string, error) {
	select {
	case <-g.open:
		return g.text, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// The transport never diagnoses: each message is diagnosed once, by the
// core, and the transport decides whether to claim and answer it, and keys
// the thread's diagnosis, on that one reading. A screenshot read after the
// reply was posted is diagnosed once too, and the message's text is not
// diagnosed again for the update.
func TestEachMessageIsDiagnosedOnce(t *testing.T) {
	e := &countingEngine{Engine: diagnosis.New(diagnosis.Builtin()), texts: map[string]int{}}
	gate := make(chan struct{})
	h := start(t, setup{mode: ModeHTTP, engine: e, opts: withOCR(gatedOCR{text: summaryBanner, open: gate}, 10*time.Millisecond)})
	h.track("prod")
	const (
		chat      = "lunch at noon?"
		mention   = "<@" + slackfake.BotUserID + "> is this thing on?"
		command   = "<@" + slackfake.BotUserID + "> status"
		withImage = "There was an error preparing your modules."
	)
	for i, text := range []string{chat, producerPaste, mention, command} {
		h.postEvent("EvOnce"+string(rune('A'+i)), slackfake.Message(channel, ana, "1700006000.00010"+string(rune('0'+i)), text), 0)
	}
	h.waitJobs(3) // the chat is diagnosed before the ack: silent, it is no job
	h.postEvent("EvOnceShot", slackfake.FileShare(channel, ana, "1700006000.000200", withImage, h.fake.AddFile(pngFile("F0ONCE", "banner.png", pngOf(t, 7)))), 0)
	// The reply to the text is posted while the screenshot is still being read…
	h.fake.WaitCalls(3, 10*time.Second, "chat.postMessage")
	mustContain(t, "first reply", h.fake.Calls("chat.postMessage")[2].Field("blocks"), "Still reading the screenshot *banner.png*")
	// … and updated once it is read.
	close(gate)
	h.fake.WaitCalls(1, 10*time.Second, "chat.update")
	h.waitIdle()
	mustContain(t, "updated reply", h.fake.Calls("chat.update")[0].Field("blocks"), "Read from the screenshot *banner.png*")
	// The command's words are diagnosed once too: a paste addressed to the
	// bot whose first word is a command's is the paste (CommandText).
	want := map[string]int{chat: 1, producerPaste: 1, mention: 1, strings.TrimPrefix(command, "<@"+slackfake.BotUserID+"> "): 1, withImage: 1, summaryBanner: 1}
	if got := e.counts(); !maps.Equal(got, want) {
		t.Errorf("texts diagnosed %v, want each message's text and screenshot once: %v", got, want)
	}
	if n := len(h.fake.Calls("chat.postEphemeral")); n != 1 {
		t.Errorf("%d ephemeral answers, want 1 (the status)", n)
	}
}
