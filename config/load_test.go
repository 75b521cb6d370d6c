package config

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // zones without the host's database, as in the binary
)

func TestDefaults(t *testing.T) {
	c := mustLoad(t, ForRun, nil, runEnv)
	checks := []struct {
		name      string
		got, want any
	}{
		{"mode", c.Mode, ModeSocket},
		{"api url", c.SlackAPIURL, "https://slack.com/api/"},
		{"addr", c.Addr, ":3000"},
		{"redis url", c.RedisURL.IsSet(), false},
		{"redis prefix", c.RedisPrefix, "upgradebot"},
		{"data", c.DataFile, filepath.Join("/home/op", ".local", "share", "upgradebot", "upgradebot.db")},
		{"data is default", c.DataIsDefault, true},
		{"kb", c.KBFile, ""},
		{"timezone", c.Timezone.String(), "UTC"},
		{"reminder", c.ReminderSchedule, "0 9 * * 1-5"},
		{"min interval", c.MinReminderInterval, 15 * time.Minute},
		{"digest channel", c.DigestChannel, ""},
		{"digest schedule", c.DigestSchedule, "0 9 * * 1"},
		{"admins", len(c.Admins), 0},
		{"allowed bots", len(c.AllowedBots), 0},
		{"log level", c.LogLevel, slog.LevelInfo},
		{"log format", c.LogFormat, LogText},
		{"ocr", c.OCR, OCRAuto},
	}
	for _, tc := range checks {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestDefaultDataFile(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		want      string
		isDefault bool
	}{
		{"xdg", map[string]string{"XDG_DATA_HOME": "/xdg", "HOME": "/home/op"}, "/xdg/upgradebot/upgradebot.db", true},
		{"relative xdg is ignored", map[string]string{"XDG_DATA_HOME": "rel", "HOME": "/home/op"}, "/home/op/.local/share/upgradebot/upgradebot.db", true},
		{"windows, no HOME", map[string]string{"LOCALAPPDATA": "/Users/ana/AppData/Local"}, "/Users/ana/AppData/Local/upgradebot/upgradebot.db", true},
		{"windows with HOME (Git Bash): where it always was", map[string]string{"LOCALAPPDATA": "/Users/ana/AppData/Local", "HOME": "/c/Users/ana"}, "/c/Users/ana/.local/share/upgradebot/upgradebot.db", true},
		{"home", map[string]string{"HOME": "/home/op"}, "/home/op/.local/share/upgradebot/upgradebot.db", true},
		{"explicit wins", map[string]string{"HOME": "/home/op", "UPGRADEBOT_DATA": "/var/lib/ub.db"}, "/var/lib/ub.db", false},
		{"nothing: diagnose does not need it", map[string]string{}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, ForDiagnose, nil, tc.env)
			if c.DataFile != filepath.FromSlash(tc.want) || c.DataIsDefault != tc.isDefault {
				t.Errorf("DataFile = %q (default %v), want %q (%v)", c.DataFile, c.DataIsDefault, tc.want, tc.isDefault)
			}
		})
	}
}

// TestDataFolder: a store path whose folder does not exist is a mistake to
// report, naming the variable and the folder, not a folder to create.
func TestDataFolder(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "file", "x")
	tests := []struct {
		name    string
		purpose Purpose
		env     map[string]string
		text    string // in the UPGRADEBOT_DATA problem; "" for none
	}{
		{"folder exists", ForShell, map[string]string{"UPGRADEBOT_DATA": filepath.Join(dir, "u.db")}, ""},
		{"typo in the folder", ForShell, map[string]string{"UPGRADEBOT_DATA": filepath.Join(dir, "dtaa", "u.db")}, `the folder "` + filepath.Join(dir, "dtaa") + `" of`},
		{"typo, run", ForRun, with(runEnv, "UPGRADEBOT_DATA", filepath.Join(dir, "dtaa", "u.db")), "does not exist"},
		{"a folder as the file", ForShell, map[string]string{"UPGRADEBOT_DATA": dir}, "is a folder"},
		{"a file as the folder", ForShell, map[string]string{"UPGRADEBOT_DATA": filepath.Join(file, "u.db")}, "is not a folder"},
		{"diagnose does not use it", ForDiagnose, map[string]string{"UPGRADEBOT_DATA": filepath.Join(dir, "dtaa", "u.db")}, ""},
		{"redis is used instead", ForShell, map[string]string{"UPGRADEBOT_DATA": filepath.Join(dir, "dtaa", "u.db"), "REDIS_URL": "redis://r:6379"}, ""},
		{"the default folder may be missing", ForShell, map[string]string{"HOME": filepath.Join(dir, "nohome")}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.purpose, nil, tc.env)
			if tc.text == "" {
				if err != nil {
					t.Fatalf("unexpected error:\n%v", err)
				}
				return
			}
			p, ok := findProblem(problems(t, err), "UPGRADEBOT_DATA")
			if !ok || !strings.Contains(p.Message, tc.text) {
				t.Errorf("want an UPGRADEBOT_DATA problem saying %q, got:\n%v", tc.text, err)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "dtaa")); !os.IsNotExist(err) {
		t.Errorf("Load created the mistyped folder: %v", err)
	}
}

