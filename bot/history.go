package bot

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/upgradebot/upgradebot/internal/humantime"
	"github.com/upgradebot/upgradebot/progress"
)

// csvBOM starts the CSV files the bot shares: Excel on Windows reads a CSV
// without it in the machine's code page, and names like Ação_Núcleo garbled.
const csvBOM = "\ufeff"

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
	fields := strings.Fields(args)
	isAll := func(f string) bool { return strings.EqualFold(f, "all") }
	all := slices.ContainsFunc(fields, isAll)
	fields = slices.DeleteFunc(fields, isAll)
	if len(fields) > 1 {
		return b.usageError(b.lookup("history"), "Give one environment, and optionally all.")
	}
	env, _, errR := b.historyEnv(ctx, c, strings.Join(fields, " "))
	if errR == nil && all {
		errR = b.notSharedHere(ctx, c, env) // a file: before anything is read for it
	}
	if errR != nil {
		return private(errR)
	}
	entries, err := b.store.History(ctx, c.Workspace, env)
	if err != nil {
		return private(b.storeError("history", err))
	}
	cut := historyCut(entries)
	if all {
		// Every entry, earlier upgrades' too, as a file: more than a message holds.
		b.withNames(ctx, c.Workspace, &progress.ChangeRecord{History: entries})
		readable(entries)
		buf := bytes.NewBufferString(csvBOM)
		if err := progress.WriteHistoryCSV(buf, entries); err != nil {
			return private(b.storeError("history", err))
		}
		f := &File{Title: "History of " + env, Name: fmt.Sprintf("history-%s-%s.csv", env, b.now().UTC().Format("20060102")), Type: "csv", Content: buf.Bytes()}
		r := &Reply{Summary: fmt.Sprintf("History of %s: %d entries, as %s", env, len(entries), f.Name)}
		n, end := plural(len(entries), "entry", "entries"), "."
		if cut {
			r.Summary = fmt.Sprintf("History of %s: the newest %s entries (older ones were dropped), as %s", env, thousands(len(entries)), f.Name)
			n, end = "the newest "+thousands(len(entries))+" entries", "; older ones were dropped."
		}
		r.Section(Line{T(fmt.Sprintf("History of %s: %s, every upgrade's, in ", env, n)), C(f.Name), T(end)})
		return Response{Reply: r, Private: true, File: f}
	}
	// The upgrade under way, as export covers it; all has the earlier ones.
	entries, earlier := sinceStart(entries, b.UpgradeStarted(ctx, c.Workspace, env))
	r := &Reply{Summary: fmt.Sprintf("History of %s: %d entries", env, len(entries))}
	r.Header("History of " + env)
	// The newest entries, at most 25 and as many as one section of a
	// Slack message holds (3,000 characters, a mention's markup included).
	const show, room = 25, 2700
	start, used := len(entries), 0
	var lines []Line
	for start > 0 && len(lines) < show {
		e := entries[start-1]
		// Day first, and each time's own zone abbreviation: an upgrade can cross a clock change.
		l := Line{T(humantime.Format(e.Time, b.now(), b.zone, "2 Jan 15:04 MST") + " ")}
		if e.Actor != "" {
			l = append(l, M(e.Actor), T(" "))
		}
		// The detail says what happened ("summary: 26 prepared, …"); the action alone when it has none.
		l = append(l, V(Shorten(cmp.Or(readableReasons.Replace(e.Detail), e.Action), 300)))
		if used += len(l.PlainText()) + 16; used > room && len(lines) > 0 {
			break
		}
		lines = append([]Line{l}, lines...)
		start--
	}
	if len(lines) == 0 {
		lines = append(lines, Line{T("Nothing recorded yet.")})
	}
	r.Section(lines...)
	if start+earlier > 0 {
		older := plural(start, "older entry", "older entries")
		switch {
		case start == 0:
			older = plural(earlier, "entry", "entries") + " of earlier upgrades"
		case earlier > 0:
			older += fmt.Sprintf(" of this upgrade and %d of earlier ones", earlier)
		}
		has := " has them all, as a file."
		if cut {
			has = " has the newest " + thousands(progress.HistoryLimit) + "; older ones were dropped."
		}
		r.Context(Line{T(older + ": "), C(b.cmd + " history " + env + " all"), T(has)})
	}
	return private(r)
}

// historyCut reports whether the store dropped the oldest of entries, a
// whole history: it keeps the newest progress.HistoryLimit, and keeps no
// count of the others, so a history that long is taken as cut.
func historyCut(entries []progress.HistoryEntry) bool {
	return len(entries) >= progress.HistoryLimit
}

