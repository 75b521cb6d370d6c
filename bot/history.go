package bot

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/upgradebot/upgradebot/progress"
)

func (b *Bot) historyEnv(ctx context.Context, c Command, args string) (string, []string, *Reply) {
	fields := strings.Fields(args)
	var named string
	if len(fields) > 0 {
		named = fields[0]
	}
	env, errR := b.resolveEnv(ctx, c, named, nil)
	return env, fields, errR
}

func (b *Bot) cmdHistory(ctx context.Context, c Command, args string) Response {
	env, _, errR := b.historyEnv(ctx, c, args)
	if errR != nil {
		return private(errR)
	}
	entries, err := b.store.History(ctx, c.Workspace, env)
	if err != nil {
		return private(b.storeError("history", err))
	}
	r := &Reply{Summary: fmt.Sprintf("History of %s: %d entries", env, len(entries))}
	r.Header("History of " + env)
	const show = 25
	start := max(0, len(entries)-show)
	var lines []Line
	for _, e := range entries[start:] {
		l := Line{T(e.Time.UTC().Format("01-02 15:04") + " ")}
		if e.Actor != "" {
			l = append(l, M(e.Actor), T(" "))
		}
		lines = append(lines, append(l, T(e.Action+": "+e.Detail)))
	}
	if len(lines) == 0 {
		lines = append(lines, Line{T("Nothing recorded yet.")})
	}
	r.Section(lines...)
	if start > 0 {
		r.Context(Line{T(fmt.Sprintf("%d older entries: ", start)), C(b.cmd + " export " + env), T(" has them all.")})
	}
	return private(r)
}

func (b *Bot) cmdExport(ctx context.Context, c Command, args string) Response {
	fields := strings.Fields(args)
	format := "md"
	if n := len(fields); n > 0 && (strings.EqualFold(fields[n-1], "csv") || strings.EqualFold(fields[n-1], "md") || strings.EqualFold(fields[n-1], "markdown")) {
		format = strings.ToLower(fields[n-1])
		fields = fields[:n-1]
	}
	if len(fields) > 1 {
		return b.usageError(b.lookup("export"), "Give one environment and optionally md or csv.")
	}
	env, _, errR := b.historyEnv(ctx, c, strings.Join(fields, " "))
	if errR != nil {
		return private(errR)
	}
	entries, err := b.store.History(ctx, c.Workspace, env)
	if err != nil {
		return private(b.storeError("export", err))
	}
	var buf bytes.Buffer
	f := &File{Title: "Upgrade history of " + env}
	if format == "csv" {
		err = progress.WriteHistoryCSV(&buf, entries)
		f.Name, f.Type = fmt.Sprintf("upgrade-%s-%s.csv", env, b.now().UTC().Format("20060102")), "csv"
	} else {
		err = progress.WriteHistoryMarkdown(&buf, env, entries)
		f.Name, f.Type = fmt.Sprintf("upgrade-%s-%s.md", env, b.now().UTC().Format("20060102")), "markdown"
	}
	if err != nil {
		return private(b.storeError("export", err))
	}
	f.Content = buf.Bytes()
	r := &Reply{Summary: fmt.Sprintf("History of %s (%d entries) as %s", env, len(entries), f.Name)}
	r.Section(Line{T("History of "), B(env), T(fmt.Sprintf(": %d entries, in ", len(entries))), C(f.Name), T(".")})
	return Response{Reply: r, Private: true, File: f}
}
