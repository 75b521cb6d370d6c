package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
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

// Where each Slack credential lives in the app's settings, for messages.
const (
	hintBot = "the Bot User OAuth Token from OAuth & Permissions, xoxb-…"
	hintApp = "an app-level token from Basic Information → App-Level Tokens with scope connections:write, xapp-…"
	hintSig = "the Signing Secret from Basic Information → App Credentials"
)

// checkSlack checks the Slack settings; Load drops these problems for the
// commands without Slack. Messages name token kinds by prefix, never values.
func (l *loader) checkSlack() {
	c := l.cfg
	if !c.SlackBotToken.IsSet() && !l.failed("SLACK_BOT_TOKEN") {
		l.problem("SLACK_BOT_TOKEN", "required for run: set it (or SLACK_BOT_TOKEN_FILE) to %s", hintBot)
	}
	l.tokenShape("SLACK_BOT_TOKEN", c.SlackBotToken.Reveal(), "xoxb-", hintBot)
	l.tokenShape("SLACK_APP_TOKEN", c.SlackAppToken.Reveal(), "xapp-", hintApp)
	if v := c.SlackSigningSecret.Reveal(); strings.HasPrefix(v, "xox") || strings.HasPrefix(v, "xapp-") {
		l.problem("SLACK_SIGNING_SECRET", "holds a token, not the signing secret: use %s", hintSig)
	} else if strings.ContainsAny(v, " \t\r\n\"'") {
		l.problem("SLACK_SIGNING_SECRET", "contains spaces or quotes: copy %s alone", hintSig)
	}
	l.resolveMode()
	if u, err := url.Parse(c.SlackAPIURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		l.problem("SLACK_API_URL", "%q is not an http(s) URL: use the Web API base URL, such as https://slack.com/api/", redactURL(c.SlackAPIURL))
	} else if !strings.HasSuffix(c.SlackAPIURL, "/") {
		l.problem("SLACK_API_URL", "must end with / (such as https://slack.com/api/): method names are appended to it")
	}
	if _, port, err := net.SplitHostPort(c.Addr); err != nil {
		l.problem("UPGRADEBOT_ADDR", "%q is not host:port: use a listen address such as :3000 or 127.0.0.1:3000", c.Addr)
	} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		l.problem("UPGRADEBOT_ADDR", "port %q is not a number from 0 to 65535", port)
	}
}

