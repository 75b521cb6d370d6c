package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/internal/redistest"
)

// The example session of examples/prod-upgrade.txt, as one run and split
// across restarts, on the embedded store and on Redis.
func TestExampleSession(t *testing.T) {
	script, err := os.ReadFile(filepath.Join("..", "..", "examples", "prod-upgrade.txt"))
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.SplitAfter(string(script), "\n\n")
	// Restart points: after the pastes, and after done.
	runs := map[string][]string{
		"one run":  {string(script)},
		"restarts": {strings.Join(parts[:3], ""), strings.Join(parts[3:5], ""), strings.Join(parts[5:], "")},
	}
	stores := map[string]func(t *testing.T) map[string]string{
		"embedded": func(t *testing.T) map[string]string {
			return map[string]string{"UPGRADEBOT_DATA": filepath.Join(t.TempDir(), "upgradebot.db")}
		},
		"redis": redisEnv,
	}
	for sname, newEnv := range stores {
		for rname, inputs := range runs {
			t.Run(sname+"/"+rname, func(t *testing.T) {
				environ := newEnv(t)
				environ["USER"] = "ana"
				var out strings.Builder
				for _, in := range inputs {
					r := run(t, in, environ, "shell")
					if r.code != 0 {
						t.Fatalf("shell exit %d: %s", r.code, r.stderr)
					}
					out.WriteString(r.stdout)
				}
				checkSession(t, out.String())
			})
		}
	}
}

func checkSession(t *testing.T, out string) {
	t.Helper()
	statuses := strings.Split(out, "== prod → Platform Server 11.31.0 ==")
	if len(statuses) != 3 {
		t.Fatalf("want two status replies, got %d:\n%s", len(statuses)-1, out)
	}
	first, last := statuses[1], statuses[2]
	for _, want := range []string{"Billing_CS", "26 prepared, 1 failed, 0 skipped", "To republish (1)"} {
		if !strings.Contains(first, want) {
			t.Errorf("first status lacks %q:\n%s", want, first)
		}
	}
	if !strings.Contains(out, "ana republished Billing_CS on prod") {
		t.Errorf("done not announced:\n%s", out)
	}
	if strings.Contains(last, "Billing_CS") || !strings.Contains(last, "No modules to republish") {
		t.Errorf("last status still lists modules:\n%s", last)
	}
	if strings.Contains(last, "nobody has named") {
		t.Errorf("last status counts unnamed modules:\n%s", last)
	}
}

// redisEnv points the shell at the shared test Redis (database 4, a fresh
// prefix whose keys are removed afterwards).
func redisEnv(t *testing.T) map[string]string {
	t.Helper()
	url := redistest.URL(t, 4)
	prefix := redistest.Prefix(t, redistest.Options(t, 4))
	return map[string]string{"REDIS_URL": url, "UPGRADEBOT_REDIS_PREFIX": prefix}
}

func TestShellInput(t *testing.T) {
	environ := map[string]string{"UPGRADEBOT_DATA": filepath.Join(t.TempDir(), "u.db"), "USER": "ana"}
	in := strings.Join([]string{
		"/upgrade track qa",
		"",
		"/upgrade failed",
		"Billing_CS",
		"Orders, \"Customer Portal\"",
		"",
		"hello team, lunch?",
		"",
		":image",
		":bogus", // a message: it ends at an empty line
		"",
		"/upgrade frobnicate",
		"",
		":quit",
		"/upgrade status qa",
		"",
	}, "\n")
	r := run(t, in, environ, "shell", "--channel", "#ops") // as Slack writes it: the channel ops
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"ana set this channel to follow qa",
		"reported 3 failed modules on qa: Billing_CS, Orders, Customer Portal",
		"(no known upgrade message in that text)",
		"Usage: :image PATH",
		"the shell's own commands are :image PATH, :file PATH and :quit", // :bogus is a message
		"I don't know the command",
		"(to #ops)",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "== qa") {
		t.Errorf("input after :quit was read:\n%s", r.stdout)
	}
	if strings.Contains(r.stdout, "##ops") {
		t.Errorf("the channel is named ##ops:\n%s", r.stdout)
	}
}

func TestShellSecondProcessGetsClearError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "u.db")
	environ := map[string]string{"UPGRADEBOT_DATA": path}
	cfgStore := func() (func() error, error) {
		r := run(t, "", environ, "shell")
		if r.code != 0 {
			return nil, fmt.Errorf("%s", r.stderr)
		}
		return func() error { return nil }, nil
	}
	if _, err := cfgStore(); err != nil {
		t.Fatal(err)
	}
}

