package bot

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/upgradebot/upgradebot/progress"
)

// Action ids of the undo and confirmation buttons.
const (
	ActionUndo    = "undo"
	ActionConfirm = "confirm"
)

// undoable is what one reply recorded (its change keys), kept under the
// reply's ref for progress.UndoTTL so its Undo button, /upgrade undo, an
// edit or a deletion of the message can take it back.
type undoable struct {
	Env    string   `json:"env"`
	Keys   []string `json:"keys"`
	What   string   `json:"what,omitempty"`   // what it recorded, in words
	Undone string   `json:"undone,omitempty"` // who undid it
	Admin  bool     `json:"admin,omitempty"`  // an admin's command (reset): only admins undo it
	At     int64    `json:"at,omitempty"`     // when it was recorded, Unix ms (0: kept before this was)
	// Started is, for a reset, when the upgrade it ended had started: its
	// undo puts that start back, so the changes of that upgrade can be
	// undone again.
	Started string `json:"started,omitempty"`
	// Versions is, for a reset or a track that started the next upgrade,
	// how it moved the versions: its undo puts them back.
	Versions *versionMove `json:"versions,omitempty"`
	// Outcome: it recorded a summary or banner (the preparation's outcome
	// or progress): an edit of the message corrects it (correcting).
	Outcome bool `json:"outcome,omitempty"`
	// Held is the code of the held changes it recorded anyway: undone,
	// they are held back again, and "Record anyway" records them again.
	Held string `json:"held,omitempty"`
}

// undoRef is the short ref of a command's reply (a message's is its replyKey).
func undoRef(key string) string {
	sum := sha256.Sum256([]byte(key))
	return base64.RawURLEncoding.EncodeToString(sum[:15])
}

// UndoButton takes back what the reply ref recorded (what, in words: ""
// when unknown), as its command `undo <code>` does (putUndoable keeps the code).
func UndoButton(ref, what string) Button {
	bt := Button{ActionID: ActionUndo, Label: "Undo", Value: buttonValue{Key: ref}.String(), Command: "undo " + undoCode(ref)}
	if what != "" {
		bt.Describe = "Undo: " + what
	}
	return bt
}

// undoCode is the short code of the reply ref's undo, for `undo <code>`.
func undoCode(ref string) string {
	sum := sha256.Sum256([]byte("undo\x00" + ref))
	return strings.ToLower(base32.StdEncoding.EncodeToString(sum[:5]))
}

// withUndo adds the Undo button of what ref recorded to r's last row of
// buttons (or a row of its own).
func withUndo(r *Reply, ref, what string) *Reply {
	if n := len(r.Blocks); n > 0 && r.Blocks[n-1].Kind == ActionsBlock {
		r.Blocks[n-1].Buttons = append(r.Blocks[n-1].Buttons, UndoButton(ref, what))
		return r
	}
	return r.Actions(UndoButton(ref, what))
}

// confirmButton asks before a command that changes a lot: it runs command (ending in --yes) when clicked.
func confirmButton(label, command string) Button {
	return Button{ActionID: ActionConfirm, Label: label, Value: command, Primary: true, Command: command}
}

// yesFlag is --yes, in any case, as a word of its own; also as a
// keyboard's "smart dashes" or a hurried hand write it (—yes, –yes,
// -yes), and with a sentence's full stop.
var yesFlag = regexp.MustCompile(`(?i)(?:^|\s)(?:--?|—|–)yes[.!]?(?:\s|$)`)

// confirmed strips --yes (anywhere, any case) from a command's arguments.
func confirmed(args string) (string, bool) {
	if !yesFlag.MatchString(args) {
		return args, false
	}
	return strings.TrimSpace(yesFlag.ReplaceAllString(args, " ")), true
}

// undoable returns what the reply ref recorded; false when nothing (or it expired).
func (b *Bot) undoable(ctx context.Context, workspace, ref string) (undoable, bool, error) {
	return getJSON[undoable](ctx, b.store, workspace, "undo:"+ref)
}

func (b *Bot) putUndoable(ctx context.Context, workspace, ref string, u undoable, also ...progress.Put) {
	puts, err := undoPuts(ref, u)
	if err != nil {
		b.log.Warn("cannot keep what a reply recorded for undo", "err", err)
		return
	}
	if u.Undone != "" { // taken back: its thread is no longer about u.Env
		puts = append(puts, progress.Put{Key: threadKey(ref), TTL: time.Millisecond})
	}
	b.putUndo(ctx, workspace, append(puts, also...))
}

