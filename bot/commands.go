package bot

import (
	"context"
	"fmt"
	"strings"
	"unicode"

	"github.com/upgradebot/upgradebot/internal/suggest"
	"github.com/upgradebot/upgradebot/progress"
)

// commandDef defines one subcommand; help is generated from these.
type commandDef struct {
	name     string
	aliases  []string
	args     string // usage after the name
	summary  string
	examples []string
	admin    bool
	anyone   string // with admin: the arguments everyone may give ("now")
	readOnly bool   // changes nothing: a transport need not order it with the channel's other work
	run      func(b *Bot, ctx context.Context, c Command, args string) Response
}

func commandTable() []*commandDef {
	return []*commandDef{
		{name: "track", args: "<env> [version] [cloud|self-managed] [from <version>]", summary: "Follow an environment's upgrade in this channel (created if new); from names the version it is upgraded from; changing a followed one's versions or type asks first (--yes confirms).",
			examples: []string{"track prod 11.31.0 self-managed", "track qa cloud", "track legacy 11.31.0 from 10.0.1"}, run: (*Bot).cmdTrack},
		{name: "untrack", args: "<env>", summary: "Stop following an environment in this channel (its data is kept).", admin: true,
			examples: []string{"untrack qa"}, run: (*Bot).cmdUntrack},
		{name: "status", aliases: []string{"list", "show"}, args: "[env]", summary: "Where the upgrade stands: state, progress, counts and the modules to republish (only you see it).",
			examples: []string{"status", "status prod"}, readOnly: true, run: (*Bot).cmdStatus},
		{name: "failed", args: "[env:] <module>…", summary: "Add modules that failed the preparation (names separated by spaces, commas, lines or \"and\"; quote names with spaces; text in parentheses is a comment).",
			examples: []string{"failed Billing_CS Orders", `failed prod: "Customer Portal"`, "failed stg: Billing_CS (from the error log), Orders_Core and Pricing_Lib"}, run: (*Bot).cmdFailed},
		{name: "skipped", args: "[env:] <module>…", summary: "Add modules the preparation skipped.",
			examples: []string{"skipped Orders_UI, Invoices_UI"}, run: (*Bot).cmdSkipped},
		{name: "done", aliases: []string{"republished"}, args: "[env:] <module>… | all [--yes]", summary: "Mark modules republished; they leave the list (a name not on it is refused); done all also covers what Service Center counted and nobody named (it asks first; --yes confirms).",
			examples: []string{"done Billing_CS", "done prod: all --yes"}, run: (*Bot).cmdDone},
		{name: "undo", args: "[code]", summary: "Take back your last change in this channel, or with the code printed beside an Undo button what that reply recorded (the history keeps both).",
			examples: []string{"undo", "undo 4kq7zb2m"}, run: (*Bot).cmdUndo},
		{name: "take", args: "[env:] <module>…", summary: "Take modules to republish: status and reminders name you as their owner.",
			examples: []string{"take Billing_CS Orders", "take prod: \"Customer Portal\""}, run: (*Bot).cmdTake},
		{name: "release", args: "[env:] <module>… | all", summary: "Give modules back (all: every module you took); anyone may take them.",
			examples: []string{"release Orders", "release all"}, run: (*Bot).cmdRelease},
		{name: "snooze", args: "[env] 1h|tomorrow|off", summary: "Snooze this channel's reminders of an environment for an hour or until 08:00 of the next working day; a recorded change ends it.",
			examples: []string{"snooze prod 1h", "snooze tomorrow", "snooze prod off"}, run: (*Bot).cmdSnooze},
		{name: "chart", args: "[env]", summary: "The burn-down chart: modules left over time (and the preparation's percent while it runs).",
			examples: []string{"chart", "chart prod"}, readOnly: true, run: (*Bot).cmdChart},
		{name: "history", args: "[env] [all]", summary: "The environment's timeline: who reported what, when; all: every entry, earlier upgrades' too, as a CSV file.",
			examples: []string{"history prod"}, readOnly: true, run: (*Bot).cmdHistory},
		{name: "export", args: "[env] [md|csv|xlsx]", summary: "The change record of the upgrade under way as a Markdown, CSV or Excel file: every module (open or republished, who reported and republished it, when) and the timeline since it started.",
			examples: []string{"export prod csv"}, readOnly: true, run: (*Bot).cmdExport},
		{name: "envs", summary: "The environments of this workspace, and how many channels follow each.",
			examples: []string{"envs"}, readOnly: true, run: (*Bot).cmdEnvs},
		{name: "reset", args: "<env> [--yes]", summary: "Start a new upgrade of an environment: clears state and modules, keeps history (asks first; --yes confirms).", admin: true,
			examples: []string{"reset qa --yes"}, run: (*Bot).cmdReset},
		{name: "remind", args: "<schedule> | default | off | on | now", summary: "This channel's reminder schedule while modules remain (cron spec, @daily, @every 2h); default goes back to the workspace's schedule, off and on pause and resume them, now posts the reminder at once.", admin: true, anyone: "now",
			examples: []string{"remind 0 9 * * 1-5", "remind @every 4h", "remind CRON_TZ=Europe/Lisbon 0 9 * * *", "remind off", "remind now"}, run: (*Bot).cmdRemind},
		{name: "record", args: "<code>", summary: "Do what a question's button does (which module a screenshot names, which environment a message is about) or record anyway what a reply held back (an older message, another version, a message quoted in a sentence); the reply prints the code.",
			examples: []string{"record 3fK9xQ2a"}, run: (*Bot).cmdRecord},
		{name: "diagnose", args: "<text>", summary: "Explain an error message without recording anything.",
			examples: []string{"diagnose There were errors preparing some modules."}, readOnly: true, run: (*Bot).cmdDiagnose},
		{name: "help", aliases: []string{"commands", "--help", "-h"}, args: "[command]", summary: "This help, or one command's.", examples: []string{"help", "help done"}, readOnly: true, run: (*Bot).cmdHelp},
	}
}

