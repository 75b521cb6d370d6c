package config

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestSecretFormatting(t *testing.T) {
	s := NewSecret("xoxb-TOPSECRET")
	var zero Secret
	cases := []struct {
		name string
		got  string
		want string
	}{
		{"String", s.String(), "[redacted]"},
		{"unset", zero.String(), "[unset]"},
		{"%v", fmt.Sprintf("%v", s), "[redacted]"},
		{"%s", fmt.Sprintf("%s", s), "[redacted]"},
		{"%q", fmt.Sprintf("%q", s), `"[redacted]"`},
		{"%#v", fmt.Sprintf("%#v", s), "[redacted]"},
		{"%x", fmt.Sprintf("%x", s), "[redacted]"},
		{"%d", fmt.Sprintf("%d", s), "[redacted]"},
		{"pointer", fmt.Sprintf("%v", &s), "[redacted]"},
		{"Reveal", s.Reveal(), "xoxb-TOPSECRET"},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	b, err := json.Marshal(map[string]any{"s": s, "z": zero})
	if err != nil || string(b) != `{"s":"[redacted]","z":"[unset]"}` {
		t.Errorf("json = %s, %v", b, err)
	}
	if !s.IsSet() || zero.IsSet() {
		t.Error("IsSet is wrong")
	}
}

// TestSecretsNeverPrinted loads distinctive secrets and looks for them in
// every way a Config or an error is commonly printed.
func TestSecretsNeverPrinted(t *testing.T) {
	const (
		bot   = "xoxb-111-SEKRIT-BOT-zz9"
		app   = "xapp-1-SEKRIT-APP-zz9"
		sig   = "SEKRITSIGNINGzz9"
		redis = "SEKRITREDISPWzz9"
	)
	dir := t.TempDir()
	botFile := writeFile(t, dir, "bot", bot+"\n")
	redisFile := writeFile(t, dir, "redis", "redis://default:"+redis+"@s1:26379/1?master_name=m&password="+redis+"\n")
	envs := map[string]map[string]string{
		"sentinel": {
			"HOME":                 "/h",
			"SLACK_BOT_TOKEN_FILE": botFile,
			"SLACK_APP_TOKEN":      app,
			"SLACK_SIGNING_SECRET": sig,
			"UPGRADEBOT_MODE":      "socket",
			"REDIS_URL_FILE":       redisFile,
		},
		"cluster": {
			"HOME":              "/h",
			"SLACK_BOT_TOKEN":   bot,
			"SLACK_APP_TOKEN":   app,
			"REDIS_CLUSTER_URL": "redis://u:" + redis + "@r1:7000?addr=r2:7001",
		},
	}
	for name, env := range envs {
		c := mustLoad(t, ForRun, nil, env)
		var text, js bytes.Buffer
		slog.New(slog.NewTextHandler(&text, nil)).Info("start", "config", c, "value", *c)
		slog.New(slog.NewJSONHandler(&js, nil)).Info("start", "config", c, "value", *c)
		jsonConfig, _ := json.Marshal(c)
		xmlConfig, _ := xml.Marshal(struct{ S Secret }{c.SlackBotToken})
		outputs := map[string]string{
			"%v":         fmt.Sprintf("%v", c),
			"%+v":        fmt.Sprintf("%+v", c),
			"%#v":        fmt.Sprintf("%#v", c),
			"%v value":   fmt.Sprintf("%v", *c),
			"%+v value":  fmt.Sprintf("%+v", *c),
			"%s secrets": fmt.Sprintf("%s", struct{ A, B Secret }{c.RedisURL, c.RedisClusterURL}),
			"%x secrets": fmt.Sprintf("%x", struct{ A, B Secret }{c.RedisURL, c.RedisClusterURL}),
			"%d secrets": fmt.Sprintf("%d", struct{ A, B Secret }{c.SlackBotToken, c.RedisURL}),
			"slog text":  text.String(),
			"slog json":  js.String(),
			"json":       string(jsonConfig),
			"xml":        string(xmlConfig),
			"LogValue":   c.LogValue().String(),
			"Secret %+v": fmt.Sprintf("%+v", struct{ A, B Secret }{c.SlackAppToken, c.SlackSigningSecret}),
		}
		for out, text := range outputs {
			for _, secret := range []string{bot, app, sig, redis, "SEKRIT"} {
				if strings.Contains(text, secret) {
					t.Errorf("%s: %s prints a secret:\n%s", name, out, text)
				}
			}
		}
		if !strings.Contains(text.String(), "[redacted]") || !strings.Contains(text.String(), ":26379") && !strings.Contains(text.String(), ":7000") {
			t.Errorf("%s: slog output should show redacted secrets and the Redis host:\n%s", name, text.String())
		}
	}

	// Errors, with the same secrets in the wrong places.
	bad := []map[string]string{{
		"HOME":                 "/h",
		"SLACK_BOT_TOKEN":      app,            // swapped
		"SLACK_SIGNING_SECRET": bot,            // a token as the secret
		"SLACK_APP_TOKEN_FILE": botFile + "/x", // unreadable
		"REDIS_URL":            "http://default:" + redis + "@redis:6379/1",
		"SLACK_API_URL":        "http://user:" + sig + "@proxy.example/api", // no final /
	}, {
		"HOME":            "/h",
		"SLACK_BOT_TOKEN": "xoxb-" + sig + " x", // a space
		"SLACK_APP_TOKEN": bot,
		"REDIS_URL":       "redis://default:" + redis + "%zz@redis:6379/1",
		"SLACK_API_URL":   "user:" + sig + "@proxy.example/api/", // no scheme
	}, {
		"HOME":              "/h",
		"SLACK_APP_TOKEN":   "xoxp-" + sig,
		"REDIS_CLUSTER_URL": "redis://default:" + redis + "@r1:7000?addr=r2&password=" + redis,
	}, {
		"HOME":      "/h",
		"REDIS_URL": "redis://s1:26379?master_name=m&password=" + redis + "&dial_timeout=" + redis,
	}, {
		"HOME":           "/h",
		"REDIS_URL_FILE": writeFile(t, dir, "redis-password", redis+"\n"), // the password instead of the URL
	}, {
		"HOME":      "/h",
		"REDIS_URL": "redis://:" + redis[:8] + "?x=" + redis[8:] + "@127.0.0.1:6379/8", // "?" in the password
	}}
	for i, env := range bad {
		_, err := load(t, ForRun, nil, env)
		if err == nil {
			t.Fatalf("%d: want an error", i)
		}
		for _, secret := range []string{bot, app, sig, redis, "SEKRIT"} {
			if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprintf("%+v", err), secret) {
				t.Errorf("%d: error prints a secret:\n%v", i, err)
			}
		}
	}
}

// A secret file saved by an editor with a byte-order mark, or Windows line
// endings, holds the secret alone.
func TestSecretFileBOM(t *testing.T) {
	const bot = "xoxb-111-SEKRIT-BOT-zz9"
	dir := t.TempDir()
	for name, content := range map[string]string{"bom": "\uFEFF" + bot + "\n", "crlf": bot + "\r\n"} {
		c := mustLoad(t, ForShell, nil, map[string]string{"HOME": "/h", "SLACK_BOT_TOKEN_FILE": writeFile(t, dir, name, content)})
		if c.SlackBotToken.Reveal() != bot {
			t.Errorf("%s: the token read is %q", name, c.SlackBotToken.Reveal())
		}
	}
}