// TestFlags checks the few settings that are also flags: a flag beats the environment.
func TestFlags(t *testing.T) {
	dir := t.TempDir()
	kb := writeFile(t, dir, "kb.yaml", "[]\n")
	tests := []struct {
		flag, env, value string
		get              func(*Config) string
	}{
		{"addr", ":4002", ":4003", func(c *Config) string { return c.Addr }},
		{"data", filepath.Join(dir, "env.db"), filepath.Join(dir, "flag.db"), func(c *Config) string { return c.DataFile }},
		{"kb-file", "/nonexistent/kb.yaml", kb, func(c *Config) string { return c.KBFile }},
		{"log-level", "warn", "error", func(c *Config) string { return strings.ToLower(c.LogLevel.String()) }},
	}
	for _, tc := range tests {
		t.Run(tc.flag, func(t *testing.T) {
			c := mustLoad(t, ForRun, []string{"--" + tc.flag, tc.value}, with(runEnv, flagVars[tc.flag], tc.env))
			if got := tc.get(c); got != tc.value {
				t.Errorf("--%s: got %q, want %q", tc.flag, got, tc.value)
			}
		})
	}
	for flagName, name := range flagVars {
		if settingByName(t, name).Secret {
			t.Errorf("--%s sets a secret", flagName)
		}
	}
}

func TestSecretFromFile(t *testing.T) {
	dir := t.TempDir()
	secrets := []struct {
		name  string
		value string
		get   func(*Config) Secret
	}{
		{"SLACK_BOT_TOKEN", "xoxb-123-file", func(c *Config) Secret { return c.SlackBotToken }},
		{"SLACK_APP_TOKEN", "xapp-1-A1-file", func(c *Config) Secret { return c.SlackAppToken }},
		{"SLACK_SIGNING_SECRET", "8f742231b10e8888abcd99yyyzzz85a5", func(c *Config) Secret { return c.SlackSigningSecret }},
		{"REDIS_URL", "redis://:pw@redis:6379/2", func(c *Config) Secret { return c.RedisURL }},
		{"REDIS_CLUSTER_URL", "redis://:pw@r1:7000?addr=r2:7001", func(c *Config) Secret { return c.RedisClusterURL }},
	}
	for _, sc := range secrets {
		t.Run(sc.name, func(t *testing.T) {
			path := writeFile(t, dir, strings.ToLower(sc.name), "\n  "+sc.value+" \r\n\n")
			env := with(without(runEnv, sc.name), sc.name+"_FILE", path, "UPGRADEBOT_MODE", "socket")
			c := mustLoad(t, ForRun, nil, env)
			if got := sc.get(c).Reveal(); got != sc.value {
				t.Errorf("%s = %q, want the trimmed file content %q", sc.name, got, sc.value)
			}
		})
	}
}

func TestSecretBothSet(t *testing.T) {
	dir := t.TempDir()
	for _, s := range Settings() {
		if !s.Secret {
			continue
		}
		t.Run(s.Name, func(t *testing.T) {
			path := writeFile(t, dir, s.Name, "whatever")
			_, err := load(t, ForRun, nil, with(runEnv, s.Name, "v", s.Name+"_FILE", path))
			p, ok := findProblem(problems(t, err), s.Name)
			if !ok || !strings.Contains(p.Error(), s.Name+"_FILE") {
				t.Errorf("want a problem naming %s and %s_FILE, got:\n%v", s.Name, s.Name, err)
			}
		})
	}
}

