// Command upgradebot is the OutSystems upgrade assistant for Slack: it
// recognizes modules-preparation errors, tracks what needs republishing
// and reminds the team. See `upgradebot help`.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"time"

	_ "time/tzdata" // schedules must work in a minimal container without zone files

	cenv "github.com/caarlos0/env/v11"
	"github.com/redis/go-redis/v9"
	"github.com/upgradebot/upgradebot/config"
	"golang.org/x/term"
)

// version is set at release build time with -ldflags "-X main.version=…".
var version = ""

// exitUsage is the exit status for a usage error (CONTRACTS.md).
const exitUsage = 2

// usageError is a mistake in the command line, reported in one line.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// env is what the commands read from the process.
type env struct {
	stdin   io.Reader
	stdout  io.Writer
	stderr  io.Writer
	environ map[string]string // the environment; flags given set variables in it
	// stdinTerminal reports whether standard input is a terminal (the shell's
	// prompt and pastes, diagnose's usage instead of waiting).
	stdinTerminal bool
	// terminal is where the shell's terminal controls go: standard output,
	// or standard error when only that is a terminal; nil: standard output.
	terminal io.Writer
	// now is the clock of the shell's bot and store; nil means time.Now.
	// Transcript tests fix it so that their output is the same every run.
	now func() time.Time
	// useLogger hands the logger a command made from its settings to the
	// libraries that log on their own (go-redis). main sets it, once per
	// process; tests leave it nil, as the libraries' loggers are global.
	useLogger func(*slog.Logger)
	// shellSession begins the ids of the shell's messages and commands;
	// "" makes a unique one (shell.Options.Session). Transcript tests fix it.
	shellSession string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	e := env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, environ: cenv.ToMap(os.Environ()),
		stdinTerminal: isTerminal(os.Stdin), terminal: terminalOut(),
		useLogger: func(l *slog.Logger) { redis.SetLogger(redisLogger{l}) }}
	os.Exit(runMain(ctx, os.Args[1:], e))
}

// isTerminal reports whether f is a terminal. A character device is not
// enough: /dev/null is one, and a closed standard input is none.
func isTerminal(f *os.File) bool {
	return term.IsTerminal(int(f.Fd()))
}

// terminalOut is the shell's output for terminal controls: standard
// output when it is a terminal, else standard error when that is one
// (shell | tee log), else none (the log would hold them).
func terminalOut() io.Writer {
	switch {
	case isTerminal(os.Stdout):
		return nil
	case isTerminal(os.Stderr):
		return os.Stderr
	}
	return io.Discard
}

// command is one command of the binary.
type command struct {
	usage string // the usage line and what the command does
	run   func(ctx context.Context, args []string, e env) error
}

var commands = map[string]command{
	"run":      {runUsage, cmdRun},
	"shell":    {shellUsage, cmdShell},
	"diagnose": {diagnoseUsage, cmdDiagnose},
	"version":  {"Usage: upgradebot version\n\nPrints the version (also: upgradebot --version).\n", cmdVersion},
	"help":     {"Usage: upgradebot help [command]\n\nPrints the help, or a command's usage.\n", nil},
}

// runMain runs one command line and returns the exit status.
func runMain(ctx context.Context, args []string, e env) int {
	if e.environ == nil {
		e.environ = map[string]string{}
	}
	global := flag.NewFlagSet("upgradebot", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	config.RegisterFlags(global, e.environ)
	showVersion := global.Bool("version", false, "print the version")
	err := global.Parse(args)
	rest := global.Args()
	switch {
	case errors.Is(err, flag.ErrHelp) || err == nil && len(rest) == 0 && !*showVersion:
		fmt.Fprint(e.stdout, helpText)
		return 0
	case err != nil:
		return exitStatus(flagError(err), e)
	case *showVersion:
		rest = []string{"version"}
	}
	name, args := rest[0], rest[1:]
	isHelp := func(a string) bool { return a == "-h" || a == "-help" || a == "--help" }
	wantUsage := slices.ContainsFunc(args, isHelp)
	switch {
	case isHelp(name) || name == "help" && len(args) == 0:
		fmt.Fprint(e.stdout, helpText)
		return 0
	case name == "help" && !wantUsage:
		name, wantUsage = args[0], true
	}
	cmd, ok := commands[name]
	if !ok {
		return exitStatus(usageError{fmt.Sprintf("unknown command %q: use run, shell, diagnose, version or help", name)}, e)
	}
	if wantUsage {
		fmt.Fprint(e.stdout, cmd.usage)
		return 0
	}
	return exitStatus(cmd.run(ctx, args, e), e)
}

// exitStatus reports err and returns the exit status CONTRACTS.md gives:
// 2 for a usage error (one line), 1 for anything else.
func exitStatus(err error, e env) int {
	var ue usageError
	var ve *config.ValidationError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "upgradebot: %s (see upgradebot help)\n", ue.msg)
		return exitUsage
	case errors.As(err, &ve):
		fmt.Fprintf(e.stderr, "upgradebot: the settings have problems:\n%s\n", ve.Error())
		return 1
	default:
		fmt.Fprintf(e.stderr, "upgradebot: %v\n", err)
		return 1
	}
}

func cmdVersion(_ context.Context, args []string, e env) error {
	if len(args) > 0 {
		return usageError{"version takes no arguments"}
	}
	fmt.Fprintln(e.stdout, "upgradebot", versionString())
	return nil
}

func versionString() string {
	v := version
	info, ok := debug.ReadBuildInfo()
	if v == "" && ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	if v == "" {
		v = "dev"
	}
	if ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
		v += " " + info.GoVersion
	}
	return v
}

// newFlagSet returns a command's flag set, with the settings' flags, so
// those may also come after the command.
func newFlagSet(name string, e env) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	config.RegisterFlags(fs, e.environ)
	return fs
}

// parseInterspersed parses flags that may come before or after positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func flagError(err error) error {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return usageError{msg}
}

const helpText = `upgradebot — the OutSystems upgrade assistant for Slack.

It recognizes modules-preparation errors pasted in a channel (Platform
Server 11.12 and later), explains them, tracks the modules that still need
republishing, and reminds the channel until they are done.

Usage:
  upgradebot [flags] <command> [arguments]
  upgradebot <command> --help

Commands:
  run                       connect to Slack (Socket Mode or HTTP; see README)
  shell [--channel C] [--user U] [-v]
                            the bot in this terminal, without Slack
  diagnose [--json] [FILE|-]
                            explain the errors in a file (or standard input)
                            once; --json prints {"findings": [...]}
  version                   print the version (also --version)
  help [command]            this text, or a command's usage

Flags (before or after the command; each sets its environment variable):
  --addr ADDR               UPGRADEBOT_ADDR
  --data FILE               UPGRADEBOT_DATA
  --kb-file FILE            UPGRADEBOT_KB_FILE
  --log-level LEVEL         UPGRADEBOT_LOG_LEVEL

Settings come from environment variables (secrets also from NAME_FILE);
every setting and its default is in the README.

Examples:
  upgradebot shell
  echo "There were errors preparing some modules." | upgradebot diagnose --json -
  SLACK_BOT_TOKEN=xoxb-… SLACK_APP_TOKEN=xapp-… upgradebot run
`
