// Package shell runs the bot in a terminal, without Slack: the way people
// try it first (after Hubot's shell adapter and Errbot's text mode).
//
// Input (CONTRACTS.md "Slash command and shell"): a line starting with
// /upgrade runs when it ends; failed, skipped, done and take with no module
// on their line read module names from the next lines, up to an empty line
// or the next /upgrade line. :image PATH, :file PATH and :quit are the
// shell's own. Anything else is a pasted message: on a terminal, a block
// pasted at once (bracketed paste) is one message even with empty lines in
// it, and typed text ends at an empty line; from a pipe, a message ends at an
// empty line or the end of the input. On a terminal, Ctrl-D ends the
// input, whether at the start of a line or after text. A message of more
// than 10 MB, or with a line a terminal cut at its limit, is not read.
package shell

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	textunicode "golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/errorlog"
)

// Options configure a shell session.
type Options struct {
	Workspace string // DefaultWorkspace when empty
	Channel   string // "shell" when empty
	User      string
	// Terminal says the input is a terminal: the shell shows a prompt and
	// asks it for bracketed paste, so a pasted block is one message.
	Terminal bool
	// Controls is where that request goes: the terminal, when the output
	// is a file or a pipe (shell | tee session.log). Nil: the output.
	Controls io.Writer
	// ReadImage turns a screenshot into text for ":image PATH"; nil when screenshots are not read.
	ReadImage func(ctx context.Context, path string) (string, error)
	// ImageUnavailable explains why screenshots are not read.
	ImageUnavailable string
	Now              func() time.Time
	// FileDir is where the charts and workbooks the bot makes are written; "" means the system's temporary directory.
	FileDir string
	// Session begins the ids of the session's messages and commands. The
	// core keys tracking changes by those ids, so two sessions on one store
	// must not share it: when empty, it is made of the start time in
	// nanoseconds and a random part. Tests set it for output that is the
	// same every run.
	Session string
}

// The terminal's bracketed paste: it wraps what is pasted in these markers
// once asked with pasteOn (xterm's mode 2004, which common terminals follow).
const (
	pasteOn    = "\x1b[?2004h"
	pasteOff   = "\x1b[?2004l"
	pasteStart = "\x1b[200~"
	pasteEnd   = "\x1b[201~"
)

// maxMessage bounds one message or command the shell reads, as a shared
// file is bounded (:file reads at most as much): beyond it the message
// is not read, and the shell keeps only a part of it in memory.
const maxMessage = bot.MaxFileBytes

// terminalLineMax is the longest line a terminal passes on in its usual
// (canonical) mode on Linux: the rest of a longer line, up to its
// newline, is dropped, and with it the end marker of a paste.
const terminalLineMax = 4095

// Shell is one terminal session.
type Shell struct {
	bot     *bot.Bot
	opts    Options
	out     io.Writer
	in      *bufio.Reader
	lines   chan line     // the input's lines, from the goroutine reading them; closed at its end
	stop    chan struct{} // closed when Run returns: the reading goroutine sends no more
	pending []line        // lines to read again before the input's
	seq     int
	tmpDir  string // this session's own folder for files, made at the first
}

// line is a line of the input, without its end.
type line struct {
	text    string
	unended bool // the input ended before the line did (Ctrl-D after text on a terminal)
	cut     bool // a terminal's line as long as it passes on: the rest of it was lost
	over    bool // longer than maxMessage: text is empty, the rest was skipped
}

// input is what read returns: a typed line or a pasted block, or why it is not read.
type input struct {
	text    string
	pasted  bool
	problem string // why the line or block is not read ("" when it is); text is then empty
}

// The problems of an input that is not read (they name maxMessage and terminalLineMax).
const (
	problemTooLarge = "(not read: the message is more than 10 MB, the most the shell reads at once; " +
		"pass only the part with the errors, or share an Error Log export with :file PATH)"
	problemCut = "(not read: a line of it is longer than the 4095 bytes a terminal passes on in one line, " +
		"so its end was lost; save the text to a file and use :file PATH)"
)

