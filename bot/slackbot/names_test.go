package slackbot

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
)

// Module names over Slack (issue 16): a slash command as Slack sends it
// (& < > escaped) records exactly the modules it names, says which words
// it refused, and done of a name not on the list is refused and not logged.
func TestModuleNamesOverSlack(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	h.track("stg")
	send := func(text, trigger string, jobs int64) {
		t.Helper()
		code, body := h.do(slackfake.FormRequest(h.events(), secret, slackfake.SlashCommand(channel, ana, text, h.fake.ResponseURL(trigger), trigger)))
		if code != http.StatusOK || body != "" {
			t.Fatalf("/upgrade %s: %d %q", text, code, body)
		}
		h.waitJobs(jobs)
	}
	send("failed stg: Billing_CS (the one from the error log), Orders_Core and Pricing_Lib &amp; &lt;@U0BOSS&gt;", "trig1", 1)
	ann := h.fake.WaitCalls(1, 5*time.Second, "chat.postMessage")
	mustContain(t, "failed", ann[0].Field("blocks"), "reported 3 failed modules on *stg*", "`Billing_CS`, `Orders_Core`, `Pricing_Lib`",
		"Not module names, so not recorded: `&amp;`, `&lt;@U0BOSS&gt;`")
	if strings.Contains(ann[0].Field("blocks"), "<@U0BOSS>") {
		t.Errorf("a refused name became a mention: %s", ann[0].Field("blocks"))
	}

	send("skipped Orders_UI.", "trig2", 2)
	send("done Foo_Nonexistent", "trig3", 3)
	rs := h.fake.WaitCalls(1, 5*time.Second, "response_url")
	if rs[0].Field("response_type") != "ephemeral" {
		t.Errorf("refused done answered in the channel: %+v", rs[0])
	}
	mustContain(t, "done refused", rs[0].Field("blocks"), `Not on stg's list, so nothing recorded: \"Foo_Nonexistent\"`)
	send("done orders_ui", "trig4", 4)
	send("status stg", "trig5", 5)
	rs = h.fake.WaitCalls(2, 5*time.Second, "response_url")
	mustContain(t, "status", rs[1].Field("blocks"), "failed 3 of 3 left · skipped 0 of 1 left · 1 republished", "To republish (3), in this order:")

	st, err := h.store.Status(context.Background(), slackfake.TeamID, "stg", -1)
	if err != nil {
		t.Fatal(err)
	}
	var open []string
	for _, m := range st.Modules {
		open = append(open, m.Name)
	}
	if strings.Join(open, ",") != "Billing_CS,Orders_Core,Pricing_Lib" || len(st.RepublishedModules) != 1 || st.RepublishedModules[0].Name != "Orders_UI" {
		t.Errorf("open %v, republished %+v", open, st.RepublishedModules)
	}
	hist, err := h.store.History(context.Background(), slackfake.TeamID, "stg")
	if err != nil {
		t.Fatal(err)
	}
	var details []string
	for _, e := range hist[1:] {
		details = append(details, e.Detail)
	}
	if want := "3 modules reported (failed): Billing_CS, Orders_Core, Pricing_Lib|1 module reported (skipped): Orders_UI|republished: Orders_UI"; strings.Join(details, "|") != want {
		t.Errorf("history %q, want %q", details, want)
	}
}
