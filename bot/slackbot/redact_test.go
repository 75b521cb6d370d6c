package slackbot

import (
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
)

// A response_url is a capability: when posting to it fails, the log names
// its host, never its path.
func TestResponseURLNotLogged(t *testing.T) {
	h := start(t, setup{mode: ModeHTTP})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there: the post fails
	respURL := "http://" + addr + "/commands/T0TEAM/123456/SECRETcapabilityPART"
	if code, body := h.do(slackfake.FormRequest(h.events(), secret, slackfake.SlashCommand(channel, ana, "help", respURL, "trig1"))); code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	for deadline := time.Now().Add(10 * time.Second); !strings.Contains(h.logs.String(), "response_url failed"); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no failed response_url post logged:\n%s", h.logs.String())
		}
	}
	logs := h.logs.String()
	if strings.Contains(logs, "SECRETcapabilityPART") || strings.Contains(logs, "/commands/T0TEAM") {
		t.Errorf("the response_url's path is in the log:\n%s", logs)
	}
	if !strings.Contains(logs, addr) {
		t.Errorf("the log does not name the host the post failed to reach:\n%s", logs)
	}
}