// undoPuts keep what the reply ref recorded (u) and its undo code.
func undoPuts(ref string, u undoable) ([]progress.Put, error) {
	p, err := jsonPut("undo:"+ref, u, progress.UndoTTL)
	return []progress.Put{p, {Key: "undocode:" + undoCode(ref), Value: []byte(ref), TTL: progress.UndoTTL}}, err
}

// remember notes that the reply ref recorded keys on env, as user's last
// change in channel. A message answered again (a late screenshot) adds its
// keys to what it recorded before, unless that was undone. It reports
// whether the reply has something to undo (its Undo button).
func (b *Bot) remember(ctx context.Context, workspace, channel, user, ref string, rec undoable) bool {
	ok, puts := b.noteUndoable(ctx, workspace, channel, user, ref, rec)
	b.putUndo(ctx, workspace, puts)
	return ok
}

// putUndo writes noteUndoable's puts.
func (b *Bot) putUndo(ctx context.Context, workspace string, puts []progress.Put) {
	if len(puts) == 0 {
		return
	}
	if err := b.store.PutValues(ctx, workspace, puts...); err != nil {
		b.log.Warn("cannot keep what a reply recorded for undo", "err", err)
	}
}

// noteUndoable is remember without its writes: it returns them, to be
// made with others in one round trip.
func (b *Bot) noteUndoable(ctx context.Context, workspace, channel, user, ref string, rec undoable) (bool, []progress.Put) {
	if len(rec.Keys) == 0 && rec.Env == "" {
		return false, nil // nothing recorded, nor about an environment: nothing to read either
	}
	u, ok, err := b.undoable(ctx, workspace, ref)
	if err != nil {
		b.log.Warn("cannot read what a reply recorded before", "err", err)
	}
	if len(rec.Keys) == 0 {
		return ok && u.Undone == "" && rec.Env != "", nil
	}
	if ok && u.Undone == "" && u.Env == rec.Env {
		rec.Outcome = rec.Outcome || u.Outcome
		rec.Keys = append(u.Keys, slices.DeleteFunc(rec.Keys, func(k string) bool { return slices.Contains(u.Keys, k) })...)
		rec.What = strings.TrimSpace(u.What + " " + rec.What)
		rec.At = u.At
	}
	if rec.At == 0 {
		rec.At = b.now().UnixMilli()
	}
	puts, err := undoPuts(ref, rec)
	if err != nil {
		b.log.Warn("cannot keep what a reply recorded for undo", "err", err)
		return true, nil
	}
	return true, append(puts, progress.Put{Key: lastKey(channel, user), Value: []byte(ref), TTL: progress.UndoTTL})
}

func lastKey(channel, user string) string { return "last:" + channel + ":" + user }

// lastNotUndoable notes what, a change undo does not take back (track,
// untrack, remind, take, release, snooze), as c's user's last change here,
// with what to do instead: a plain undo after it says so rather than take
// back the change before it, which the user no longer sees as the last.
func (b *Bot) lastNotUndoable(ctx context.Context, c Command, what, instead string) {
	if err := b.store.PutValue(ctx, c.Workspace, lastKey(c.Channel, c.User), []byte("!"+what+"\x00"+instead), progress.UndoTTL); err != nil {
		b.log.Warn("cannot keep a user's last change", "err", err)
	}
}