func TestSecretFileProblems(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing-token")
	empty := writeFile(t, dir, "empty", " \n")
	tests := []struct {
		name     string
		path     string
		wantName string
		wantText string
	}{
		{"missing", missing, "SLACK_APP_TOKEN_FILE", "no such file"},
		{"directory", dir, "SLACK_APP_TOKEN_FILE", "directory"},
		{"empty", empty, "SLACK_APP_TOKEN", "empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, ForRun, nil, with(without(runEnv, "SLACK_APP_TOKEN"), "SLACK_APP_TOKEN_FILE", tc.path))
			ps := problems(t, err)
			p, ok := findProblem(ps, tc.wantName)
			if !ok {
				t.Fatalf("no problem naming %s in:\n%v", tc.wantName, err)
			}
			if !strings.Contains(p.Message, tc.path) || !strings.Contains(p.Message, tc.wantText) {
				t.Errorf("problem %q should name the path %q and say %q", p, tc.path, tc.wantText)
			}
			// A failed file is not reported a second time as a missing token.
			if len(ps) != 1 {
				t.Errorf("want exactly one problem, got:\n%v", err)
			}
		})
	}
}

func TestRequiredByPurpose(t *testing.T) {
	tests := []struct {
		name    string
		purpose Purpose
		env     map[string]string
		want    []string // names of the problems, in order; nil for success
	}{
		{"run with nothing", ForRun, map[string]string{"HOME": "/h"},
			[]string{"SLACK_BOT_TOKEN", "SLACK_APP_TOKEN or SLACK_SIGNING_SECRET"}},
		{"run without bot token", ForRun, map[string]string{"HOME": "/h", "SLACK_APP_TOKEN": "xapp-1"},
			[]string{"SLACK_BOT_TOKEN"}},
		{"run without app token or secret", ForRun, map[string]string{"HOME": "/h", "SLACK_BOT_TOKEN": "xoxb-1"},
			[]string{"SLACK_APP_TOKEN or SLACK_SIGNING_SECRET"}},
		{"run without HOME nor redis", ForRun, with(runEnv, "HOME", ""), []string{"UPGRADEBOT_DATA"}},
		{"run without HOME but redis", ForRun, with(runEnv, "HOME", "", "REDIS_URL", "redis://r:6379"), nil},
		{"run without HOME but a cluster", ForRun, with(runEnv, "HOME", "", "REDIS_CLUSTER_URL", "redis://r:7000"), nil},
		{"shell needs no Slack", ForShell, map[string]string{"HOME": "/h"}, nil},
		{"shell needs a store", ForShell, map[string]string{}, []string{"UPGRADEBOT_DATA"}},
		{"diagnose needs nothing", ForDiagnose, map[string]string{}, nil},
		{"shell ignores broken Slack settings", ForShell, map[string]string{"HOME": "/h",
			"SLACK_BOT_TOKEN": "nope", "SLACK_API_URL": "x", "UPGRADEBOT_ADDR": "x", "UPGRADEBOT_MODE": "x",
			"UPGRADEBOT_ALLOWED_BOTS": "x", "SLACK_APP_TOKEN_FILE": "/nonexistent"}, nil},
		{"shell still checks the rest", ForShell, map[string]string{"HOME": "/h", "UPGRADEBOT_TIMEZONE": "Nowhere/Land"},
			[]string{"UPGRADEBOT_TIMEZONE"}},
		{"shell takes its user names as admins", ForShell, map[string]string{"HOME": "/h", "UPGRADEBOT_ADMINS": "ana, U1AA"}, nil},
		{"run wants Slack ids as admins", ForRun, with(runEnv, "UPGRADEBOT_ADMINS", "ana, U1AA"), []string{"UPGRADEBOT_ADMINS"}},
		{"diagnose ignores the store", ForDiagnose, map[string]string{"REDIS_URL": "http://x", "UPGRADEBOT_TIMEZONE": "Nowhere/Land"}, nil},
		{"diagnose checks its own", ForDiagnose, map[string]string{"UPGRADEBOT_LOG_LEVEL": "loud", "UPGRADEBOT_KB_FILE": "/nonexistent"},
			[]string{"UPGRADEBOT_KB_FILE", "UPGRADEBOT_LOG_LEVEL"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.purpose, nil, tc.env)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("unexpected error:\n%v", err)
				}
				return
			}
			if got := names(problems(t, err)); !slices.Equal(got, tc.want) {
				t.Errorf("problems name %q, want %q:\n%v", got, tc.want, err)
			}
		})
	}
}