// ReadOnly reports whether a command's text (without the slash command or
// the mention) names a subcommand that changes nothing. Unknown commands
// and empty text (help) change nothing either.
func (b *Bot) ReadOnly(text string) bool {
	name, _ := splitCommand(text)
	def := b.lookup(name)
	return def == nil || def.readOnly
}

// splitCommand is a command's name (lower case) and its arguments, split at
// the first space of any kind: the one reading of a command, so that the
// lanes' ReadOnly and handleCommand never disagree about which it is.
func splitCommand(text string) (name, args string) {
	text = strings.TrimSpace(text)
	name = text
	if i := strings.IndexFunc(text, unicode.IsSpace); i >= 0 {
		name, args = text[:i], strings.TrimSpace(text[i:])
	}
	return strings.ToLower(name), args
}

func (b *Bot) lookup(name string) *commandDef {
	for _, c := range b.commands {
		if c.name == name {
			return c
		}
		for _, a := range c.aliases {
			if a == name {
				return c
			}
		}
	}
	return nil
}

// handleCommand runs a subcommand (HandleCommand).
func (b *Bot) handleCommand(ctx context.Context, c Command) Response {
	name, args := splitCommand(c.Text)
	if name == "" {
		return private(b.gettingStarted())
	}
	def := b.lookup(name)
	if def == nil {
		return b.unknownCommand(name)
	}
	if def.admin && !b.isAdmin(c.User) && !(def.anyone != "" && strings.EqualFold(strings.TrimSpace(args), def.anyone)) {
		msg := fmt.Sprintf("Only upgradebot admins may use `%s %s` here", b.cmd, def.name)
		if def.anyone != "" {
			msg += fmt.Sprintf(" (`%s %s %s` is for everyone)", b.cmd, def.name, def.anyone)
		}
		return private(b.adminsOnly(msg))
	}
	return def.run(b, ctx, c, b.trackedSpelling(ctx, c.Workspace, def, args))
}

