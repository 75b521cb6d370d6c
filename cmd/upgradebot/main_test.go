package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/upgradebot/upgradebot/internal/errorlogtest"
)

type result struct {
	code           int
	stdout, stderr string
}

// run runs the binary's main logic with the given arguments, input and environment.
func run(t *testing.T, stdin string, environ map[string]string, args ...string) result {
	t.Helper()
	return runOn(t, false, stdin, environ, args...)
}

// runOn is run with standard input a terminal or not.
func runOn(t *testing.T, terminal bool, stdin string, environ map[string]string, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	if environ == nil {
		environ = map[string]string{}
	}
	if _, ok := environ["HOME"]; !ok {
		environ["HOME"] = t.TempDir()
	}
	e := env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, environ: environ, stdinTerminal: terminal}
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
		{"malformed kb file", []string{"diagnose", "-"}, map[string]string{"UPGRADEBOT_KB_FILE": "testdata/malformed-kb.yaml"}, 1, "UPGRADEBOT_KB_FILE: "},
		{"bad setting", []string{"diagnose", "-"}, map[string]string{"UPGRADEBOT_LOG_LEVEL": "loud"}, 1, "UPGRADEBOT_LOG_LEVEL"},
		{"shell argument", []string{"shell", "extra"}, nil, 2, "no arguments"},
		{"unknown global flag", []string{"--config", "x.yaml", "shell"}, nil, 2, "config"},
		{"flag without value", []string{"shell", "--data"}, nil, 2, "data"},
		{"run argument", []string{"run", "now"}, nil, 2, "no arguments"},
		{"version argument", []string{"version", "x"}, nil, 2, "no arguments"},
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

// A path that is no file to read is an input error that says what to give.
func TestDiagnoseNoSuchFile(t *testing.T) {
	dir := t.TempDir()
	for path, want := range map[string]string{
		dir:                        "reading " + dir + ": it is a directory: give a file's path, or - to read standard input",
		filepath.Join(dir, "nope"): "reading " + filepath.Join(dir, "nope") + ": no such file: check the path, or give - to read standard input",
	} {
		if r := run(t, "", nil, "diagnose", path); r.code != 1 || !strings.Contains(r.stderr, want) {
			t.Errorf("diagnose %s: exit %d, stderr %q; want 1 and %q", path, r.code, r.stderr, want)
		}
	}
}

// Ctrl-C or a CI job's SIGTERM stops diagnose while it waits on an input
// that never ends (a terminal, a stalled pipe) or a FIFO nobody writes to
// (whose opening waits), with an error.
func TestDiagnoseInterruptedWhileReading(t *testing.T) {
	stdin, never := io.Pipe() // nothing is ever written
	t.Cleanup(func() { never.Close() })
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, input := range []string{"-", fifo} {
		var out, errOut bytes.Buffer
		ctx, interrupt := context.WithCancel(context.Background())
		done := make(chan int)
		go func() {
			done <- runMain(ctx, []string{"diagnose", "--json", input}, env{stdin: stdin, stdout: &out, stderr: &errOut, environ: map[string]string{"HOME": t.TempDir()}})
		}()
		interrupt()
		if code := <-done; code != 1 || !strings.Contains(errOut.String(), "interrupted before the input ended") {
			t.Errorf("%s: exit %d, stderr %q; want 1 and the reason", input, code, errOut.String())
		}
	}
}

// TestDiagnoseTooLarge: an input over the limit is an input error (exit 1,
// saying the limit), not a silent cut and "nothing found"; at the limit it runs.
func TestDiagnoseTooLarge(t *testing.T) {
	const errLine = "There was an error preparing your modules.\n"
	filler := func(n int) string { return strings.Repeat(strings.Repeat("x", 99)+"\n", n/100) }
	over := filler(maxInput+100) + errLine // the error after the limit
	at := filler(maxInput-100) + errLine
	at += strings.Repeat("y", maxInput-len(at))
	dir := t.TempDir()
	file := filepath.Join(dir, "big.log")
	if err := os.WriteFile(file, []byte(over), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, stdin string
		args        []string
		code        int
	}{
		{"stdin over the limit", over, []string{"diagnose", "--json", "-"}, 1},
		{"file over the limit", "", []string{"diagnose", "--json", file}, 1},
		{"at the limit", at, []string{"diagnose", "--json", "-"}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.stdin, nil, tc.args...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d (stderr %q)", r.code, tc.code, r.stderr)
			}
			if tc.code == 0 {
				if !strings.Contains(r.stdout, "modules-preparation-failed") {
					t.Errorf("stdout %q", r.stdout)
				}
				return
			}
			if r.stdout != "" || !strings.Contains(r.stderr, "more than 8 MB") || !strings.Contains(r.stderr, "at most 8 MB") {
				t.Errorf("stdout %q, stderr %q", r.stdout, r.stderr)
			}
		})
	}
}

