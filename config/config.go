// Package config reads upgradebot's settings from environment variables
// (secrets also from NAME_FILE files) and a few flags, and validates them,
// reporting every problem at once, each naming its variable; secrets are
// never printed. github.com/caarlos0/env reads the variables, applies the
// defaults and reads the files; Load adds the checks across settings. An
// empty or blank value counts as unset. The environment comes in as a map,
// so tests never touch the process's.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
)

// Purpose is the command a configuration is loaded for; it decides what is checked.
type Purpose int

// Purposes: run checks every setting, shell all but Slack's, diagnose neither Slack's nor the store's.
const (
	ForRun Purpose = iota
	ForShell
	ForDiagnose
)

// The values of Config.Mode (only run has one), LogFormat and OCR (OCRAuto: on when Tesseract is found).
const (
	ModeSocket, ModeHTTP   = "socket", "http"
	LogText, LogJSON       = "text", "json"
	OCRAuto, OCROn, OCROff = "auto", "on", "off"
)

// Config is the effective configuration, typed and validated, in the order
// of CONTRACTS.md's settings table. The tag "for" marks what only run ("run")
// or only the commands with a store ("shell") check.
type Config struct {
	SlackBotToken       Secret         `env:"SLACK_BOT_TOKEN" for:"run"`                                         // bot token xoxb-…, required for run
	SlackAppToken       Secret         `env:"SLACK_APP_TOKEN" for:"run"`                                         // app-level token xapp-…: Socket Mode
	SlackSigningSecret  Secret         `env:"SLACK_SIGNING_SECRET" for:"run"`                                    // HTTP mode request signing
	Mode                string         `env:"UPGRADEBOT_MODE" for:"run"`                                         // socket or http; inferred unless both above are set
	SlackAPIURL         string         `env:"SLACK_API_URL" envDefault:"https://slack.com/api/" for:"run"`       // Web API base URL, ending in /
	Addr                string         `env:"UPGRADEBOT_ADDR" envDefault:":3000" for:"run"`                      // HTTP listen address: health, metrics, HTTP mode
	RedisURL            Secret         `env:"REDIS_URL" for:"shell"`                                             // one server, or a Sentinel with ?master_name=
	RedisClusterURL     Secret         `env:"REDIS_CLUSTER_URL" for:"shell"`                                     // a Redis Cluster, ?addr= for more nodes
	RedisPrefix         string         `env:"UPGRADEBOT_REDIS_PREFIX" envDefault:"upgradebot" for:"shell"`       // key prefix
	DataFile            string         `env:"UPGRADEBOT_DATA" for:"shell"`                                       // embedded store file
	KBFile              string         `env:"UPGRADEBOT_KB_FILE"`                                                // extra knowledge-base entries, "" for none
	Timezone            *time.Location `env:"UPGRADEBOT_TIMEZONE" envDefault:"UTC" for:"shell"`                  // IANA zone for schedules
	ReminderSchedule    string         `env:"UPGRADEBOT_REMINDER_SCHEDULE" envDefault:"0 9 * * 1-5" for:"shell"` // a followed channel's default (cron)
	MinReminderInterval time.Duration  `env:"UPGRADEBOT_MIN_REMINDER_INTERVAL" envDefault:"15m" for:"shell"`     // shortest interval a channel may set
	DigestChannel       string         `env:"UPGRADEBOT_DIGEST_CHANNEL" for:"shell"`                             // all-environments digest, "" for none
	DigestSchedule      string         `env:"UPGRADEBOT_DIGEST_SCHEDULE" envDefault:"0 9 * * 1" for:"shell"`     // the digest's (cron)
	Admins              IDs            `env:"UPGRADEBOT_ADMINS" for:"shell"`                                     // may reset, untrack, remind; empty: everyone
	AllowedBots         IDs            `env:"UPGRADEBOT_ALLOWED_BOTS" for:"run"`                                 // bot (B…) or app (A…) ids whose messages are diagnosed
	LogLevel            slog.Level     `env:"UPGRADEBOT_LOG_LEVEL" envDefault:"info"`                            // debug, info, warn or error
	LogFormat           string         `env:"UPGRADEBOT_LOG_FORMAT" envDefault:"text"`                           // text or json
	OCR                 string         `env:"UPGRADEBOT_OCR" envDefault:"auto"`                                  // on, off, or auto: on when Tesseract is found

	// DataIsDefault says DataFile is the default path, whose folder the caller may create.
	DataIsDefault bool
}

// secretFiles are the NAME_FILE variables: the library reads the file each names.
type secretFiles struct {
	SlackBotToken      Secret `env:"SLACK_BOT_TOKEN_FILE,file"`
	SlackAppToken      Secret `env:"SLACK_APP_TOKEN_FILE,file"`
	SlackSigningSecret Secret `env:"SLACK_SIGNING_SECRET_FILE,file"`
	RedisURL           Secret `env:"REDIS_URL_FILE,file"`
	RedisClusterURL    Secret `env:"REDIS_CLUSTER_URL_FILE,file"`
}

// IDs is a list of Slack ids, written separated by commas and/or spaces.
type IDs []string