// trackedSpelling is args with the environment they name written as it is
// tracked when typed with accents ("status produção" for producao: names
// are ASCII, people's words are not); else args as they are.
func (b *Bot) trackedSpelling(ctx context.Context, workspace string, def *commandDef, args string) string {
	var typed string
	switch {
	case strings.HasPrefix(def.args, "[env:]"):
		typed, _ = splitEnvPrefix(args)
	case strings.HasPrefix(def.args, "<env>"), strings.HasPrefix(def.args, "[env]"):
		if f := strings.Fields(args); len(f) > 0 {
			typed = f[0]
		}
	}
	folded := foldAccents(typed)
	if folded == typed || b.store == nil {
		return args
	}
	if _, err := b.store.Environment(ctx, workspace, folded); err != nil {
		return args // tracked nowhere: refused as it is typed
	}
	return strings.Replace(args, typed, folded, 1)
}

func private(r *Reply) Response { return Response{Reply: r, Private: true} }

// gettingStarted answers the command alone: what most people need, not
// the whole reference (help has it).
func (b *Bot) gettingStarted() *Reply {
	r := &Reply{Summary: "Getting started with upgradebot"}
	r.Section(Line{T("Paste an upgrade error or a Service Center message here: I explain it, and keep the list of modules to republish.")})
	r.Section(
		Line{T("• "), C(b.cmd + " status"), T(" — where the upgrade stands, and what to republish first")},
		Line{T("• "), C(b.cmd + " take <module>"), T(" — say you are republishing a module")},
		Line{T("• "), C(b.cmd + " done <module>"), T(" — mark it republished")},
	)
	r.Context(Line{C(b.cmd + " help"), T(" lists every command.")})
	return r
}

func (b *Bot) usage(def *commandDef) Line {
	u := b.cmd + " " + def.name
	if def.args != "" {
		u += " " + def.args
	}
	return Line{T("Usage: "), C(u)}
}

// usageError answers bad arguments with the problem and the command's usage.
func (b *Bot) usageError(def *commandDef, problem string) Response {
	r := &Reply{Summary: problem}
	r.Section(Line{T(problem)}, b.usage(def))
	if len(def.examples) > 0 {
		r.Context(Line{T("Example: "), C(b.cmd + " " + def.examples[0])})
	}
	return private(r)
}

// meant are words people type for a command, though spelled nearer
// another ("fixed" is two letters from "failed") or no command at all.
var meant = map[string]string{
	"fixed": "done", "published": "done", "republish": "done", "resolved": "done", "complete": "done", "completed": "done", "finished": "done",
	"?": "", "what": "", "how": "", "hi": "", "hello": "", "hey": "", // no command: the three most people need
}

func (b *Bot) unknownCommand(name string) Response {
	if r := b.commandMeant(name); r != nil {
		return private(r)
	}
	problem := fmt.Sprintf("I don't know the command %q.", Shorten(name, 40))
	r := &Reply{Summary: problem}
	r.Section(Line{T(problem + " "), T("See "), C(b.cmd + " help"), T(".")})
	return private(r)
}

// commandMeant answers a word that is no command but likely meant one:
// a "did you mean" with that command's usage, or for a greeting or a
// question the commands most people need; nil when none is likely.
func (b *Bot) commandMeant(name string) *Reply {
	best, dist := "", 1<<30
	for _, c := range b.commands {
		for _, n := range append([]string{c.name}, c.aliases...) {
			if d := suggest.Distance(name, n); d < dist {
				best, dist = c.name, d
			}
		}
	}
	word := strings.ToLower(name)
	if w := strings.Trim(word, "!?.,:;"); w != "" {
		word = w // "Hi!", "what?"
	}
	if m, ok := meant[word]; ok && m == "" {
		return b.gettingStarted()
	} else if ok {
		best, dist = m, 0
	}
	// One letter off in a short word, two in a longer one: "info" is no "undo".
	if dist <= 1 || dist == 2 && len(name) >= 6 && len(best) >= 5 {
		problem := fmt.Sprintf("I don't know the command %q. Did you mean %s?", Shorten(name, 40), best)
		return b.usageError(b.lookup(best), problem).Reply
	}
	return nil
}

