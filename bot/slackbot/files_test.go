package slackbot

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/internal/errorlogtest"
)

// A 300-row Error Log shared as a snippet (a long paste Slack turned into a
// file), a CSV or an XLSX: downloaded with the bot token, every row read,
// one threaded reply and every module recorded, with OCR off (files are
// not screenshots).
func TestErrorLogSharedAsAFile(t *testing.T) {
	rows, want := errorlogtest.Log(300)
	names := map[string]bool{}
	for _, m := range want {
		for _, n := range m {
			names[n] = true
		}
	}
	files := []slackfake.File{
		{ID: "F0SNIP", Name: "Untitled", Mimetype: "text/plain", Filetype: "text", Mode: "snippet", Content: errorlogtest.Paste(rows)},
		// Windows browsers upload a CSV as application/vnd.ms-excel.
		{ID: "F0CSV", Name: "errors.csv", Mimetype: "application/vnd.ms-excel", Filetype: "csv", Content: errorlogtest.CSV(rows)},
		{ID: "F0XLSX", Name: "Error_Log.xlsx", Mimetype: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", Filetype: "xlsx", Content: errorlogtest.XLSX(t, rows)},
	}
	for i, f := range files {
		t.Run(f.Name, func(t *testing.T) {
			h := start(t, setup{mode: ModeHTTP})
			h.track("prod")
			ts := "1700006000.00010" + string(rune('0'+i))
			h.postEvent("EvFile"+f.ID, slackfake.FileShare(channel, ana, ts, "", h.fake.AddFile(f)), 0)
			h.fake.WaitCalls(1, 10*time.Second, "chat.postMessage")
			h.waitJobs(1)
			h.waitIdle()
			posts := h.fake.Calls("chat.postMessage")
			if len(posts) != 1 || posts[0].Field("thread_ts") != ts {
				t.Fatalf("%d replies, want 1 in the thread", len(posts))
			}
			mustContain(t, "reply", posts[0].Field("blocks"), "Read *"+f.Name+"*", "275 rows, 250 with an upgrade error, 237 modules",
				"Not read: 25 rows without a message")
			for _, d := range h.fake.Calls("download") {
				if d.Token != botToken {
					t.Errorf("download with token %q, want the bot token", d.Token)
				}
			}
			st, err := h.store.Status(context.Background(), slackfake.TeamID, "prod", -1)
			if err != nil || st.ModuleCount != len(names) {
				t.Fatalf("%d modules recorded, want %d (%v)", st.ModuleCount, len(names), err)
			}
		})
	}
}

// Files that cannot be read each get a clear reply and record nothing; a
// file over the limit is not downloaded (or the download stops at the limit).
func TestSharedFileLimits(t *testing.T) {
	huge := make([]byte, 11<<20)
	tests := []struct {
		file      slackfake.File
		want      string
		downloads int
	}{
		{slackfake.File{ID: "F0BIG", Name: "big.log", Mimetype: "text/plain", Filetype: "text", Content: []byte("x"), Size: 50 << 20}, "too large (50.0 MB; at most 10.0 MB are read): share the lines around the errors", 0},
		{slackfake.File{ID: "F0LIAR", Name: "liar.txt", Mimetype: "text/plain", Filetype: "text", Content: huge, Size: 100}, "too large (at most 10.0 MB are read)", 1},
		{slackfake.File{ID: "F0BIN", Name: "errors.csv", Mimetype: "text/csv", Filetype: "csv", Content: pngOf(t, 3)}, "is not a text, CSV or XLSX file", 1},
		{slackfake.File{ID: "F0BOMB", Name: "bomb.xlsx", Filetype: "xlsx", Content: zipBomb(t)}, "unpacks to more than 64 MB", 1},
		// The token may not read it: Slack sends the download to its sign-in page.
		{slackfake.File{ID: "F0SCOPE", Name: "errors.txt", Mimetype: "text/plain", Filetype: "text", Content: []byte("x"), SignIn: true}, "the app needs the files:read scope", 1},
	}
	for _, tt := range tests {
		t.Run(tt.file.Name, func(t *testing.T) {
			h := start(t, setup{mode: ModeHTTP})
			h.track("prod")
			h.postEvent("Ev"+tt.file.ID, slackfake.FileShare(channel, ana, "1700006100.000100", "", h.fake.AddFile(tt.file)), 0)
			h.fake.WaitCalls(1, 10*time.Second, "chat.postMessage")
			h.waitJobs(1)
			h.waitIdle()
			posts := h.fake.Calls("chat.postMessage")
			if len(posts) != 1 {
				t.Fatalf("%d replies, want 1", len(posts))
			}
			mustContain(t, "reply", posts[0].Field("blocks"), "Could not read the file *"+tt.file.Name+"*", tt.want)
			if n := len(h.fake.Calls("download")); n != tt.downloads {
				t.Errorf("%d downloads, want %d", n, tt.downloads)
			}
			if st, _ := h.store.Status(context.Background(), slackfake.TeamID, "prod", -1); st.ModuleCount != 0 {
				t.Errorf("recorded %d modules", st.ModuleCount)
			}
		})
	}
}

// A file whose url_private_download is on another host is not fetched with
// the bot token (slack-go's GetFileContext refuses it); the reply says the
// download failed.
func TestSharedFileOnlyFromSlackHosts(t *testing.T) {
	var withToken atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			withToken.Add(1)
		}
		_, _ = w.Write([]byte("Upgrade Failure: Upgrade failed for Claims_Core\n"))
	}))
	defer other.Close()
	h := start(t, setup{mode: ModeHTTP})
	h.track("prod")
	f := h.fake.AddFile(slackfake.File{ID: "F0AWAY", Name: "paste.txt", Mimetype: "text/plain", Filetype: "text", Mode: "snippet", Content: []byte("x")})
	f["url_private_download"], f["url_private"] = other.URL+"/paste.txt", other.URL+"/paste.txt"
	h.postEvent("EvAway", slackfake.FileShare(channel, ana, "1700006200.000100", "", f), 0)
	h.fake.WaitCalls(1, 10*time.Second, "chat.postMessage")
	h.waitJobs(1)
	h.waitIdle()
	posts := h.fake.Calls("chat.postMessage")
	if len(posts) != 1 {
		t.Fatalf("%d replies, want 1", len(posts))
	}
	mustContain(t, "reply", posts[0].Field("blocks"), "Could not read the file *paste.txt*: the download from Slack failed")
	if withToken.Load() != 0 || strings.Contains(posts[0].Field("blocks"), "Claims_Core") {
		t.Errorf("the token went to another host (%d requests)", withToken.Load())
	}
}