func TestHelpAndVersion(t *testing.T) {
	for _, args := range [][]string{nil, {"help"}, {"--help"}, {"-h"}, {"--log-level", "debug"}} {
		r := run(t, "", nil, args...)
		if r.code != 0 || !strings.Contains(r.stdout, "upgradebot [flags] <command>") || r.stderr != "" {
			t.Errorf("%v: exit %d, %q, stderr %q", args, r.code, r.stdout, r.stderr)
		}
		for _, c := range []string{"run", "shell", "diagnose", "version", "help"} {
			if !strings.Contains(r.stdout, "\n  "+c+" ") {
				t.Errorf("%v: help lacks %s", args, c)
			}
		}
	}
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}, {"--log-level", "debug", "--version"}} {
		r := run(t, "", nil, args...)
		if r.code != 0 || !strings.HasPrefix(r.stdout, "upgradebot ") || strings.Count(r.stdout, "\n") != 1 {
			t.Errorf("%v: exit %d, %q", args, r.code, r.stdout)
		}
	}
}

// TestCommandHelp: every command's --help prints its usage and exits 0,
// wherever --help stands, without loading settings or reading input.
func TestCommandHelp(t *testing.T) {
	broken := map[string]string{"UPGRADEBOT_LOG_LEVEL": "loud"} // would fail if loaded
	for name, c := range commands {
		want := "Usage: upgradebot " + name
		for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}, {name, "--json", "--help"}, {name, "file.txt", "-help"}} {
			r := run(t, "lunch?", broken, args...)
			if r.code != 0 || r.stdout != c.usage || !strings.HasPrefix(r.stdout, want) || r.stderr != "" {
				t.Errorf("%v: exit %d, stdout %q, stderr %q; want the usage of %s", args, r.code, r.stdout, r.stderr, name)
			}
		}
	}
	if r := run(t, "", nil, "help", "frobnicate"); r.code != 2 || !strings.Contains(r.stderr, "unknown command") {
		t.Errorf("help of an unknown command: exit %d, %q", r.code, r.stderr)
	}
}

// TestDiagnoseOnTerminal: with no file and a terminal as input, diagnose
// prints its usage rather than waiting for typed input; with a file or -, it reads.
func TestDiagnoseOnTerminal(t *testing.T) {
	file := filepath.Join(t.TempDir(), "paste.txt")
	if err := os.WriteFile(file, []byte("There was an error preparing your modules."), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		terminal  bool
		args      []string
		wantUsage bool
	}{
		{"terminal, no file", true, []string{"diagnose"}, true},
		{"terminal, --json, no file", true, []string{"diagnose", "--json"}, true},
		{"terminal, file", true, []string{"diagnose", "--json", file}, false},
		{"terminal, dash reads it", true, []string{"diagnose", "--json", "-"}, false},
		{"pipe, no file", false, []string{"diagnose", "--json"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runOn(t, tc.terminal, "There was an error preparing your modules.", nil, tc.args...)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if got := r.stdout == diagnoseUsage; got != tc.wantUsage {
				t.Errorf("usage printed: %v, want %v:\n%s", got, tc.wantUsage, r.stdout)
			}
			if !tc.wantUsage && !strings.Contains(r.stdout, "modules-preparation-failed") {
				t.Errorf("no finding:\n%s", r.stdout)
			}
		})
	}
}