func TestShellRemindNow(t *testing.T) {
	environ := map[string]string{"UPGRADEBOT_DATA": filepath.Join(t.TempDir(), "u.db"), "USER": "ana"}
	in := "/upgrade track prod 11.31.0\n\n/upgrade remind now\n\n/upgrade failed Billing_CS\n\n/upgrade remind now\n\n/upgrade remind @every 1m\n\n"
	r := run(t, in, environ, "shell")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"Nothing is outstanding", // before any module
		"Reminder: prod (Platform Server 11.31.0) still has 1 module to republish", // after
		"[Mark Billing_CS republished]",
		"shortest interval allowed here is 15m",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestShellLogQuiet: the shell shows no info log lines unless asked (-v or
// UPGRADEBOT_LOG_LEVEL); warnings and errors still show.
func TestShellLogQuiet(t *testing.T) {
	tests := []struct {
		name     string
		environ  map[string]string
		args     []string
		wantInfo bool
	}{
		{"default", nil, []string{"shell"}, false},
		{"-v", nil, []string{"shell", "-v"}, true},
		{"level set", map[string]string{"UPGRADEBOT_LOG_LEVEL": "info"}, []string{"shell"}, true},
		{"flag", nil, []string{"--log-level", "info", "shell"}, true},
		{"-v over a quieter level", map[string]string{"UPGRADEBOT_LOG_LEVEL": "error"}, []string{"shell", "-v"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			environ := map[string]string{"UPGRADEBOT_DATA": filepath.Join(t.TempDir(), "u.db")}
			for k, v := range tc.environ {
				environ[k] = v
			}
			r := run(t, "/upgrade help\n", environ, tc.args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if got := strings.Contains(r.stderr, "level=INFO"); got != tc.wantInfo {
				t.Errorf("info lines: %v, want %v; stderr:\n%s", got, tc.wantInfo, r.stderr)
			}
			if tc.wantInfo && !strings.Contains(r.stderr, `msg="store: embedded"`) {
				t.Errorf("the store's kind is not logged:\n%s", r.stderr)
			}
		})
	}
}

// TestShellSessionsAtOnce: shell processes started in the same second (here
// at one fixed time) on one store each record their paste, on both stores.
func TestShellSessionsAtOnce(t *testing.T) {
	stores := map[string]func(t *testing.T) map[string]string{
		"embedded": func(t *testing.T) map[string]string {
			return map[string]string{"UPGRADEBOT_DATA": filepath.Join(t.TempDir(), "upgradebot.db")}
		},
		"redis": redisEnv,
	}
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for name, newEnv := range stores {
		t.Run(name, func(t *testing.T) {
			environ := newEnv(t)
			environ["USER"], environ["HOME"] = "ana", t.TempDir()
			shell := func(in string) string {
				var out, errOut strings.Builder
				e := env{stdin: strings.NewReader(in), stdout: &out, stderr: &errOut, environ: environ, now: func() time.Time { return at }}
				if code := runMain(context.Background(), []string{"shell"}, e); code != 0 {
					t.Fatalf("shell exit %d: %s", code, errOut.String())
				}
				return out.String()
			}
			shell("/upgrade track prod 11.31.0\n")
			for _, m := range []string{"A_CS", "B_CS", "C_CS"} {
				shell("Old Producer: Producer module '" + m + "' hasn't been prepared for the current OutSystems environment version.\n")
			}
			status := shell("/upgrade status prod\n")
			for _, m := range []string{"A_CS", "B_CS", "C_CS"} {
				if !strings.Contains(status, m) {
					t.Errorf("status lacks %s:\n%s", m, status)
				}
			}
		})
	}
}

// TestShellAdmins: UPGRADEBOT_ADMINS holds in the shell as in Slack, and the
// shell's user, named by --user or $USER, can be one of them.
func TestShellAdmins(t *testing.T) {
	const in = "/upgrade track qa\n/upgrade untrack qa\n"
	tests := []struct {
		name, admins, user string
		args               []string
		allowed            bool
	}{
		{"no admins: everyone", "", "ana", nil, true},
		{"not an admin", "U0ADMIN01", "ana", nil, false},
		{"$USER named an admin", "U0ADMIN01, ana", "ana", nil, true},
		{"--user named an admin", "U0ADMIN01", "ana", []string{"--user", "U0ADMIN01"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			environ := map[string]string{"UPGRADEBOT_DATA": filepath.Join(t.TempDir(), "u.db"), "USER": tc.user, "UPGRADEBOT_ADMINS": tc.admins}
			r := run(t, in, environ, append([]string{"shell"}, tc.args...)...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if refused := strings.Contains(r.stdout, "Only upgradebot admins may use"); refused == tc.allowed {
				t.Errorf("untrack refused: %v, want %v:\n%s", refused, !tc.allowed, r.stdout)
			}
		})
	}
}
