package shell

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/internal/errorlogtest"
	"github.com/upgradebot/upgradebot/progress"
)

const (
	producer = "Old Producer: Producer module 'Billing_CS' hasn't been prepared for the current OutSystems environment version."
	noMatch  = "(no known upgrade message in that text)"
)

// newBot returns a bot core on an embedded store of its own.
func newBot(t *testing.T) *bot.Bot {
	t.Helper()
	store, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "u.db"), progress.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return bot.New(bot.Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: store})
}

func paste(s string) string { return pasteStart + s + pasteEnd }

// TestInput runs whole sessions and checks what the bot answered, and how often.
func TestInput(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "paste.txt")
	if err := os.WriteFile(text, []byte("hello\n\n"+producer+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	spaced := filepath.Join(dir, "Error Log (1).txt")
	if err := os.WriteFile(spaced, []byte(producer+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.log")
	if err := os.WriteFile(huge, make([]byte, 12<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	png := filepath.Join(dir, "Service Center.png")
	if err := os.WriteFile(png, []byte("\x89PNG\r\n\x1a\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	escaped := strings.NewReplacer(" ", "\\ ", "(", "\\(", ")", "\\)").Replace(spaced)
	tests := []struct {
		name     string
		terminal bool
		in       string
		want     []string       // in the output, in this order
		count    map[string]int // how often these appear
	}{
		{"one-line command, no empty line after it", false, "/upgrade track qa\n/upgrade status qa\n",
			[]string{"ana set this channel to follow qa", "== qa"}, nil},
		{"module names on the next lines", false, "/upgrade track qa\n/upgrade failed\nBilling_CS\nOrders, \"Customer Portal\"\n\n/upgrade status\n",
			[]string{"reported 3 failed modules on qa: Billing_CS, Orders, Customer Portal", "== qa"}, nil},
		{"the next /upgrade line ends the names", false, "/upgrade track qa\n/upgrade skipped\nOrders\n/upgrade status\n",
			[]string{"reported 1 skipped module on qa: Orders", "== qa"}, nil},
		{"env prefix alone reads names", false, "/upgrade track qa\n/upgrade failed qa:\nOrders\n\n",
			[]string{"reported 1 failed module on qa: Orders"}, nil},
		{"done reads names", false, "/upgrade track qa\n/upgrade failed A B\n/upgrade done\nA\n\n",
			[]string{"reported 2 failed modules", "ana republished A on qa"}, nil},
		{"names on the line: the next line is a message", false, "/upgrade track qa\n/upgrade failed Orders\nhello\n",
			[]string{"reported 1 failed module on qa: Orders", noMatch}, nil},
		{"other commands read no lines", false, "/upgrade status\nhello\n\n",
			[]string{noMatch}, map[string]int{noMatch: 1}},
		{"typed text ends at an empty line", false, "hello\n\n" + producer + "\n\n",
			[]string{noMatch, "Billing_CS"}, map[string]int{noMatch: 1}},
		{"typed lines without an empty line are one message", false, "hello\n" + producer + "\n",
			[]string{"Billing_CS"}, map[string]int{noMatch: 0}},
		{"a /upgrade line ends typed text and runs", false, "hello\n/upgrade track qa\n:quit\n" + producer + "\n",
			[]string{noMatch, "ana set this channel to follow qa"}, map[string]int{"Billing_CS": 0}},
		{":quit ends a list of names", false, "/upgrade track qa\n/upgrade failed\nA\n:quit\nB\n",
			[]string{"reported 1 failed module on qa: A"}, map[string]int{"Not module names": 0, "reported 2": 0}},
		{"pipe: the end of input ends a message", false, producer,
			[]string{"Billing_CS"}, nil},
		{"pasted block with empty lines is one message", true, paste("hello\n\n"+producer+"\n\nthanks") + "\n",
			[]string{"Billing_CS"}, map[string]int{noMatch: 0}},
		{"pasted block, then typed text", true, paste("hello\n\n"+producer) + "\nhello\n\n",
			[]string{"Billing_CS", noMatch}, map[string]int{noMatch: 1}},
		{"pasted command block reads as typed", true, "/upgrade track qa\n" + paste("/upgrade failed\nA\nB\n") + "\n",
			[]string{"reported 2 failed modules on qa: A, B"}, nil},
		{"terminal: prompt and bracketed paste mode", true, "/upgrade status\n",
			[]string{pasteOn, "ana@#ops> ", pasteOff}, nil},
		{"pipe: no prompt, no paste mode", false, "/upgrade status\n",
			nil, map[string]int{pasteOn: 0, "ana@#ops> ": 0}},
		{":file reads a text file as one message", false, ":file " + text + "\n",
			[]string{"(read paste.txt", "Billing_CS"}, map[string]int{noMatch: 0}},
		{":file with a path in quotes, escaped, or dropped on the terminal", true,
			":file '" + spaced + "'\n:file " + escaped + "\n:file " + paste(spaced) + "\n",
			[]string{"(read Error Log (1).txt", "(read Error Log (1).txt", "(read Error Log (1).txt"}, map[string]int{"Could not read": 0, "Usage": 0}},
		{":file larger than is read says its own size", false, ":file " + huge + "\n",
			[]string{"(read huge.log: 12582912 bytes", "it is larger than the 10 MB I read"}, nil},
		{":file without a path, missing file, a directory", false, ":file\n:file " + filepath.Join(dir, "nope") + "\n:file " + dir + "\n",
			[]string{"Usage: :file PATH", "Could not read " + filepath.Join(dir, "nope") + ": no such file; check the path", "Could not read " + dir + ": it is a directory; give a file's path"}, nil},
		{":file with a screenshot", false, ":file '" + png + "'\n",
			[]string{png + " is a picture: read a screenshot with :image PATH"}, map[string]int{"(read": 0}},
		{":image without OCR", false, ":image\n:image x.png\n",
			[]string{"Usage: :image PATH", "Screenshots are not read"}, nil},
		{"another word starting with : is a message, with a hint", false, ":bogus\n",
			[]string{noMatch, "the shell's own commands are :image PATH, :file PATH and :quit"}, nil},
		{"typed message starting with an emoji code", false, ":warning: There were errors preparing some modules.\n\n",
			[]string{"Some modules failed the modules preparation step"}, map[string]int{noMatch: 0, "shell's own commands": 0}},
		{"pasted message starting with an emoji code", true, paste(":warning: There were errors preparing some modules.\n\nsee above") + "\n",
			[]string{"Some modules failed the modules preparation step"}, map[string]int{noMatch: 0}},
		{"pasted :quit still leaves", true, paste(":quit") + "\n/upgrade status\n",
			nil, map[string]int{"follow": 0, "track": 0}},
		{"a byte order mark and CRLF before a command", false, "\ufeff/upgrade track qa 11.31.0\r\n\r\n/upgrade status\r\n",
			[]string{"ana set this channel to follow qa", "== qa"}, map[string]int{noMatch: 0}},
		{"a tab after /upgrade and the subcommand", false, "/upgrade\ttrack qa\n/upgrade \t failed\nA\n\n/upgrade\tfailed\tqa:\nB\n\n",
			[]string{"ana set this channel to follow qa", "reported 1 failed module on qa: A", "reported 1 failed module on qa: B"}, map[string]int{noMatch: 0}},
		{":quit stops", false, "/upgrade track qa\n:quit\n/upgrade status\n",
			[]string{"follow qa"}, map[string]int{"== qa": 0}},
		{"a milestone is posted to the channel", false, "/upgrade track qa\nThere was an error preparing your modules.\n\n",
			[]string{"upgradebot (in thread):\n== The modules preparation step itself failed", "upgradebot (to #ops):\nqa: preparation failed\n"}, nil},
		{"a milestone the announcement says is not posted again", false, "/upgrade track qa\n/upgrade failed A\n/upgrade done A\n",
			[]string{"upgradebot (to #ops):\nana republished A on qa", "qa's list is empty"}, map[string]int{"qa's list is empty": 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			sh := New(newBot(t), &out, strings.NewReader(tc.in), Options{Channel: "ops", User: "ana", Terminal: tc.terminal})
			if err := sh.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := out.String()
			rest := got
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q (in order):\n%s", w, got)
				}
				rest = rest[i+len(w):]
			}
			for w, n := range tc.count {
				if c := strings.Count(got, w); c != n {
					t.Errorf("%q appears %d times, want %d:\n%s", w, c, n, got)
				}
			}
		})
	}
}

// TestButtonsAsCommands: a reply's buttons show the commands that do the
// same, and typing one does what the button does.
func TestButtonsAsCommands(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   []string
		absent string
	}{
		{"mark done and status", "/upgrade track qa\n" + producer + "\n\n/upgrade done qa: Billing_CS\n",
			[]string{"[Mark Billing_CS republished] /upgrade done qa: Billing_CS", "[Show status] /upgrade status qa", "ana republished Billing_CS on qa"}, ""},
		{"status shares", "/upgrade track qa\n/upgrade status\n",
			[]string{"[Share in channel] /upgrade status qa"}, ""},
		{"which environment", "/upgrade track qa\n/upgrade track prod\n" + producer + "\n\n",
			[]string{`[qa] /upgrade record `, `[prod] /upgrade record `}, "Which environment? ["},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			sh := New(newBot(t), &out, strings.NewReader(tc.in), Options{User: "ana"})
			if err := sh.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
			if tc.absent != "" && strings.Contains(out.String(), tc.absent) {
				t.Errorf("output has %q:\n%s", tc.absent, out.String())
			}
		})
	}
	if got := buttonCommand(bot.MarkDoneButton(0, "", "Customer Portal")); got != `/upgrade done "Customer Portal"` {
		t.Errorf("a name with a space: %q", got)
	}
}

// TestButtonCommand: the shell prints the command the core gives a button,
// whatever the button carries; without one, what to do instead.
func TestButtonCommand(t *testing.T) {
	tests := []struct {
		name string
		bt   bot.Button
		want string
	}{
		{"the core's command", bot.Button{ActionID: bot.ActionMarkDone + ":0", Value: "opaque", Command: "done qa: X"}, "/upgrade done qa: X"},
		{"any button with a command", bot.Button{ActionID: "reset_confirm", Command: "reset prod --yes"}, "/upgrade reset prod --yes"},
		{"choosing an environment", bot.Button{ActionID: bot.ActionChooseEnv + ":qa", Label: "qa", Value: "{}"}, `paste the message again starting with "qa:"`},
		{"no command", bot.Button{ActionID: "other"}, "(a button of Slack; no command does the same)"},
	}
	for _, tc := range tests {
		if got := buttonCommand(tc.bt); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// notifyWriter records output and signals each write.
type notifyWriter struct {
	mu    sync.Mutex
	b     strings.Builder
	wrote chan struct{}
}

func (w *notifyWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *notifyWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// waitFor waits until the output holds want, or fails after a generous timeout.
func (w *notifyWriter) waitFor(t *testing.T, want string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for !strings.Contains(w.String(), want) {
		select {
		case <-w.wrote:
		case <-timeout:
			t.Fatalf("no %q in:\n%s", want, w.String())
		}
	}
}

// TestRunsOnEnter: a one-line command is answered as soon as its line ends,
// with the input still open; typed text waits for its empty line.
func TestRunsOnEnter(t *testing.T) {
	in, feed := io.Pipe()
	out := &notifyWriter{wrote: make(chan struct{}, 1)}
	sh := New(newBot(t), out, in, Options{User: "ana", Terminal: true})
	done := make(chan error, 1)
	go func() { done <- sh.Run(context.Background()) }()
	write := func(s string) {
		if _, err := io.WriteString(feed, s); err != nil {
			t.Fatal(err)
		}
	}
	write("/upgrade track qa\n")
	out.waitFor(t, "ana set this channel to follow qa")
	write(producer + "\n")
	write("/upgrade status\n") // still part of the typed message: no empty line yet
	write("\n")
	out.waitFor(t, "Billing_CS")
	write("/upgrade status\n")
	out.waitFor(t, "== qa")
	feed.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// take reads module names from the following lines; chart writes its PNG and prints the path.
func TestTakeAndChart(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	in := "/upgrade track qa\n/upgrade failed A B\n/upgrade take\nA\nB\n\n/upgrade chart\n"
	sh := New(newBot(t), &out, strings.NewReader(in), Options{User: "ana", FileDir: dir})
	if err := sh.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "burndown-qa-")
	for _, w := range []string{"ana took A, B on qa.", "Burn-down chart of qa", "(Burn-down of qa written to " + path} {
		if !strings.Contains(out.String(), w) {
			t.Errorf("output lacks %q:\n%s", w, out.String())
		}
	}
	files, _ := filepath.Glob(path + "*.png")
	if len(files) != 1 {
		t.Fatalf("chart files %v", files)
	}
	if b, err := os.ReadFile(files[0]); err != nil || !strings.HasPrefix(string(b), "\x89PNG") {
		t.Errorf("%s is not a PNG: %v", files[0], err)
	}
}

// Without a folder set, files go to a folder of the session's own under
// the system's temporary one, never a shared /tmp/upgradebot another user
// of the machine could hold or plant a link in; an export as a workbook
// is written, not printed.
func TestFilesGoToAFolderOfTheSessionsOwn(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	victim := filepath.Join(tmp, "victim.txt")
	if err := os.WriteFile(victim, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(tmp, "upgradebot"), 0o777); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"upgrade-qa-20261125.xlsx", "burndown-qa-20261125-0930.png"} {
		if err := os.Symlink(victim, filepath.Join(tmp, "upgradebot", name)); err != nil {
			t.Fatal(err)
		}
	}
	var out strings.Builder
	in := "/upgrade track qa\n/upgrade failed A\n/upgrade chart\n/upgrade export qa xlsx\n"
	if err := New(newBot(t), &out, strings.NewReader(in), Options{User: "ana"}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "secret" {
		t.Errorf("a planted link was written through: %q", b)
	}
	files, _ := filepath.Glob(filepath.Join(tmp, "upgradebot-*", "*"))
	if len(files) != 2 {
		t.Fatalf("files %v in the session's folder, want the chart and the workbook:\n%s", files, out.String())
	}
	for _, f := range files {
		if !strings.Contains(out.String(), "written to "+f) {
			t.Errorf("the output does not say where %s is:\n%s", f, out.String())
		}
		if fi, err := os.Stat(filepath.Dir(f)); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("the session's folder: %v %v, want mode 0700", fi.Mode(), err)
		}
	}
}

// :file reads a 300-row Error Log (CSV, XLSX, tab-separated paste) as if
// shared in Slack: one reply, every module recorded; a picture named
// .csv gets a clear answer.
func TestFileErrorLog(t *testing.T) {
	dir := t.TempDir()
	rows, _ := errorlogtest.Log(300)
	files := map[string][]byte{"errors.csv": errorlogtest.CSV(rows), "errors.xlsx": errorlogtest.XLSX(t, rows), "paste.txt": errorlogtest.Paste(rows), "image.csv": {0x89, 'P', 'N', 'G', 0, 0}}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"errors.csv", "errors.xlsx", "paste.txt"} {
		t.Run(name, func(t *testing.T) {
			var out strings.Builder
			in := "/upgrade track qa\n:file " + filepath.Join(dir, name) + "\n/upgrade status\n"
			if err := New(newBot(t), &out, strings.NewReader(in), Options{User: "ana"}).Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, w := range []string{"(read " + name, "Read " + name, "275 rows, 250 with an upgrade error, 237 modules", "Recorded for qa", "; 237 on the list"} {
				if !strings.Contains(out.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, out.String())
				}
			}
		})
	}
	var out strings.Builder
	if err := New(newBot(t), &out, strings.NewReader(":file "+filepath.Join(dir, "image.csv")+"\n"), Options{User: "ana"}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "image.csv is a picture: read a screenshot with :image PATH") { // whatever its name
		t.Errorf("output:\n%s", out.String())
	}
}

// TestSessionsDoNotShareIDs: sessions started at the same moment on one
// store each record their own pastes (their ids key the changes).
func TestSessionsDoNotShareIDs(t *testing.T) {
	b := newBot(t)
	start := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	now := func() time.Time { return start }
	run := func(in string) string {
		var out strings.Builder
		if err := New(b, &out, strings.NewReader(in), Options{User: "ana", Now: now}).Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	run("/upgrade track qa\n")
	for _, m := range []string{"A_CS", "B_CS", "C_CS"} {
		run(strings.ReplaceAll(producer, "Billing_CS", m) + "\n")
	}
	status := run("/upgrade status qa\n")
	for _, m := range []string{"A_CS", "B_CS", "C_CS"} {
		if !strings.Contains(status, m) {
			t.Errorf("status lacks %s:\n%s", m, status)
		}
	}
}

// TestCancelWhileWaiting: a cancelled context (Ctrl-C, SIGTERM) ends Run at
// once, even while it waits for input, and what was being typed is dropped
// rather than run with the cancelled context.
func TestCancelWhileWaiting(t *testing.T) {
	tests := []struct {
		name  string
		typed string // before the cancel
		want  string // in the output before it
	}{
		{"waiting for a line", "/upgrade track qa\n", "ana set this channel to follow qa"},
		{"in a typed message", "/upgrade track qa\n" + producer + "\n", "ana set this channel to follow qa"},
		{"reading module names", "/upgrade track qa\n/upgrade failed\nA\n", "ana set this channel to follow qa"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in, feed := io.Pipe()
			t.Cleanup(func() { feed.Close() })
			out := &notifyWriter{wrote: make(chan struct{}, 1)}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			done := make(chan error, 1)
			go func() { done <- New(newBot(t), out, in, Options{User: "ana", Terminal: true}).Run(ctx) }()
			if _, err := io.WriteString(feed, tc.typed); err != nil {
				t.Fatal(err)
			}
			out.waitFor(t, tc.want)
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Run did not return after its context was cancelled")
			}
			for _, bad := range []string{"Tracking failed", "Billing_CS", "reported"} {
				if strings.Contains(out.String(), bad) {
					t.Errorf("the interrupted input ran (%q):\n%s", bad, out.String())
				}
			}
			if !strings.HasSuffix(out.String(), pasteOff) {
				t.Errorf("bracketed paste left on:\n%q", out.String())
			}
		})
	}
}

// ttyReader reads like a terminal in canonical mode: each read returns
// what one key press released ("" is a Ctrl-D: a read of nothing, the end
// of the input for now), and a read past them waits, as a terminal waits
// for more keys; it then reports on pastEnd until release is closed.
type ttyReader struct {
	mu      sync.Mutex
	reads   []string
	pastEnd chan struct{}
	release chan struct{}
}

func (r *ttyReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	if len(r.reads) == 0 {
		r.mu.Unlock()
		select {
		case r.pastEnd <- struct{}{}:
		case <-r.release:
		}
		<-r.release
		return 0, io.EOF
	}
	next := r.reads[0]
	r.reads = r.reads[1:]
	r.mu.Unlock()
	if next == "" {
		return 0, io.EOF
	}
	return copy(p, next), nil
}

// TestCtrlD: on a terminal, Ctrl-D twice after text on a line (the first
// passes the text on, the second reads nothing), or once at the start of
// a line, ends the input: what was typed is handled and Run returns,
// without reading the terminal again.
func TestCtrlD(t *testing.T) {
	const errs = "There were errors preparing some modules."
	tests := []struct {
		name  string
		reads []string
		want  []string // in the output, in this order
	}{
		{"twice after a message's text", []string{"/upgrade track qa\n", errs, ""},
			[]string{"follow qa", "ana@#ops> \nupgradebot (in thread):\n== Some modules failed the modules preparation step", "ana@#ops> \n" + pasteOff}},
		{"twice after a message's second line", []string{"/upgrade track qa\n", ":warning:\n", errs, ""},
			[]string{"follow qa", "upgradebot (in thread):\n== Some modules failed the modules preparation step"}},
		{"once at the start of the line after a message", []string{"/upgrade track qa\n", errs + "\n", ""},
			[]string{"follow qa", "upgradebot (in thread):\n== Some modules failed the modules preparation step"}},
		{"twice after a command", []string{"/upgrade track qa", ""},
			[]string{"ana@#ops> \nupgradebot (to #ops):\nana set this channel to follow qa"}},
		{"twice after module names", []string{"/upgrade track qa\n", "/upgrade failed\n", "A", ""},
			[]string{"reported 1 failed module on qa: A"}},
		{"once at the prompt", []string{""}, []string{"ana@#ops> \n" + pasteOff}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := &ttyReader{reads: tc.reads, pastEnd: make(chan struct{}), release: make(chan struct{})}
			defer close(in.release)
			var out strings.Builder
			done := make(chan error, 1)
			go func() {
				done <- New(newBot(t), &out, in, Options{Channel: "ops", User: "ana", Terminal: true}).Run(context.Background())
			}()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-in.pastEnd:
				t.Fatal("the shell read the terminal again after the Ctrl-D that ended the input")
			}
			got, rest := out.String(), out.String()
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q (in order):\n%s", w, got)
				}
				rest = rest[i+len(w):]
			}
		})
	}
}

