package config

import (
	"errors"
	"flag"
	"io"
	"maps"
	"os"
	"path/filepath"
	"testing"
)

// with returns a copy of base with the pairs of kv (name, value, name, value…) set.
func with(base map[string]string, kv ...string) map[string]string {
	m := maps.Clone(base)
	if m == nil {
		m = map[string]string{}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// without returns a copy of base without the names.
func without(base map[string]string, names ...string) map[string]string {
	m := maps.Clone(base)
	for _, n := range names {
		delete(m, n)
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
	env = maps.Clone(env)
	if env == nil {
		env = map[string]string{}
	}
	RegisterFlags(fs, env)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return Load(p, env)
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

// names returns the variables the problems name, in order.
func names(ps []Problem) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
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

func settingByName(t *testing.T, name string) Setting {
	t.Helper()
	for _, s := range Settings() {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no setting %s", name)
	return Setting{}
}
