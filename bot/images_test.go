package bot

import (
	"context"
	"strings"
	"testing"

	"github.com/upgradebot/upgradebot/progress"
)

const summaryText = "There were errors preparing some modules.\n26 modules prepared successfully, 1 modules failed and 3 modules skipped."

func imageMsg(t *testing.T, b *Bot, ts, text string, images ...ImageText) Response {
	t.Helper()
	return b.HandleMessage(context.Background(), Message{Workspace: "T1", Channel: "C1", User: "U1", TS: ts, Text: text, Images: images})
}

// A screenshot's text is diagnosed and recorded like pasted text, and the
// reply says which screenshot it was read from.
func TestScreenshotTextIsDiagnosedAndRecorded(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	resp := imageMsg(t, b, "2.1", "", ImageText{Name: "banner.png", Text: summaryText})
	out := text(resp)
	for _, want := range []string{"Some modules failed the modules preparation step", "Read from the screenshot banner.png", "Recorded for prod: preparation finished: 26 prepared, 1 failed, 3 skipped"} {
		if !strings.Contains(out, want) {
			t.Errorf("reply lacks %q:\n%s", want, out)
		}
	}
	st, err := store.Status(context.Background(), "T1", "prod", -1)
	if err != nil || st.Counts.Prepared == nil || *st.Counts.Prepared != 26 || *st.Counts.Skipped != 3 {
		t.Errorf("counts after the screenshot: %+v, %v", st.Counts, err)
	}
	// Text and two screenshots: the findings in order, both named.
	resp = imageMsg(t, b, "2.2", producerPaste, ImageText{Name: "a.png", Text: strings.ReplaceAll(producerPaste, "Billing_CS", "Orders_CS")}, ImageText{Name: "b.png", Text: "lunch?"}, ImageText{Name: "c.png", Text: summaryText})
	out = text(resp)
	if !strings.Contains(out, "Read from the screenshots a.png and c.png") || strings.Contains(out, "b.png") {
		t.Errorf("screenshots line:\n%s", out)
	}
	if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 2 {
		t.Errorf("modules after text + screenshot: %+v", st.Modules)
	}
}

// A module the message recorded and someone republished since is not held
// back as news when the reply is rebuilt for a late screenshot: the reply
// still says the message recorded it, and nothing lists it again.
func TestLateScreenshotAfterRepublishKeepsTheRecord(t *testing.T) {
	// The screenshot says something else, or names the same module, for the same reason or another.
	for _, shot := range []string{"There were errors preparing some modules.", producerPaste, "Upgrade Failure: Upgrade failed for Billing_CS"} {
		eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
			cmd(t, b, "C1", "U1", "track prod")
			imageMsg(t, b, "3.1", producerPaste, ImageText{Name: "late.png", Pending: true})
			cmd(t, b, "C1", "U2", "done Billing_CS")
			out := text(imageMsg(t, b, "3.1", producerPaste, ImageText{Name: "late.png", Text: shot}))
			if strings.Contains(out, "Not recorded") || strings.Contains(out, "Record anyway") || strings.Contains(out, "listed again") {
				t.Errorf("after a screenshot of %q, the message's own record is held back as news, or listed again:\n%s", shot, out)
			}
			if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 0 {
				t.Errorf("after a screenshot of %q, Billing_CS is listed again: %+v", shot, st.Modules)
			}
		})
	}
}