// TestLongInput: a message or paste beyond what the shell reads (more than
// maxMessage, or a terminal's line cut at its limit) is refused with a
// clear message, and the input after it is read as ever.
func TestLongInput(t *testing.T) {
	big := strings.Repeat("a", maxMessage+1)
	mb := strings.Repeat("b", 1<<20)
	cut := strings.Repeat("c", terminalLineMax) // a terminal's line cut at its limit
	const after = "/upgrade track qa\n/upgrade status\n"
	followed := []string{"ana set this channel to follow qa", "== qa"}
	tests := []struct {
		name     string
		terminal bool
		in       string
		problem  string // printed once, before the answers to after (when the input has it)
	}{
		{"pipe: a line too long", false, producer + "\n" + big + "\n" + producer + "\n\n" + after, problemTooLarge},
		{"pipe: a line too long, at the end without its newline", false, big, problemTooLarge},
		{"pipe: a message too long", false, strings.Repeat(mb+"\n", 11) + "\n" + after, problemTooLarge},
		{"pipe: module names too long", false, "/upgrade failed\n" + strings.Repeat(mb+"\n", 11) + "\n" + after, problemTooLarge},
		{"terminal: a paste too long", true, paste(strings.Repeat(mb+"\n", 11)) + "\n" + after, problemTooLarge},
		{"terminal: a paste's last line cut, its end marker lost", true, pasteStart + cut[len(pasteStart):] + "\n" + after, problemCut},
		{"terminal: a paste's middle line cut: its rest is dropped, commands included", true,
			pasteStart + "first line\n" + cut + "\n" + producer + "\n/upgrade untrack qa\nlast line" + pasteEnd + "\n" + after, problemCut},
		{"terminal: typed text, then a paste of one cut line", true, "prod: " + pasteStart + cut[len("prod: ")+len(pasteStart):] + "\n\n" + after, problemCut},
		{"terminal: a typed line cut", true, producer + "\n" + cut + "\n\n" + after, problemCut},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out strings.Builder
			sh := New(newBot(t), &out, strings.NewReader(tc.in), Options{Channel: "ops", User: "ana", Terminal: tc.terminal})
			if err := sh.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			got := out.String()
			if len(got) > 1<<20 {
				t.Fatalf("the output holds the input: %d bytes", len(got))
			}
			if n := strings.Count(got, tc.problem); n != 1 {
				t.Fatalf("%q appears %d times, want 1:\n%s", tc.problem, n, got)
			}
			rest := got[strings.Index(got, tc.problem):]
			for _, w := range followed {
				if !strings.HasSuffix(tc.in, after) {
					break
				}
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("output lacks %q after the problem:\n%s", w, got)
				}
				rest = rest[i+len(w):]
			}
			for _, bad := range []string{"Billing_CS", "reported"} {
				if strings.Contains(got, bad) {
					t.Errorf("a message not read was handled (%q):\n%s", bad, got)
				}
			}
		})
	}
	if !strings.Contains(problemTooLarge, fmt.Sprintf(" %d MB", maxMessage>>20)) || !strings.Contains(problemCut, fmt.Sprintf(" %d bytes", terminalLineMax)) {
		t.Errorf("the problems do not name the limits:\n%s\n%s", problemTooLarge, problemCut)
	}
	// Up to the limits, all is read.
	var out strings.Builder
	long := "/upgrade track qa\n/upgrade failed\nA " + strings.Repeat(" ", maxMessage-len("/upgrade failed\nA B")) + "B\n\n" + cut + "\n"
	if err := New(newBot(t), &out, strings.NewReader(long), Options{User: "ana"}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, "reported 2 failed modules on qa: A, B") || strings.Contains(got, "(not read") {
		t.Errorf("within the limits:\n%s", got)
	}
}

