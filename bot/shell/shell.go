// Package shell runs the bot in a terminal, without Slack: the way people
// try it first (after Hubot's shell adapter and Errbot's text mode).
package shell

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/upgradebot/upgradebot/bot"
)

// Options configure a shell session.
type Options struct {
	Workspace string // "local" when empty
	Channel   string // "shell" when empty
	User      string
	// Prompt is shown before each input when the input is a terminal.
	Prompt bool
	// ReadImage turns a screenshot into text for ":image PATH"; nil when screenshots are not read.
	ReadImage func(ctx context.Context, path string) (string, error)
	// ImageUnavailable explains why screenshots are not read.
	ImageUnavailable string
	Now              func() time.Time
}

// Shell is one terminal session.
type Shell struct {
	bot  *bot.Bot
	opts Options
	out  io.Writer
	in   *bufio.Reader
	seq  int
	base int64
}

// New returns a shell around the bot core.
func New(b *bot.Bot, out io.Writer, in io.Reader, o Options) *Shell {
	if o.Workspace == "" {
		o.Workspace = "local"
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
	return &Shell{bot: b, opts: o, out: out, in: bufio.NewReaderSize(in, 64<<10), base: o.Now().Unix()}
}

// nextID returns a message id unique across runs, like a Slack ts.
func (s *Shell) nextID() string {
	s.seq++
	return fmt.Sprintf("%d.%06d", s.base, s.seq)
}

func (s *Shell) readLine() (string, bool) {
	line, err := s.in.ReadString('\n')
	if err != nil && line == "" {
		return "", false
	}
	return strings.TrimRight(line, "\r\n"), true
}

// readUntilBlank reads lines up to an empty line or the end of input.
func (s *Shell) readUntilBlank(first string) string {
	lines := []string{first}
	for {
		line, ok := s.readLine()
		if !ok || strings.TrimSpace(line) == "" {
			break
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

func (s *Shell) prompt() {
	if s.opts.Prompt {
		fmt.Fprintf(s.out, "%s@#%s> ", s.opts.User, s.opts.Channel)
	}
}

// Run reads input until the end or ":quit".
func (s *Shell) Run(ctx context.Context) error {
	if s.opts.Prompt {
		fmt.Fprintf(s.out, "upgradebot shell: paste an error (end with an empty line), type /upgrade help, or :quit.\n")
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil
		}
		s.prompt()
		line, ok := s.readLine()
		if !ok {
			return nil
		}
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			continue
		case trimmed == ":quit" || trimmed == ":q":
			return nil
		case strings.HasPrefix(trimmed, ":image"):
			s.image(ctx, strings.TrimSpace(strings.TrimPrefix(trimmed, ":image")))
		case strings.HasPrefix(trimmed, "/upgrade"):
			text := s.readUntilBlank(strings.TrimPrefix(trimmed, "/upgrade"))
			resp := s.bot.HandleCommand(ctx, bot.Command{Workspace: s.opts.Workspace, Channel: s.opts.Channel, User: s.opts.User, ID: s.nextID(), Text: text})
			s.show(ctx, resp)
		case strings.HasPrefix(trimmed, ":"):
			fmt.Fprintf(s.out, "Unknown shell command %q: use :image PATH or :quit.\n", trimmed)
		default:
			s.message(ctx, s.readUntilBlank(line))
		}
	}
}

func (s *Shell) message(ctx context.Context, text string) {
	s.handle(ctx, bot.Message{Workspace: s.opts.Workspace, Channel: s.opts.Channel, User: s.opts.User, TS: s.nextID(), Text: text})
}

// handle passes a message to the bot and prints what it answers.
func (s *Shell) handle(ctx context.Context, m bot.Message) {
	resp := s.bot.HandleMessage(ctx, m)
	if resp.Reply.Empty() && resp.Announce.Empty() && resp.React == "" {
		fmt.Fprintln(s.out, "(no known upgrade message in that text)")
		return
	}
	s.show(ctx, resp)
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

// show prints a response the way Slack would show it, as text.
func (s *Shell) show(ctx context.Context, resp bot.Response) {
	if resp.React != "" {
		fmt.Fprintf(s.out, "(upgradebot reacted :%s:)\n", resp.React)
	}
	if !resp.Reply.Empty() {
		where := "in thread"
		if resp.Private {
			where = "only you see this"
		}
		fmt.Fprintf(s.out, "upgradebot (%s):\n%s", where, bot.RenderText(resp.Reply))
		if choice := envChoices(resp.Reply); len(choice) > 0 {
			s.choose(ctx, choice)
		}
	}
	if !resp.Announce.Empty() {
		fmt.Fprintf(s.out, "upgradebot (to #%s):\n%s", s.opts.Channel, bot.RenderText(resp.Announce))
	}
	if resp.File != nil {
		fmt.Fprintf(s.out, "--- %s ---\n%s", resp.File.Name, resp.File.Content)
		if len(resp.File.Content) > 0 && resp.File.Content[len(resp.File.Content)-1] != '\n' {
			fmt.Fprintln(s.out)
		}
		fmt.Fprintf(s.out, "--- end of %s ---\n", resp.File.Name)
	}
}

func envChoices(r *bot.Reply) []bot.Button {
	var out []bot.Button
	for _, b := range r.Blocks {
		for _, bt := range b.Buttons {
			if strings.HasPrefix(bt.ActionID, bot.ActionChooseEnv+":") {
				out = append(out, bt)
			}
		}
	}
	return out
}

// choose asks which environment a message was about, as Slack's buttons would.
func (s *Shell) choose(ctx context.Context, choices []bot.Button) {
	names := make([]string, len(choices))
	for i, c := range choices {
		names[i] = c.Label
	}
	fmt.Fprintf(s.out, "Which environment? [%s] (empty to skip): ", strings.Join(names, "/"))
	line, _ := s.readLine()
	line = strings.TrimSpace(line)
	if line == "" {
		fmt.Fprintln(s.out, "(not recorded)")
		return
	}
	for _, c := range choices {
		if strings.EqualFold(c.Label, line) {
			s.show(ctx, s.bot.HandleAction(ctx, bot.Action{Workspace: s.opts.Workspace, Channel: s.opts.Channel, User: s.opts.User, ID: s.nextID(), ActionID: c.ActionID, Value: c.Value}))
			return
		}
	}
	fmt.Fprintf(s.out, "%q is not one of %s: not recorded. Paste the message again starting with \"<env>:\".\n", line, strings.Join(names, ", "))
}
