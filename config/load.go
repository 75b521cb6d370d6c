package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Sources are where Load looks for settings besides the defaults.
type Sources struct {
	// Flags are the parsed command-line flags, --config included; nil for none.
	Flags *Flags
	// LookupEnv reads the environment: os.LookupEnv in main, a map in tests; nil for an empty environment.
	LookupEnv func(string) (string, bool)
}

// maxSecretFile bounds what is read through a _FILE variable: a token is
// short, and a wrong path (a log, /dev/zero) must not eat the memory.
const maxSecretFile = 64 << 10

// Load resolves every setting (flag, then environment, then YAML file, then
// default) and validates the result for purpose. On failure the error is a
// *ValidationError holding every problem found, and the Config is nil.
func Load(purpose Purpose, src Sources) (*Config, error) {
	if purpose < ForRun || purpose > ForDiagnose {
		return nil, fmt.Errorf("config: unknown purpose %d", purpose)
	}
	l := &loader{
		purpose: purpose,
		flags:   src.Flags,
		env:     src.LookupEnv,
		where:   map[string]string{},
		byName:  map[string]Setting{},
		cfg:     &Config{origins: map[string]Origin{}},
	}
	if l.env == nil {
		l.env = func(string) (string, bool) { return "", false }
	}
	for _, s := range Settings() {
		l.byName[s.Name] = s
	}
	if path := src.Flags.ConfigFile(); path != "" {
		l.cfg.ConfigFile = path
		var problems []Problem
		l.file, problems = readFile(path)
		l.problems = append(l.problems, problems...)
	}
	l.load()
	if len(l.problems) > 0 {
		return nil, &ValidationError{Problems: l.problems}
	}
	return l.cfg, nil
}

// loader holds the state of one Load.
type loader struct {
	purpose  Purpose
	flags    *Flags
	env      func(string) (string, bool)
	file     fileLayer
	byName   map[string]Setting
	where    map[string]string // variable → where its value came from, for messages
	cfg      *Config
	problems []Problem
}

// checks reports whether the purpose uses, hence validates, setting name.
func (l *loader) checks(name string) bool {
	return l.purpose == ForRun || !l.byName[name].RunOnly
}

// problem records a problem with the named setting, citing where its value came from.
func (l *loader) problem(name, format string, args ...any) {
	l.problems = append(l.problems, Problem{Name: name, Where: l.where[name], Message: fmt.Sprintf(format, args...)})
}

// str resolves a non-secret setting: flag, environment, file, default.
func (l *loader) str(name string) string {
	s := l.byName[name]
	set := func(v string, o Origin, where string) string {
		l.cfg.origins[name] = o
		l.where[name] = where
		return v
	}
	if v, ok := l.flags.get(s.Flag); ok && strings.TrimSpace(v) != "" {
		return set(strings.TrimSpace(v), OriginFlag, "--"+s.Flag)
	}
	if v, ok := l.env(name); ok && strings.TrimSpace(v) != "" {
		return set(strings.TrimSpace(v), OriginEnv, "")
	}
	if fv, ok := l.file.values[s.Key]; ok && fv.text != "" {
		return set(l.filePath(s, fv.text), OriginFile, at(l.file.path, fv.line))
	}
	if s.Default != "" {
		return set(s.Default, OriginDefault, "")
	}
	return ""
}

// filePath makes a relative path from the YAML file relative to that file's directory.
func (l *loader) filePath(s Setting, v string) string {
	if !s.Path || filepath.IsAbs(v) {
		return v
	}
	return filepath.Join(filepath.Dir(l.file.path), v)
}