func (b *Bot) cmdUndo(ctx context.Context, c Command, args string) Response {
	if fields := strings.Fields(args); len(fields) > 1 {
		return b.usageError(b.lookup("undo"), "Give the code printed beside an Undo button, or nothing for your last change here.")
	} else if len(fields) == 1 {
		ref, found, err := b.store.Value(ctx, c.Workspace, "undocode:"+strings.ToLower(fields[0]))
		switch {
		case err != nil:
			return private(b.storeError("read what to undo", err))
		case !found:
			return private(errorReply(fmt.Sprintf("I don't know the undo code %q (an Undo button works for %d days). %s undo takes back your last change here.", Shorten(fields[0], 20), progress.UndoTTL/(24*time.Hour), b.cmd)))
		}
		return b.undoReply(ctx, c.Workspace, c.User, string(ref))
	}
	ref, found, err := b.store.Value(ctx, c.Workspace, lastKey(c.Channel, c.User))
	if err != nil {
		return private(b.storeError("read your last change", err))
	}
	if !found {
		return private(errorReply(fmt.Sprintf("You have no change to undo in this channel (I keep them %d days).", progress.UndoTTL/(24*time.Hour))))
	}
	if last, ok := strings.CutPrefix(string(ref), "!"); ok {
		what, instead, found := strings.Cut(last, "\x00")
		if !found { // noted before the advice was: a take, release or snooze
			instead = "Take, release or snooze again to change it"
		}
		return private(errorReply(fmt.Sprintf("Your last change here (%s) is not one undo takes back, so nothing changed. %s. An earlier change is undone with the code beside its Undo button: %s undo <code>.", what, instead, b.cmd)))
	}
	return b.undoReply(ctx, c.Workspace, c.User, string(ref))
}

// undoReply undoes what the reply ref recorded and rebuilds that reply
// (Edit), to say so and drop its Undo button, typed or clicked.
func (b *Bot) undoReply(ctx context.Context, workspace, user, ref string) Response {
	u, _, _ := b.undoable(ctx, workspace, ref) // undo says what went wrong
	resp := b.undo(ctx, workspace, user, ref)
	if resp.Announce == nil || u.Env == "" {
		return resp
	}
	if m, found, err := b.kept(ctx, workspace, ref); err == nil && found {
		if r := b.rebuilt(ctx, ref, b.Read(m), u.Env, "", nil); r != nil {
			resp.Edit = &Edit{Message: m, Reply: r}
		}
	}
	return resp
}

// undo takes back what the reply ref recorded, as one change ("undo of …" in the history).
func (b *Bot) undo(ctx context.Context, workspace, user, ref string) Response {
	return b.undoAttempt(ctx, workspace, user, ref, 1)
}