// adminNote marks an admins' command in the help: "(admins)", or with
// what everyone may do "(admins; remind now: everyone)".
func adminNote(c *commandDef) string {
	if c.anyone != "" {
		return "(admins; " + c.name + " " + c.anyone + ": everyone)"
	}
	return "(admins)"
}

// Help returns the generated help text.
func (b *Bot) Help() *Reply {
	r := &Reply{Summary: "upgradebot commands"}
	r.Header("upgradebot")
	r.Section(Line{T("Paste an OutSystems modules-preparation error (or a Service Center banner) in a channel and I explain it in the thread and track what it says. Commands:")})
	var lines []Line
	for _, c := range b.commands {
		u := b.cmd + " " + c.name
		if c.args != "" {
			u += " " + c.args
		}
		l := Line{C(u), T(" — " + c.summary)}
		if c.admin {
			l = append(l, I(" "+adminNote(c)))
		}
		lines = append(lines, l)
	}
	r.Section(lines...)
	r.Context(Line{T("Several environments in one channel? Start a pasted message with "), C("prod:"), T(" to say which.")})
	r.Context(Line{T("Long pastes (snippets), .txt and .log files and Error Log exports (.csv, .xlsx) shared here are read too.")})
	if b.ocrNote != "" {
		r.Context(Line{T(b.ocrNote)})
	}
	return r
}

func (b *Bot) cmdHelp(_ context.Context, _ Command, args string) Response {
	if args == "" {
		return private(b.Help())
	}
	def := b.lookup(strings.ToLower(strings.Fields(args)[0]))
	if def == nil {
		return b.unknownCommand(args)
	}
	r := &Reply{Summary: def.summary}
	r.Section(Line{T(def.summary)}, b.usage(def))
	if def.admin {
		l := append(append(Line{T("Only upgradebot admins (")}, b.adminSpans()...), T(") may use it"))
		if def.anyone != "" {
			l = append(l, T(", except "), C(b.cmd+" "+def.name+" "+def.anyone), T(", which everyone may"))
		}
		r.Context(append(l, T(".")))
	}
	var ex []Line
	for _, e := range def.examples {
		ex = append(ex, Line{C(b.cmd + " " + e)})
	}
	r.Section(append([]Line{{B("Examples")}}, ex...)...)
	if len(def.aliases) > 0 {
		r.Context(Line{T("Also: " + strings.Join(def.aliases, ", "))})
	}
	return private(r)
}

func (b *Bot) cmdDiagnose(ctx context.Context, c Command, args string) Response {
	if args == "" {
		return b.usageError(b.lookup("diagnose"), "Give me the text to diagnose.")
	}
	findings := b.engine.Diagnose(args)
	if len(findings) == 0 {
		r := &Reply{Summary: "No known upgrade error found"}
		r.Section(Line{T("I don't recognize a modules-preparation error or status in that text. If you think I should, tell the team that runs upgradebot: they can add it (README: Reporting a misrecognized message).")})
		return private(r)
	}
	for _, f := range findings {
		b.metrics.Finding(f.ID)
	}
	return private(b.diagnosisReply(findings, known{env: b.channelEnv(ctx, c), internal: internalError(args)}))
}

// channelEnv is what the environments a channel follows share (see
// commonEnv), so explanations show only the branches that apply.
func (b *Bot) channelEnv(ctx context.Context, c Command) progress.Environment {
	if b.store == nil || c.Channel == "" {
		return progress.Environment{}
	}
	envs, err := b.store.ChannelEnvironments(ctx, c.Workspace, c.Channel)
	if err != nil || len(envs) == 0 {
		return progress.Environment{}
	}
	return commonEnv(envs)
}