// secret resolves a secret from, in order: its file flag, the environment
// (NAME or NAME_FILE), the YAML file (key or key_file). The value and the
// file of one source together are ambiguous, hence an error; a stronger
// source simply hides a weaker one.
func (l *loader) secret(name string) Secret {
	s := l.byName[name]
	type source struct {
		origin           Origin
		value, file      string
		valueName, fName string // how the user wrote the two, for messages
		where            string // where the file name came from
	}
	var sources []source
	if v, ok := l.flags.get(s.FileFlag); ok {
		sources = append(sources, source{origin: OriginFlag, file: v, fName: "--" + s.FileFlag, where: "--" + s.FileFlag})
	}
	v, _ := l.env(s.Name)
	f, _ := l.env(s.FileName)
	sources = append(sources, source{origin: OriginEnv, value: v, file: f, valueName: s.Name, fName: s.FileName, where: s.FileName})
	fv, fok := l.file.values[s.Key]
	ff, ffok := l.file.values[s.FileKey]
	if fok || ffok {
		src := source{origin: OriginFile, value: fv.text, valueName: s.Key, fName: s.FileKey,
			where: at(l.file.path, fv.line)}
		if ff.text != "" {
			src.file = l.filePath(Setting{Path: true}, ff.text)
			src.where = at(l.file.path, ff.line)
		}
		sources = append(sources, src)
	}

	for _, src := range sources {
		value, file := strings.TrimSpace(src.value), strings.TrimSpace(src.file)
		if value == "" && file == "" {
			continue
		}
		l.cfg.origins[name] = src.origin
		if value != "" && file != "" {
			l.where[name] = ""
			if src.origin == OriginFile {
				l.where[name] = l.file.path
			}
			l.problem(name, "both %s and %s are set: keep only one", src.valueName, src.fName)
			return Secret{}
		}
		if value != "" {
			l.where[name] = ""
			if src.origin == OriginFile {
				l.where[name] = src.where
			}
			return NewSecret(value)
		}
		content, err := readSecretFile(file)
		if err != nil {
			// Name the file variable and the path, never the content.
			where := ""
			if src.origin != OriginEnv {
				where = src.where
			}
			l.problems = append(l.problems, Problem{Name: s.FileName, Where: where,
				Message: fmt.Sprintf("cannot read %q: %s", file, reason(err))})
			return Secret{}
		}
		l.where[name] = src.where
		if content == "" {
			l.problem(name, "the file %q is empty: it should hold the secret alone", file)
			return Secret{}
		}
		return NewSecret(content)
	}
	return Secret{}
}

// readSecretFile returns a file's content without surrounding whitespace
// (editors and `echo` add a final newline).
func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxSecretFile+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxSecretFile {
		return "", fmt.Errorf("larger than %d KiB: is it the right file?", maxSecretFile>>10)
	}
	return strings.TrimSpace(string(b)), nil
}