// UnmarshalText splits the list.
func (ids *IDs) UnmarshalText(b []byte) error {
	*ids = strings.FieldsFunc(string(b), func(r rune) bool { return strings.ContainsRune(", ;\t\r\n", r) })
	return nil
}

// Problem is one missing or invalid setting: its variable, and what is wrong
// and what to do (never a secret).
type Problem struct{ Name, Message string }

// Error formats the problem as one line: "NAME: message".
func (p Problem) Error() string { return p.Name + ": " + p.Message }

// ValidationError lists every problem Load found, so one start-up shows them all.
type ValidationError struct{ Problems []Problem }

// Error returns the problems one per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Load reads the settings from environ and validates them for purpose. On
// failure the error is a *ValidationError holding every problem, and the
// Config is nil.
func Load(purpose Purpose, environ map[string]string) (*Config, error) {
	l := &loader{purpose: purpose, vars: map[string]string{}, cfg: &Config{}}
	for k, v := range environ {
		if v = strings.TrimSpace(v); v != "" {
			l.vars[k] = v
		}
	}
	if strings.EqualFold(l.vars["UPGRADEBOT_LOG_LEVEL"], "warning") {
		l.vars["UPGRADEBOT_LOG_LEVEL"] = "warn"
	}
	var files secretFiles
	l.libraryErrors(env.ParseWithOptions(l.cfg, env.Options{Environment: l.vars}))
	l.libraryErrors(env.ParseWithOptions(&files, env.Options{Environment: l.vars}))
	l.fromFiles(&files)
	l.check()

	// Keep the problems of the settings this purpose uses, in table order.
	order := map[string]int{}
	for i, s := range Settings() {
		order[s.Name], order[s.Name+"_FILE"] = i, i
	}
	var kept []Problem
	for _, p := range l.problems {
		if i, ok := order[p.Name]; !ok || purpose <= Settings()[i].For {
			kept = append(kept, p)
		}
	}
	if len(kept) > 0 {
		slices.SortStableFunc(kept, func(a, b Problem) int { return order[a.Name] - order[b.Name] })
		return nil, &ValidationError{Problems: kept}
	}
	return l.cfg, nil
}

// loader holds the state of one Load.
type loader struct {
	purpose  Purpose
	vars     map[string]string
	cfg      *Config
	problems []Problem
}

func (l *loader) problem(name, format string, args ...any) {
	l.problems = append(l.problems, Problem{name, fmt.Sprintf(format, args...)})
}

// failed reports whether a problem names name or its _FILE variable, so that one mistake is reported once.
func (l *loader) failed(name string) bool {
	return slices.ContainsFunc(l.problems, func(p Problem) bool { return p.Name == name || p.Name == name+"_FILE" })
}

// libraryErrors turns the library's errors into problems naming the variable.
// Parse errors show the value (never a secret's: Secrets do not fail to parse).
func (l *loader) libraryErrors(err error) {
	hints := map[string]string{
		"Timezone":            "unknown time zone: use an IANA name such as Europe/Lisbon, America/New_York or UTC",
		"MinReminderInterval": "is not a duration: write a number and a unit, such as 15m, 1h or 90s",
		"LogLevel":            "is not a level: use debug, info, warn or error",
	}
	var agg env.AggregateError
	errors.As(err, &agg)
	for _, e := range agg.Errors {
		var pe env.ParseError
		var fe env.LoadFileContentError
		if errors.As(e, &fe) {
			l.problem(fe.Key, "cannot read %q: %s", fe.Filename, reason(fe.Err))
		} else if errors.As(e, &pe) {
			f, _ := reflect.TypeFor[Config]().FieldByName(pe.Name)
			l.problem(envName(f), "%q %s", l.vars[envName(f)], hints[pe.Name])
		}
	}
}