// undoAttempt is undo's attempt-th try: a reset's undo is decided on a read
// of the new upgrade, and tried again when a change came between.
func (b *Bot) undoAttempt(ctx context.Context, workspace, user, ref string, attempt int) Response {
	u, ok, err := b.undoable(ctx, workspace, ref)
	switch {
	case err != nil:
		return private(b.storeError("read what to undo", err))
	case !ok:
		return private(errorReply(fmt.Sprintf("That can no longer be undone: I keep what a reply recorded for %d days.", progress.UndoTTL/(24*time.Hour))))
	case u.Undone != "":
		return b.alreadyUndone(u)
	case u.Admin && !b.isAdmin(user):
		return private(b.adminsOnly("Only upgradebot admins may undo that (an admin's command)"))
	}
	// The store's undo compares each module with what the change left, and
	// a reset leaves a module it cleared as a "done" left it: undone after
	// a reset, it would come back into the new upgrade.
	var rev *int64 // a reset's undo holds only while the new upgrade is as read here
	if u.Started != "" || u.Versions != nil {
		// A reset's undo once the new upgrade has news would mix the two.
		st, err := b.store.Status(ctx, workspace, u.Env, 0)
		if err == nil {
			rev = &st.Revision
		}
		if err == nil && (st.State.Normal() != progress.StateFollowing || st.ModuleCount > 0 || st.Counts.Known() || st.Republished.Total() > 0) {
			return private(errorReply(fmt.Sprintf("%s's new upgrade has news since the reset (%s): undoing the reset now would mix the two upgrades, so nothing changed. `%s history %s` shows what was recorded; undo that first if it was a mistake.",
				u.Env, statusSummary(st), b.cmd, u.Env)))
		}
		if err == nil && u.Versions != nil && u.Versions.changedSince(st.Environment) {
			return private(errorReply(fmt.Sprintf("%s's versions changed since the reset (now %s): undoing it would make up an upgrade nobody ran, so nothing changed. `%s track %s <version> from <version> --yes` sets them.",
				u.Env, versionsText(st.Environment), b.cmd, u.Env)))
		}
	}
	if started := b.startedAfter(ctx, workspace, u.Env, u.At); !started.IsZero() {
		return private(errorReply(fmt.Sprintf("That change was made before %s's upgrade was started again (%s): undoing it now would mix the two upgrades, so nothing changed.", u.Env, b.when(started))))
	}
	res, err := b.store.Apply(ctx, workspace, u.Env, progress.Change{Kind: progress.ChangeUndo, Key: "undo:" + u.Keys[0], Actor: user, Undoes: u.Keys, At: b.now(), IfRevision: rev})
	switch {
	case errors.Is(err, progress.ErrChanged) && attempt < guardAttempts:
		return b.undoAttempt(ctx, workspace, user, ref, attempt+1)
	case errors.Is(err, progress.ErrNothingToUndo):
		return private(errorReply(fmt.Sprintf("Nothing left to undo on %s: it was undone already or is older than %d days.", u.Env, progress.UndoTTL/(24*time.Hour))))
	case err != nil:
		return private(b.storeError("undo", err))
	case res.Duplicate:
		// Another undo of it came first (a click and the code typed at once);
		// it may not have noted who yet, its history entry has.
		u.Undone = b.undoneBy(ctx, workspace, u.Env, "undo:"+u.Keys[0])
		return b.alreadyUndone(u)
	}
	u.Undone = user
	// A choice of environment undone is forgotten: the message may be recorded for another.
	b.forgetChoice(ctx, workspace, ref, u.Env)
	b.putUndoable(ctx, workspace, ref, u)
	b.restoreOwners(ctx, workspace, u.Env, u.Keys, res.Added)
	if u.Started != "" { // a reset's undo
		if err := b.store.PutValue(ctx, workspace, startedKey(u.Env), []byte(u.Started), startedTTL); err != nil {
			b.log.Warn("cannot put back when the upgrade started", "env", u.Env, "err", err)
		}
		b.restoreSamples(ctx, workspace, u.Env)
	}
	if u.Versions != nil {
		e, err := b.store.Environment(ctx, workspace, u.Env)
		if err == nil {
			_, err = b.moveVersions(ctx, workspace, user, "", e, u.Versions.Target, u.Versions.From)
		}
		if err != nil {
			b.log.Warn("cannot put back the versions of the upgrade", "env", u.Env, "err", err)
		}
	}
	if len(res.Added)+len(res.Removed)+len(res.Updated) == 0 && len(res.Kept) > 0 {
		// Every module it named changed since: nothing to announce.
		r := &Reply{Summary: "Nothing undone on " + u.Env}
		r.Section(append(append(Line{T("Nothing undone on "), B(u.Env), T(": ")}, nameSpans(res.Kept, 10)...),
			T(" changed since by a later change, so it stays as it is. "), C(b.cmd+" history "+u.Env), T(" shows what changed.")))
		return private(r)
	}
	if len(res.Kept) == 0 {
		// All taken back: held again. (Partly, it stays recorded anyway:
		// its button would list again modules changed since.)
		b.holdAgain(ctx, workspace, u.Held)
	}
	unnamed := 0
	if st, err := b.store.Status(ctx, workspace, u.Env, 0); err == nil {
		unnamed = st.Unnamed()
	}
	r := b.undoneReply(u.Env, user, res, unnamed)
	if res.AllClear() { // what it put back emptied the list, the counts covered
		r.Blocks = append(r.Blocks, b.clearedIn(u.Env, res.State).Blocks...)
	}
	return Response{Announce: r}
}

// alreadyUndone says that what u recorded was undone already, and by whom when known.
func (b *Bot) alreadyUndone(u undoable) Response {
	r := &Reply{Summary: "Already undone"}
	l := Line{T("That was undone already")}
	if u.Undone != "" {
		l = append(l, T(", by "), M(u.Undone))
	}
	if u.What != "" {
		l = append(l, T(" ("), V(Shorten(u.What, 200)), T(")"))
	}
	return private(r.Section(append(l, T(". To take back an earlier change, use the code beside its Undo button: "), C(b.cmd+" undo <code>"), T("."))))
}

// undoneBy is who made the undo keyed key on env, from its history; "" when unknown.
func (b *Bot) undoneBy(ctx context.Context, workspace, env, key string) string {
	h, err := b.store.History(ctx, workspace, env)
	if err != nil {
		return ""
	}
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Source == key {
			return h[i].Actor
		}
	}
	return ""
}

