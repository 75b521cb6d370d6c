// Package config loads upgradebot's settings from flags, the environment and
// an optional YAML file, and validates them, reporting every problem at once.
//
// # Sources and precedence
//
// A flag beats the environment, which beats the YAML file, which beats the
// default. An empty value (or only whitespace) counts as unset at every level,
// so a docker-compose file can pass `SLACK_APP_TOKEN: ${SLACK_APP_TOKEN:-}`
// through without forcing a value.
//
// The environment comes in as a lookup function (os.LookupEnv in main), so
// tests never touch the process environment; HOME and XDG_DATA_HOME, for the
// default store path, are read through it too.
//
// # YAML file
//
// The file named by --config holds the same settings: the key of a setting is
// its environment variable in lowercase without the UPGRADEBOT_ prefix
// (REDIS_URL → redis_url, UPGRADEBOT_TIMEZONE → timezone, SLACK_BOT_TOKEN_FILE →
// slack_bot_token_file). YAMLKeys lists them all. An unknown key is an error,
// to catch typos. Lists (admins, allowed_bots) may be YAML lists. Relative
// paths in the file (data, kb_file, the *_file keys) are relative to the
// file's directory, so a config file and its secrets can move together.
//
// # Flags
//
// RegisterFlags adds --config FILE and one flag per setting, named after its
// YAML key with - for _ (--redis-url, --log-level). Secrets have only their
// file flag (--slack-bot-token-file): anything on a command line is visible to
// every local user.
//
// # Secrets
//
// SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SLACK_SIGNING_SECRET and REDIS_URL (which
// may hold a password) are Secret values, printed as [redacted]. The three
// Slack secrets can also be read from a file named by NAME_FILE (Docker and
// Kubernetes secrets); its content is trimmed of surrounding whitespace.
//
// # Defaults worth knowing
//
// UPGRADEBOT_DATA defaults to $XDG_DATA_HOME/upgradebot/upgradebot.db, else
// $HOME/.local/share/upgradebot/upgradebot.db (else %LOCALAPPDATA% on
// Windows): a database is data, not configuration, so os.UserConfigDir is
// the wrong place, and the XDG data directory is where Linux hosts and
// containers expect it. Load does not create the directory; the store does.
//
// UPGRADEBOT_TIMEZONE is loaded with time.LoadLocation; the main package
// should import time/tzdata so that zones work in images without a zone
// database (scratch, distroless).
package config

import (
	"log/slog"
	"strings"
	"time"
)

// Purpose is the command a configuration is loaded for; it decides what is required.
type Purpose int

// Purposes. The zero value is the strictest.
const (
	// ForRun needs Slack settings and checks every setting.
	ForRun Purpose = iota
	// ForShell needs no Slack settings; the store settings are checked.
	ForShell
	// ForDiagnose needs no Slack or store settings.
	ForDiagnose
)

// String names the command.
func (p Purpose) String() string {
	switch p {
	case ForRun:
		return "run"
	case ForShell:
		return "shell"
	case ForDiagnose:
		return "diagnose"
	}
	return "unknown"
}

// Mode is how the bot receives Slack events.
type Mode string

// Modes; "" means no Slack connection is configured (shell, diagnose).
const (
	ModeSocket Mode = "socket"
	ModeHTTP   Mode = "http"
)

// LogFormat is the slog handler to use.
type LogFormat string

// Log formats.
const (
	LogText LogFormat = "text"
	LogJSON LogFormat = "json"
)

// OCRMode says whether screenshots are read.
type OCRMode string

// OCR modes. OCRAuto leaves it to the caller: on when Tesseract is found.
const (
	OCRAuto OCRMode = "auto"
	OCROn   OCRMode = "on"
	OCROff  OCRMode = "off"
)

// Origin says which source gave a setting its value.
type Origin string

// Origins, from the weakest to the strongest; "" means unset.
const (
	OriginDefault Origin = "default"
	OriginFile    Origin = "file"
	OriginEnv     Origin = "env"
	OriginFlag    Origin = "flag"
)