// DefaultWorkspace is the shell's own workspace; the Slack bot posts nothing to it.
const DefaultWorkspace = "local"

// New returns a shell around the bot core.
func New(b *bot.Bot, out io.Writer, in io.Reader, o Options) *Shell {
	if o.Workspace == "" {
		o.Workspace = DefaultWorkspace
	}
	if o.Channel == "" {
		o.Channel = "shell"
	}
	if o.User == "" {
		o.User = "you"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Session == "" {
		o.Session = newSession(time.Now())
	}
	return &Shell{bot: b, opts: o, out: out, in: bufio.NewReaderSize(in, 64<<10)}
}

// newSession returns an id prefix unique to this session: the start time in
// nanoseconds (the real clock's, even when Options.Now is fixed) and 65
// random bits, so that sessions started at once, in one process or several,
// differ.
func newSession(start time.Time) string {
	return fmt.Sprintf("%d-%s", start.UnixNano(), rand.Text()[:13])
}

// nextID returns a message or command id unique across sessions. The core
// reads a Slack ts ("seconds.micro") as when a message was sent; an id of
// this shape it does not: it only keys the changes made with it.
func (s *Shell) nextID() string {
	s.seq++
	return fmt.Sprintf("%s.%06d", s.opts.Session, s.seq)
}

// read returns the next input: one typed line, or a whole pasted block
// (pasted true). ok is false at the end of the input or once ctx is done.
func (s *Shell) read(ctx context.Context) (in input, ok bool) {
	l, ok := s.readLine(ctx)
	if !ok {
		return input{}, false
	}
	if l.over {
		return input{problem: problemTooLarge}, true
	}
	before, rest, found := strings.Cut(l.text, pasteStart)
	if !found {
		// An end marker without its start ends the rest of a paste cut
		// short at a line the terminal cut (see below); not part of the text.
		in = input{text: strings.ReplaceAll(l.text, pasteEnd, "")}
		if l.cut {
			in = input{problem: problemCut}
		}
		return in, true
	}
	// Typed text before the paste is a line of its own, but for ":image "
	// or ":file " waiting for the path a file dropped on the terminal pastes.
	if w, arg := cutWord(before); (w == ":image" || w == ":file") && arg == "" {
		if path, after, end := strings.Cut(rest, pasteEnd); end && !strings.Contains(path, "\n") {
			if strings.TrimSpace(after) != "" {
				l.text = after
				s.pending = append([]line{l}, s.pending...)
			}
			return input{text: w + " " + strings.TrimSpace(path)}, true
		}
	}
	if strings.TrimSpace(before) != "" {
		l.text = pasteStart + rest
		s.pending = append([]line{l}, s.pending...)
		return input{text: before}, true
	}
	var block []string
	size := 0
	for {
		if inside, after, end := strings.Cut(rest, pasteEnd); end {
			block = append(block, inside)
			if strings.TrimSpace(after) != "" {
				l.text = after
				s.pending = append([]line{l}, s.pending...)
			}
			break
		}
		if l.cut {
			// The terminal dropped the end of this line, and with it
			// perhaps the paste's end marker, which would then never
			// come: the paste ends here, not read, its rest dropped.
			in.problem = problemCut
			s.dropPasteRest(ctx)
			break
		}
		if size += len(rest) + 1; size > maxMessage || l.over {
			in.problem, block = problemTooLarge, nil // read on to the end marker, keeping nothing
		} else if in.problem == "" {
			block = append(block, rest)
		}
		if l, ok = s.readLine(ctx); !ok {
			break
		}
		rest = l.text
	}
	if in.problem != "" {
		return input{pasted: true, problem: in.problem}, true
	}
	return input{text: strings.Trim(strings.Join(block, "\n"), "\n"), pasted: true}, true
}

// pasteBurst is how soon a paste's next line comes: all of a paste is
// there at once, what is typed after it comes later.
const pasteBurst = 200 * time.Millisecond

// dropPasteRest drops what is left of a paste after a line the terminal
// cut: its lines up to its end marker, when that comes at once (a paste
// is one burst). When none does, the cut took it: what came is typed
// input after the paste, and is read as such.
func (s *Shell) dropPasteRest(ctx context.Context) {
	var held []line
	for size := 0; size <= maxMessage; {
		l, ok := line{}, true
		if len(s.pending) > 0 {
			l, s.pending = s.pending[0], s.pending[1:]
		} else {
			select {
			case l, ok = <-s.lines:
			case <-time.After(pasteBurst):
				ok = false
			case <-ctx.Done():
				ok = false
			}
		}
		if !ok {
			break
		}
		if _, after, end := strings.Cut(l.text, pasteEnd); end {
			if strings.TrimSpace(after) != "" {
				l.text = after
				s.pending = append([]line{l}, s.pending...)
			}
			return
		}
		held = append(held, l)
		size += len(l.text)
	}
	s.pending = append(held, s.pending...)
}

// readLine returns the next line; false at the end of the input or once
// ctx is done, even while the input has nothing to read.
func (s *Shell) readLine(ctx context.Context) (line, bool) {
	if len(s.pending) > 0 {
		l := s.pending[0]
		s.pending = s.pending[1:]
		return l, true
	}
	if ctx.Err() != nil {
		return line{}, false
	}
	select {
	case l, ok := <-s.lines:
		if ok && l.unended && s.opts.Terminal {
			fmt.Fprintln(s.out) // what follows starts on a line of its own, not after the text typed
		}
		return l, ok
	case <-ctx.Done():
		return line{}, false
	}
}

// startReading starts the goroutine that reads the input's lines into
// s.lines, so that a read waiting for input gives way to a cancelled
// context (Ctrl-C). It stops at the end of the input or when s.stop is
// closed; one blocked in reading a terminal ends with the process.
func (s *Shell) startReading() {
	s.lines, s.stop = make(chan line), make(chan struct{})
	go func() {
		defer close(s.lines)
		for first := true; ; first = false {
			if first && !s.opts.Terminal {
				s.in = utf16Input(s.in)
			}
			text, over, err := readBounded(s.in, maxMessage)
			if err != nil && text == "" && !over {
				return
			}
			l := line{over: over}
			if !over {
				body := strings.TrimSuffix(text, "\n")
				l.unended = body == text
				l.cut = s.opts.Terminal && len(body) == terminalLineMax
				// A byte order mark (a file saved by a Windows editor, files
				// piped in one after the other) is no part of a line; a
				// line in Windows-1252 (saved by an older editor) is read as such.
				body = strings.TrimPrefix(errorlog.ToUTF8(body), "\ufeff")
				l.text = strings.TrimRight(body, "\r\n")
			}
			select {
			case s.lines <- l:
			case <-s.stop:
				return
			}
			if err != nil {
				// The end of the input, even where reading again could
				// return more: on a terminal, the Ctrl-D that ended this
				// line's text ends the input, as it does at a line's start.
				return
			}
		}
	}()
}

// utf16Input decodes a file piped in as UTF-16 (Notepad's "Unicode") when
// its first bytes are a UTF-16 byte-order mark; other input passes as is.
// It looks at what the first read brought, not waiting for more.
func utf16Input(in *bufio.Reader) *bufio.Reader {
	if _, err := in.Peek(1); err != nil {
		return in
	}
	if head, _ := in.Peek(in.Buffered()); !bytes.HasPrefix(head, []byte{0xFF, 0xFE}) && !bytes.HasPrefix(head, []byte{0xFE, 0xFF}) {
		return in
	}
	return bufio.NewReaderSize(transform.NewReader(in, textunicode.UTF16(textunicode.LittleEndian, textunicode.ExpectBOM).NewDecoder()), 64<<10)
}

// readBounded reads the next line with its end, like ReadString('\n'),
// keeping at most limit bytes of it (without "\r\n"): over says the line
// was longer, and the rest of it was read and dropped.
func readBounded(r *bufio.Reader, limit int) (text string, over bool, err error) {
	var b []byte
	for {
		frag, err := r.ReadSlice('\n')
		if !over && len(b)+len(frag) > limit+len("\r\n") {
			over, b = true, nil
		}
		if !over {
			b = append(b, frag...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if !over && len(bytes.TrimSuffix(bytes.TrimSuffix(b, []byte("\n")), []byte("\r"))) > limit {
			over, b = true, nil
		}
		return string(b), over, err
	}
}

// readUntil reads lines after first up to an empty line, the end of the
// input, or a line stop says is not part of them (read again next). When
// one of them is not read (problem), or all are more than maxMessage, it
// reads on to their end and returns only the problem.
func (s *Shell) readUntil(ctx context.Context, first input, stop func(string) bool) (text, problem string) {
	lines := []string{first.text}
	problem = first.problem
	size := len(first.text)
	for {
		in, ok := s.read(ctx)
		if !ok || in.problem == "" && strings.TrimSpace(in.text) == "" {
			break
		}
		if in.problem == "" && stop(in.text) {
			s.pending = append([]line{{text: in.text}}, s.pending...)
			break
		}
		if size += len(in.text) + 1; size > maxMessage && problem == "" {
			problem = problemTooLarge
		}
		if problem == "" {
			problem = in.problem
		}
		if problem != "" {
			lines = nil // read on to the end, keeping nothing
			continue
		}
		lines = append(lines, in.text)
	}
	if problem != "" {
		return "", problem
	}
	return strings.Join(lines, "\n"), ""
}

func (s *Shell) prompt() {
	if s.opts.Terminal {
		fmt.Fprintf(s.out, "%s@#%s> ", s.opts.User, s.opts.Channel)
	}
}

// Run reads input until the end, ":quit", or ctx is done (then at once,
// even while waiting for input; what was typed but not finished is dropped).
// Run is called once.
func (s *Shell) Run(ctx context.Context) error {
	if s.opts.Terminal {
		controls := cmp.Or[io.Writer](s.opts.Controls, s.out)
		fmt.Fprint(controls, pasteOn)
		defer fmt.Fprint(controls, pasteOff)
		fmt.Fprint(s.out, "upgradebot shell: paste an error (typed text ends with an empty line), type /upgrade help, or :quit.\n")
	}
	s.startReading()
	defer close(s.stop)
	for ctx.Err() == nil {
		if len(s.pending) == 0 {
			s.prompt()
		}
		in, ok := s.read(ctx)
		if !ok || ctx.Err() != nil {
			if s.opts.Terminal {
				fmt.Fprintln(s.out) // after the prompt
			}
			return nil
		}
		text := in.text
		trimmed := strings.TrimSpace(text)
		word, arg := cutWord(trimmed)
		if in.pasted && in.problem != "" {
			fmt.Fprintln(s.out, in.problem)
			continue
		} else if in.pasted && !strings.HasPrefix(trimmed, "/upgrade") && !ownCommand(word) {
			s.message(ctx, text)
			continue
		} else if in.pasted {
			// A pasted command or script reads as if typed.
			lines := strings.Split(text, "\n")
			for i := len(lines) - 1; i >= 0; i-- {
				s.pending = append([]line{{text: lines[i]}}, s.pending...)
			}
			continue
		}
		switch {
		case in.problem != "":
			s.typed(ctx, in) // a message, read to its end and not handled
		case trimmed == "":
		case word == ":quit" || word == ":q":
			return nil
		case word == ":image":
			s.image(ctx, shellPath(arg))
		case word == ":file":
			s.file(ctx, shellPath(arg))
		case word == "/upgrade":
			s.command(ctx, arg)
		default:
			// Any other text is a message, one starting with ":" too
			// (Slack's emoji codes: ":warning: There were errors…").
			s.typed(ctx, in)
		}
	}
	return nil
}

// typed reads a typed message, first and the lines after it up to an empty
// line, and passes it to the bot, or says why it is not read.
func (s *Shell) typed(ctx context.Context, first input) {
	text, problem := s.readUntil(ctx, first, startsCommand)
	switch {
	case ctx.Err() != nil:
	case problem != "":
		fmt.Fprintln(s.out, problem)
	default:
		s.message(ctx, text)
	}
}

// cutWord splits text at its first run of white space (a space, a tab…):
// the first word, and the rest without the space around it.
func cutWord(text string) (word, rest string) {
	text = strings.TrimSpace(text)
	i := strings.IndexFunc(text, unicode.IsSpace)
	if i < 0 {
		return text, ""
	}
	return text[:i], strings.TrimSpace(text[i:])
}

// ownCommand reports whether word is one of the shell's own commands
// (CONTRACTS.md: :image, :file and :quit; :q for short).
func ownCommand(word string) bool {
	return slices.Contains([]string{":image", ":file", ":quit", ":q"}, word)
}

// shellPath is a path as a terminal gives it when a file is dropped on it,
// or as typed at a shell: in quotes ('Screenshot 1.png'), with escaped
// spaces (Screenshot\ 1.png), or under ~/.
func shellPath(arg string) string {
	p := strings.TrimSpace(arg)
	if _, err := os.Stat(p); err == nil {
		return p // the name as typed is a file's
	}
	if len(p) >= 2 && (p[0] == '\'' || p[0] == '"') && p[len(p)-1] == p[0] {
		p = p[1 : len(p)-1]
	} else {
		p = strings.NewReplacer("\\ ", " ", "\\(", "(", "\\)", ")", "\\'", "'", "\\&", "&").Replace(p)
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, rest)
		}
	}
	return p
}

// startsCommand reports whether a line is one the shell runs, which ends
// the message or list before it: a /upgrade command or one of its own.
func startsCommand(line string) bool {
	w, _ := cutWord(line)
	return w == "/upgrade" || ownCommand(w)
}

// listCommands read their module names from the next lines when their own line has none.
var listCommands = []string{"failed", "skipped", "done", "take"}

// command runs "/upgrade text".
func (s *Shell) command(ctx context.Context, text string) {
	name, rest := cutWord(text)
	onlyEnv := strings.HasSuffix(rest, ":") && !strings.ContainsAny(rest, " \t")
	if slices.Contains(listCommands, strings.ToLower(name)) && (rest == "" || onlyEnv) {
		var problem string
		text, problem = s.readUntil(ctx, input{text: text}, startsCommand)
		if ctx.Err() != nil {
			return // interrupted while the names were typed
		}
		if problem != "" {
			fmt.Fprintln(s.out, problem)
			return
		}
		if onlyEnv {
			text = strings.Replace(text, "\n", " ", 1) // "failed qa:" and its names, as one command
		}
	}
	s.show(s.bot.HandleCommand(ctx, bot.Command{Workspace: s.opts.Workspace, Channel: s.opts.Channel, User: s.opts.User, ID: s.nextID(), Text: text, Direct: true}))
}

func (s *Shell) message(ctx context.Context, text string) {
	s.handle(ctx, bot.Message{Workspace: s.opts.Workspace, Channel: s.opts.Channel, User: s.opts.User, TS: s.nextID(), Text: text})
}

// handle passes a message to the bot and prints what it answers.
func (s *Shell) handle(ctx context.Context, m bot.Message) {
	resp := s.bot.HandleMessage(ctx, m)
	if resp.Reply.Empty() && resp.Announce.Empty() && resp.Milestone.Empty() && resp.React == "" {
		fmt.Fprintln(s.out, "(no known upgrade message in that text)")
		if word, _, _ := strings.Cut(strings.TrimSpace(m.Text), " "); strings.HasPrefix(word, ":") && !strings.HasSuffix(word, ":") && !strings.Contains(m.Text, "\n") {
			// Likely a mistyped command rather than an emoji code.
			fmt.Fprintln(s.out, "(read as a message: the shell's own commands are :image PATH, :file PATH and :quit)")
		}
		return
	}
	s.show(resp)
}

func (s *Shell) image(ctx context.Context, path string) {
	if path == "" {
		fmt.Fprintln(s.out, "Usage: :image PATH (a PNG or JPEG screenshot)")
		return
	}
	if s.opts.ReadImage == nil {
		fmt.Fprintf(s.out, "Screenshots are not read: %s\n", s.opts.ImageUnavailable)
		return
	}
	if err := checkPath(path); err != nil {
		fmt.Fprintf(s.out, "Could not read %s: %v\n", path, err)
		return
	}
	text, err := s.opts.ReadImage(ctx, path)
	if err != nil {
		fmt.Fprintf(s.out, "Could not read %s: %v\n", path, err)
		return
	}
	fmt.Fprintf(s.out, "(read from the screenshot: %d characters)\n", len(text))
	// As a screenshot shared in Slack: the reply says which one it read.
	s.handle(ctx, bot.Message{Workspace: s.opts.Workspace, Channel: s.opts.Channel, User: s.opts.User, TS: s.nextID(),
		Images: []bot.ImageText{{Name: filepath.Base(path), Text: text}}})
}

// checkPath says, in words that tell what to do, why path is no file to read.
func checkPath(path string) error {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errors.New("no such file; check the path (relative to the directory the shell started in)")
	case err == nil && fi.IsDir():
		return errors.New("it is a directory; give a file's path")
	}
	return nil // any other problem is the open's to report
}