func TestMode(t *testing.T) {
	noApp := without(runEnv, "SLACK_APP_TOKEN")
	tests := []struct {
		name    string
		purpose Purpose
		env     map[string]string
		want    string
		problem string // name of the expected problem, "" for none
		text    string // in its message
	}{
		{"app token → socket", ForRun, runEnv, ModeSocket, "", ""},
		{"signing secret → http", ForRun, with(noApp, "SLACK_SIGNING_SECRET", "abc123"), ModeHTTP, "", ""},
		{"both without mode", ForRun, with(runEnv, "SLACK_SIGNING_SECRET", "abc123"), "", "UPGRADEBOT_MODE", "both"},
		{"both, mode http", ForRun, with(runEnv, "SLACK_SIGNING_SECRET", "abc123", "UPGRADEBOT_MODE", "http"), ModeHTTP, "", ""},
		{"both, mode SOCKET", ForRun, with(runEnv, "SLACK_SIGNING_SECRET", "abc123", "UPGRADEBOT_MODE", "SOCKET"), ModeSocket, "", ""},
		{"socket without app token", ForRun, with(noApp, "SLACK_SIGNING_SECRET", "abc123", "UPGRADEBOT_MODE", "socket"), "", "UPGRADEBOT_MODE", "SLACK_APP_TOKEN"},
		{"http without signing secret", ForRun, with(runEnv, "UPGRADEBOT_MODE", "http"), "", "UPGRADEBOT_MODE", "SLACK_SIGNING_SECRET"},
		{"unknown mode", ForRun, with(runEnv, "UPGRADEBOT_MODE", "websocket"), "", "UPGRADEBOT_MODE", `"websocket" is not a mode`},
		{"both, shell: no error, no mode", ForShell, with(runEnv, "SLACK_SIGNING_SECRET", "abc123"), "", "", ""},
		{"none, shell", ForShell, map[string]string{"HOME": "/h"}, "", "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := load(t, tc.purpose, nil, tc.env)
			if tc.problem == "" {
				if err != nil {
					t.Fatalf("unexpected error:\n%v", err)
				}
				if c.Mode != tc.want {
					t.Errorf("Mode = %q, want %q", c.Mode, tc.want)
				}
				return
			}
			p, ok := findProblem(problems(t, err), tc.problem)
			if !ok || !strings.Contains(p.Message, tc.text) {
				t.Errorf("want a problem %s saying %q, got:\n%v", tc.problem, tc.text, err)
			}
		})
	}
}

func TestTokenShapes(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		target string
		text   string // expected in the message
	}{
		{"bot token not xoxb", with(runEnv, "SLACK_BOT_TOKEN", "abc"), "SLACK_BOT_TOKEN", "must start with xoxb- (the Bot User OAuth Token from OAuth & Permissions"},
		// Tokens in the wrong variable are refused; which kind they are is no longer said.
		{"app token as bot token", with(runEnv, "SLACK_BOT_TOKEN", "xapp-1-A-1"), "SLACK_BOT_TOKEN", "must start with xoxb-"},
		{"bot token as app token", with(runEnv, "SLACK_APP_TOKEN", "xoxb-1-2"), "SLACK_APP_TOKEN", "must start with xapp-"},
		{"user token", with(runEnv, "SLACK_BOT_TOKEN", "xoxp-1-2"), "SLACK_BOT_TOKEN", "must start with xoxb-"},
		{"refresh token", with(runEnv, "SLACK_BOT_TOKEN", "xoxe-1-2"), "SLACK_BOT_TOKEN", "must start with xoxb-"},
		{"prefix only", with(runEnv, "SLACK_BOT_TOKEN", "xoxb-"), "SLACK_BOT_TOKEN", "whole token"},
		{"quoted", with(runEnv, "SLACK_BOT_TOKEN", `"xoxb-1-2"`), "SLACK_BOT_TOKEN", "quotes"},
		{"app token not xapp", with(runEnv, "SLACK_APP_TOKEN", "1-2-3"), "SLACK_APP_TOKEN", "must start with xapp-"},
		{"token as signing secret", with(runEnv, "SLACK_SIGNING_SECRET", "xoxb-1-2", "UPGRADEBOT_MODE", "socket"), "SLACK_SIGNING_SECRET", "not the signing secret"},
		{"quoted signing secret", with(runEnv, "SLACK_SIGNING_SECRET", `"abc"`, "UPGRADEBOT_MODE", "socket"), "SLACK_SIGNING_SECRET", "quotes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, ForRun, nil, tc.env)
			p, ok := findProblem(problems(t, err), tc.target)
			if !ok || !strings.Contains(p.Message, tc.text) {
				t.Errorf("want a problem %s saying %q, got:\n%v", tc.target, tc.text, err)
			}
		})
	}
}