// The reply rebuilt for a late screenshot (same message, the screenshot no
// longer pending) records only what the screenshot adds, and still shows
// what the text recorded.
func TestLateScreenshotRecordsOnlyWhatIsNew(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	other := strings.ReplaceAll(producerPaste, "Billing_CS", "Orders_CS")
	first := imageMsg(t, b, "3.1", producerPaste, ImageText{Name: "late.png", Pending: true})
	out := text(first)
	if !strings.Contains(out, "Still reading the screenshot late.png") || !strings.Contains(out, "1 module to republish (Billing_CS); 1 on the list") {
		t.Errorf("first reply:\n%s", out)
	}
	again := imageMsg(t, b, "3.1", producerPaste, ImageText{Name: "late.png", Text: other})
	out = text(again)
	for _, want := range []string{"Read from the screenshot late.png", "1 module to republish (Billing_CS))\n", "1 module to republish (Orders_CS); 2 on the list"} {
		if !strings.Contains(out, want) {
			t.Errorf("rebuilt reply lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Still reading") {
		t.Errorf("rebuilt reply still waits:\n%s", out)
	}
	st, _ := store.Status(context.Background(), "T1", "prod", -1)
	if st.ModuleCount != 2 {
		t.Errorf("modules: %+v", st.Modules)
	}
	h, err := store.History(context.Background(), "T1", "prod")
	if err != nil {
		t.Fatal(err)
	}
	adds := 0
	for _, e := range h {
		if strings.Contains(e.Action, "add") {
			adds++
		}
	}
	if adds != 2 {
		t.Errorf("%d additions in the history, want 2: %+v", adds, h)
	}
}

// A screenshot that could not be read is noted when the message gets a
// reply, and says nothing on its own (unless the bot was mentioned).
func TestUnreadScreenshotNotes(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	bad := ImageText{Name: "x.png", Problem: "it is too large"}
	if resp := imageMsg(t, b, "4.1", "", bad); !resp.Reply.Empty() || resp.React != "" {
		t.Errorf("an unreadable image alone got %+v", resp)
	}
	if out := text(imageMsg(t, b, "4.2", producerPaste, bad)); !strings.Contains(out, "Could not read the screenshot x.png: it is too large") {
		t.Errorf("reply to text + unreadable image:\n%s", out)
	}
	if out := text(imageMsg(t, b, "4.3", "<@UBOT> what is this?", bad)); !strings.Contains(out, "/upgrade help") || !strings.Contains(out, "Could not read the screenshot x.png") {
		t.Errorf("mention with an unreadable image:\n%s", out)
	}
}

// A message of screenshots alone, none read for one of the bot's limits
// (too many, too large, too busy), gets one reply saying so and what to
// do; a picture unreadable for what it is, or a message with text, does not.
func TestSkippedScreenshotsAloneAreAnswered(t *testing.T) {
	b, _ := newTestBot(t)
	big := ImageText{Name: "big.png", Problem: "it is too large (8 MB; at most 5 MB are read)", Skipped: true}
	extra := ImageText{Name: "e.png", Problem: "at most 4 screenshots of a message are read", Skipped: true}
	gif := ImageText{Name: "cat.gif", Problem: "only PNG and JPEG screenshots are read"}
	out := text(imageMsg(t, b, "6.1", " ", big, extra))
	for _, want := range []string{"Paste the error's text here", "Could not read the screenshot big.png: it is too large", "Could not read the screenshot e.png: at most 4"} {
		if !strings.Contains(out, want) {
			t.Errorf("reply to skipped screenshots lacks %q:\n%s", want, out)
		}
	}
	for name, resp := range map[string]Response{
		"a GIF alone":              imageMsg(t, b, "6.2", "", gif),
		"skipped and unreadable":   imageMsg(t, b, "6.3", "", big, gif),
		"skipped with a chat line": imageMsg(t, b, "6.4", "look at this", big),
		"read with nothing to say": imageMsg(t, b, "6.5", "", ImageText{Name: "ok.png", Text: "a dashboard"}),
	} {
		if !resp.Reply.Empty() {
			t.Errorf("%s got a reply:\n%s", name, text(resp))
		}
	}
}

// With several environments, the choice records the text's and the
// screenshot's changes.
func TestScreenshotEnvironmentChoice(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track dev")
	cmd(t, b, "C1", "U1", "track prod")
	ctx := context.Background()
	resp := imageMsg(t, b, "5.1", producerPaste, ImageText{Name: "s.png", Text: summaryText})
	var choice *Button
	for _, bl := range resp.Reply.Blocks {
		for i, bt := range bl.Buttons {
			if bt.Label == "prod" {
				choice = &bl.Buttons[i]
			}
		}
	}
	if choice == nil {
		t.Fatalf("no environment choice in %s", RenderText(resp.Reply))
	}
	click := b.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U2", ID: "a1", ActionID: choice.ActionID, Value: choice.Value})
	if out := text(click); !strings.Contains(out, "Billing_CS") || !strings.Contains(out, "26 prepared") {
		t.Errorf("choice:\n%s", out)
	}
	st, _ := store.Status(ctx, "T1", "prod", -1)
	if st.ModuleCount != 1 || st.Counts.Prepared == nil || *st.Counts.Prepared != 26 {
		t.Errorf("prod after the choice: %+v %+v", st.Modules, st.Counts)
	}
	again := b.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U2", ID: "a2", ActionID: choice.ActionID, Value: choice.Value})
	if out := text(again); !strings.Contains(out, "Already recorded") {
		t.Errorf("second click:\n%s", out)
	}
}

// A screenshot shows the product itself: an icon OCR read before the
// message ("x) The Delete module…") does not make it someone's sentence,
// so the reply shows the values it read.
func TestScreenshotValuesShown(t *testing.T) {
	b, _ := newTestBot(t)
	resp := imageMsg(t, b, "4.1", "", ImageText{Name: "delete.png", Text: "x) The Delete module started by admin at 2/23/2021 5:51:02 PM can't proceed because there is an ongoing Modules upgrade, started by Compiler Service at 2/23/2021 5:40:00 PM, that is locking 'FieldServicesMobile' module."})
	mustSay(t, RenderText(resp.Reply), "Module: FieldServicesMobile", "Started by: admin")
}

// What OCR misread into an impossible value is not recorded or offered: a
// time of day that is no time, a version no Platform Server 11 has.
func TestMisreadValuesDropped(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	imageMsg(t, b, "7.1", "", ImageText{Name: "banner.png", Text: "We are now preparing your modules - 40% (We expect them to be ready at 1621)"})
	if st, _ := store.Status(context.Background(), "T1", "prod", 0); st.State != progress.StatePreparing || st.Preparation.Expected != "" {
		t.Errorf("after a misread time: %s, expected %q; want preparing, no time", st.State, st.Preparation.Expected)
	}
	resp := imageMsg(t, b, "7.2", "", ImageText{Name: "version.png", Text: "We are now preparing your modules - 45% (We expect them to be ready at 16:21)\nPlatform Server 19.10.0"})
	if _, ok := buttonsOf(resp.Reply)["Make 19.10.0 the target"]; ok {
		t.Errorf("offers a version Platform Server 11 does not have:\n%s", text(resp))
	}
}
