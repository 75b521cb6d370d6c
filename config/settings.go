package config

import "strings"

// Environment variable names; the Settings table is built from them.
const (
	envSlackBotToken       = "SLACK_BOT_TOKEN"
	envSlackAppToken       = "SLACK_APP_TOKEN"
	envSlackSigningSecret  = "SLACK_SIGNING_SECRET"
	envMode                = "UPGRADEBOT_MODE"
	envSlackAPIURL         = "SLACK_API_URL"
	envAddr                = "UPGRADEBOT_ADDR"
	envRedisURL            = "REDIS_URL"
	envRedisPrefix         = "UPGRADEBOT_REDIS_PREFIX"
	envData                = "UPGRADEBOT_DATA"
	envKBFile              = "UPGRADEBOT_KB_FILE"
	envTimezone            = "UPGRADEBOT_TIMEZONE"
	envReminderSchedule    = "UPGRADEBOT_REMINDER_SCHEDULE"
	envMinReminderInterval = "UPGRADEBOT_MIN_REMINDER_INTERVAL"
	envDigestChannel       = "UPGRADEBOT_DIGEST_CHANNEL"
	envDigestSchedule      = "UPGRADEBOT_DIGEST_SCHEDULE"
	envAdmins              = "UPGRADEBOT_ADMINS"
	envAllowedBots         = "UPGRADEBOT_ALLOWED_BOTS"
	envLogLevel            = "UPGRADEBOT_LOG_LEVEL"
	envLogFormat           = "UPGRADEBOT_LOG_FORMAT"
	envOCR                 = "UPGRADEBOT_OCR"
)

// Setting describes one setting as data, for the README table, --help and tests.
type Setting struct {
	// Name is the environment variable, e.g. "REDIS_URL".
	Name string
	// Key is the YAML key: Name in lowercase without the UPGRADEBOT_ prefix.
	Key string
	// Flag is the command-line flag (Key with _ → -), "" for secrets:
	// a command line is readable by every local user through ps and /proc.
	Flag string
	// Default is the value applied when no source sets the setting, "" for none.
	Default string
	// DefaultDoc is the default as CONTRACTS.md words it, in plain text.
	DefaultDoc string
	// Description says what the setting is for, in one line.
	Description string
	// Secret settings are never printed and can also be read from a file.
	Secret bool
	// FileName is the NAME_FILE variable of a secret ("" otherwise): the secret is the file's content, trimmed.
	FileName string
	// FileKey is the YAML key of FileName.
	FileKey string
	// FileFlag is the flag of FileName.
	FileFlag string
	// List settings hold ids separated by commas or spaces (a YAML list also works).
	List bool
	// Path settings name a file; in the YAML file a relative path is relative to that file's directory.
	Path bool
	// RunOnly settings concern Slack or the HTTP listener: only `upgradebot run` checks them.
	RunOnly bool
}

// Settings returns every setting in README order; the caller may modify the copy it gets.
func Settings() []Setting {
	list := []Setting{
		{Name: envSlackBotToken, Secret: true, RunOnly: true,
			DefaultDoc:  "required for run",
			Description: "bot token xoxb-… (OAuth & Permissions → Bot User OAuth Token)"},
		{Name: envSlackAppToken, Secret: true, RunOnly: true,
			DefaultDoc:  "—",
			Description: "app-level token xapp-… with connections:write: Socket Mode"},
		{Name: envSlackSigningSecret, Secret: true, RunOnly: true,
			DefaultDoc:  "—",
			Description: "HTTP mode request signing (Basic Information → App Credentials)"},
		{Name: envMode, RunOnly: true,
			DefaultDoc:  "inferred",
			Description: "socket or http; needed only when both SLACK_APP_TOKEN and SLACK_SIGNING_SECRET are set"},
		{Name: envSlackAPIURL, RunOnly: true, Default: "https://slack.com/api/",
			DefaultDoc:  "https://slack.com/api/",
			Description: "Web API base URL, ending in /"},
		{Name: envAddr, RunOnly: true, Default: ":3000",
			DefaultDoc:  ":3000",
			Description: "HTTP listen address host:port (health and metrics in both modes, Slack requests in HTTP mode)"},
		{Name: envRedisURL,
			DefaultDoc:  "—",
			Description: "redis:// or rediss:// URL; unset: the embedded store"},
		{Name: envRedisPrefix, Default: "upgradebot",
			DefaultDoc:  "upgradebot",
			Description: "Redis key prefix"},
		{Name: envData, Path: true,
			DefaultDoc:  "upgradebot.db in the user's data directory",
			Description: "embedded store file ($XDG_DATA_HOME/upgradebot/upgradebot.db, else ~/.local/share/upgradebot/upgradebot.db)"},
		{Name: envKBFile, Path: true,
			DefaultDoc:  "—",
			Description: "extra knowledge-base entries"},
		{Name: envTimezone, Default: "UTC",
			DefaultDoc:  "UTC",
			Description: "IANA zone for schedules"},
		{Name: envReminderSchedule, Default: "0 9 * * 1-5",
			DefaultDoc:  "0 9 * * 1-5",
			Description: "default reminder schedule (cron) of a followed channel"},
		{Name: envMinReminderInterval, Default: "15m",
			DefaultDoc:  "15m",
			Description: "shortest schedule interval a channel may set"},
		{Name: envDigestChannel,
			DefaultDoc:  "off",
			Description: "channel of the all-environments digest"},
		{Name: envDigestSchedule, Default: "0 9 * * 1",
			DefaultDoc:  "0 9 * * 1",
			Description: "schedule (cron) of the all-environments digest"},
		{Name: envAdmins, List: true,
			DefaultDoc:  "everyone",
			Description: "Slack user ids allowed to reset, untrack, remind (comma or space separated)"},
		{Name: envAllowedBots, List: true, RunOnly: true,
			DefaultDoc:  "none",
			Description: "bot or app ids whose messages are diagnosed (CI, LifeTime notifications)"},
		{Name: envLogLevel, Default: "info",
			DefaultDoc:  "info",
			Description: "debug, info, warn or error"},
		{Name: envLogFormat, Default: "text",
			DefaultDoc:  "text",
			Description: "text or json"},
		{Name: envOCR, Default: "auto",
			DefaultDoc:  "on when Tesseract is found",
			Description: "on, off or auto for screenshots"},
	}
	for i := range list {
		s := &list[i]
		s.Key = yamlKey(s.Name)
		if s.Secret {
			s.FileName = s.Name + "_FILE"
			s.FileKey = yamlKey(s.FileName)
			s.FileFlag = flagName(s.FileKey)
		} else {
			s.Flag = flagName(s.Key)
		}
	}
	return list
}

// YAMLKeys returns every key the YAML file accepts, secrets' _file keys included.
func YAMLKeys() []string {
	var keys []string
	for _, s := range Settings() {
		keys = append(keys, s.Key)
		if s.FileKey != "" {
			keys = append(keys, s.FileKey)
		}
	}
	return keys
}

// yamlKey maps a variable to its YAML key: lowercase, without UPGRADEBOT_.
func yamlKey(name string) string {
	return strings.ToLower(strings.TrimPrefix(name, "UPGRADEBOT_"))
}

// flagName maps a YAML key to its flag name.
func flagName(key string) string { return strings.ReplaceAll(key, "_", "-") }