// TestMalformedValuesTogether checks that one Load reports every bad value,
// one line each, each naming its variable, in the order of the settings table.
func TestMalformedValuesTogether(t *testing.T) {
	dir := t.TempDir()
	env := with(runEnv,
		"UPGRADEBOT_MIN_REMINDER_INTERVAL", "15",
		"UPGRADEBOT_TIMEZONE", "Mars/Olympus_Mons",
		"UPGRADEBOT_REMINDER_SCHEDULE", "0 9 * *",
		"REDIS_URL", "http://localhost:6379",
		"SLACK_API_URL", "https://slack.example/api",
		"UPGRADEBOT_LOG_LEVEL", "verbose",
		"UPGRADEBOT_LOG_FORMAT", "xml",
		"UPGRADEBOT_OCR", "maybe",
		"UPGRADEBOT_ADDR", "3000",
		"UPGRADEBOT_ADMINS", "U0ADMIN01, @alice",
		"UPGRADEBOT_ALLOWED_BOTS", "B01 lifetime",
		"UPGRADEBOT_KB_FILE", filepath.Join(dir, "nope.yaml"),
	)
	want := []string{
		"SLACK_API_URL", "UPGRADEBOT_ADDR", "REDIS_URL", "UPGRADEBOT_KB_FILE", "UPGRADEBOT_TIMEZONE", "UPGRADEBOT_REMINDER_SCHEDULE", "UPGRADEBOT_MIN_REMINDER_INTERVAL",
		"UPGRADEBOT_ADMINS", "UPGRADEBOT_ALLOWED_BOTS", "UPGRADEBOT_LOG_LEVEL", "UPGRADEBOT_LOG_FORMAT", "UPGRADEBOT_OCR",
	}
	_, err := load(t, ForRun, nil, env)
	ps := problems(t, err)
	if got := names(ps); !slices.Equal(got, want) {
		t.Errorf("problems name\n%q\nwant\n%q", got, want)
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != len(ps) {
		t.Errorf("Error() has %d lines for %d problems:\n%v", len(lines), len(ps), err)
	}
	for i, line := range lines {
		if i < len(want) && !strings.HasPrefix(line, want[i]+": ") {
			t.Errorf("line %d does not start with %s: %q", i, want[i], line)
		}
	}
	for _, frag := range []string{`"15" is not a duration`, "Mars/Olympus_Mons", "must end with /", `"verbose"`, `"@alice"`, `"lifetime"`, "rediss://", `"xml"`, `"maybe"`, "has 4"} {
		if !strings.Contains(err.Error(), frag) {
			t.Errorf("error lacks %q:\n%v", frag, err)
		}
	}
	if strings.Contains(err.Error(), "U0ADMIN01") {
		t.Errorf("a valid admin id was reported:\n%v", err)
	}
}

// TestScheduleSettings checks the zone and schedules as the scheduler
// reads them: a bad one is a problem of Load, not a later failure.
func TestScheduleSettings(t *testing.T) {
	for _, tc := range []struct {
		name    string
		purpose Purpose // ForRun unless set
		env     map[string]string
		problem string // the variable named; "" for none
		says    []string
	}{
		{"reminder with 4 fields", ForRun, with(runEnv, "UPGRADEBOT_REMINDER_SCHEDULE", "0 9 * *"), "UPGRADEBOT_REMINDER_SCHEDULE", []string{`"0 9 * *"`, "5 fields", "Example: `0 9 * * 1-5`"}},
		{"reminder hour 25", ForRun, with(runEnv, "UPGRADEBOT_REMINDER_SCHEDULE", "0 25 * * *"), "UPGRADEBOT_REMINDER_SCHEDULE", []string{"hour field", `"25"`}},
		{"reminder in an unknown zone", ForRun, with(runEnv, "UPGRADEBOT_REMINDER_SCHEDULE", "CRON_TZ=Mars/Base 0 9 * * *"), "UPGRADEBOT_REMINDER_SCHEDULE", []string{`"Mars/Base"`, "Europe/Lisbon"}},
		{"digest descriptor with an argument", ForRun, with(runEnv, "UPGRADEBOT_DIGEST_SCHEDULE", "@weekly monday"), "UPGRADEBOT_DIGEST_SCHEDULE", []string{"@weekly takes nothing after it"}},
		{"digest every nothing", ForRun, with(runEnv, "UPGRADEBOT_DIGEST_CHANNEL", "C0123", "UPGRADEBOT_DIGEST_SCHEDULE", "@every"), "UPGRADEBOT_DIGEST_SCHEDULE", []string{"@every needs a duration"}},
		{"reminder more often than the minimum", ForRun, with(runEnv, "UPGRADEBOT_REMINDER_SCHEDULE", "* * * * *"), "UPGRADEBOT_REMINDER_SCHEDULE", []string{"as often as every 1m", "UPGRADEBOT_MIN_REMINDER_INTERVAL"}},
		{"digest more often than the minimum", ForRun, with(runEnv, "UPGRADEBOT_DIGEST_CHANNEL", "C0123", "UPGRADEBOT_DIGEST_SCHEDULE", "@every 1s"), "UPGRADEBOT_DIGEST_SCHEDULE", []string{"as often as every 1s"}},
		{"digest channel by name", ForRun, with(runEnv, "UPGRADEBOT_DIGEST_CHANNEL", "#upgrades"), "UPGRADEBOT_DIGEST_CHANNEL", []string{`"#upgrades"`, "Channel ID"}},
		{"digest channel by name in the shell", ForShell, with(runEnv, "UPGRADEBOT_DIGEST_CHANNEL", "upgrades"), "", nil},
		{"timezone Local", ForRun, with(runEnv, "UPGRADEBOT_TIMEZONE", "Local"), "UPGRADEBOT_TIMEZONE", []string{`"Local"`, "Europe/Lisbon", "UTC"}},
		{"timezone Local for the shell", ForShell, with(runEnv, "UPGRADEBOT_TIMEZONE", "Local"), "UPGRADEBOT_TIMEZONE", nil},
		{"zone and schedules", ForRun, with(runEnv, "UPGRADEBOT_TIMEZONE", "Europe/Lisbon", "UPGRADEBOT_REMINDER_SCHEDULE", "CRON_TZ=America/New_York 30 8 * * 1-5", "UPGRADEBOT_DIGEST_SCHEDULE", "@every 4h"), "", nil},
		{"quoted schedule", ForRun, with(runEnv, "UPGRADEBOT_REMINDER_SCHEDULE", `"0 9 * * 1-5"`), "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := load(t, tc.purpose, nil, tc.env)
			if tc.problem == "" {
				if err != nil {
					t.Fatalf("want no problem, got:\n%v", err)
				}
				return
			}
			ps := problems(t, err)
			if got := names(ps); !slices.Equal(got, []string{tc.problem}) {
				t.Fatalf("problems name %q, want only %s:\n%v", got, tc.problem, err)
			}
			for _, s := range tc.says {
				if !strings.Contains(ps[0].Message, s) {
					t.Errorf("the problem does not say %q:\n%v", s, ps[0])
				}
			}
		})
	}
	// diagnose reads no schedule, so a bad one does not stop it.
	if _, err := load(t, ForDiagnose, nil, map[string]string{"UPGRADEBOT_REMINDER_SCHEDULE": "0 9 * *", "UPGRADEBOT_TIMEZONE": "Local"}); err != nil {
		t.Errorf("diagnose refused a schedule it does not use: %v", err)
	}
}

