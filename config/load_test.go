package config

import (
	"log/slog"
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
		{"config file", c.ConfigFile, ""},
		{"origin of addr", c.Origin(envAddr), OriginDefault},
		{"origin of bot token", c.Origin(envSlackBotToken), OriginEnv},
		{"origin of kb", c.Origin(envKBFile), Origin("")},
	}
	for _, tc := range checks {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
}

func TestDefaultDataFile(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"xdg", map[string]string{"XDG_DATA_HOME": "/xdg", "HOME": "/home/op"}, "/xdg/upgradebot/upgradebot.db"},
		{"relative xdg is ignored", map[string]string{"XDG_DATA_HOME": "rel", "HOME": "/home/op"}, "/home/op/.local/share/upgradebot/upgradebot.db"},
		{"home", map[string]string{"HOME": "/home/op"}, "/home/op/.local/share/upgradebot/upgradebot.db"},
		{"explicit wins", map[string]string{"HOME": "/home/op", "UPGRADEBOT_DATA": "/var/lib/ub.db"}, "/var/lib/ub.db"},
		{"nothing: diagnose does not need it", map[string]string{}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, ForDiagnose, nil, tc.env)
			if c.DataFile != filepath.FromSlash(tc.want) {
				t.Errorf("DataFile = %q, want %q", c.DataFile, tc.want)
			}
		})
	}
}

// TestPrecedence checks flag > environment > file > default, setting by setting.
func TestPrecedence(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string // variable
		flag string
		get  func(*Config) string
		// values for the file, the environment and the flag; the default is Setting.Default
		file, env, flag2 string
		def              string
	}{
		{name: envAddr, flag: "addr", get: func(c *Config) string { return c.Addr },
			file: ":4001", env: ":4002", flag2: ":4003", def: ":3000"},
		{name: envRedisPrefix, flag: "redis-prefix", get: func(c *Config) string { return c.RedisPrefix },
			file: "pf-file", env: "pf-env", flag2: "pf-flag", def: "upgradebot"},
		{name: envTimezone, flag: "timezone", get: func(c *Config) string { return c.Timezone.String() },
			file: "Europe/Lisbon", env: "America/New_York", flag2: "Asia/Tokyo", def: "UTC"},
		{name: envLogLevel, flag: "log-level", get: func(c *Config) string { return c.LogLevel.String() },
			file: "debug", env: "warn", flag2: "error", def: "INFO"},
		{name: envMinReminderInterval, flag: "min-reminder-interval", get: func(c *Config) string { return c.MinReminderInterval.String() },
			file: "20m0s", env: "1h0m0s", flag2: "5m0s", def: "15m0s"},
		{name: envRedisURL, flag: "redis-url", get: func(c *Config) string { return c.RedisURL.Reveal() },
			file: "redis://file:6379/1", env: "redis://env:6379/2", flag2: "rediss://flag:6380/3", def: ""},
		{name: envMode, flag: "mode", get: func(c *Config) string { return string(c.Mode) },
			file: "http", env: "socket", flag2: "http", def: "socket"},
	}
	want := func(s string) string {
		switch s { // levels print in upper case
		case "debug", "warn", "error":
			return strings.ToUpper(s)
		}
		return s
	}
	// The run environment has both an app token and a signing secret here, so
	// that any mode is valid; without UPGRADEBOT_MODE that would be an error,
	// so the "default" row of mode uses an environment without the secret.
	for _, tc := range tests {
		base := with(runEnv, "SLACK_SIGNING_SECRET", "0123abcd", "UPGRADEBOT_MODE", "socket")
		if tc.name == envMode {
			delete(base, envMode)
		}
		s := settingByName(t, tc.name)
		cfgFile := writeFile(t, dir, strings.ToLower(tc.name)+".yaml", yamlOf(s.Key, tc.file))
		type layer struct {
			label      string
			args       []string
			env        map[string]string
			want       string
			wantOrigin Origin
		}
		layers := []layer{
			{"default", nil, runEnv, tc.def, OriginDefault},
			{"file over default", []string{"--config", cfgFile}, base, want(tc.file), OriginFile},
			{"env over file", []string{"--config", cfgFile}, with(base, tc.name, tc.env), want(tc.env), OriginEnv},
			{"flag over env", []string{"--config", cfgFile, "--" + tc.flag, tc.flag2}, with(base, tc.name, tc.env), want(tc.flag2), OriginFlag},
			{"empty env is unset", []string{"--config", cfgFile}, with(base, tc.name, "  "), want(tc.file), OriginFile},
		}
		if tc.name == envMode {
			layers[0].wantOrigin = "" // inferred, not a default
		}
		if tc.def == "" && tc.name != envMode {
			layers[0].wantOrigin = ""
		}
		for _, ly := range layers {
			t.Run(tc.name+"/"+ly.label, func(t *testing.T) {
				c := mustLoad(t, ForRun, ly.args, ly.env)
				if got := tc.get(c); got != ly.want {
					t.Errorf("got %q, want %q", got, ly.want)
				}
				if got := c.Origin(tc.name); got != ly.wantOrigin {
					t.Errorf("Origin = %q, want %q", got, ly.wantOrigin)
				}
			})
		}
	}
}

