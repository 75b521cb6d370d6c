package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/progress"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var listenAddr = regexp.MustCompile(`msg="listening for [^"]*" addr=(127\.0\.0\.1:\d+)`)

// startRun runs `upgradebot run` with environ until cancel, and returns its
// HTTP base URL once it has logged the address it listens on.
func startRun(t *testing.T, environ map[string]string) (base string, stderr *lockedBuffer, done <-chan int, cancel func()) {
	t.Helper()
	stderr = &lockedBuffer{}
	e := env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: stderr, environ: environ}
	ctx, cancel := context.WithCancel(context.Background())
	exit := make(chan int, 1)
	go func() { exit <- runMain(ctx, []string{"run"}, e) }()
	deadline := time.Now().Add(10 * time.Second)
	for base == "" {
		if m := listenAddr.FindStringSubmatch(stderr.String()); m != nil {
			base = "http://" + m[1]
		} else if time.Now().After(deadline) {
			cancel()
			t.Fatalf("no listening address logged:\n%s", stderr.String())
		} else {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return base, stderr, exit, cancel
}

// `upgradebot run` starts in each mode against a fake Slack, answers a
// pasted error, and shuts down cleanly when its context is cancelled.
func TestRunStartsAndStops(t *testing.T) {
	const (
		botTok = "xoxb-run-test-token"
		appTok = "xapp-run-test-token"
		secret = "run-test-signing-secret"
	)
	paste := "There was an error preparing your modules."
	for _, mode := range []string{"socket", "http"} {
		t.Run(mode, func(t *testing.T) {
			fake := slackfake.New(t)
			fake.BotToken, fake.AppToken = botTok, appTok
			environ := map[string]string{
				"HOME":            t.TempDir(),
				"SLACK_BOT_TOKEN": botTok,
				"SLACK_API_URL":   fake.APIURL(),
				"UPGRADEBOT_ADDR": "127.0.0.1:0",
				"UPGRADEBOT_DATA": filepath.Join(t.TempDir(), "upgradebot.db"),
			}
			if mode == "socket" {
				environ["SLACK_APP_TOKEN"] = appTok
			} else {
				environ["SLACK_SIGNING_SECRET"] = secret
			}

			base, stderr, done, cancel := startRun(t, environ)
			defer cancel()
			deadline := time.Now().Add(10 * time.Second)
			for {
				resp, err := http.Get(base + "/readyz")
				if err == nil {
					var r struct{ Status string }
					_ = json.NewDecoder(resp.Body).Decode(&r)
					resp.Body.Close()
					if resp.StatusCode == http.StatusOK && r.Status == "ok" {
						break
					}
				}
				if time.Now().After(deadline) {
					t.Fatalf("never ready:\n%s", stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
			}

			ev := slackfake.EventCallback("EvRun", slackfake.Message("C0RUN", "U0ANA", "1700009000.000100", paste))
			if mode == "socket" {
				fake.WaitConnected(1, 5*time.Second)
				fake.WaitAck(fake.Send("events_api", json.RawMessage(ev), 0), 3*time.Second)
			} else {
				resp, err := http.DefaultClient.Do(slackfake.EventRequest(base+"/slack/events", secret, ev, 0))
				if err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("event: %v %v", resp, err)
				}
				resp.Body.Close()
			}
			post := fake.WaitCalls(1, 5*time.Second, "chat.postMessage")[0]
			if post.Field("thread_ts") != "1700009000.000100" || !strings.Contains(post.Field("blocks"), "modules preparation") {
				t.Errorf("reply: %v", post.Form)
			}
			resp, err := http.Get(base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			metrics, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(metrics), `upgradebot_findings_total{id="modules-preparation-failed"} 1`) {
				t.Errorf("/metrics:\n%s", metrics)
			}

			cancel()
			select {
			case code := <-done:
				if code != 0 {
					t.Fatalf("exit %d:\n%s", code, stderr.String())
				}
			case <-time.After(15 * time.Second):
				t.Fatal("run did not stop after its context was cancelled")
			}
			logs := stderr.String()
			if !strings.Contains(logs, `msg="shut down"`) {
				t.Errorf("no shutdown logged:\n%s", logs)
			}
			for _, s := range []string{botTok, appTok, secret, paste} {
				if strings.Contains(logs, s) {
					t.Errorf("the log shows %q:\n%s", s, logs)
				}
			}
		})
	}
}

// Missing Slack settings stop run with every variable named and a pointer
// to the shell.
func TestRunSettingsProblems(t *testing.T) {
	r := run(t, "", map[string]string{"UPGRADEBOT_ADDR": "nowhere"}, "run")
	if r.code != 1 {
		t.Fatalf("exit %d", r.code)
	}
	for _, want := range []string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN or SLACK_SIGNING_SECRET", "UPGRADEBOT_ADDR", "upgradebot shell"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	// The shell is not offered when it would stop on the same settings.
	r = run(t, "", map[string]string{"UPGRADEBOT_TIMEZONE": "Lisbon"}, "run")
	if r.code != 1 || !strings.Contains(r.stderr, "UPGRADEBOT_TIMEZONE") || strings.Contains(r.stderr, "upgradebot shell") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	if r := run(t, "", nil, "run", "extra"); r.code != 2 {
		t.Errorf("run with an argument: exit %d", r.code)
	}
}

// `upgradebot run` posts reminders and the digest for its own workspace
// only: environments another installation keeps in a shared store (or
// tracked under another workspace) are neither listed in its digest nor
// reminded with its token.
func TestRunPostsForItsOwnWorkspaceOnly(t *testing.T) {
	const botTok, secret = "xoxb-run-test-token", "run-test-signing-secret"
	data := filepath.Join(t.TempDir(), "upgradebot.db")
	store, err := progress.OpenBoltStore(data, progress.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []progress.TrackRequest{
		{Workspace: slackfake.TeamID, Environment: "ours", Channel: "C0OURS", Actor: "U0ANA"},
		{Workspace: "T0OTHER", Environment: "theirs", Channel: "C0THEIRS", Actor: "U0BOB"},
	} {
		tr.At = time.Now()
		if _, err := store.Track(context.Background(), tr); err != nil {
			t.Fatal(err)
		}
	}
	store.Close()

	fake := slackfake.New(t)
	fake.BotToken = botTok
	_, stderr, done, cancel := startRun(t, map[string]string{
		"HOME": t.TempDir(), "SLACK_BOT_TOKEN": botTok, "SLACK_SIGNING_SECRET": secret, "SLACK_API_URL": fake.APIURL(),
		"UPGRADEBOT_ADDR": "127.0.0.1:0", "UPGRADEBOT_DATA": data,
		// Every 15 minutes: the last occurrence, within the hour's grace, is posted at start.
		"UPGRADEBOT_DIGEST_CHANNEL": "C0DIGEST", "UPGRADEBOT_DIGEST_SCHEDULE": "*/15 * * * *",
	})
	defer cancel()
	var digest slackfake.Call
	for _, c := range fake.WaitCalls(1, 10*time.Second, "chat.postMessage") {
		if c.Field("channel") == "C0DIGEST" {
			digest = c
		}
	}
	cancel()
	<-done
	text := digest.Field("text") + digest.Field("blocks")
	if !strings.Contains(text, "ours") || strings.Contains(text, "theirs") {
		t.Errorf("the digest should list ours and not theirs:\n%s\n%s", text, stderr.String())
	}
	for _, c := range fake.Calls("chat.postMessage") {
		if c.Field("channel") == "C0THEIRS" {
			t.Errorf("posted in another workspace's channel: %s", c.Field("text"))
		}
	}
}

// A Redis URL asking for TLS (rediss://) that cannot reach Redis says so at
// start: a plain Redis on that port looks like an outage otherwise.
func TestShellRedissHint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // a server that is no TLS one: it hangs up at once
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	r := run(t, "/upgrade status\n", map[string]string{"HOME": t.TempDir(), "REDIS_URL": "rediss://" + ln.Addr().String() + "/8"}, "shell")
	if !strings.Contains(r.stderr, "not reachable yet") || !strings.Contains(r.stderr, "asks for TLS (rediss://)") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
}

// Moving to Redis with upgrades still in the embedded file: nothing is
// moved, so the log says what stays behind and how to go on with it.
func TestRedisWithUpgradesLeftInTheFile(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // a Redis not answering: the warning comes before any call
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	home := t.TempDir()
	if r := run(t, "/upgrade track prod 11.31.0\n/upgrade track qa\n", map[string]string{"HOME": home}, "shell"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	r := run(t, "/upgrade envs\n", map[string]string{"HOME": home, "REDIS_URL": "redis://" + ln.Addr().String() + "/8"}, "shell")
	if !strings.Contains(r.stderr, "holds environments that are not moved to Redis") || !strings.Contains(r.stderr, "environments=2") {
		t.Errorf("exit %d, stderr:\n%s", r.code, r.stderr)
	}
	// A fresh machine warns of nothing.
	if r := run(t, "/upgrade envs\n", map[string]string{"HOME": t.TempDir(), "REDIS_URL": "redis://" + ln.Addr().String() + "/8"}, "shell"); strings.Contains(r.stderr, "not moved") {
		t.Errorf("a warning with no file:\n%s", r.stderr)
	}
}

// The shell reads a Slack workspace's upgrades from a store with
// --workspace: a file left behind after moving to Redis keeps its history,
// and this is how to read it.
func TestShellReadsASlackWorkspace(t *testing.T) {
	environ := map[string]string{"HOME": t.TempDir()}
	if r := run(t, "/upgrade track prod 11.31.0\n/upgrade failed Billing_CS\n", environ, "shell", "--workspace", "T0SLACK"); r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if r := run(t, "/upgrade envs\n", environ, "shell"); !strings.Contains(r.stdout, "No environments tracked yet") {
		t.Errorf("the shell's own workspace shows another's environments:\n%s", r.stdout)
	}
	r := run(t, "/upgrade history prod all\n", environ, "shell", "--workspace", "T0SLACK")
	if r.code != 0 || !strings.Contains(r.stdout, "Billing_CS") {
		t.Errorf("exit %d, the Slack workspace's history:\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}
