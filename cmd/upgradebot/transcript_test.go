package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the transcripts' expected output (examples/*.out)")

// transcriptTime is the fixed clock of the transcripts: a Monday morning, so
// that "next reminder" and every timestamp come out the same in each run.
var transcriptTime = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// Every examples/NAME.txt is a shell session: it runs on the embedded store
// and on Redis, both must print the same, and that must be examples/NAME.out.
// A transcript is a scenario a user can replay: upgradebot shell < NAME.txt.
func TestTranscripts(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("..", "..", "examples", "*.txt"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no transcripts in examples/ (%v)", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".txt")
		t.Run(name, func(t *testing.T) {
			script, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			embedded := transcript(t, string(script), map[string]string{"UPGRADEBOT_DATA": filepath.Join(t.TempDir(), "u.db")})
			onRedis := transcript(t, string(script), redisEnv(t))
			if embedded != onRedis {
				t.Errorf("the stores differ; embedded:\n%s\nRedis:\n%s", embedded, onRedis)
			}
			golden := strings.TrimSuffix(in, ".txt") + ".out"
			if *update {
				if err := os.WriteFile(golden, []byte(embedded), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./cmd/upgradebot -run TestTranscripts -update)", err)
			}
			if embedded != string(want) {
				t.Errorf("%s differs (-update rewrites it); got:\n%s", golden, embedded)
			}
		})
	}
}

// transcript runs one shell session as user ana in channel shell, at transcriptTime.
func transcript(t *testing.T, script string, environ map[string]string) string {
	t.Helper()
	environ["USER"] = "ana"
	environ["HOME"] = t.TempDir()
	environ["UPGRADEBOT_OCR"] = "off"
	var out, errOut strings.Builder
	e := env{stdin: strings.NewReader(script), stdout: &out, stderr: &errOut, environ: environ,
		now: func() time.Time { return transcriptTime },
		// The ids of the shell before sessions had a random part: the
		// scripts type the codes of questions asked (record, undo).
		shellSession: strconv.FormatInt(transcriptTime.Unix(), 10)}
	if code := runMain(context.Background(), []string{"shell"}, e); code != 0 {
		t.Fatalf("shell exit %d: %s", code, errOut.String())
	}
	return out.String()
}

// The README's "Try it" session prints what the README shows, but for the
// Undo code and the date of the next reminder, which differ from run to run.
func TestReadmeTryIt(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	const start = "$ go run ./cmd/upgradebot shell --user you <<'EOF'\n"
	_, block, ok := strings.Cut(string(readme), start)
	block, _, ok2 := strings.Cut(block, "```")
	script, want, ok3 := strings.Cut(block, "EOF\n")
	if !ok || !ok2 || !ok3 {
		t.Fatalf("no session under %q in README.md", start)
	}
	var out, errOut strings.Builder
	e := env{stdin: strings.NewReader(script), stdout: &out, stderr: &errOut,
		environ: map[string]string{"HOME": t.TempDir(), "UPGRADEBOT_OCR": "off"}}
	if code := runMain(context.Background(), []string{"shell", "--user", "you"}, e); code != 0 {
		t.Fatalf("shell exit %d: %s", code, errOut.String())
	}
	varying := regexp.MustCompile(`undo [a-z0-9]{8}|Next reminder: [^(]*`)
	if got := varying.ReplaceAllString(out.String(), "…"); got != varying.ReplaceAllString(want, "…") {
		t.Errorf("README.md's Try it shows:\n%s\nthe shell prints:\n%s", want, out.String())
	}
}
