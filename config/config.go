// Package config reads upgradebot's settings from environment variables
// (secrets also from NAME_FILE files) and a few flags with caarlos0/env, and
// checks them, reporting every problem at once, each naming its variable;
// secrets are never printed. A blank value is unset. The environment comes
// in as a map, so tests never touch the process's.
package config

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"reflect"
	"slices"
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
// or only the commands with a store ("shell") check; "hint" what a value looks like.
type Config struct {
	SlackBotToken       Secret         `env:"SLACK_BOT_TOKEN" for:"run"`                                                                                                                  // bot token xoxb-…, required for run
	SlackAppToken       Secret         `env:"SLACK_APP_TOKEN" for:"run"`                                                                                                                  // app-level token xapp-…: Socket Mode
	SlackSigningSecret  Secret         `env:"SLACK_SIGNING_SECRET" for:"run"`                                                                                                             // HTTP mode request signing
	Mode                string         `env:"UPGRADEBOT_MODE" for:"run"`                                                                                                                  // socket or http; inferred unless both above are set
	SlackAPIURL         string         `env:"SLACK_API_URL" envDefault:"https://slack.com/api/" for:"run"`                                                                                // Web API base URL, ending in /
	Addr                string         `env:"UPGRADEBOT_ADDR" envDefault:":3000" for:"run"`                                                                                               // HTTP listen address: health, metrics, HTTP mode
	RedisURL            Secret         `env:"REDIS_URL" for:"shell"`                                                                                                                      // one server, or a Sentinel with ?master_name=
	RedisClusterURL     Secret         `env:"REDIS_CLUSTER_URL" for:"shell"`                                                                                                              // a Redis Cluster, ?addr= for more nodes
	RedisPrefix         string         `env:"UPGRADEBOT_REDIS_PREFIX" envDefault:"upgradebot" for:"shell"`                                                                                // key prefix
	DataFile            string         `env:"UPGRADEBOT_DATA" for:"shell"`                                                                                                                // embedded store file
	KBFile              string         `env:"UPGRADEBOT_KB_FILE"`                                                                                                                         // extra knowledge-base entries, "" for none
	Timezone            *time.Location `env:"UPGRADEBOT_TIMEZONE" envDefault:"UTC" for:"shell" hint:"unknown time zone: use an IANA name such as Europe/Lisbon, America/New_York or UTC"` // IANA zone for schedules
	ReminderSchedule    string         `env:"UPGRADEBOT_REMINDER_SCHEDULE" envDefault:"0 9 * * 1-5" for:"shell"`                                                                          // a followed channel's default (cron)
	MinReminderInterval time.Duration  `env:"UPGRADEBOT_MIN_REMINDER_INTERVAL" envDefault:"15m" for:"shell" hint:"is not a duration: write a number and a unit, such as 15m, 1h or 90s"`  // shortest interval a channel may set
	DigestChannel       string         `env:"UPGRADEBOT_DIGEST_CHANNEL" for:"shell"`                                                                                                      // all-environments digest, "" for none
	DigestSchedule      string         `env:"UPGRADEBOT_DIGEST_SCHEDULE" envDefault:"0 9 * * 1" for:"shell"`                                                                              // the digest's (cron)
	Admins              IDs            `env:"UPGRADEBOT_ADMINS" for:"shell"`                                                                                                              // may reset, untrack, remind; empty: everyone (Slack ids; the shell's user names in the shell)
	AllowedBots         IDs            `env:"UPGRADEBOT_ALLOWED_BOTS" for:"run"`                                                                                                          // bot (B…) or app (A…) ids whose messages are diagnosed
	LogLevel            slog.Level     `env:"UPGRADEBOT_LOG_LEVEL" envDefault:"info" hint:"is not a level: use debug, info, warn or error"`                                               // debug, info, warn or error
	LogFormat           string         `env:"UPGRADEBOT_LOG_FORMAT" envDefault:"text"`                                                                                                    // text or json
	OCR                 string         `env:"UPGRADEBOT_OCR" envDefault:"auto"`                                                                                                           // on, off, or auto: on when Tesseract is found
	// DataIsDefault says DataFile is the default path, whose folder the caller may create.
	DataIsDefault bool
}

// IDs is a list of Slack ids, written separated by commas and/or spaces.
type IDs []string

// UnmarshalText splits the list.
func (ids *IDs) UnmarshalText(b []byte) error {
	*ids = strings.FieldsFunc(string(b), func(r rune) bool { return strings.ContainsRune(", ;\t\r\n", r) })
	return nil
}