// TestReadBounded: a line is kept up to the limit, without its "\r\n",
// across the reader's buffer; beyond it only "over" is kept, and the next
// line is read whole.
func TestReadBounded(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		limit int
		want  []string // the lines, "OVER" for one over the limit
	}{
		{"at the limit", "abcd\nef", 4, []string{"abcd\n", "ef"}},
		{"at the limit with CRLF", "abcd\r\nef\r\n", 4, []string{"abcd\r\n", "ef\r\n"}},
		{"one over", "abcde\nef\n", 4, []string{"OVER", "ef\n"}},
		{"one over with CRLF", "abcde\r\nef", 4, []string{"OVER", "ef"}},
		{"over at the end", "ab\nabcde", 4, []string{"ab\n", "OVER"}},
		{"longer than the buffer", strings.Repeat("x", 40) + "\n" + strings.Repeat("y", 41) + "\nz\n", 40, []string{strings.Repeat("x", 40) + "\n", "OVER", "z\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := bufio.NewReaderSize(strings.NewReader(tc.in), 16)
			var got []string
			for {
				text, over, err := readBounded(r, tc.limit)
				if over {
					text = "OVER"
				}
				if text != "" {
					got = append(got, text)
				}
				if err != nil {
					break
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// Files piped in as Windows editors save them: UTF-16 with its byte-order
// mark, Windows-1252, or several UTF-8 files each with its mark, one
// after the other. Each is read as the text it holds.
func TestPipedEncodings(t *testing.T) {
	session := "/upgrade track prod\n\nProducer module 'Faturação_CS' hasn't been prepared for the current OutSystems environment version.\n\n/upgrade status prod\n"
	utf16 := func(s string) string {
		b := []byte{0xFF, 0xFE}
		for _, r := range s {
			b = append(b, byte(r), byte(r>>8))
		}
		return string(b)
	}
	for _, c := range []struct{ name, in string }{
		{"UTF-16 (Notepad's Unicode)", utf16(strings.ReplaceAll(session, "\n", "\r\n"))},
		{"Windows-1252", strings.NewReplacer("ç", "\xe7", "ã", "\xe3").Replace(session)},
		{"Windows-1252 and UTF-8 in one line", strings.ReplaceAll(session, "ç", "\xe7")},
		{"two files, each with its byte-order mark", "\ufeff/upgrade track prod\r\n\r\n" + "\ufeff/upgrade failed prod:\r\nFaturação_CS\r\n\r\n/upgrade status prod\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var out strings.Builder
			if err := New(newBot(t), &out, strings.NewReader(c.in), Options{User: "ana"}).Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(out.String(), "set this channel to follow prod") || !strings.Contains(out.String(), "Faturação_CS — ") {
				t.Errorf("output:\n%s", out.String())
			}
		})
	}
}

// With the output a file or a pipe (shell | tee session.log), the request
// for bracketed paste goes to the terminal, not into the log.
func TestTerminalControlsApartFromTheOutput(t *testing.T) {
	var out, terminal strings.Builder
	if err := New(newBot(t), &out, strings.NewReader("/upgrade status\n"), Options{User: "ana", Terminal: true, Controls: &terminal}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "\x1b") || terminal.String() != pasteOn+pasteOff {
		t.Errorf("output %q, terminal %q; want the controls on the terminal alone", out.String(), terminal.String())
	}
}

// A program driving the shell through a pipe may write a byte at a time:
// looking for a byte-order mark takes what the first write brought, and
// waits for no more.
func TestUTF16LookNeedsOneWrite(t *testing.T) {
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	go pw.Write([]byte("\n"))
	done := make(chan *bufio.Reader)
	go func() { done <- utf16Input(bufio.NewReader(pr)) }()
	select {
	case in := <-done:
		if b, err := in.ReadByte(); err != nil || b != '\n' {
			t.Errorf("read %q, %v", b, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("waited for a second write")
	}
}

// The progress bar is read glyph by glyph by a screen reader: the shell
// says the progress in words, without the bar.
func TestProgressInWords(t *testing.T) {
	var out strings.Builder
	in := "/upgrade track prod\n26 modules prepared successfully, 1 modules failed and 3 modules skipped.\n\n/upgrade status prod\n"
	if err := New(newBot(t), &out, strings.NewReader(in), Options{User: "ana"}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "Progress: 26 of 30 modules ok\n") || strings.ContainsAny(out.String(), "█░") {
		t.Errorf("progress not in words alone:\n%s", out.String())
	}
}

// A terminal shows Slack's emoji codes as codes: the shell says the
// few that add to the words after them in words, and leaves the others out.
func TestNoEmojiCodes(t *testing.T) {
	var out strings.Builder
	in := "/upgrade track prod 11.31.0\n" +
		"We are now preparing your modules - 60% (We expect them to be ready at 18:21)\n\n" +
		"26 modules prepared successfully, 1 modules failed and 3 modules skipped.\n\n" +
		"We are now preparing your modules - 40% (We expect them to be ready at 17:50)\n\n" +
		"This environment has been successfully upgraded to Platform Server version 11.10.0 (Build 22500)\nThere were errors preparing some modules.\n\n"
	if err := New(newBot(t), &out, strings.NewReader(in), Options{User: "ana"}).Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	if codes := regexp.MustCompile(`(?m)(^|\()\s*:[a-z0-9_+-]+:`).FindAllString(s, -1); len(codes) > 0 {
		t.Errorf("emoji codes %q in:\n%s", codes, s)
	}
	for _, want := range []string{"(upgradebot reacted with white check mark)", "\nprod: preparation finished with errors", "\nNot recorded for prod: this message looks older", "\nWarning: Not recorded for prod: this message names Platform Server 11.10.0"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
}
