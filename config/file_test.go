package config

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestYAMLEverySetting sets every setting in the file only, then checks each
// field and that every setting's value came from the file.
func TestYAMLEverySetting(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "app-token", "xapp-1-A1-yaml\n")
	kb := writeFile(t, dir, "kb.yaml", "[]\n")
	content := `# every setting
slack_bot_token: xoxb-1-yaml
slack_app_token_file: app-token   # relative to this file
slack_signing_secret: "0123456789abcdef"
mode: socket
slack_api_url: http://127.0.0.1:9000/api/
addr: 127.0.0.1:3001
redis_url: redis://:pw@redis:6379/3
redis_prefix: ub-yaml
data: store/ub.db
kb_file: kb.yaml
timezone: Europe/Lisbon
reminder_schedule: "30 8 * * 1-5"
min_reminder_interval: 1h
digest_channel: C0DIGEST
digest_schedule: "0 7 * * 1"
admins: [U0ADMIN1, W0ADMIN2]
allowed_bots: B0CI A0LIFETIME
log_level: debug
log_format: json
ocr: off
`
	cfgFile := writeFile(t, dir, "upgradebot.yaml", content)
	c := mustLoad(t, ForRun, []string{"--config", cfgFile}, map[string]string{"HOME": "/h"})

	checks := []struct {
		name      string
		got, want any
	}{
		{envSlackBotToken, c.SlackBotToken.Reveal(), "xoxb-1-yaml"},
		{envSlackAppToken, c.SlackAppToken.Reveal(), "xapp-1-A1-yaml"},
		{envSlackSigningSecret, c.SlackSigningSecret.Reveal(), "0123456789abcdef"},
		{envMode, c.Mode, ModeSocket},
		{envSlackAPIURL, c.SlackAPIURL, "http://127.0.0.1:9000/api/"},
		{envAddr, c.Addr, "127.0.0.1:3001"},
		{envRedisURL, c.RedisURL.Reveal(), "redis://:pw@redis:6379/3"},
		{envRedisPrefix, c.RedisPrefix, "ub-yaml"},
		{envData, c.DataFile, filepath.Join(dir, "store", "ub.db")},
		{envKBFile, c.KBFile, kb},
		{envTimezone, c.Timezone.String(), "Europe/Lisbon"},
		{envReminderSchedule, c.ReminderSchedule, "30 8 * * 1-5"},
		{envMinReminderInterval, c.MinReminderInterval, time.Hour},
		{envDigestChannel, c.DigestChannel, "C0DIGEST"},
		{envDigestSchedule, c.DigestSchedule, "0 7 * * 1"},
		{envAdmins, strings.Join(c.Admins, ","), "U0ADMIN1,W0ADMIN2"},
		{envAllowedBots, strings.Join(c.AllowedBots, ","), "B0CI,A0LIFETIME"},
		{envLogLevel, c.LogLevel.String(), "DEBUG"},
		{envLogFormat, c.LogFormat, LogJSON},
		{envOCR, c.OCR, OCROff},
		{"ConfigFile", c.ConfigFile, cfgFile},
	}
	seen := map[string]bool{}
	for _, tc := range checks {
		seen[tc.name] = true
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.name, tc.got, tc.want)
		}
	}
	for _, s := range Settings() {
		if !seen[s.Name] {
			t.Errorf("setting %s is not checked by this test", s.Name)
		}
		if got := c.Origin(s.Name); got != OriginFile {
			t.Errorf("Origin(%s) = %q, want file", s.Name, got)
		}
	}
}

func TestYAMLProblems(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string // fragments of the error, the file name implied
	}{
		{"typo", "timezone: UTC\nredis_ulr: redis://x\n", []string{":2: ", `unknown key "redis_ulr"`, `did you mean "redis_url"?`}},
		{"env name as key", "UPGRADEBOT_TIMEZONE: UTC\n", []string{":1: ", `use "timezone"`}},
		{"flag name as key", "log-level: debug\n", []string{`use "log_level"`}},
		{"far off", "colour: blue\n", []string{`unknown key "colour"`, "lowercase"}},
		{"malformed", "timezone: UTC\nadmins: [U1,\nlog_level: debug\n", []string{"malformed YAML"}},
		{"bad indentation", "timezone: UTC\n  log_level: debug\n", []string{":2: malformed YAML"}},
		{"not a mapping", "- timezone\n", []string{"must be a mapping"}},
		{"repeated", "timezone: UTC\nlog_level: info\ntimezone: Europe/Lisbon\n", []string{":3: ", "repeats the one on line 1"}},
		{"list for a single value", "timezone: [UTC]\n", []string{"UPGRADEBOT_TIMEZONE", "single value"}},
		{"mapping for a value", "addr: {host: x}\n", []string{"UPGRADEBOT_ADDR", "mapping"}},
		{"bad value cites the line", "log_format: text\nlog_level: loud\n", []string{"UPGRADEBOT_LOG_LEVEL (from ", ":2): ", `"loud"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := writeFile(t, t.TempDir(), "bad.yaml", tc.content)
			_, err := load(t, ForDiagnose, []string{"--config", path}, nil)
			if err == nil {
				t.Fatal("no error")
			}
			problems(t, err)
			msg := err.Error()
			for _, frag := range append([]string{path}, tc.want...) {
				if !strings.Contains(msg, frag) {
					t.Errorf("error lacks %q:\n%s", frag, msg)
				}
			}
		})
	}
}

// TestYAMLProblemsWithOthers checks that a broken file does not hide the other problems.
func TestYAMLProblemsWithOthers(t *testing.T) {
	path := writeFile(t, t.TempDir(), "c.yaml", "timezon: UTC\n")
	_, err := load(t, ForDiagnose, []string{"--config", path}, map[string]string{"UPGRADEBOT_LOG_LEVEL": "loud"})
	ps := problems(t, err)
	if len(ps) != 2 || ps[0].Name != "" || ps[1].Name != envLogLevel {
		t.Errorf("want the file problem then UPGRADEBOT_LOG_LEVEL, got:\n%v", err)
	}
}

func TestYAMLEmptyAndMissing(t *testing.T) {
	dir := t.TempDir()
	for _, content := range []string{"", "# nothing\n", "---\n", "~\n"} {
		path := writeFile(t, dir, "empty.yaml", content)
		if _, err := load(t, ForDiagnose, []string{"--config", path}, nil); err != nil {
			t.Errorf("%q: unexpected error: %v", content, err)
		}
	}
	missing := filepath.Join(dir, "missing.yaml")
	_, err := load(t, ForDiagnose, []string{"--config", missing}, nil)
	if err == nil || !strings.Contains(err.Error(), missing) || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("want an error naming %s, got %v", missing, err)
	}
}

func TestYAMLScalarsStayText(t *testing.T) {
	// YAML would resolve these to a bool, a number and null-like text; they are read as written.
	path := writeFile(t, t.TempDir(), "c.yaml", "ocr: on\nredis_prefix: 123\nadmins: U1AA\nmin_reminder_interval: 90s\ndigest_channel:\n")
	c := mustLoad(t, ForDiagnose, []string{"--config", path}, nil)
	if c.OCR != OCROn || c.RedisPrefix != "123" || !slices.Equal(c.Admins, []string{"U1AA"}) || c.MinReminderInterval != 90*time.Second || c.DigestChannel != "" {
		t.Errorf("unexpected config: %+v", c)
	}
}