// TestMistypedData: a store path in a folder that does not exist is an
// error naming the variable and the folder, and the folder is not created.
func TestMistypedData(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "dtaa")
	for _, args := range [][]string{{"shell"}, {"--data", filepath.Join(typo, "u.db"), "shell"}, {"shell", "--data", filepath.Join(typo, "u.db")}} {
		environ := map[string]string{"UPGRADEBOT_DATA": filepath.Join(typo, "u.db")}
		if args[0] == "--data" || len(args) > 1 {
			environ = nil
		}
		r := run(t, "", environ, args...)
		if r.code != 1 || !strings.Contains(r.stderr, "UPGRADEBOT_DATA") || !strings.Contains(r.stderr, typo) {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	if _, err := os.Stat(typo); !os.IsNotExist(err) {
		t.Errorf("the mistyped folder was created: %v", err)
	}
	// The default folder is created.
	home := t.TempDir()
	if r := run(t, "", map[string]string{"HOME": home}, "shell"); r.code != 0 {
		t.Fatalf("default store: exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(home, ".local", "share", "upgradebot", "upgradebot.db")); err != nil {
		t.Errorf("default store not created: %v", err)
	}
}

// TestIsTerminal: /dev/null, pipes and files are not terminals (/dev/null
// is a character device, which the shell took for one); a pseudo-terminal is.
func TestIsTerminal(t *testing.T) {
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	defer pw.Close()
	file, err := os.Create(filepath.Join(t.TempDir(), "in.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	devNull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devNull.Close()
	tests := []struct {
		name string
		f    *os.File
		want bool
	}{
		{"/dev/null", devNull, false},
		{"pipe", pr, false},
		{"file", file, false},
	}
	if ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0); err == nil {
		defer ptmx.Close()
		tests = append(tests, struct {
			name string
			f    *os.File
			want bool
		}{"pseudo-terminal", ptmx, true})
	}
	for _, tc := range tests {
		if got := isTerminal(tc.f); got != tc.want {
			t.Errorf("%s: isTerminal = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// One start reports every problem: a malformed knowledge-base file with
// the settings' own problems, not on the next start.
func TestStartProblemsTogether(t *testing.T) {
	r := run(t, "", map[string]string{"UPGRADEBOT_KB_FILE": "testdata/malformed-kb.yaml", "UPGRADEBOT_TIMEZONE": "Not/AZone",
		"UPGRADEBOT_DATA": filepath.Join(t.TempDir(), "u.db")}, "shell")
	if r.code != 1 || !strings.Contains(r.stderr, "UPGRADEBOT_TIMEZONE") || !strings.Contains(r.stderr, "UPGRADEBOT_KB_FILE") {
		t.Errorf("exit %d, stderr %q: want both problems", r.code, r.stderr)
	}
}

// diagnose reads a file as Slack and the shell do: an Error Log export
// (XLSX or CSV) row by row, a UTF-16 text decoded; what it cannot read is
// an error (exit 1), not "nothing found".
func TestDiagnoseFiles(t *testing.T) {
	rows := [][]string{errorlogtest.Header,
		{"2026-12-01 10:00:00", "Orders_UI", "Orders", "admin", "Producer module 'Billing_CS' hasn't been prepared for the current OutSystems environment version. The Preparation of Modules may not have finished yet, failed, or it is on hold. Check Service Center for more details or try to publish 'Billing_CS'.", ""}}
	utf16 := []byte{0xff, 0xfe}
	for _, r := range "There were errors preparing some modules.\n" {
		utf16 = append(utf16, byte(r), 0)
	}
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		data []byte
		code int
		want string // in stdout (exit 0) or stderr
	}{
		{"errorlog.xlsx", errorlogtest.XLSX(t, rows), 0, `"module":"Billing_CS","consumer":"Orders_UI"`},
		{"errorlog.csv", errorlogtest.CSV(rows), 0, `"consumer":"Orders_UI"`},
		{"utf16.txt", utf16, 0, `"modules-preparation-errors"`},
		{"random.bin", []byte("\x00\x01\x02\x03\xff\xfe\xfd binary \x00\x00"), 1, "is not a text, CSV or XLSX file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name)
			if err := os.WriteFile(path, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			r := run(t, "", nil, "diagnose", "--json", path)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d (stdout %q, stderr %q)", r.code, tc.code, r.stdout, r.stderr)
			}
			if out := map[bool]string{true: r.stdout, false: r.stderr}[tc.code == 0]; !strings.Contains(out, tc.want) {
				t.Errorf("%q missing from %q", tc.want, out)
			}
		})
	}
	// Without --json, the explanation as the bot gives it.
	path := filepath.Join(dir, "errorlog.xlsx")
	if r := run(t, "", nil, "diagnose", path); r.code != 0 || !strings.Contains(r.stdout, "Billing_CS") {
		t.Errorf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
