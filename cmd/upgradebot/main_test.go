package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

type result struct {
	code           int
	stdout, stderr string
}

// run runs the binary's main logic with the given arguments, input and environment.
func run(t *testing.T, stdin string, environ map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	if environ == nil {
		environ = map[string]string{}
	}
	if _, ok := environ["HOME"]; !ok {
		environ["HOME"] = t.TempDir()
	}
	e := env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, lookupEnv: func(k string) (string, bool) {
		v, ok := environ[k]
		return v, ok
	}}
	code := runMain(context.Background(), args, e)
	return result{code, out.String(), errOut.String()}
}

func TestDiagnoseJSON(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "paste.txt")
	paste := "hi all\nOld Producer: Producer module 'Billing_CS' hasn't been prepared for the current OutSystems environment version.\n26 modules prepared successfully, 1 modules failed and 3 modules skipped."
	if err := os.WriteFile(file, []byte(paste), 0o600); err != nil {
		t.Fatal(err)
	}
	want := `{"findings":[{"id":"producer-not-prepared","module":"Billing_CS"},{"id":"preparation-summary","prepared":26,"failed":1,"skipped":3}]}`
	cases := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"file", "", []string{"diagnose", "--json", file}, want},
		{"flag after file", "", []string{"diagnose", file, "--json"}, want},
		{"stdin dash", paste, []string{"diagnose", "--json", "-"}, want},
		{"stdin default", paste, []string{"diagnose", "--json"}, want},
		{"global config flag first", paste, []string{"--log-level", "debug", "diagnose", "--json", "-"}, want},
		{"nothing found", "lunch at noon?", []string{"diagnose", "--json", "-"}, `{"findings":[]}`},
		{"empty input", "", []string{"diagnose", "--json", "-"}, `{"findings":[]}`},
		{"slack escapes", "The Delete module started by <mailto:ana@acme.com|ana@acme.com> at 10:15 can't proceed because there is an ongoing Modules upgrade, started by Compiler Service at 10:01, that is locking 'R&amp;D' module.", []string{"diagnose", "--json"},
			`{"findings":[{"id":"delete-blocked-by-preparation","user":"ana@acme.com","started_at":"10:15","upgrade_started_at":"10:01","module":"R&D"}]}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, c.stdin, nil, c.args...)
			if r.code != 0 {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			if got, want := contractJSON(t, r.stdout), contractJSON(t, c.want); !reflect.DeepEqual(got, want) {
				t.Errorf("got  %v\nwant %v", got, want)
			}
			if strings.Count(strings.TrimSpace(r.stdout), "\n") != 0 {
				t.Errorf("output is not exactly one JSON object on one line: %q", r.stdout)
			}
		})
	}
}

// contractJSON decodes the output and drops descriptive keys (title), so
// it compares with the contract's fields only.
func contractJSON(t *testing.T, out string) []map[string]any {
	t.Helper()
	var v struct {
		Findings []map[string]any `json:"findings"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("output %q is not JSON: %v", out, err)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value in %q", out)
	}
	if v.Findings == nil {
		t.Fatalf("no findings array in %q", out)
	}
	for _, f := range v.Findings {
		delete(f, "title")
	}
	return v.Findings
}

func TestDiagnoseText(t *testing.T) {
	r := run(t, "There was an error preparing your modules.", nil, "diagnose", "-")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"The modules preparation step itself failed", "What to do", "1. ", "https://"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("text output lacks %q:\n%s", want, r.stdout)
		}
	}
	r = run(t, "nothing to see", nil, "diagnose", "-")
	if r.code != 0 || !strings.Contains(r.stdout, "No known") {
		t.Errorf("no finding: exit %d, %q", r.code, r.stdout)
	}
}

func TestExitCodes(t *testing.T) {
	cases := []struct {
		name     string
		args     []string
		environ  map[string]string
		code     int
		stderrIn string
	}{
		{"unknown flag", []string{"diagnose", "--jsn"}, nil, 2, "jsn"},
		{"two files", []string{"diagnose", "a", "b"}, nil, 2, "one FILE"},
		{"unknown command", []string{"frobnicate"}, nil, 2, "unknown command"},
		{"missing file", []string{"diagnose", "/nonexistent/paste.txt"}, nil, 1, "/nonexistent/paste.txt"},
		{"bad kb file", []string{"diagnose", "-"}, map[string]string{"UPGRADEBOT_KB_FILE": "/nonexistent/kb.yaml"}, 1, "UPGRADEBOT_KB_FILE"},
		{"bad setting", []string{"diagnose", "-"}, map[string]string{"UPGRADEBOT_LOG_LEVEL": "loud"}, 1, "UPGRADEBOT_LOG_LEVEL"},
		{"shell argument", []string{"shell", "extra"}, nil, 2, "no arguments"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := run(t, "", c.environ, c.args...)
			if r.code != c.code {
				t.Errorf("exit %d, want %d (stderr %q)", r.code, c.code, r.stderr)
			}
			if !strings.Contains(r.stderr, c.stderrIn) {
				t.Errorf("stderr %q does not mention %q", r.stderr, c.stderrIn)
			}
			if c.code == 2 && strings.Count(strings.TrimSpace(r.stderr), "\n") != 0 {
				t.Errorf("a usage error is one line, got %q", r.stderr)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{nil, {"help"}, {"--help"}} {
		r := run(t, "", nil, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "upgradebot [--config FILE] <command>") {
			t.Errorf("%v: exit %d, %q", args, r.code, r.stdout)
		}
		for _, c := range []string{"run", "shell", "diagnose", "version", "help"} {
			if !strings.Contains(r.stdout, "  "+c) {
				t.Errorf("%v: help lacks %s", args, c)
			}
		}
	}
	r := run(t, "", nil, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "upgradebot ") {
		t.Errorf("version: exit %d, %q", r.code, r.stdout)
	}
}