// zipBomb is a workbook whose one sheet unpacks to 256 MB of zeros.
func zipBomb(t *testing.T) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, err := zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 1<<20)
	for range 256 {
		if _, err := w.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// A module name OCR read with a space is asked about over Slack: the
// buttons carry codes, a click records the name chosen, and the reply is
// rebuilt without the question.
func TestNameQuestionOverSlack(t *testing.T) {
	fo := newFakeOCR()
	data := pngOf(t, 4)
	fo.learn(data, "Old Producer: Producer module 'Claims Core' hasn't been prepared for the current OutSystems environment version.", 0)
	h := start(t, setup{mode: ModeHTTP, opts: withOCR(fo, 5*time.Second)})
	h.track("prod")
	ts := "1700006300.000100"
	h.postEvent("EvAsk", slackfake.FileShare(channel, ana, ts, "", h.fake.AddFile(pngFile("F0ASK", "sc.png", data))), 0)
	h.fake.WaitCalls(1, 10*time.Second, "chat.postMessage")
	h.waitJobs(1)
	h.waitIdle()
	reply := h.fake.Calls("chat.postMessage")[0]
	mustContain(t, "reply", reply.Field("blocks"), "I am not sure of these module names", "Read as `Claims Core`", `"action_id":"record:0:0"`)
	if st, _ := h.store.Status(context.Background(), slackfake.TeamID, "prod", -1); st.ModuleCount != 0 {
		t.Fatalf("recorded before the answer: %+v", st.Modules)
	}
	replyTS, _ := reply.Answer["ts"].(string)
	posted := buttons(t, reply.Field("blocks"))
	p := slackfake.BlockActions(channel, "U0BOB", replyTS, ts, false, json.RawMessage(reply.Field("blocks")), "record:0:0", posted["record:0:0"], h.fake.ResponseURL("trig-ask"), "trig-ask")
	if code, _ := h.do(slackfake.InteractionRequest(h.events(), secret, p)); code != http.StatusOK {
		t.Fatalf("click: %d", code)
	}
	h.waitJobs(2)
	ups := h.fake.Calls("chat.update")
	if len(ups) != 1 || strings.Contains(ups[0].Field("blocks"), "not sure") {
		t.Fatalf("updates: %+v", ups)
	}
	st, _ := h.store.Status(context.Background(), slackfake.TeamID, "prod", -1)
	if st.ModuleCount != 1 || st.Modules[0].Name != "Claims_Core" {
		t.Errorf("modules: %+v", st.Modules)
	}
}

// The code-block fallback of a file is cut once escaped, so content full of
// & < > stays within Slack's 40,000 characters, the fence closed, and the
// cut never splits an escape.
func TestCodeBlockCutAfterEscaping(t *testing.T) {
	for _, content := range []string{
		strings.Repeat("R&D <Action> & <Screen>\n", 3000),
		strings.Repeat("&", 40000),
		strings.Repeat("x", maxFileText-2) + strings.Repeat("<", 10),
		strings.Repeat("plain text\n", 100),
		"\ufeffmodule,reason\nBilling_CS,failed\n",
	} {
		got := codeBlock(&bot.File{Name: "export.csv", Content: []byte(content)})
		if n := utf8.RuneCountInString(got); n > 40000 {
			t.Errorf("%d characters, Slack takes 40,000", n)
		}
		body, note, _ := strings.Cut(strings.TrimPrefix(got, "*export.csv*\n```\n"), "\n```")
		content := strings.TrimPrefix(content, "\ufeff") // left out
		if !strings.HasPrefix(content, UnescapeSlack(body)) {
			t.Errorf("the content shown is not the file's start (or an escape was split): ends %q", body[max(len(body)-20, 0):])
		}
		shown := utf8.RuneCountInString(UnescapeSlack(body))
		if total := utf8.RuneCountInString(content); shown < total && note != fmt.Sprintf("\n… %d more characters not shown", total-shown) {
			t.Errorf("%d of %d characters shown, note %q", shown, total, note)
		} else if shown == total && note != "" {
			t.Errorf("all shown, note %q", note)
		}
	}
}