// startedAfter is when env's upgrade was started again (reset) after at
// (Unix ms); zero when it was not, or either is unknown.
func (b *Bot) startedAfter(ctx context.Context, workspace, env string, at int64) time.Time {
	env, err := progress.NormalizeEnvironment(env)
	if at == 0 || err != nil {
		return time.Time{}
	}
	v, ok, err := b.store.Value(ctx, workspace, startedKey(env))
	if err != nil || !ok {
		return time.Time{}
	}
	started, err := time.Parse(time.RFC3339Nano, string(v))
	if err != nil || !started.After(time.UnixMilli(at)) {
		return time.Time{}
	}
	return started
}

// beforeRestart refuses to record now for env what a message said before
// env's upgrade was started again (at, Unix ms): it would mix the two
// upgrades. nil when there was no restart since.
func (b *Bot) beforeRestart(ctx context.Context, workspace, env string, at int64) *Reply {
	return b.restartedReply(env, b.startedAfter(ctx, workspace, env, at))
}

// restartedReply is beforeRestart's refusal for env started again at
// started; nil when started is zero.
func (b *Bot) restartedReply(env string, started time.Time) *Reply {
	if started.IsZero() {
		return nil
	}
	return errorReply(fmt.Sprintf("That message came before %s's upgrade was started again (%s): recording it now would mix the two upgrades, so nothing was recorded. If it is about the new upgrade, paste it again.", env, b.when(started)))
}

// sentBeforeRestart is beforeRestart for message m by the time it was
// sent: handled late (a queue, a slow screenshot) or edited after env's
// upgrade was reset, it is about the upgrade before.
func (b *Bot) sentBeforeRestart(ctx context.Context, m Message, env string) *Reply {
	return b.restartedReply(env, b.resetAfter(ctx, m.Workspace, env, sentAt(m.TS)))
}

// resetAfter is startedAfter confirmed by env's history, for a time at
// that may be older than env: only a reset is a restart. An environment
// tracked after at had no upgrade then.
func (b *Bot) resetAfter(ctx context.Context, workspace, env string, at int64) time.Time {
	started, _ := b.restartAfter(ctx, workspace, env, at)
	return started
}

// restartAfter is resetAfter with the history's last reset after at (its
// Actor started the upgrade); a zero entry when the history cannot be read.
func (b *Bot) restartAfter(ctx context.Context, workspace, env string, at int64) (time.Time, progress.HistoryEntry) {
	started := b.startedAfter(ctx, workspace, env, at)
	if started.IsZero() {
		return started, progress.HistoryEntry{}
	}
	// Read only now: what is handled is seldom older than the upgrade.
	h, err := b.store.History(ctx, workspace, env)
	if err != nil {
		return started, progress.HistoryEntry{}
	}
	for i := len(h) - 1; i >= 0; i-- {
		if h[i].Action == string(progress.ChangeReset) && h[i].Time.After(time.UnixMilli(at)) {
			return started, h[i]
		}
	}
	return time.Time{}, progress.HistoryEntry{}
}

// writeError is the reply to a change of env the store did not record:
// beforeRestart's when env was reset after the change's message was sent
// (checked in the write, as a reset may land after beforeRestart read).
func (b *Bot) writeError(ctx context.Context, workspace, env string, err error) *Reply {
	if !errors.Is(err, progress.ErrStartedAgain) {
		return b.storeError("record", err)
	}
	return b.restartedReply(env, cmp.Or(b.UpgradeStarted(ctx, workspace, env), b.now()))
}

// sentTime is sentAt's Unix ms as a time, zero for 0 (unknown).
func sentTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// clockSkew is how far Slack's clock, which stamps messages, and the
// bot's, which stamps resets, may differ: a message stamped that little
// before a reset is taken as sent after it.
const clockSkew = time.Second

// sentAt is when a Slack message was sent, from its ts ("seconds.micro"),
// in Unix ms on the bot's clock at the latest (clockSkew later); 0 for an
// id of another shape (the shell's), whose time is unknown.
func sentAt(ts string) int64 {
	sec, micro, ok := strings.Cut(ts, ".")
	s, err := strconv.ParseInt(sec, 10, 64)
	if !ok || err != nil || s <= 0 || len(micro) != 6 || strings.Trim(micro, "0123456789") != "" {
		return 0
	}
	s += int64(clockSkew / time.Second)
	us, _ := strconv.Atoi(micro)
	return s*1000 + int64(us)/1000
}

