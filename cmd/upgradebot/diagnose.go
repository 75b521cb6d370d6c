package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/upgradebot/upgradebot/bot"
	"github.com/upgradebot/upgradebot/config"
	"github.com/upgradebot/upgradebot/diagnosis"
)

// maxInput bounds what diagnose reads: far above Slack's 40,000 characters.
const maxInput = 8 << 20

const diagnoseUsage = `Usage: upgradebot diagnose [--json] [FILE|-]

Explains the modules-preparation errors and status messages in FILE (text,
an Error Log export as XLSX or CSV, or a PNG or JPEG screenshot when OCR is
on), or in standard input when FILE is - or left out; nothing is recorded.
Flags may come before or after FILE.

  --json   print exactly one JSON object: {"findings": [...]}

Exit status: 0 when it ran (found or not), 2 on a usage error, 1 on an
input error (a missing or binary file, say, or more than 8 MB).

Examples:
  upgradebot diagnose error.txt
  pbpaste | upgradebot diagnose --json
`

func cmdDiagnose(ctx context.Context, args []string, e env) error {
	fs := newFlagSet("diagnose", e)
	asJSON := fs.Bool("json", false, "print JSON")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return flagError(err)
	}
	if len(pos) > 1 {
		return usageError{fmt.Sprintf("diagnose takes one FILE (or - for standard input), not %d", len(pos))}
	}
	if len(pos) == 0 && e.stdinTerminal {
		// Nothing piped in: waiting for typed input would look like a hang.
		fmt.Fprint(e.stdout, diagnoseUsage)
		return nil
	}
	cfg, err := config.Load(config.ForDiagnose, e.environ)
	if err != nil {
		return err
	}
	kb, err := loadKB(cfg)
	if err != nil {
		return err
	}
	var data []byte
	name := "-"
	if len(pos) == 1 {
		name = pos[0]
	}
	if name == "-" {
		data, err = readLimited(ctx, func() (io.ReadCloser, error) { return io.NopCloser(e.stdin), nil })
	} else {
		data, err = readFileLimited(ctx, name)
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", name, err)
	}
	engine := diagnosis.New(kb)
	b := bot.New(bot.Options{Engine: engine})
	var findings []diagnosis.Finding
	var reply *bot.Reply
	if imageKind(data) != "" {
		text, err := readScreenshot(ctx, cfg, name, data)
		if err != nil {
			return err
		}
		// The text goes in as read: the engine undoes Slack's escaping and
		// link markup once, so both a plain paste and Slack's raw text work.
		if findings = engine.Diagnose(text); len(findings) > 0 {
			reply = b.HandleCommand(ctx, bot.Command{Text: "diagnose " + text}).Reply
		}
	} else if findings, reply, err = b.DiagnoseFile(data); err != nil {
		// An Error Log export row by row, any other text as pasted, as in Slack.
		return fmt.Errorf("reading %s: %w", name, err)
	}
	if *asJSON {
		return writeJSON(e.stdout, findings)
	}
	report := "No known modules-preparation error or status message found.\n"
	if reply != nil {
		report = bot.RenderText(reply)
	}
	// A report lost (a full disk, a closed pipe) is an error, as in --json.
	if _, err := io.WriteString(e.stdout, report); err != nil {
		return fmt.Errorf("writing the report: %w", err)
	}
	return nil
}

// errTooLarge is an input over maxInput: diagnosing only its start could
// miss the errors, and saying nothing was found would be wrong.
var errTooLarge = fmt.Errorf("more than %d MB: diagnose reads at most %d MB; pass only the part with the errors (cut the log around them first)", maxInput>>20, maxInput>>20)

func readFileLimited(ctx context.Context, path string) ([]byte, error) {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, errors.New("no such file: check the path, or give - to read standard input")
	case err != nil:
		return nil, err
	case fi.IsDir():
		return nil, errors.New("it is a directory: give a file's path, or - to read standard input")
	}
	// Opened where it is read: opening a FIFO waits for its writer.
	return readLimited(ctx, func() (io.ReadCloser, error) { return os.Open(path) })
}

// readLimited reads all of what open gives, or fails with errTooLarge
// beyond maxInput, or when ctx ends (Ctrl-C, a CI job's time limit) while
// it waits on a terminal, a pipe or a FIFO: neither an open nor a read can
// be interrupted, so they are left to the process's exit.
func readLimited(ctx context.Context, open func() (io.ReadCloser, error)) ([]byte, error) {
	type result struct {
		data []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		r, err := open()
		if err != nil {
			done <- result{nil, err}
			return
		}
		defer r.Close()
		data, err := io.ReadAll(io.LimitReader(r, maxInput+1))
		done <- result{data, err}
	}()
	var data []byte
	select {
	case res := <-done:
		if res.err != nil {
			return nil, res.err
		}
		data = res.data
	case <-ctx.Done():
	}
	if ctx.Err() != nil { // also when the input ended as the interrupt came
		return nil, fmt.Errorf("interrupted before the input ended: %w", context.Cause(ctx))
	}
	if len(data) > maxInput {
		return nil, errTooLarge
	}
	return data, nil
}

// imageKind recognizes PNG and JPEG by their signatures.
func imageKind(data []byte) string {
	switch {
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff}):
		return "jpeg"
	}
	return ""
}

func writeJSON(w io.Writer, findings []diagnosis.Finding) error {
	if findings == nil {
		findings = []diagnosis.Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(struct {
		Findings []diagnosis.Finding `json:"findings"`
	}{findings})
}

func loadKB(cfg *config.Config) (*diagnosis.KB, error) {
	if cfg.KBFile == "" {
		return diagnosis.Builtin(), nil
	}
	data, err := os.ReadFile(cfg.KBFile)
	if err != nil {
		return nil, fmt.Errorf("UPGRADEBOT_KB_FILE: %w", err)
	}
	kb, err := diagnosis.WithExtra(data, cfg.KBFile)
	if err != nil {
		return nil, fmt.Errorf("UPGRADEBOT_KB_FILE: %w", err)
	}
	return kb, nil
}
