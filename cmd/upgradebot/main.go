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
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	_ "time/tzdata" // schedules must work in a minimal container without zone files

	"github.com/upgradebot/upgradebot/config"
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
	stdin     io.Reader
	stdout    io.Writer
	stderr    io.Writer
	lookupEnv func(string) (string, bool)
	// stdinTerminal reports whether standard input is a terminal (for the shell prompt).
	stdinTerminal bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	fi, _ := os.Stdin.Stat()
	e := env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, lookupEnv: os.LookupEnv,
		stdinTerminal: fi != nil && fi.Mode()&os.ModeCharDevice != 0}
	os.Exit(runMain(ctx, os.Args[1:], e))
}

// runMain runs one command line and returns the exit status.
func runMain(ctx context.Context, args []string, e env) int {
	global := flag.NewFlagSet("upgradebot", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	flags := config.RegisterFlags(global)
	if err := global.Parse(args); errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(e.stdout, helpText)
		return 0
	} else if err != nil {
		fmt.Fprintf(e.stderr, "upgradebot: %v (see upgradebot help)\n", err)
		return exitUsage
	}
	rest := global.Args()
	if len(rest) == 0 {
		fmt.Fprint(e.stdout, helpText)
		return 0
	}
	var err error
	switch rest[0] {
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, helpText)
		return 0
	case "version":
		fmt.Fprintln(e.stdout, "upgradebot", versionString())
		return 0
	case "diagnose":
		err = cmdDiagnose(ctx, rest[1:], flags, e)
	case "shell":
		err = cmdShell(ctx, rest[1:], flags, e)
	case "run":
		err = cmdRun(ctx, rest[1:], flags, e)
	default:
		err = usageError{fmt.Sprintf("unknown command %q: use run, shell, diagnose, version or help", rest[0])}
	}
	var ue usageError
	var ve *config.ValidationError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "upgradebot: %s\n", ue.msg)
		return exitUsage
	case errors.As(err, &ve):
		fmt.Fprintf(e.stderr, "upgradebot: the settings have problems:\n%s\n", ve.Error())
		return 1
	default:
		fmt.Fprintf(e.stderr, "upgradebot: %v\n", err)
		return 1
	}
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
  upgradebot [--config FILE] <command> [arguments]

Commands:
  run                       connect to Slack (Socket Mode or HTTP; see README)
  shell [--channel C] [--user U]
                            the bot in this terminal, without Slack: paste an
                            error and end it with an empty line, or type
                            /upgrade help; :image PATH reads a screenshot;
                            :quit leaves
  diagnose [--json] [FILE|-]
                            explain the errors in a file (or standard input)
                            once; --json prints {"findings": [...]}
  version                   print the version
  help                      this text

Settings come from flags, environment variables and an optional YAML file
(--config); every setting and its default is in the README.

Examples:
  upgradebot shell
  echo "There were errors preparing some modules." | upgradebot diagnose --json -
  SLACK_BOT_TOKEN=xoxb-… SLACK_APP_TOKEN=xapp-… upgradebot run
`