// file reads a file as if shared in Slack: a text, or an Error Log
// export (CSV, tab-separated text, XLSX), read by the core (bot.ReadFile).
func (s *Shell) file(ctx context.Context, path string) {
	if path == "" {
		fmt.Fprintln(s.out, "Usage: :file PATH (a text, CSV or XLSX file, read as if shared in Slack)")
		return
	}
	if err := checkPath(path); err != nil {
		fmt.Fprintf(s.out, "Could not read %s: %v\n", path, err)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintf(s.out, "Could not read %s: %v\n", path, err)
		return
	}
	defer f.Close()
	// One byte more than the limit: the core says the file is too large.
	data, err := io.ReadAll(io.LimitReader(f, bot.MaxFileBytes+1))
	if err != nil {
		fmt.Fprintf(s.out, "Could not read %s: %v\n", path, err)
		return
	}
	if bytes.HasPrefix(data, []byte("\x89PNG")) || bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff}) {
		fmt.Fprintf(s.out, "%s is a picture: read a screenshot with :image PATH\n", path)
		return
	}
	name, size := filepath.Base(path), int64(len(data))
	if fi, err := f.Stat(); err == nil && fi.Size() > size {
		size = fi.Size() // longer than is read: its own size, not the limit's
	}
	fmt.Fprintf(s.out, "(read %s: %d bytes, as if shared in Slack)\n", name, size)
	s.handle(ctx, bot.Message{Workspace: s.opts.Workspace, Channel: s.opts.Channel, User: s.opts.User, TS: s.nextID(),
		Images: []bot.ImageText{s.bot.ReadFile(name, data)}})
}