// reason returns why a file operation failed without repeating the path.
func reason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// load fills l.cfg, setting by setting, in Settings order.
func (l *loader) load() {
	c := l.cfg
	run := l.purpose == ForRun

	c.SlackBotToken = l.secret(envSlackBotToken)
	c.SlackAppToken = l.secret(envSlackAppToken)
	c.SlackSigningSecret = l.secret(envSlackSigningSecret)
	if run {
		l.checkSlackSecrets()
	}
	l.resolveMode()

	c.SlackAPIURL = l.str(envSlackAPIURL)
	if run {
		l.checkAPIURL(c.SlackAPIURL)
	}
	c.Addr = l.str(envAddr)
	if run {
		l.checkAddr(c.Addr)
	}

	if redis := l.str(envRedisURL); redis != "" {
		// Kept as a Secret from here on: the URL may carry a password.
		c.RedisURL = NewSecret(redis)
		l.checkRedisURL(redis)
	}
	c.RedisPrefix = l.str(envRedisPrefix)
	c.DataFile = l.str(envData)
	if c.DataFile == "" {
		if d, ok := defaultDataFile(l.env); ok {
			c.DataFile = d
			c.origins[envData] = OriginDefault
		} else if l.purpose != ForDiagnose && !c.RedisURL.IsSet() {
			l.problem(envData, "no default: neither XDG_DATA_HOME nor HOME is set; set UPGRADEBOT_DATA to the store file (or REDIS_URL)")
		}
	}
	c.KBFile = l.str(envKBFile)
	if c.KBFile != "" {
		if fi, err := os.Stat(c.KBFile); err != nil {
			l.problem(envKBFile, "cannot read %q: %s", c.KBFile, reason(err))
		} else if fi.IsDir() {
			l.problem(envKBFile, "%q is a directory: name the knowledge-base file", c.KBFile)
		}
	}

	tz := l.str(envTimezone)
	if loc, err := time.LoadLocation(tz); err != nil {
		l.problem(envTimezone, "unknown time zone %q: use an IANA name such as Europe/Lisbon, America/New_York or UTC", tz)
	} else {
		c.Timezone = loc
	}
	// Cron specs are parsed by the scheduler, which knows their syntax; an
	// empty value never gets here, as empty means unset and these have defaults.
	c.ReminderSchedule = l.str(envReminderSchedule)
	c.DigestSchedule = l.str(envDigestSchedule)
	c.DigestChannel = l.str(envDigestChannel)
	if v := l.str(envMinReminderInterval); v != "" {
		d, err := time.ParseDuration(v)
		switch {
		case err != nil:
			l.problem(envMinReminderInterval, "%q is not a duration: write a number and a unit, such as 15m, 1h or 90s", v)
		case d <= 0:
			l.problem(envMinReminderInterval, "must be greater than 0, such as 15m")
		default:
			c.MinReminderInterval = d
		}
	}

	c.Admins = splitList(l.str(envAdmins))
	if bad := invalidIDs(c.Admins, "UW"); len(bad) > 0 {
		l.problem(envAdmins, "%s: Slack user ids look like U012AB3CD (profile → ⋮ → Copy member ID)", describeBad(bad, "is not a user id", "are not user ids"))
	}
	c.AllowedBots = splitList(l.str(envAllowedBots))
	if bad := invalidIDs(c.AllowedBots, "BA"); len(bad) > 0 && l.checks(envAllowedBots) {
		l.problem(envAllowedBots, "%s: use bot ids (B…, the bot_id of a message) or app ids (A…, Basic Information → App ID)", describeBad(bad, "is not a bot or app id", "are not bot or app ids"))
	}

	level := l.str(envLogLevel)
	lv := strings.ToLower(level)
	if lv == "warning" {
		lv = "warn"
	}
	if err := c.LogLevel.UnmarshalText([]byte(lv)); err != nil {
		c.LogLevel = slog.LevelInfo
		l.problem(envLogLevel, "%q is not a level: use debug, info, warn or error", level)
	}
	switch format := l.str(envLogFormat); strings.ToLower(format) {
	case "text":
		c.LogFormat = LogText
	case "json":
		c.LogFormat = LogJSON
	default:
		l.problem(envLogFormat, "%q is not a format: use text or json", format)
	}
	switch ocr := l.str(envOCR); strings.ToLower(ocr) {
	case "auto":
		c.OCR = OCRAuto
	case "on", "true", "yes", "1":
		c.OCR = OCROn
	case "off", "false", "no", "0":
		c.OCR = OCROff
	default:
		l.problem(envOCR, "%q is not on, off or auto (unset: on when Tesseract is found)", ocr)
	}
}

// Where each Slack credential lives in the app's settings, for messages.
const (
	hintBot = "the Bot User OAuth Token from OAuth & Permissions, xoxb-…"
	hintApp = "an app-level token from Basic Information → App-Level Tokens with scope connections:write, xapp-…"
	hintSig = "the Signing Secret from Basic Information → App Credentials"
)

// checkSlackSecrets checks the shape of the Slack secrets and that run has
// what it needs. Messages name token kinds by prefix only, never by value.
func (l *loader) checkSlackSecrets() {
	c := l.cfg
	if !c.SlackBotToken.IsSet() {
		if !l.failed(envSlackBotToken) {
			l.problem(envSlackBotToken, "required for run: set it (or SLACK_BOT_TOKEN_FILE) to %s", hintBot)
		}
	} else if msg := tokenShape(c.SlackBotToken.Reveal(), "xoxb-"); msg != "" {
		l.problem(envSlackBotToken, "%s", msg)
	}
	if c.SlackAppToken.IsSet() {
		if msg := tokenShape(c.SlackAppToken.Reveal(), "xapp-"); msg != "" {
			l.problem(envSlackAppToken, "%s", msg)
		}
	}
	if c.SlackSigningSecret.IsSet() {
		v := c.SlackSigningSecret.Reveal()
		switch {
		case strings.HasPrefix(v, "xox") || strings.HasPrefix(v, "xapp-"):
			l.problem(envSlackSigningSecret, "holds a token, not the signing secret: use %s", hintSig)
		case strings.ContainsAny(v, " \t\r\n\"'"):
			l.problem(envSlackSigningSecret, "contains spaces or quotes: copy %s alone", hintSig)
		}
	}
}