func TestValueForms(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		ok   func(*Config) bool
	}{
		{"admins comma and space", with(runEnv, "UPGRADEBOT_ADMINS", " U1AA,W2BB  U3CC,,"), func(c *Config) bool {
			return slices.Equal(c.Admins, IDs{"U1AA", "W2BB", "U3CC"})
		}},
		{"bots", with(runEnv, "UPGRADEBOT_ALLOWED_BOTS", "B0123 A0456"), func(c *Config) bool {
			return slices.Equal(c.AllowedBots, IDs{"B0123", "A0456"})
		}},
		{"log level debug", with(runEnv, "UPGRADEBOT_LOG_LEVEL", "debug"), func(c *Config) bool { return c.LogLevel == slog.LevelDebug }},
		{"log format JSON", with(runEnv, "UPGRADEBOT_LOG_FORMAT", "JSON"), func(c *Config) bool { return c.LogFormat == LogJSON }},
		{"ocr on", with(runEnv, "UPGRADEBOT_OCR", "on"), func(c *Config) bool { return c.OCR == OCROn }},
		{"ocr OFF", with(runEnv, "UPGRADEBOT_OCR", "OFF"), func(c *Config) bool { return c.OCR == OCROff }},
		{"addr host", with(runEnv, "UPGRADEBOT_ADDR", "127.0.0.1:8080"), func(c *Config) bool { return c.Addr == "127.0.0.1:8080" }},
		{"api url", with(runEnv, "SLACK_API_URL", "http://127.0.0.1:9999/api/"), func(c *Config) bool { return c.SlackAPIURL == "http://127.0.0.1:9999/api/" }},
		{"rediss with password and db", with(runEnv, "REDIS_URL", "rediss://:pw@redis:6380/4"), func(c *Config) bool { return c.RedisURL.Reveal() == "rediss://:pw@redis:6380/4" }},
		{"digest", with(runEnv, "UPGRADEBOT_DIGEST_CHANNEL", "C0123", "UPGRADEBOT_DIGEST_SCHEDULE", "0 8 * * 1"), func(c *Config) bool {
			return c.DigestChannel == "C0123" && c.DigestSchedule == "0 8 * * 1"
		}},
		{"timezone", with(runEnv, "UPGRADEBOT_TIMEZONE", "Europe/Lisbon"), func(c *Config) bool { return c.Timezone.String() == "Europe/Lisbon" }},
		{"interval", with(runEnv, "UPGRADEBOT_MIN_REMINDER_INTERVAL", "1h"), func(c *Config) bool { return c.MinReminderInterval == time.Hour }},
		{"whitespace is unset", with(runEnv, "UPGRADEBOT_ADDR", "  ", "UPGRADEBOT_TIMEZONE", "\t"), func(c *Config) bool {
			return c.Addr == ":3000" && c.Timezone.String() == "UTC"
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if c := mustLoad(t, ForRun, nil, tc.env); !tc.ok(c) {
				t.Errorf("unexpected config: %+v", c)
			}
		})
	}
}