// Config is the effective configuration, typed and validated.
type Config struct {
	// SlackBotToken is SLACK_BOT_TOKEN (xoxb-…).
	SlackBotToken Secret
	// SlackAppToken is SLACK_APP_TOKEN (xapp-…), for Socket Mode.
	SlackAppToken Secret
	// SlackSigningSecret is SLACK_SIGNING_SECRET, for HTTP mode.
	SlackSigningSecret Secret
	// Mode is UPGRADEBOT_MODE or, when unset, inferred from which of the two above is set.
	Mode Mode
	// SlackAPIURL is SLACK_API_URL, ending in /.
	SlackAPIURL string
	// Addr is UPGRADEBOT_ADDR, host:port.
	Addr string
	// RedisURL is REDIS_URL; unset means the embedded store. A Secret because the URL may hold a password.
	RedisURL Secret
	// RedisPrefix is UPGRADEBOT_REDIS_PREFIX.
	RedisPrefix string
	// DataFile is UPGRADEBOT_DATA; its directory may not exist yet.
	DataFile string
	// KBFile is UPGRADEBOT_KB_FILE, "" for none.
	KBFile string
	// Timezone is UPGRADEBOT_TIMEZONE.
	Timezone *time.Location
	// ReminderSchedule is UPGRADEBOT_REMINDER_SCHEDULE, a cron spec the scheduler validates.
	ReminderSchedule string
	// MinReminderInterval is UPGRADEBOT_MIN_REMINDER_INTERVAL, > 0.
	MinReminderInterval time.Duration
	// DigestChannel is UPGRADEBOT_DIGEST_CHANNEL, "" for no digest.
	DigestChannel string
	// DigestSchedule is UPGRADEBOT_DIGEST_SCHEDULE, a cron spec.
	DigestSchedule string
	// Admins is UPGRADEBOT_ADMINS; empty means everyone may reset, untrack and remind.
	Admins []string
	// AllowedBots is UPGRADEBOT_ALLOWED_BOTS: bot (B…) or app (A…) ids whose messages are diagnosed.
	AllowedBots []string
	// LogLevel is UPGRADEBOT_LOG_LEVEL.
	LogLevel slog.Level
	// LogFormat is UPGRADEBOT_LOG_FORMAT.
	LogFormat LogFormat
	// OCR is UPGRADEBOT_OCR; OCRAuto when unset.
	OCR OCRMode
	// ConfigFile is the YAML file read, "" for none.
	ConfigFile string

	origins map[string]Origin // variable name → source of its value
}

// Origin returns which source set the named variable ("" when unset); for a secret read from NAME_FILE, that source.
func (c *Config) Origin(name string) Origin { return c.origins[name] }

// Redacted returns every setting as text keyed by variable name, secrets redacted, for a start-up log or a diagnostic dump.
func (c *Config) Redacted() map[string]string {
	m := map[string]string{}
	for _, kv := range c.pairs() {
		m[kv[0]] = kv[1]
	}
	return m
}

// LogValue logs the effective configuration as a group, secrets redacted:
// slog.Info("starting", "config", cfg).
func (c *Config) LogValue() slog.Value {
	pairs := c.pairs()
	attrs := make([]slog.Attr, 0, len(pairs)+1)
	if c.ConfigFile != "" {
		attrs = append(attrs, slog.String("config_file", c.ConfigFile))
	}
	for _, kv := range pairs {
		attrs = append(attrs, slog.String(kv[0], kv[1]))
	}
	return slog.GroupValue(attrs...)
}

// pairs lists (variable, redacted text) in Settings order.
func (c *Config) pairs() [][2]string {
	tz := ""
	if c.Timezone != nil {
		tz = c.Timezone.String()
	}
	redis := ""
	if c.RedisURL.IsSet() {
		redis = redactURL(c.RedisURL.Reveal())
	}
	return [][2]string{
		{envSlackBotToken, c.SlackBotToken.String()},
		{envSlackAppToken, c.SlackAppToken.String()},
		{envSlackSigningSecret, c.SlackSigningSecret.String()},
		{envMode, string(c.Mode)},
		{envSlackAPIURL, redactURL(c.SlackAPIURL)},
		{envAddr, c.Addr},
		{envRedisURL, redis},
		{envRedisPrefix, c.RedisPrefix},
		{envData, c.DataFile},
		{envKBFile, c.KBFile},
		{envTimezone, tz},
		{envReminderSchedule, c.ReminderSchedule},
		{envMinReminderInterval, c.MinReminderInterval.String()},
		{envDigestChannel, c.DigestChannel},
		{envDigestSchedule, c.DigestSchedule},
		{envAdmins, strings.Join(c.Admins, ",")},
		{envAllowedBots, strings.Join(c.AllowedBots, ",")},
		{envLogLevel, strings.ToLower(c.LogLevel.String())},
		{envLogFormat, string(c.LogFormat)},
		{envOCR, string(c.OCR)},
	}
}

// redactURL hides the userinfo (user and password) of a URL, even one that
// does not parse: everything between "://" and the last "@" is replaced, as a
// password may itself hold "/" or "@".
func redactURL(raw string) string {
	start := 0
	if i := strings.Index(raw, "://"); i >= 0 {
		start = i + 3
	}
	if at := strings.LastIndex(raw[start:], "@"); at >= 0 {
		return raw[:start] + "[redacted]@" + raw[start+at+1:]
	}
	return raw
}