// failed reports whether a problem was already recorded for name or its _FILE
// variable, so that a missing file is not also reported as a missing token.
func (l *loader) failed(name string) bool {
	for _, p := range l.problems {
		if p.Name == name || p.Name == name+"_FILE" {
			return true
		}
	}
	return false
}

// tokenShape returns what is wrong with a Slack token expected to start with want, "" if nothing.
func tokenShape(v, want string) string {
	switch {
	case strings.ContainsAny(v, " \t\r\n\"'"):
		return "contains spaces or quotes: the token is one word starting with " + want
	case strings.HasPrefix(v, want):
		if len(v) <= len(want) {
			return "holds only the prefix " + want + ": copy the whole token"
		}
		return ""
	case want == "xoxb-" && strings.HasPrefix(v, "xapp-"):
		return "holds an app-level token (xapp-…), which belongs in SLACK_APP_TOKEN: use " + hintBot
	case want == "xapp-" && strings.HasPrefix(v, "xoxb-"):
		return "holds a bot token (xoxb-…), which belongs in SLACK_BOT_TOKEN: use " + hintApp
	case strings.HasPrefix(v, "xoxp-"):
		return "holds a user token (xoxp-…): the bot acts as itself; must start with " + want + " (" + hintFor(want) + ")"
	case strings.HasPrefix(v, "xoxe"):
		return "holds a configuration or refresh token (xoxe…): must start with " + want + " (" + hintFor(want) + ")"
	default:
		return "must start with " + want + " (" + hintFor(want) + ")"
	}
}

func hintFor(prefix string) string {
	if prefix == "xapp-" {
		return hintApp
	}
	return hintBot
}

// resolveMode sets Mode from UPGRADEBOT_MODE or infers it: an app token means
// Socket Mode, a signing secret HTTP mode. With both, the choice is the
// user's: guessing could silently drop the events of the other mode.
func (l *loader) resolveMode() {
	c := l.cfg
	run := l.purpose == ForRun
	app, sig := c.SlackAppToken.IsSet(), c.SlackSigningSecret.IsSet()
	raw := l.str(envMode)
	switch Mode(strings.ToLower(raw)) {
	case "":
	case ModeSocket:
		c.Mode = ModeSocket
		if run && !app && !l.failed(envSlackAppToken) {
			l.problem(envMode, "is socket, which needs SLACK_APP_TOKEN (or SLACK_APP_TOKEN_FILE): set it to %s, or use http with SLACK_SIGNING_SECRET", hintApp)
		}
		return
	case ModeHTTP:
		c.Mode = ModeHTTP
		if run && !sig && !l.failed(envSlackSigningSecret) {
			l.problem(envMode, "is http, which needs SLACK_SIGNING_SECRET (or SLACK_SIGNING_SECRET_FILE): set it to %s, or use socket with SLACK_APP_TOKEN", hintSig)
		}
		return
	default:
		if run {
			l.problem(envMode, "%q is not a mode: use socket (with SLACK_APP_TOKEN) or http (with SLACK_SIGNING_SECRET)", raw)
		}
		return
	}
	switch {
	case app && sig:
		if run {
			l.problem(envMode, "required when both SLACK_APP_TOKEN and SLACK_SIGNING_SECRET are set: set it to socket (Socket Mode) or http (Events API requests to /slack/events)")
		}
	case app:
		c.Mode = ModeSocket
	case sig:
		c.Mode = ModeHTTP
	default:
		if run && !l.failed(envSlackAppToken) && !l.failed(envSlackSigningSecret) {
			l.problems = append(l.problems, Problem{Name: envSlackAppToken + " or " + envSlackSigningSecret,
				Message: "one is required for run: SLACK_APP_TOKEN for Socket Mode (" + hintApp + "), or SLACK_SIGNING_SECRET for HTTP mode (" + hintSig + ")"})
		}
	}
}