// versionMove is how a change moved an environment's target and the
// version it is upgraded from ("": not moved).
type versionMove struct {
	Target    string `json:"target,omitempty"`
	From      string `json:"from,omitempty"`
	NewTarget string `json:"new_target,omitempty"`
	NewFrom   string `json:"new_from,omitempty"`
}

// versionsText is e's versions as a status names them: "11.12.0 → 11.13.0".
func versionsText(e progress.Environment) string {
	return cmp.Or(e.FromVersion, "?") + " → " + cmp.Or(e.Version, "?")
}

// changedSince reports whether e's versions are no longer as the move left
// them: its undo would then make up an upgrade nobody ran.
func (v versionMove) changedSince(e progress.Environment) bool {
	return v.NewTarget != "" && e.Version != v.NewTarget || v.NewFrom != "" && e.FromVersion != v.NewFrom
}

// undoneReply says what an undo did, and what it left because it changed
// since; unnamed is what Service Center counted and nobody named, after it.
func (b *Bot) undoneReply(env, user string, res progress.Result, unnamed int) *Reply {
	r := &Reply{Summary: "Undone on " + env}
	lines := []Line{{M(user), T(" undid a change on "), B(env), T(" ("), V(Shorten(readableReasons.Replace(res.Undid), 300)), T(").")}}
	for _, l := range []struct {
		what  string
		names []string
	}{{"Back on the list: ", res.Added}, {"Off the list again: ", res.Removed}, {"Reason put back for: ", res.Updated}} {
		if len(l.names) > 0 {
			lines = append(lines, append(append(Line{T(l.what)}, nameSpans(l.names, 10)...), T(".")))
		}
	}
	left := fmt.Sprintf("; %d to republish", res.Remaining)
	if unnamed > 0 {
		left += fmt.Sprintf(", and %s that Service Center counted and nobody has named yet", plural(unnamed, "more module", "more modules"))
	}
	lines = append(lines, Line{T("State: " + stateText(res.State) + left + ".")})
	r.Section(lines...)
	if l := keptLine(res); l != nil {
		r.Context(l)
	}
	return r
}

// keptLine says what an undo left as it was because a later change
// changed it since; nil when it left nothing.
func keptLine(res progress.Result) Line {
	if len(res.Kept) == 0 && !res.KeptState {
		return nil
	}
	l := append(Line{T(":warning: Changed since by a later change, so left as it is: ")}, nameSpans(res.Kept, 10)...)
	switch {
	case res.KeptState && len(res.Kept) > 0:
		l = append(l, T(" and the state"))
	case res.KeptState:
		l = append(l, T("the state"))
	}
	return append(l, T("."))
}

// linesText is lines in plain words, for what a reply recorded.
func linesText(lines []Line) string {
	var parts []string
	for _, l := range lines {
		parts = append(parts, l.PlainText())
	}
	return strings.Join(parts, " ")
}

// undoably is a command's reply r that recorded the changes keys on env:
// remembered as user's last change in channel, with an Undo button.
func (b *Bot) undoably(ctx context.Context, workspace, channel, user, env string, r *Reply, keys ...string) *Reply {
	return b.undoableAs(ctx, workspace, channel, user, r, undoable{Env: env, Keys: keys, What: r.Summary})
}

// undoableAs is undoably for u, which names the keys.
func (b *Bot) undoableAs(ctx context.Context, workspace, channel, user string, r *Reply, u undoable) *Reply {
	ref := undoRef(u.Keys[0])
	b.remember(ctx, workspace, channel, user, ref, u)
	return withUndo(r, ref, u.What)
}

// confirm asks the question (from env's status) before command, which ends in --yes, changes env a lot.
func (b *Bot) confirm(ctx context.Context, workspace, env, command, label string, question func(progress.Status) string) Response {
	st, err := b.store.Status(ctx, workspace, env, 0)
	if err != nil {
		return private(b.storeError("status", err))
	}
	q := question(st)
	r := &Reply{Summary: q}
	r.Section(Line{T(q)})
	r.Actions(confirmButton(label, command))
	r.Context(Line{T("Nothing changes until you confirm; "), C(b.cmd + " undo"), T(" takes it back afterwards.")})
	return private(r)
}