func TestSecretPrecedence(t *testing.T) {
	dir := t.TempDir()
	fromFile := writeFile(t, dir, "bot", "xoxb-from-flag-file\n")
	cfgFile := writeFile(t, dir, "c.yaml", yamlOf("slack_bot_token", "xoxb-from-yaml"))
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"yaml", []string{"--config", cfgFile}, with(runEnv, "SLACK_BOT_TOKEN", ""), "xoxb-from-yaml"},
		{"env over yaml", []string{"--config", cfgFile}, with(runEnv, "SLACK_BOT_TOKEN", "xoxb-from-env"), "xoxb-from-env"},
		{"flag file over env", []string{"--config", cfgFile, "--slack-bot-token-file", fromFile}, with(runEnv, "SLACK_BOT_TOKEN", "xoxb-from-env"), "xoxb-from-flag-file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := mustLoad(t, ForRun, tc.args, tc.env)
			if got := c.SlackBotToken.Reveal(); got != tc.want {
				t.Errorf("bot token = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSecretFromFile(t *testing.T) {
	dir := t.TempDir()
	secrets := []struct {
		name  string
		value string
		get   func(*Config) Secret
	}{
		{envSlackBotToken, "xoxb-123-file", func(c *Config) Secret { return c.SlackBotToken }},
		{envSlackAppToken, "xapp-1-A1-file", func(c *Config) Secret { return c.SlackAppToken }},
		{envSlackSigningSecret, "8f742231b10e8888abcd99yyyzzz85a5", func(c *Config) Secret { return c.SlackSigningSecret }},
	}
	for _, sc := range secrets {
		s := settingByName(t, sc.name)
		path := writeFile(t, dir, strings.ToLower(sc.name), "\n  "+sc.value+" \r\n\n")
		// Relative to the YAML file's directory.
		cfgFile := writeFile(t, dir, strings.ToLower(sc.name)+".yaml", yamlOf(s.FileKey, filepath.Base(path)))
		base := with(runEnv, "UPGRADEBOT_MODE", "socket")
		delete(base, sc.name)
		ways := []struct {
			label string
			args  []string
			env   map[string]string
		}{
			{"env _FILE", nil, with(base, s.FileName, path)},
			{"flag", []string{"--" + s.FileFlag, path}, base},
			{"yaml _file, relative", []string{"--config", cfgFile}, base},
		}
		for _, w := range ways {
			t.Run(sc.name+"/"+w.label, func(t *testing.T) {
				c := mustLoad(t, ForRun, w.args, w.env)
				if got := sc.get(c).Reveal(); got != sc.value {
					t.Errorf("%s = %q, want the trimmed file content %q", sc.name, got, sc.value)
				}
			})
		}
	}
}

func TestSecretBothSet(t *testing.T) {
	dir := t.TempDir()
	for _, s := range Settings() {
		if !s.Secret {
			continue
		}
		path := writeFile(t, dir, s.Key, "whatever")
		t.Run(s.Name+"/env", func(t *testing.T) {
			_, err := load(t, ForRun, nil, with(runEnv, s.Name, "v", s.FileName, path))
			p, ok := findProblem(problems(t, err), s.Name)
			if !ok || !strings.Contains(p.String(), s.Name) || !strings.Contains(p.String(), s.FileName) {
				t.Errorf("want a problem naming %s and %s, got:\n%v", s.Name, s.FileName, err)
			}
		})
		t.Run(s.Name+"/yaml", func(t *testing.T) {
			cfgFile := writeFile(t, dir, s.Key+".yaml", yamlOf(s.Key, "v", s.FileKey, path))
			env := with(runEnv, "UPGRADEBOT_MODE", "socket")
			delete(env, s.Name) // the environment would hide the file
			_, err := load(t, ForRun, []string{"--config", cfgFile}, env)
			p, ok := findProblem(problems(t, err), s.Name)
			if !ok || !strings.Contains(p.Message, s.Key) || !strings.Contains(p.Message, s.FileKey) || !strings.Contains(p.String(), cfgFile) {
				t.Errorf("want a problem naming %s, %s and the file, got:\n%v", s.Key, s.FileKey, err)
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
			env := with(runEnv, "SLACK_APP_TOKEN_FILE", tc.path)
			delete(env, "SLACK_APP_TOKEN")
			_, err := load(t, ForRun, nil, env)
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
			[]string{envSlackBotToken, "SLACK_APP_TOKEN or SLACK_SIGNING_SECRET"}},
		{"run without bot token", ForRun, map[string]string{"HOME": "/h", "SLACK_APP_TOKEN": "xapp-1"},
			[]string{envSlackBotToken}},
		{"run without app token or secret", ForRun, map[string]string{"HOME": "/h", "SLACK_BOT_TOKEN": "xoxb-1"},
			[]string{"SLACK_APP_TOKEN or SLACK_SIGNING_SECRET"}},
		{"run without HOME nor redis", ForRun, with(runEnv, "HOME", ""), []string{envData}},
		{"run without HOME but redis", ForRun, with(runEnv, "HOME", "", "REDIS_URL", "redis://r:6379"), nil},
		{"shell needs no Slack", ForShell, map[string]string{"HOME": "/h"}, nil},
		{"shell needs a store", ForShell, map[string]string{}, []string{envData}},
		{"diagnose needs nothing", ForDiagnose, map[string]string{}, nil},
		{"shell ignores broken Slack settings", ForShell, map[string]string{"HOME": "/h",
			"SLACK_BOT_TOKEN": "nope", "SLACK_API_URL": "x", "UPGRADEBOT_ADDR": "x", "UPGRADEBOT_MODE": "x",
			"UPGRADEBOT_ALLOWED_BOTS": "x"}, nil},
		{"shell still checks the rest", ForShell, map[string]string{"HOME": "/h", "UPGRADEBOT_TIMEZONE": "Nowhere/Land"},
			[]string{envTimezone}},
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
			var got []string
			for _, p := range problems(t, err) {
				got = append(got, p.Name)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("problems name %q, want %q:\n%v", got, tc.want, err)
			}
		})
	}
	if _, err := Load(Purpose(42), Sources{}); err == nil {
		t.Error("an unknown purpose should be an error")
	}
}

func TestMode(t *testing.T) {
	noApp := with(runEnv)
	delete(noApp, envSlackAppToken)
	tests := []struct {
		name    string
		purpose Purpose
		env     map[string]string
		want    Mode
		problem string // name of the expected problem, "" for none
		text    string // in its message
	}{
		{"app token → socket", ForRun, runEnv, ModeSocket, "", ""},
		{"signing secret → http", ForRun, with(noApp, "SLACK_SIGNING_SECRET", "abc123"), ModeHTTP, "", ""},
		{"both without mode", ForRun, with(runEnv, "SLACK_SIGNING_SECRET", "abc123"), "", envMode, "both"},
		{"both, mode http", ForRun, with(runEnv, "SLACK_SIGNING_SECRET", "abc123", "UPGRADEBOT_MODE", "http"), ModeHTTP, "", ""},
		{"both, mode SOCKET", ForRun, with(runEnv, "SLACK_SIGNING_SECRET", "abc123", "UPGRADEBOT_MODE", "SOCKET"), ModeSocket, "", ""},
		{"socket without app token", ForRun, with(noApp, "SLACK_SIGNING_SECRET", "abc123", "UPGRADEBOT_MODE", "socket"), "", envMode, "SLACK_APP_TOKEN"},
		{"http without signing secret", ForRun, with(runEnv, "UPGRADEBOT_MODE", "http"), "", envMode, "SLACK_SIGNING_SECRET"},
		{"unknown mode", ForRun, with(runEnv, "UPGRADEBOT_MODE", "websocket"), "", envMode, "is not a mode"},
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
		{"bot token not xoxb", with(runEnv, "SLACK_BOT_TOKEN", "abc"), envSlackBotToken, "must start with xoxb- (the Bot User OAuth Token from OAuth & Permissions"},
		{"app token as bot token", with(runEnv, "SLACK_BOT_TOKEN", "xapp-1-A-1"), envSlackBotToken, "belongs in SLACK_APP_TOKEN"},
		{"bot token as app token", with(runEnv, "SLACK_APP_TOKEN", "xoxb-1-2"), envSlackAppToken, "belongs in SLACK_BOT_TOKEN"},
		{"user token", with(runEnv, "SLACK_BOT_TOKEN", "xoxp-1-2"), envSlackBotToken, "user token"},
		{"prefix only", with(runEnv, "SLACK_BOT_TOKEN", "xoxb-"), envSlackBotToken, "whole token"},
		{"quoted", with(runEnv, "SLACK_BOT_TOKEN", `"xoxb-1-2"`), envSlackBotToken, "quotes"},
		{"app token not xapp", with(runEnv, "SLACK_APP_TOKEN", "1-2-3"), envSlackAppToken, "must start with xapp-"},
		{"token as signing secret", with(runEnv, "SLACK_SIGNING_SECRET", "xoxb-1-2", "UPGRADEBOT_MODE", "socket"), envSlackSigningSecret, "not the signing secret"},
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
// one line each, each naming its variable.
func TestMalformedValuesTogether(t *testing.T) {
	dir := t.TempDir()
	env := with(runEnv,
		"UPGRADEBOT_MIN_REMINDER_INTERVAL", "15",
		"UPGRADEBOT_TIMEZONE", "Mars/Olympus_Mons",
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
		envSlackAPIURL, envAddr, envRedisURL, envKBFile, envTimezone, envMinReminderInterval,
		envAdmins, envAllowedBots, envLogLevel, envLogFormat, envOCR,
	}
	_, err := load(t, ForRun, nil, env)
	ps := problems(t, err)
	var got []string
	for _, p := range ps {
		got = append(got, p.Name)
	}
	if !slices.Equal(got, want) {
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
	for _, frag := range []string{`"15"`, "Mars/Olympus_Mons", "must end with /", `"verbose"`, `"@alice"`, `"lifetime"`, "rediss://"} {
		if !strings.Contains(err.Error(), frag) {
			t.Errorf("error lacks %q:\n%v", frag, err)
		}
	}
	if strings.Contains(err.Error(), "U0ADMIN01") {
		t.Errorf("a valid admin id was reported:\n%v", err)
	}
}

func TestValueForms(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		ok   func(*Config) bool
	}{
		{"admins comma and space", with(runEnv, "UPGRADEBOT_ADMINS", " U1AA,W2BB  U3CC,,"), func(c *Config) bool {
			return slices.Equal(c.Admins, []string{"U1AA", "W2BB", "U3CC"})
		}},
		{"bots", with(runEnv, "UPGRADEBOT_ALLOWED_BOTS", "B0123 A0456"), func(c *Config) bool {
			return slices.Equal(c.AllowedBots, []string{"B0123", "A0456"})
		}},
		{"log level warning", with(runEnv, "UPGRADEBOT_LOG_LEVEL", "WARNING"), func(c *Config) bool { return c.LogLevel == slog.LevelWarn }},
		{"log format JSON", with(runEnv, "UPGRADEBOT_LOG_FORMAT", "JSON"), func(c *Config) bool { return c.LogFormat == LogJSON }},
		{"ocr on", with(runEnv, "UPGRADEBOT_OCR", "on"), func(c *Config) bool { return c.OCR == OCROn }},
		{"ocr false", with(runEnv, "UPGRADEBOT_OCR", "false"), func(c *Config) bool { return c.OCR == OCROff }},
		{"addr host", with(runEnv, "UPGRADEBOT_ADDR", "127.0.0.1:8080"), func(c *Config) bool { return c.Addr == "127.0.0.1:8080" }},
		{"api url", with(runEnv, "SLACK_API_URL", "http://127.0.0.1:9999/api/"), func(c *Config) bool { return c.SlackAPIURL == "http://127.0.0.1:9999/api/" }},
		{"rediss with password and db", with(runEnv, "REDIS_URL", "rediss://:pw@redis:6380/4"), func(c *Config) bool { return c.RedisURL.Reveal() == "rediss://:pw@redis:6380/4" }},
		{"digest", with(runEnv, "UPGRADEBOT_DIGEST_CHANNEL", "C0123", "UPGRADEBOT_DIGEST_SCHEDULE", "0 8 * * 1"), func(c *Config) bool {
			return c.DigestChannel == "C0123" && c.DigestSchedule == "0 8 * * 1"
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
	tests := []struct {
		url  string
		text string // expected in the message, "" when valid
	}{
		{"redis://localhost:6379", ""},
		{"redis://localhost", ""},
		{"rediss://user:" + pw + "@redis.example:6380/2", ""},
		{"redis://:" + pw + "@host:6379/", ""},
		{"http://user:" + pw + "@host:6379", "redis:// or rediss://"},
		{"localhost:6379", "redis:// or rediss://"},
		{"redis://user:" + pw + "@:6379", "no host"},
		{"redis://host:6379/db1", "database number"},
		{"redis://user:" + pw + "%zz@host:6379", "not a valid URL"},
		{"redis://user:" + pw + "/x@host:6379", "not a valid URL"},
		{"redis://host:port", "not a valid URL"},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			_, err := load(t, ForRun, nil, with(runEnv, "REDIS_URL", tc.url))
			if tc.text == "" {
				if err != nil {
					t.Fatalf("unexpected error:\n%v", err)
				}
				return
			}
			p, ok := findProblem(problems(t, err), envRedisURL)
			if !ok || !strings.Contains(p.Message, tc.text) {
				t.Errorf("want a REDIS_URL problem saying %q, got:\n%v", tc.text, err)
			}
			if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), "user:"+pw[:4]) {
				t.Errorf("userinfo in error:\n%v", err)
			}
		})
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
	if p, ok := findProblem(problems(t, err), envKBFile); !ok || !strings.Contains(p.Message, "directory") {
		t.Errorf("want a directory problem, got:\n%v", err)
	}
}

func settingByName(t *testing.T, name string) Setting {
	t.Helper()
	for _, s := range Settings() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no setting %s", name)
	return Setting{}
}