func (l *loader) checkAPIURL(v string) {
	u, err := url.Parse(v)
	switch {
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		l.problem(envSlackAPIURL, "%q is not an http(s) URL: use the Web API base URL, such as https://slack.com/api/", redactURL(v))
	case !strings.HasSuffix(v, "/"):
		l.problem(envSlackAPIURL, "must end with / (such as https://slack.com/api/): method names are appended to it")
	}
}

func (l *loader) checkAddr(v string) {
	_, port, err := net.SplitHostPort(v)
	if err != nil {
		l.problem(envAddr, "%q is not host:port: use a listen address such as :3000 or 127.0.0.1:3000", v)
		return
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		l.problem(envAddr, "port %q is not a number from 0 to 65535", port)
	}
}

// checkRedisURL checks REDIS_URL. Messages show the URL with its userinfo
// replaced, and leave out the parser's detail when there is userinfo, since
// net/url quotes the offending part (a bad escape in a password, say).
func (l *loader) checkRedisURL(raw string) {
	const form = "redis://[user:password@]host:port[/db] or rediss://… for TLS"
	shown := redactURL(raw)
	u, err := url.Parse(raw)
	if err != nil {
		detail := ""
		var ue *url.Error
		if shown == raw && errors.As(err, &ue) {
			detail = " (" + ue.Err.Error() + ")"
		}
		l.problem(envRedisURL, "%q is not a valid URL%s: use %s", shown, detail, form)
		return
	}
	switch {
	case u.Scheme != "redis" && u.Scheme != "rediss":
		l.problem(envRedisURL, "%q must start with redis:// or rediss:// (TLS): use %s", shown, form)
	case u.Hostname() == "":
		l.problem(envRedisURL, "%q has no host: use %s", shown, form)
	default:
		if db := strings.TrimPrefix(u.Path, "/"); db != "" {
			if n, err := strconv.Atoi(db); err != nil || n < 0 {
				l.problem(envRedisURL, "%q: the path must be a database number, as in redis://localhost:6379/1", shown)
			}
		}
	}
}

// defaultDataFile is upgradebot.db in the user's data directory: XDG_DATA_HOME
// (only when absolute, as the XDG spec says), else ~/.local/share, else
// %LOCALAPPDATA% on Windows.
func defaultDataFile(env func(string) (string, bool)) (string, bool) {
	if d, ok := env("XDG_DATA_HOME"); ok && filepath.IsAbs(d) {
		return filepath.Join(d, "upgradebot", "upgradebot.db"), true
	}
	if h, ok := env("HOME"); ok && h != "" {
		return filepath.Join(h, ".local", "share", "upgradebot", "upgradebot.db"), true
	}
	if runtime.GOOS == "windows" {
		if d, ok := env("LOCALAPPDATA"); ok && d != "" {
			return filepath.Join(d, "upgradebot", "upgradebot.db"), true
		}
	}
	return "", false
}

// splitList splits ids separated by commas and/or whitespace.
func splitList(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == ';'
	})
}

// invalidIDs returns the ids that are not Slack ids starting with one of prefixes:
// an uppercase letter then at least two uppercase letters or digits.
func invalidIDs(ids []string, prefixes string) []string {
	var bad []string
	for _, id := range ids {
		ok := len(id) >= 3 && strings.ContainsRune(prefixes, rune(id[0]))
		for i := 1; ok && i < len(id); i++ {
			ok = (id[i] >= 'A' && id[i] <= 'Z') || (id[i] >= '0' && id[i] <= '9')
		}
		if !ok {
			bad = append(bad, id)
		}
	}
	return bad
}

func describeBad(bad []string, one, many string) string {
	quoted := make([]string, len(bad))
	for i, b := range bad {
		quoted[i] = strconv.Quote(b)
	}
	if len(bad) == 1 {
		return quoted[0] + " " + one
	}
	return strings.Join(quoted, ", ") + " " + many
}
