package config

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// envOf returns a LookupEnv over m, so tests never read the process environment.
func envOf(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// with returns a copy of base with the pairs of kv (name, value, name, value…) set.
func with(base map[string]string, kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// runEnv is a minimal valid environment for run.
var runEnv = map[string]string{
	"HOME":            "/home/op",
	"SLACK_BOT_TOKEN": "xoxb-1-bot",
	"SLACK_APP_TOKEN": "xapp-1-app",
}

// load parses args with the registered flags and loads the configuration.
func load(t *testing.T, p Purpose, args []string, env map[string]string) (*Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return Load(p, Sources{Flags: f, LookupEnv: envOf(env)})
}

// mustLoad is load that fails the test on an error.
func mustLoad(t *testing.T, p Purpose, args []string, env map[string]string) *Config {
	t.Helper()
	c, err := load(t, p, args, env)
	if err != nil {
		t.Fatalf("Load: unexpected error:\n%v", err)
	}
	return c
}

// problems returns the problems of a Load error, failing the test when there is none.
func problems(t *testing.T, err error) []Problem {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want a *ValidationError, got %T: %v", err, err)
	}
	return ve.Problems
}

// findProblem returns the first problem naming name.
func findProblem(ps []Problem, name string) (Problem, bool) {
	for _, p := range ps {
		if p.Name == name {
			return p, true
		}
	}
	return Problem{}, false
}

// writeFile writes content to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// yamlOf builds a YAML mapping from key/value pairs, quoting every value.
func yamlOf(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		b.WriteString(kv[i] + ": " + quoteYAML(kv[i+1]) + "\n")
	}
	return b.String()
}

func quoteYAML(s string) string {
	return `"` + strings.ReplaceAll(strings.ReplaceAll(s, `\`, `\\`), `"`, `\"`) + `"`
}