// thousands writes n with commas between its thousands: "10,000".
func thousands(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// sinceStart is the entries of the upgrade under way, started then (when
// tracked or last reset; an undone reset puts the start back), and how
// many earlier ones it leaves out.
func sinceStart(entries []progress.HistoryEntry, started time.Time) ([]progress.HistoryEntry, int) {
	earlier := 0
	if start := started.Truncate(time.Millisecond); !started.IsZero() { // history times are in ms
		for earlier < len(entries) && entries[earlier].Time.Before(start) {
			earlier++
		}
	}
	return entries[earlier:], earlier
}

func (b *Bot) cmdExport(ctx context.Context, c Command, args string) Response {
	fields := strings.Fields(args)
	format := "md"
	formats := map[string]string{"md": "md", "markdown": "md", "csv": "csv", "xlsx": "xlsx", "xls": "xlsx", "excel": "xlsx"}
	if n := len(fields); n > 0 && formats[strings.ToLower(fields[n-1])] != "" {
		format = formats[strings.ToLower(fields[n-1])]
		fields = fields[:n-1]
	}
	if n := len(fields); n > 0 && slices.Contains([]string{"pdf", "json", "txt", "text", "html", "docx"}, strings.ToLower(fields[n-1])) {
		return b.usageError(b.lookup("export"), fmt.Sprintf("%q is not a format I export: use md (Markdown), csv or xlsx (Excel).", fields[n-1]))
	}
	if len(fields) > 1 {
		return b.usageError(b.lookup("export"), "Give one environment and optionally md, csv or xlsx.")
	}
	env, _, errR := b.historyEnv(ctx, c, strings.Join(fields, " "))
	if errR == nil {
		errR = b.notSharedHere(ctx, c, env)
	}
	if errR != nil {
		return private(errR)
	}
	entries, err := b.store.History(ctx, c.Workspace, env)
	if err != nil {
		return private(b.storeError("export", err))
	}
	st, err := b.store.Status(ctx, c.Workspace, env, -1)
	if err != nil {
		return private(b.storeError("export", err))
	}
	open, _ := republishOrder(st.Modules, st.Edges)
	// The record of this upgrade: its modules are those since it started
	// (tracked, or reset; an undone reset puts the start back), and so is
	// its timeline.
	// The record keeps who took what, whether or not they have left since.
	x := statusExtra{started: b.UpgradeStarted(ctx, c.Workspace, env)}
	cut := historyCut(entries)
	entries, earlier := sinceStart(entries, x.started)
	rec := progress.ChangeRecord{Environment: env, Open: open, Republished: st.RepublishedModules, History: entries, Owners: b.moduleOwners(ctx, c.Workspace, env), Summary: b.recordSummary(st, x)}
	b.withNames(ctx, c.Workspace, &rec)
	readable(entries)
	var buf bytes.Buffer
	f := &File{Title: "Change record of the upgrade of " + env}
	name := fmt.Sprintf("upgrade-%s-%s.", env, b.now().UTC().Format("20060102"))
	switch format {
	case "csv":
		buf.WriteString(csvBOM)
		err = progress.WriteChangeRecordCSV(&buf, rec)
		f.Name, f.Type = name+"csv", "csv"
	case "xlsx":
		err = progress.WriteChangeRecordXLSX(&buf, rec)
		f.Name, f.Type = name+"xlsx", "xlsx"
	default:
		err = progress.WriteChangeRecordMarkdown(&buf, rec)
		f.Name, f.Type = name+"md", "markdown"
	}
	if err != nil {
		return private(b.storeError("export", err))
	}
	f.Content = buf.Bytes()
	mods := len(open) + len(st.RepublishedModules)
	r := &Reply{Summary: fmt.Sprintf("Change record of %s (%d modules, %d entries) as %s", env, mods, len(entries), f.Name)}
	r.Section(Line{T("Change record of "), B(env), T(fmt.Sprintf(": %s (%d open) and %d timeline entries, in ", plural(mods, "module", "modules"), len(open), len(entries))), C(f.Name), T(".")})
	switch {
	case earlier > 0:
		r.Context(Line{T(fmt.Sprintf("From the last reset on: the %s of earlier upgrades are left out (", plural(earlier, "timeline entry", "timeline entries"))), C(b.cmd + " history " + env + " all"), T(" has them).")})
	case cut:
		r.Context(Line{T("The history keeps the newest " + thousands(progress.HistoryLimit) + " entries: this upgrade's older ones were dropped.")})
	}
	return Response{Reply: r, Private: true, File: f}
}

// recordSummary is where st's upgrade stands, for the change record's
// reader: what the bot would say of it now, without the chat.
func (b *Bot) recordSummary(st progress.Status, x statusExtra) [][2]string {
	var out [][2]string
	add := func(label, value string) { out = append(out, [2]string{label, value}) }
	if st.Version != "" {
		target := "Platform Server " + st.Version
		if st.FromVersion != "" {
			target += ", from " + st.FromVersion
		}
		add("Target", target)
	}
	if st.InstallType != "" {
		add("Installation", string(st.InstallType))
	}
	if !x.started.IsZero() {
		add("Upgrade started", x.started.In(b.zone).Format("2006-01-02 15:04 MST"))
	}
	add("State", stateText(st.State))
	if st.Counts.Known() {
		add("Service Center counts", countsText(st))
	}
	left := fmt.Sprintf("%d listed", st.ModuleCount)
	if n := st.Unnamed(); n > 0 {
		left += fmt.Sprintf(", and %d counted by Service Center that nobody named", n)
	}
	if republishAll(st.Environment) {
		left = "all applications (upgraded from Platform Server " + st.FromVersion + ")"
	}
	add("To republish", left)
	add("Exported", b.now().In(b.zone).Format("2006-01-02 15:04 MST"))
	return out
}

// readable words history entries as the files people read show them.
func readable(entries []progress.HistoryEntry) {
	for i := range entries {
		entries[i].Detail = readableReasons.Replace(entries[i].Detail)
		entries[i].Source = sourceText(entries[i].Source)
	}
}

// notSharedHere refuses a file of env (its record, its chart) in a
// channel that does not follow it: the file is shared with the whole
// channel, people who may not see where env is followed. Nil when the
// channel follows env or is the caller's alone.
func (b *Bot) notSharedHere(ctx context.Context, c Command, env string) *Reply {
	if c.Direct || b.follows(ctx, c.Workspace, c.Channel, env) {
		return nil
	}
	return errorReply(fmt.Sprintf("%s is not followed in this channel, so I don't share its files here, where everyone in the channel would see them: ask in a channel that follows %s, or in a direct message with me.", env, env))
}

// withNames puts the names of people and channels in place of their ids
// in rec, a file read outside Slack where an id means nothing: who acted,
// reported, republished or owns, and the channel of a track, an untrack
// or a message. Ids the bot cannot name stay.
func (b *Bot) withNames(ctx context.Context, workspace string, rec *progress.ChangeRecord) {
	if b.names == nil {
		return
	}
	var ids []string
	for _, e := range rec.History {
		ids = append(ids, e.Actor, entryChannel(e))
	}
	for _, ms := range [][]progress.Module{rec.Open, rec.Republished} {
		for _, m := range ms {
			ids = append(ids, m.ReportedBy, m.RepublishedBy)
		}
	}
	for _, o := range rec.Owners {
		ids = append(ids, o)
	}
	slices.Sort(ids)
	ids = slices.DeleteFunc(slices.Compact(ids), func(id string) bool { return id == "" })
	if len(ids) == 0 {
		return
	}
	known := b.names.Names(ctx, workspace, ids)
	name := func(id string) string { return cmp.Or(known[id], id) }
	for i, e := range rec.History {
		rec.History[i].Actor = name(e.Actor)
		ch := entryChannel(e)
		if known[ch] == "" {
			continue
		}
		// In the store's own words: "followed in C1, …", "msg:C1:ts…".
		if e.Action == progress.ActionTrack || e.Action == progress.ActionUntrack {
			rec.History[i].Detail = strings.Replace(e.Detail, "followed in "+ch, "followed in "+known[ch], 1)
		}
		rec.History[i].Source = strings.Replace(e.Source, "msg:"+ch+":", "msg:"+known[ch]+":", 1)
	}
	for _, ms := range [][]progress.Module{rec.Open, rec.Republished} {
		for i, m := range ms {
			ms[i].ReportedBy, ms[i].RepublishedBy = name(m.ReportedBy), name(m.RepublishedBy)
		}
	}
	owners := make(map[string]string, len(rec.Owners))
	for k, o := range rec.Owners {
		owners[k] = name(o)
	}
	rec.Owners = owners
}

// entryChannel is the channel a history entry names: a track's or
// untrack's, or the message's it came from; "" when none.
func entryChannel(e progress.HistoryEntry) string {
	if e.Action == progress.ActionTrack || e.Action == progress.ActionUntrack {
		if _, rest, ok := strings.Cut(e.Detail, "followed in "); ok {
			ch, _, _ := strings.Cut(rest, ",")
			return ch
		}
	}
	if kind, rest, _ := strings.Cut(e.Source, ":"); kind == "msg" {
		ch, _, _ := strings.Cut(rest, ":")
		return ch
	}
	return ""
}

// sourceText says where a history entry came from as people read it: the
// message (channel and timestamp: Slack finds it), a command or an undo,
// rather than the store's change key.
func sourceText(s string) string {
	switch kind, rest, _ := strings.Cut(s, ":"); kind {
	case "msg":
		ch, ts, _ := strings.Cut(rest, ":")
		ts, _, _ = strings.Cut(ts, "#")
		ts, _, _ = strings.Cut(ts, "~")
		return "message in " + ch + " at " + ts
	case "cmd":
		return "command"
	case "undo":
		return "undo"
	}
	return s
}

// readableReasons words the store's reason and state codes in a history
// entry as people read them ("1 module reported (producer-not-prepared)",
// "state set to finished-with-errors"), as the other views word them.
var readableReasons = strings.NewReplacer("producer-not-prepared", "producer not prepared", "not-upgraded", "not compiled for the new version",
	"state set to "+string(progress.StateFinishedWithErrors), stateText(progress.StateFinishedWithErrors),
	"state set to "+string(progress.StateFailed), stateText(progress.StateFailed),
	"state set to "+string(progress.StateReady), "the environment is ready")
