package config

import (
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/upgradebot/upgradebot/progress"
	"github.com/upgradebot/upgradebot/scheduler"
)

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
	if _, err := os.ReadFile(c.KBFile); c.KBFile != "" && err != nil {
		l.problem("UPGRADEBOT_KB_FILE", "cannot read %q: %s: name the knowledge-base file", c.KBFile, errors.Unwrap(err))
	}
	l.checkSchedules()
	if c.MinReminderInterval <= 0 && !l.failed("UPGRADEBOT_MIN_REMINDER_INTERVAL") {
		l.problem("UPGRADEBOT_MIN_REMINDER_INTERVAL", "must be greater than 0, such as 15m")
	}
	// Slack ids: a letter, then at least two upper-case letters or digits.
	for _, ids := range []struct {
		name, first, hint string
		list              IDs
	}{
		{"UPGRADEBOT_ADMINS", "UW", "Slack user ids look like U012AB3CD (profile → ⋮ → Copy member ID)", c.Admins},
		{"UPGRADEBOT_ALLOWED_BOTS", "BA", "use bot ids (B…, the bot_id of a message) or app ids (A…, Basic Information → App ID)", c.AllowedBots},
		{"UPGRADEBOT_DIGEST_CHANNEL", "CGD", "use the channel's id, like C012AB3CD (channel details → About → Channel ID): Slack takes the digest's charts only by id", strings.Fields(c.DigestChannel)},
	} {
		if ids.name != "UPGRADEBOT_ALLOWED_BOTS" && l.purpose != ForRun {
			continue // the shell's users and channels are names (--user, $USER, --channel)
		}
		var bad []string
		for _, id := range ids.list {
			if ok, _ := regexp.MatchString("^["+ids.first+"][A-Z0-9]{2,}$", id); !ok {
				bad = append(bad, strconv.Quote(id))
			}
		}
		if bad != nil {
			l.problem(ids.name, "not valid: %s: %s", strings.Join(bad, ", "), ids.hint)
		}
	}
	l.oneOf("UPGRADEBOT_LOG_FORMAT", &c.LogFormat, "is not a format: use text or json", LogText, LogJSON)
	l.oneOf("UPGRADEBOT_OCR", &c.OCR, "is not on, off or auto (unset: on when Tesseract is found)", OCRAuto, OCROn, OCROff)
}

// checkSchedules checks the schedules as the scheduler will (its minimum too), with the other problems.
func (l *loader) checkSchedules() {
	c := l.cfg
	// time.LoadLocation takes "Local" as the host's zone, which is UTC in
	// most containers, and the library's copy of it has no name.
	if l.vars["UPGRADEBOT_TIMEZONE"] == "Local" {
		l.problem("UPGRADEBOT_TIMEZONE", "%q (the host's zone) is not allowed: it differs from host to host and is UTC in most containers; name the schedules' zone with an IANA name such as Europe/Lisbon, or UTC", l.vars["UPGRADEBOT_TIMEZONE"])
		c.Timezone = nil // not reported twice below: the schedules are checked in UTC
	}
	for _, s := range []struct{ name, spec string }{
		{"UPGRADEBOT_REMINDER_SCHEDULE", c.ReminderSchedule},
		{"UPGRADEBOT_DIGEST_SCHEDULE", c.DigestSchedule},
	} {
		if _, err := scheduler.Validate(s.spec, c.Timezone, c.MinReminderInterval, time.Now()); err != nil {
			l.problem(s.name, "%v", err)
		}
	}
}

// oneOf lowercases *v and reports a problem unless it is one of allowed.
func (l *loader) oneOf(name string, v *string, hint string, allowed ...string) {
	*v = strings.ToLower(*v)
	if !slices.Contains(allowed, *v) {
		l.problem(name, "%q %s", l.vars[name], hint)
	}
}

// checkDataFile reports a store path whose folder does not exist (a typo?), rather than creating it, or a folder.
func (l *loader) checkDataFile(path string) {
	dir := filepath.Dir(path)
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		l.problem("UPGRADEBOT_DATA", "%q is a folder: name the store file in it, such as %s", path, filepath.Join(path, "upgradebot.db"))
	} else if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		l.problem("UPGRADEBOT_DATA", "the folder %q of %q does not exist or is not a folder: create it, or correct the path", dir, path)
	}
}