// show prints a response the way Slack would show it, as text, with each
// button as the command that does the same.
func (s *Shell) show(resp bot.Response) {
	if resp.React != "" {
		fmt.Fprintf(s.out, "(upgradebot reacted with %s)\n", strings.ReplaceAll(resp.React, "_", " "))
	}
	if !resp.Reply.Empty() {
		where := "in thread"
		if resp.Private {
			where = "only you see this"
		}
		fmt.Fprintf(s.out, "upgradebot (%s):\n%s", where, render(resp.Reply))
	}
	if !resp.Announce.Empty() {
		fmt.Fprintf(s.out, "upgradebot (to #%s):\n%s", s.opts.Channel, render(resp.Announce))
	} else if !resp.Milestone.Empty() {
		// As Slack posts it: in the channel, unless the announcement
		// (which may already say it) is posted there instead.
		fmt.Fprintf(s.out, "upgradebot (to #%s):\n%s", s.opts.Channel, render(resp.Milestone))
	}
	if resp.File != nil && (resp.File.Type == "png" || resp.File.Type == "xlsx") {
		s.writeFile(resp.File)
	} else if resp.File != nil {
		// Printed, not saved: a CSV's byte-order mark (for Excel) is left out.
		fmt.Fprintf(s.out, "--- %s ---\n%s", resp.File.Name, bytes.TrimPrefix(resp.File.Content, []byte("\ufeff")))
		if len(resp.File.Content) > 0 && resp.File.Content[len(resp.File.Content)-1] != '\n' {
			fmt.Fprintln(s.out)
		}
		fmt.Fprintf(s.out, "--- end of %s ---\n", resp.File.Name)
	}
}