// tokenShape reports what is wrong with a set Slack token expected to start with want.
func (l *loader) tokenShape(name, v, want, hint string) {
	kinds := map[string]string{"xoxb-": "a bot token (xoxb-…), which belongs in SLACK_BOT_TOKEN", "xapp-": "an app-level token (xapp-…), which belongs in SLACK_APP_TOKEN",
		"xoxp-": "a user token (xoxp-…): the bot acts as itself", "xoxe": "a configuration or refresh token (xoxe…)"}
	switch {
	case v == "" || strings.HasPrefix(v, want) && len(v) > len(want) && !strings.ContainsAny(v, " \t\r\n\"'"):
	case strings.ContainsAny(v, " \t\r\n\"'"):
		l.problem(name, "contains spaces or quotes: the token is one word starting with %s", want)
	case v == want:
		l.problem(name, "holds only the prefix %s: copy the whole token", want)
	default:
		for prefix, kind := range kinds {
			if strings.HasPrefix(v, prefix) {
				l.problem(name, "holds %s; it must start with %s (%s)", kind, want, hint)
				return
			}
		}
		l.problem(name, "must start with %s (%s)", want, hint)
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

// RedisKind names the kind of Redis the settings point at: "one server", "sentinel", "cluster", or "" for the embedded store.
func (c *Config) RedisKind() string {
	u, err := url.Parse(c.RedisURL.Reveal())
	switch {
	case c.RedisClusterURL.IsSet():
		return "cluster"
	case !c.RedisURL.IsSet():
		return ""
	case err == nil && u.Query().Has("master_name"):
		return "sentinel"
	}
	return "one server"
}

// RedisClient returns a client for REDIS_URL or REDIS_CLUSTER_URL, parsed by
// go-redis, nil for the embedded store. It does not contact Redis. Unless the
// URL says otherwise, a failed command is retried once and a refused dial
// tried twice, so an outage is reported well within Slack's three seconds.
func (c *Config) RedisClient() (redis.UniversalClient, error) {
	kind, name, raw := c.RedisKind(), "REDIS_URL", c.RedisURL.Reveal()
	if kind == "cluster" {
		name, raw = "REDIS_CLUSTER_URL", c.RedisClusterURL.Reveal()
	}
	// go-redis takes a missing host for localhost: a typo, more likely.
	if u, err := url.Parse(raw); kind != "" && err == nil && u.Hostname() == "" {
		return nil, redisError(name, raw, nil)
	}
	var client redis.UniversalClient
	var err error
	switch kind {
	case "cluster":
		var o *redis.ClusterOptions
		if o, err = redis.ParseClusterURL(raw); err == nil {
			o.DialerRetries, o.MaxRetries = orDefault(o.DialerRetries, 2), orDefault(o.MaxRetries, 1)
			client = redis.NewClusterClient(o)
		}
	case "sentinel":
		var o *redis.FailoverOptions
		if o, err = redis.ParseFailoverURL(raw); err == nil {
			if o.Username == "" && o.Password == "" {
				// No username= or password= for the master: it takes the sentinels' (CONTRACTS.md).
				o.Username, o.Password = o.SentinelUsername, o.SentinelPassword
			}
			o.DialerRetries, o.MaxRetries = orDefault(o.DialerRetries, 2), orDefault(o.MaxRetries, 1)
			client = redis.NewFailoverClient(o)
		}
	case "one server":
		var o *redis.Options
		if o, err = redis.ParseURL(raw); err == nil {
			o.DialerRetries, o.MaxRetries = orDefault(o.DialerRetries, 2), orDefault(o.MaxRetries, 1)
			client = redis.NewClient(o)
		}
	}
	if err != nil {
		return nil, redisError(name, raw, err)
	}
	return client, nil
}

// orDefault is v, or def when v is zero (not given in the URL).
func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// checkRedis checks the Redis URLs with the parsers the client uses.
func (l *loader) checkRedis() {
	if l.cfg.RedisURL.IsSet() && l.cfg.RedisClusterURL.IsSet() {
		l.problem("REDIS_CLUSTER_URL", "set together with REDIS_URL: keep REDIS_CLUSTER_URL for a Redis Cluster, or REDIS_URL for one server or a Sentinel")
	} else if client, err := l.cfg.RedisClient(); err != nil {
		l.problems = append(l.problems, err.(Problem))
	} else if client != nil {
		client.Close() // a client dials only when used
	}
}

// quoted matches what an error message quotes: the URL, or a mistyped password parameter.
var quoted = regexp.MustCompile(`"[^"]*"`)

// redisError explains a URL go-redis refused (err nil: it has no host),
// showing it redacted and nothing the parser quotes.
func redisError(name, raw string, err error) Problem {
	form := "redis:// or rediss:// (TLS), as in redis://[user:password@]host:port[/db][?master_name=NAME&addr=sentinel2:port]"
	if name == "REDIS_CLUSTER_URL" {
		form = "redis:// or rediss:// (TLS), as in redis://[user:password@]host:port?addr=host2:port2&addr=…"
	}
	detail, ue := "has no host", &url.Error{}
	if errors.As(err, &ue) {
		detail = "is not a valid URL (" + quoted.ReplaceAllString(ue.Err.Error(), `"…"`) + ")"
	} else if err != nil {
		detail = quoted.ReplaceAllString(strings.TrimPrefix(err.Error(), "redis: "), `"…"`)
	}
	return Problem{name, fmt.Sprintf("%q %s: use %s", redactURL(raw), detail, form)}
}

// redactURL hides the userinfo of a URL, even one that does not parse
// (everything between "://" and the last "@", as a password may hold "/" or
// "@"), and the values of query parameters but master_name and addr.
func redactURL(raw string) string {
	if base, query, ok := strings.Cut(raw, "?"); ok {
		params := strings.Split(query, "&")
		for i, p := range params {
			if k, _, ok := strings.Cut(p, "="); ok && k != "master_name" && k != "addr" {
				params[i] = k + "=[redacted]"
			}
		}
		raw = base + "?" + strings.Join(params, "&")
	}
	start := strings.Index(raw, "://") + 1 // 0 without a scheme
	if start > 0 {
		start += 2
	}
	if at := strings.LastIndex(raw[start:], "@"); at >= 0 {
		return raw[:start] + "[redacted]@" + raw[start+at+1:]
	}
	return raw
}