// defaultDataFile is upgradebot.db in the user's data directory: XDG_DATA_HOME when absolute (the XDG spec),
// else ~/.local/share, else %LOCALAPPDATA% (Windows, where HOME is rarely set); "" when none is set.
func defaultDataFile(vars map[string]string) (string, bool) {
	dir := filepath.Join(vars["HOME"], ".local", "share")
	switch {
	case filepath.IsAbs(vars["XDG_DATA_HOME"]):
		dir = vars["XDG_DATA_HOME"]
	case vars["HOME"] == "" && vars["LOCALAPPDATA"] == "":
		return "", false
	case vars["HOME"] == "":
		dir = vars["LOCALAPPDATA"]
	}
	return filepath.Join(dir, "upgradebot", "upgradebot.db"), true
}

// Where each Slack credential lives in the app's settings, for messages.
const (
	hintBot = "the Bot User OAuth Token from OAuth & Permissions, xoxb-…"
	hintApp = "an app-level token from Basic Information → App-Level Tokens with scope connections:write, xapp-…"
	hintSig = "the Signing Secret from Basic Information → App Credentials"
)

// checkSlack checks the Slack settings; Load drops these problems for the commands without Slack. Messages never show the values.
func (l *loader) checkSlack() {
	c := l.cfg
	if !c.SlackBotToken.IsSet() && !l.failed("SLACK_BOT_TOKEN") {
		l.problem("SLACK_BOT_TOKEN", "required for run: set it (or SLACK_BOT_TOKEN_FILE) to %s", hintBot)
	}
	for _, t := range []struct{ name, v, prefix, hint string }{
		{"SLACK_BOT_TOKEN", c.SlackBotToken.Reveal(), "xoxb-", hintBot},
		{"SLACK_APP_TOKEN", c.SlackAppToken.Reveal(), "xapp-", hintApp},
	} {
		if t.v != "" && (!strings.HasPrefix(t.v, t.prefix) || t.v == t.prefix || strings.ContainsAny(t.v, " \t\r\n\"'")) {
			l.problem(t.name, "must start with %s (%s) and be the whole token: one word, without spaces or quotes", t.prefix, t.hint)
		}
	}
	if v := c.SlackSigningSecret.Reveal(); strings.HasPrefix(v, "xox") || strings.HasPrefix(v, "xapp-") || strings.ContainsAny(v, " \t\r\n\"'") {
		l.problem("SLACK_SIGNING_SECRET", "is not the signing secret alone (a token, or spaces or quotes): copy %s", hintSig)
	}
	l.resolveMode()
	if u, err := url.Parse(c.SlackAPIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || !strings.HasSuffix(c.SlackAPIURL, "/") {
		l.urlProblem("SLACK_API_URL", c.SlackAPIURL, "must be an http(s) URL and must end with / (method names are appended to it)", "use the Web API base URL, such as https://slack.com/api/")
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil {
		l.problem("UPGRADEBOT_ADDR", "%q is not host:port: use a listen address such as :3000 or 127.0.0.1:3000", c.Addr)
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		l.problem("UPGRADEBOT_ADDR", "port %q is not a number from 0 to 65535", port)
	}
}

// resolveMode checks UPGRADEBOT_MODE or infers it: an app token means Socket
// Mode, a signing secret HTTP mode. With both, the choice is the user's:
// guessing could silently drop the events of the other mode.
func (l *loader) resolveMode() {
	c := l.cfg
	app, sig, raw := c.SlackAppToken.IsSet(), c.SlackSigningSecret.IsSet(), c.Mode
	c.Mode = strings.ToLower(raw)
	switch {
	case c.Mode == ModeSocket && !app && !l.failed("SLACK_APP_TOKEN"):
		l.problem("UPGRADEBOT_MODE", "is socket, which needs SLACK_APP_TOKEN (or SLACK_APP_TOKEN_FILE): set it to %s, or use http with SLACK_SIGNING_SECRET", hintApp)
	case c.Mode == ModeHTTP && !sig && !l.failed("SLACK_SIGNING_SECRET"):
		l.problem("UPGRADEBOT_MODE", "is http, which needs SLACK_SIGNING_SECRET (or SLACK_SIGNING_SECRET_FILE): set it to %s, or use socket with SLACK_APP_TOKEN", hintSig)
	case c.Mode == ModeSocket || c.Mode == ModeHTTP:
	case c.Mode != "":
		l.problem("UPGRADEBOT_MODE", "%q is not a mode: use socket (with SLACK_APP_TOKEN) or http (with SLACK_SIGNING_SECRET)", raw)
	case app && sig:
		l.problem("UPGRADEBOT_MODE", "required when both SLACK_APP_TOKEN and SLACK_SIGNING_SECRET are set: set it to socket (Socket Mode) or http (Events API requests to /slack/events)")
	case app:
		c.Mode = ModeSocket
	case sig:
		c.Mode = ModeHTTP
	case !l.failed("SLACK_APP_TOKEN") && !l.failed("SLACK_SIGNING_SECRET") && l.purpose == ForRun:
		l.problem("SLACK_APP_TOKEN or SLACK_SIGNING_SECRET", "one is required for run: SLACK_APP_TOKEN for Socket Mode (%s), or SLACK_SIGNING_SECRET for HTTP mode (%s)", hintApp, hintSig)
	}
	if l.purpose != ForRun {
		c.Mode = ""
	}
}

// checkRedis checks the Redis URLs with the parsers the store uses.
func (l *loader) checkRedis() {
	c, name, raw := l.cfg, "REDIS_URL", l.cfg.RedisURL.Reveal()
	if c.RedisClusterURL.IsSet() {
		name, raw = "REDIS_CLUSTER_URL", c.RedisClusterURL.Reveal()
	}
	if ve, ok := errors.AsType[*progress.ValidationError](progress.CheckPrefix(c.RedisPrefix)); ok && raw != "" && c.RedisPrefix != "" {
		l.problem("UPGRADEBOT_REDIS_PREFIX", "%q %s, such as upgradebot-prod", c.RedisPrefix, ve.Problem)
	}
	if c.RedisURL.IsSet() && c.RedisClusterURL.IsSet() {
		l.problem("REDIS_CLUSTER_URL", "set together with REDIS_URL: keep REDIS_CLUSTER_URL for a Redis Cluster, or REDIS_URL for one server or a Sentinel")
	} else if s, _, err := progress.OpenRedis(c.RedisURL.Reveal(), c.RedisClusterURL.Reveal(), progress.RedisOptions{Prefix: c.RedisPrefix}); err == nil {
		s.Close() // a client dials only when used
	} else if ve, ok := errors.AsType[*progress.ValidationError](err); ok && raw != "" && ve.Field != "redis prefix" {
		l.urlProblem(name, raw, ve.Problem, "use redis:// or rediss:// (TLS), as in redis://[user:password@]host:port[/db][?master_name=NAME&addr=sentinel2:port], or for a Cluster redis://[user:password@]host:port?addr=host2:port2&addr=… (a password's #, ? and / written %23, %3F, %2F)")
	}
}

// shownURL is what of a URL that may hold a password can be shown, scheme://host:port/path; "" when it has no
// scheme and host, or an "@" outside its user part (a password holding "/", "?" or "#" ends the host).
func shownURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" ||
		strings.Contains(u.Path, "@") || u.User == nil && strings.Contains(raw, "@") {
		return ""
	}
	return u.Scheme + "://" + u.Host + u.EscapedPath()
}

// urlProblem reports problem with the URL setting name, its value shown as shownURL allows.
func (l *loader) urlProblem(name, raw, problem, hint string) {
	shown := "(the value is not shown, as it may hold a password)"
	if s := shownURL(raw); s != "" {
		shown = strconv.Quote(s)
	}
	l.problem(name, "%s %s: %s", shown, problem, hint)
}