// reason returns why a file operation failed without repeating the path.
func reason(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// fromFiles takes each secret from its NAME_FILE when that is set; both set is ambiguous.
func (l *loader) fromFiles(f *secretFiles) {
	files, cfg := reflect.ValueOf(f).Elem(), reflect.ValueOf(l.cfg).Elem()
	for i := range files.NumField() {
		field := files.Type().Field(i)
		value, file := cfg.FieldByName(field.Name).Addr().Interface().(*Secret), files.Field(i).Interface().(Secret)
		fileVar := envName(field)
		name := strings.TrimSuffix(fileVar, "_FILE")
		switch path, ok := l.vars[fileVar]; {
		case !ok || l.failed(name):
		case value.IsSet():
			l.problem(name, "both %s and %s are set: keep only one", name, fileVar)
		case !file.IsSet():
			l.problem(name, "the file %q (%s) is empty: it should hold the secret alone", path, fileVar)
		default:
			*value = file
		}
	}
}

// check adds the checks the library cannot do: shapes, and rules across settings.
func (l *loader) check() {
	c := l.cfg
	l.checkSlack()
	l.checkRedis()
	if c.DataFile == "" {
		c.DataFile, c.DataIsDefault = defaultDataFile(l.vars)
		if c.DataFile == "" && !c.RedisURL.IsSet() && !c.RedisClusterURL.IsSet() {
			l.problem("UPGRADEBOT_DATA", "no default: neither XDG_DATA_HOME nor HOME is set; set UPGRADEBOT_DATA to the store file (or REDIS_URL)")
		}
	} else if !c.RedisURL.IsSet() && !c.RedisClusterURL.IsSet() {
		l.checkDataFile(c.DataFile)
	}
	if fi, err := os.Stat(c.KBFile); c.KBFile != "" && err != nil {
		l.problem("UPGRADEBOT_KB_FILE", "cannot read %q: %s", c.KBFile, reason(err))
	} else if c.KBFile != "" && fi.IsDir() {
		l.problem("UPGRADEBOT_KB_FILE", "%q is a directory: name the knowledge-base file", c.KBFile)
	}
	if c.MinReminderInterval <= 0 && !l.failed("UPGRADEBOT_MIN_REMINDER_INTERVAL") {
		l.problem("UPGRADEBOT_MIN_REMINDER_INTERVAL", "must be greater than 0, such as 15m")
	}
	if bad := invalidIDs(c.Admins, "UW"); bad != "" {
		l.problem("UPGRADEBOT_ADMINS", "%s: Slack user ids look like U012AB3CD (profile → ⋮ → Copy member ID)", bad)
	}
	if bad := invalidIDs(c.AllowedBots, "BA"); bad != "" {
		l.problem("UPGRADEBOT_ALLOWED_BOTS", "%s: use bot ids (B…, the bot_id of a message) or app ids (A…, Basic Information → App ID)", bad)
	}
	l.oneOf("UPGRADEBOT_LOG_FORMAT", &c.LogFormat, "is not a format: use text or json", LogText, LogJSON)
	if alias, ok := map[string]string{"true": OCROn, "yes": OCROn, "1": OCROn, "false": OCROff, "no": OCROff, "0": OCROff}[strings.ToLower(c.OCR)]; ok {
		c.OCR = alias
	}
	l.oneOf("UPGRADEBOT_OCR", &c.OCR, "is not on, off or auto (unset: on when Tesseract is found)", OCRAuto, OCROn, OCROff)
}

// oneOf lowercases *v and reports a problem unless it is one of allowed.
func (l *loader) oneOf(name string, v *string, hint string, allowed ...string) {
	*v = strings.ToLower(*v)
	if !slices.Contains(allowed, *v) {
		l.problem(name, "%q %s", l.vars[name], hint)
	}
}

// checkDataFile reports a store path whose folder does not exist (a typo,
// say), rather than creating it, or a path that is a folder.
func (l *loader) checkDataFile(path string) {
	const name = "UPGRADEBOT_DATA"
	dir := filepath.Dir(path)
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		l.problem(name, "%q is a folder: name the store file in it, such as %s", path, filepath.Join(path, "upgradebot.db"))
	} else if fi, err := os.Stat(dir); os.IsNotExist(err) {
		l.problem(name, "the folder %q of %q does not exist: create it, or correct the path", dir, path)
	} else if err != nil {
		l.problem(name, "cannot use the folder %q: %s", dir, reason(err))
	} else if !fi.IsDir() {
		l.problem(name, "%q is not a folder: the store file %q must be in a folder", dir, path)
	}
}

// defaultDataFile is upgradebot.db in the user's data directory (data, not
// configuration): XDG_DATA_HOME when absolute, as the XDG spec says, else
// ~/.local/share; "" when neither is set.
func defaultDataFile(vars map[string]string) (string, bool) {
	dir := filepath.Join(vars["HOME"], ".local", "share")
	if filepath.IsAbs(vars["XDG_DATA_HOME"]) {
		dir = vars["XDG_DATA_HOME"]
	} else if vars["HOME"] == "" {
		return "", false
	}
	return filepath.Join(dir, "upgradebot", "upgradebot.db"), true
}

// invalidIDs quotes the ids that are not Slack ids starting with one of
// prefixes (a letter, then at least two upper-case letters or digits), "" when all are.
func invalidIDs(ids []string, prefixes string) string {
	var bad []string
	for _, id := range ids {
		if ok, _ := regexp.MatchString("^["+prefixes+"][A-Z0-9]{2,}$", id); !ok {
			bad = append(bad, strconv.Quote(id))
		}
	}
	if len(bad) == 0 {
		return ""
	}
	return strings.Join(bad, ", ") + map[bool]string{true: " is", false: " are"}[len(bad) == 1] + " not valid"
}

// LogValue logs the effective configuration as a group, secrets redacted:
// slog.Info("starting", "config", cfg).
func (c *Config) LogValue() slog.Value {
	var attrs []slog.Attr
	v := reflect.ValueOf(c).Elem()
	for i, s := range Settings() {
		text := fmt.Sprint(v.Field(i).Interface())
		if sec, ok := v.Field(i).Interface().(Secret); ok && strings.HasPrefix(s.Name, "REDIS_") && sec.IsSet() {
			text = redactURL(sec.Reveal()) // the host is worth seeing
		}
		attrs = append(attrs, slog.String(s.Name, text))
	}
	return slog.GroupValue(attrs...)
}