func TestRedisURL(t *testing.T) {
	const pw = "Pa55-SEKRIT-word"
	// progress.TestOpenRedis checks the kinds and the clients of the valid URLs.
	tests := []struct {
		name, url string
		cluster   bool
		text      string // expected in the message, "" when valid
	}{
		{"plain", "redis://localhost:6379", false, ""},
		{"no port", "redis://localhost", false, ""},
		{"tls, password, db", "rediss://user:" + pw + "@redis.example:6380/2", false, ""},
		{"empty user", "redis://:" + pw + "@host:6379/", false, ""},
		{"sentinel", "redis://:" + pw + "@s1:26379?master_name=mymaster&addr=s2:26379", false, ""},
		{"sentinel, master password", "redis://s1:26379?master_name=m&password=" + pw, false, ""},
		{"cluster", "redis://:" + pw + "@r1:7000?addr=r2:7001&addr=r3:7002", true, ""},
		{"http scheme", "http://user:" + pw + "@host:6379", false, "redis:// or rediss://"},
		{"no scheme", "localhost:6379", false, "redis:// or rediss://"},
		{"no host", "redis://user:" + pw + "@:6379", false, "no host"},
		{"bad db", "redis://host:6379/db1", false, "database number"},
		{"bad escape in password", "redis://user:" + pw + "%zz@host:6379", false, "not a valid URL"},
		{"slash in password", "redis://user:" + pw + "/x@host:6379", false, "not a valid URL"},
		{"bad port", "redis://host:port", false, "not a valid URL"},
		{"unknown option", "redis://host:6379?pasword=" + pw, false, "unexpected option: pasword"},
		{"sentinel bad addr", "redis://s1:26379?master_name=m&addr=s2&password=" + pw, false, "master_name=NAME"},
		{"cluster bad addr", "redis://r1:7000?addr=r2", true, "addr=host2:port2"},
		{"cluster http", "http://:" + pw + "@r1:7000", true, "redis:// or rediss://"},
		{"cluster with a database", "redis://:" + pw + "@127.0.0.1:30001/5?addr=127.0.0.1:30002", true, "only database 0; leave the database out, and give each bot sharing the Cluster its own key prefix (UPGRADEBOT_REDIS_PREFIX)"},
		{"the password alone", pw, false, "(the value is not shown, as it may hold a password) has no host"},
		{"? in the password", "redis://:SEKRIT?x=" + pw + "@127.0.0.1:6379/8", false, "is not a valid URL"},
		{"port-like password with /", "redis://u:12/SEKRIT@host:6379", false, "is not usable"},
		{"a quote and a slash in the password", `redis://user:S3cr"SEKRIT/x@host:6379/1`, false, "is not a valid URL"}, // Go quotes it as "…\"SEKRIT…"
		{"cluster, the password alone", pw, true, "has no host"},
		{"empty master_name", "redis://s1:26379?master_name=", false, "has an empty master_name"},
		{"bad db, worded", "redis://host:6379/abc", false, `"redis://host:6379/abc" is not usable: invalid database number`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			name := "REDIS_URL"
			if tc.cluster {
				name = "REDIS_CLUSTER_URL"
			}
			c, err := load(t, ForShell, nil, map[string]string{"HOME": "/h", name: tc.url})
			if tc.text == "" {
				if err != nil || c.RedisURL.Reveal()+c.RedisClusterURL.Reveal() != tc.url {
					t.Fatalf("unexpected error or URL:\n%v", err)
				}
				return
			}
			p, ok := findProblem(problems(t, err), name)
			if !ok || !strings.Contains(p.Message, tc.text) {
				t.Errorf("want a %s problem saying %q, got:\n%v", name, tc.text, err)
			}
			if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), "SEKRIT") {
				t.Errorf("password in error:\n%v", err)
			}
		})
	}
	// A file holding the password instead of the URL.
	_, err := load(t, ForShell, nil, map[string]string{"HOME": "/h", "REDIS_URL_FILE": writeFile(t, t.TempDir(), "url", pw+"\n")})
	if p, ok := findProblem(problems(t, err), "REDIS_URL"); !ok || !strings.Contains(p.Message, "has no host") || strings.Contains(err.Error(), "SEKRIT") {
		t.Errorf("REDIS_URL_FILE holding a password: want a problem without it, got:\n%v", err)
	}
	// The key prefix is checked with the other settings, by its name.
	_, err = load(t, ForShell, nil, map[string]string{"HOME": "/h", "REDIS_URL": "redis://a:6379", "UPGRADEBOT_REDIS_PREFIX": "my prefix"})
	if p, ok := findProblem(problems(t, err), "UPGRADEBOT_REDIS_PREFIX"); !ok || !strings.Contains(p.Message, `"my prefix" may contain only letters, digits`) {
		t.Errorf("a bad prefix: want an UPGRADEBOT_REDIS_PREFIX problem, got:\n%v", err)
	}
	// Both at once, with a URL go-redis refuses (its password's "#" not encoded): each by its name.
	_, err = load(t, ForShell, nil, map[string]string{"HOME": "/h", "REDIS_URL": "redis://:SEC#RET@a:6379/8", "UPGRADEBOT_REDIS_PREFIX": "my prefix"})
	if got := names(problems(t, err)); !slices.Equal(got, []string{"REDIS_URL", "UPGRADEBOT_REDIS_PREFIX"}) || !strings.Contains(err.Error(), "%23") || strings.Contains(err.Error(), "SEC") {
		t.Errorf("a bad URL and prefix: want both, the URL's without its password, got:\n%v", err)
	}
	_, err = load(t, ForShell, nil, map[string]string{"HOME": "/h", "REDIS_URL": "redis://a:6379/-1"})
	if p, ok := findProblem(problems(t, err), "REDIS_URL"); !ok || !strings.Contains(p.Message, "names database -1") {
		t.Errorf("database -1: want a REDIS_URL problem, got:\n%v", err)
	}
	_, err = load(t, ForShell, nil, map[string]string{"HOME": "/h", "REDIS_URL": "redis://a:6379", "REDIS_CLUSTER_URL": "redis://b:7000"})
	if got := names(problems(t, err)); !slices.Equal(got, []string{"REDIS_CLUSTER_URL"}) || !strings.Contains(err.Error(), "REDIS_URL") {
		t.Errorf("both URLs: want one problem naming both, got:\n%v", err)
	}
}

func TestKBFile(t *testing.T) {
	dir := t.TempDir()
	kb := writeFile(t, dir, "kb.yaml", "[]\n")
	c := mustLoad(t, ForDiagnose, nil, map[string]string{"UPGRADEBOT_KB_FILE": kb})
	if c.KBFile != kb {
		t.Errorf("KBFile = %q", c.KBFile)
	}
	_, err := load(t, ForDiagnose, nil, map[string]string{"UPGRADEBOT_KB_FILE": dir})
	if p, ok := findProblem(problems(t, err), "UPGRADEBOT_KB_FILE"); !ok || !strings.Contains(p.Message, "directory") {
		t.Errorf("want a directory problem, got:\n%v", err)
	}
}
