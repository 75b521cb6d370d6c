package config

import (
	"net"
	"net/url"
	"strconv"
	"strings"
)

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