// emojiWords say in words the emoji codes the bot starts lines with that
// add to the words after them; the others only decorate (":bell:
// Reminder") and are left out: a terminal shows the code, not the picture.
var emojiWords = map[string]string{"warning": "Warning:", "information_source": "Note:"}

// render renders a reply as text, its buttons as commands, without the
// pictures drawn in characters (progress bars), read glyph by glyph, or
// Slack's emoji codes.
func render(r *bot.Reply) string {
	r = r.MapLines(func(l bot.Line) bot.Line {
		code, l := l.Words().Emoji()
		if w := emojiWords[code]; w != "" {
			l[0].Text = w + " " + l[0].Text
		}
		return l
	})
	text := *r
	text.Blocks = nil
	var commands []string
	for _, b := range r.Blocks {
		if b.Kind != bot.ActionsBlock {
			text.Blocks = append(text.Blocks, b)
			continue
		}
		for _, bt := range b.Buttons {
			commands = append(commands, fmt.Sprintf("  [%s] %s\n", bt.Label, buttonCommand(bt)))
		}
	}
	return bot.RenderText(&text) + strings.Join(commands, "")
}

// buttonCommand returns what to type for a button: the command the core
// names, or for a choice of environment, how to paste again.
func buttonCommand(bt bot.Button) string {
	if bt.Command != "" {
		return "/upgrade " + bt.Command
	}
	if kind, env, _ := strings.Cut(bt.ActionID, ":"); kind == bot.ActionChooseEnv {
		return fmt.Sprintf("paste the message again starting with %q", env+":")
	}
	return "(a button of Slack; no command does the same)"
}

// writeFile writes a file the bot made that is not text (a chart, a
// workbook) and prints its path.
func (s *Shell) writeFile(f *bot.File) {
	dir := s.opts.FileDir
	var err error
	if dir == "" && s.tmpDir == "" {
		// A folder of this session's own, with a name nobody can guess: in a
		// shared one (/tmp/upgradebot) another user of a jump host could
		// hold the folder, or plant a link where the chart is written.
		s.tmpDir, err = os.MkdirTemp("", "upgradebot-")
	}
	if dir == "" {
		dir = s.tmpDir
	}
	path := filepath.Join(dir, filepath.Base(f.Name))
	if err == nil {
		err = os.MkdirAll(dir, 0o700)
	}
	if err == nil {
		err = os.WriteFile(path, f.Content, 0o600)
	}
	if err != nil {
		fmt.Fprintf(s.out, "Could not write %s: %v\n", path, err)
		return
	}
	fmt.Fprintf(s.out, "(%s written to %s)\n", f.Title, path)
}