// Problem is one bad setting: its variable, what is wrong and what to do (never a secret).
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
	l.readSecretFiles()
	var agg env.AggregateError
	if errors.As(env.ParseWithOptions(l.cfg, env.Options{Environment: l.vars}), &agg) {
		for _, e := range agg.Errors {
			// A value that does not parse is shown: never a secret's, as Secrets always parse.
			if pe := (env.ParseError{}); errors.As(e, &pe) {
				f, _ := reflect.TypeFor[Config]().FieldByName(pe.Name)
				l.problem(f.Tag.Get("env"), "%q %s", l.vars[f.Tag.Get("env")], f.Tag.Get("hint"))
			}
		}
	}
	l.check()

	// Keep the problems of the settings this purpose uses, in table order.
	settings, order := Settings(), map[string]int{}
	for i, s := range settings {
		order[s.Name], order[s.Name+"_FILE"] = i, i
	}
	kept := slices.DeleteFunc(l.problems, func(p Problem) bool { i, ok := order[p.Name]; return ok && purpose > settings[i].For })
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

// readSecretFiles takes each secret from its NAME_FILE when that is set
// (the library reads such files, but knows neither "both set" nor "empty").
func (l *loader) readSecretFiles() {
	for _, s := range Settings() {
		path, ok := l.vars[s.Name+"_FILE"]
		if !s.Secret || !ok {
			continue
		}
		b, err := os.ReadFile(path)
		switch value := strings.TrimSpace(strings.TrimPrefix(string(b), "\uFEFF")); { // an editor's byte-order mark is no part of it
		case l.vars[s.Name] != "":
			l.problem(s.Name, "both %s and %s_FILE are set: keep only one", s.Name, s.Name)
		case err != nil:
			l.problem(s.Name+"_FILE", "cannot read %q: %s", path, errors.Unwrap(err)) // the *os.PathError's cause
		case value == "":
			l.problem(s.Name, "the file %q (%s_FILE) is empty: it should hold the secret alone", path, s.Name)
		default:
			l.vars[s.Name] = value
		}
	}
}

// LogValue logs the effective configuration as a group, secrets redacted
// and URLs (every *_URL setting) shown as scheme://host:port/path only:
// slog.Info("starting", "config", cfg).
func (c *Config) LogValue() slog.Value {
	var attrs []slog.Attr
	v := reflect.ValueOf(c).Elem()
	for i, s := range Settings() {
		field := v.Field(i).Interface()
		text := fmt.Sprint(field)
		raw, _ := field.(string)
		if sec, ok := field.(Secret); ok {
			raw = sec.Reveal()
		}
		if strings.HasSuffix(s.Name, "_URL") && raw != "" { // the host is worth seeing, a password never
			text = cmp.Or(shownURL(raw), "[redacted]")
		}
		attrs = append(attrs, slog.String(s.Name, text))
	}
	return slog.GroupValue(attrs...)
}

// Setting describes one setting, for help and tests; Config's field comments say what each means.
type Setting struct {
	Name    string  // the environment variable, e.g. "REDIS_URL"
	Default string  // applied when unset, "" for none
	Secret  bool    // never printed; also read from NAME_FILE
	For     Purpose // the loosest purpose that checks it: ForRun (Slack's), ForShell (the store's), ForDiagnose
}

// Settings returns every setting in Config's order, which is CONTRACTS.md's.
func Settings() []Setting {
	var list []Setting
	for f := range reflect.TypeFor[Config]().Fields() {
		if name := f.Tag.Get("env"); name != "" {
			purpose := map[string]Purpose{"run": ForRun, "shell": ForShell, "": ForDiagnose}[f.Tag.Get("for")]
			list = append(list, Setting{name, f.Tag.Get("envDefault"), f.Type == reflect.TypeFor[Secret](), purpose})
		}
	}
	return list
}

// flagVars are the few settings that are also flags, flag → variable.
// Secrets have none: a command line is readable by every local user.
var flagVars = map[string]string{
	"addr":      "UPGRADEBOT_ADDR",
	"data":      "UPGRADEBOT_DATA",
	"kb-file":   "UPGRADEBOT_KB_FILE",
	"log-level": "UPGRADEBOT_LOG_LEVEL",
}

// RegisterFlags registers the settings that are also flags on fs; a flag
// given sets its variable in environ, over the environment's value.
func RegisterFlags(fs *flag.FlagSet, environ map[string]string) {
	for flagName, name := range flagVars {
		fs.Func(flagName, "sets "+name, func(v string) error {
			environ[name] = v
			return nil
		})
	}
}
