package config

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/redis/go-redis/v9"
)

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
