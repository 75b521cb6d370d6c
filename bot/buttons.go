package bot

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

// Action ids of the bot's buttons.
const (
	ActionMarkDone   = "mark_done"
	ActionShowStatus = "show_status"
	ActionChooseEnv  = "choose_env"
	ActionShare      = "share_status"
	ActionRecord     = "record" // a name question's answer; the value is its code
	ActionTarget     = "target" // a version offered as a target; the value is the track command
)

// buttonValue is what a button carries: the environment, the module to
// mark republished, and the key of the reply's source (keptReply), which
// rebuilds the message after a click and holds what a choice records.
type buttonValue struct {
	Env    string `json:"env,omitempty"`
	Module string `json:"module,omitempty"`
	Key    string `json:"key,omitempty"`
	Snooze string `json:"snooze,omitempty"` // ActionSnooze: 1h or tomorrow
}

func (v buttonValue) String() string {
	js, _ := json.Marshal(v)
	return string(js)
}

// MarkDoneButton is the button that marks module republished on env, as
// HandleAction understands it. n numbers the button within its message
// (Slack wants distinct action ids); the first one is the primary button.
func MarkDoneButton(n int, env, module string) Button {
	v, cmd := buttonValue{Env: env, Module: module}, "done "+commandName(module)
	if env != "" {
		cmd = "done " + env + ": " + commandName(module)
	}
	// Slack shows 75 characters of a button: a long name is cut in its middle, not "republished".
	label := "Mark " + ShortenMiddle(module, 75-len("Mark  republished")) + " republished"
	bt := Button{ActionID: fmt.Sprintf("%s:%d", ActionMarkDone, n), Label: label, Value: v.String(), Primary: n == 0, Command: cmd}
	if env != "" {
		bt.Describe = "Mark " + module + " republished on " + env
	}
	return bt
}

// ShowStatusButton is the button that shows env's status to whoever clicks it.
// n numbers the button within its message.
func ShowStatusButton(n int, env string) Button {
	return Button{ActionID: fmt.Sprintf("%s:%d", ActionShowStatus, n), Label: "Show status", Value: buttonValue{Env: env}.String(), Command: statusCommand(env),
		Describe: "Show " + env + "'s status"}
}

// nameEnvironments names the environment in the label of each button of
// r that another environment's button shares ("Snooze prod 1 hour"): in
// a reminder of several environments, each has its row of buttons, and
// a label read alone must say which environment it acts on.
func nameEnvironments(r *Reply) {
	envs := map[string]map[string]bool{} // label → the environments of its buttons
	for _, bl := range r.Blocks {
		for _, bt := range bl.Buttons {
			if envs[bt.Label] == nil {
				envs[bt.Label] = map[string]bool{}
			}
			envs[bt.Label][buttonEnv(bt)] = true
		}
	}
	for i, bl := range r.Blocks {
		if len(bl.Buttons) == 0 {
			continue
		}
		bl.Buttons = slices.Clone(bl.Buttons) // the parts' own buttons stay as they are
		for j, bt := range bl.Buttons {
			if env := buttonEnv(bt); env != "" && len(envs[bt.Label]) > 1 {
				verb, rest, _ := strings.Cut(bt.Label, " ")
				bl.Buttons[j].Label = strings.TrimSpace(verb + " " + env + " " + rest)
			}
		}
		r.Blocks[i] = bl
	}
}

// buttonEnv is the environment a button acts on, "" when none is named.
func buttonEnv(bt Button) string {
	var v buttonValue
	if json.Unmarshal([]byte(bt.Value), &v) != nil {
		return ""
	}
	return v.Env
}

// statusCommand is the command that shows env's status (all followed here when env is "").
func statusCommand(env string) string { return strings.TrimSpace("status " + env) }

// namedModules are the modules a diagnosis names to republish (five at
// most): those its findings record (plan), the blocked ones' locked module not.
func namedModules(findings []diagnosis.Finding) []string {
	var mods []string
	seen := map[string]bool{}
	for _, f := range findings {
		mod := f.Text("module")
		records := f.ID == "producer-not-prepared" || f.ID == "module-upgrade-failed" || f.ID == "module-not-upgraded" ||
			f.Entry != nil && f.Entry.Republish != ""
		if !records || moduleKey(mod) == "" || seen[moduleKey(mod)] || len(mods) >= 5 {
			continue
		}
		seen[moduleKey(mod)] = true
		mods = append(mods, mod)
	}
	return mods
}

// findingButtons are a diagnosis's buttons: mark each module named
// republished (only those still listed, when listed is not nil), and show
// the environment's status. key refers to the reply's source ("" for none).
func (b *Bot) findingButtons(findings []diagnosis.Finding, env, key string, listed map[string]bool) []Button {
	var buttons []Button
	for _, mod := range namedModules(findings) {
		if listed != nil && !listed[moduleKey(mod)] {
			continue
		}
		bt := MarkDoneButton(len(buttons), env, mod)
		bt.Value = buttonValue{Env: env, Module: mod, Key: key}.String()
		buttons = append(buttons, bt)
	}
	if env != "" {
		bt := ShowStatusButton(0, env)
		bt.ActionID = ActionShowStatus // as the replies posted before had it
		buttons = append(buttons, bt)
	}
	return buttons
}

// handleAction handles a button click (HandleAction).
func (b *Bot) handleAction(ctx context.Context, a Action) Response {
	kind, _, _ := strings.Cut(a.ActionID, ":")
	var v buttonValue
	_ = json.Unmarshal([]byte(a.Value), &v)
	switch kind {
	case ActionMarkDone:
		if v.Module == "" {
			return private(errorReply("That button is out of date; use `" + b.cmd + " done <module>`."))
		}
		env := v.Env
		if env == "" {
			var errR *Reply
			if env, errR = b.resolveEnv(ctx, Command{Workspace: a.Workspace, Channel: a.Channel, User: a.User}, "", []string{v.Module}); errR != nil {
				return private(errR)
			}
		}
		if r := b.markedBeforeRestart(ctx, a, v, env); r != nil {
			return private(r)
		}
		resp := b.markDone(ctx, a.Workspace, a.Channel, env, a.User, "btn:"+a.ID, []string{v.Module}, false)
		if v.Key != "" {
			var note Line
			if !resp.Private { // marked now, or by this same click before
				note = Line{T(":white_check_mark: "), C(v.Module), T(" marked republished by "), M(a.User)}
			}
			resp.Update = b.rebuild(ctx, a.Workspace, v.Key, v.Env, v.Module, note)
		}
		return resp
	case ActionShowStatus:
		return b.cmdStatus(ctx, Command{Workspace: a.Workspace, Channel: a.Channel, User: a.User, ID: a.ID}, v.Env)
	case ActionShare:
		r, errR := b.status(ctx, Command{Workspace: a.Workspace, Channel: a.Channel, User: a.User, ID: a.ID}, strings.FieldsFunc(v.Env, func(r rune) bool { return r == ',' }))
		if errR != nil {
			return private(errR)
		}
		// Shared: everyone sees it, without the share button.
		r.Blocks = r.Blocks[:len(r.Blocks)-1]
		r.Context(Line{T("Shared by "), M(a.User)})
		return Response{Announce: r, Quiet: true}
	case ActionChooseEnv:
		return b.chooseEnv(ctx, a, v)
	case ActionSnooze:
		return b.cmdSnooze(ctx, Command{Workspace: a.Workspace, Channel: a.Channel, User: a.User, ID: a.ID}, v.Env+" "+v.Snooze)
	case ActionUndo:
		resp := b.undoReply(ctx, a.Workspace, a.User, v.Key)
		if resp.Edit != nil { // the reply clicked
			resp.Update, resp.Edit = resp.Edit.Reply, nil
		}
		return resp
	case ActionConfirm:
		command, yes := confirmed(a.Value)
		if !yes {
			return private(errorReply("That button is out of date: run the command again to be asked anew (`" + b.cmd + " help` lists them)."))
		}
		if r := b.startedSinceAsked(ctx, a, command); r != nil {
			return private(r)
		}
		id := a.ID
		if a.Message != "" {
			// One question, confirmed once: a double click, or a click on a
			// stale copy after later changes, is the same command again.
			id = "confirm:" + a.Channel + ":" + a.Message
		}
		resp := b.HandleCommand(ctx, Command{Workspace: a.Workspace, Channel: a.Channel, User: a.User, ID: id, Text: a.Value})
		if resp.Announce != nil {
			resp.Update = &Reply{Summary: "Confirmed"}
			resp.Update.Context(Line{T("Confirmed by "), M(a.User), T(".")})
		}
		return resp
	case ActionTarget:
		// Run as typed, without --yes: a target set since the offer is not replaced without asking.
		if !strings.HasPrefix(a.Value, "track ") {
			return private(errorReply("That button is out of date: `" + b.cmd + " track <env> <version>` sets a target."))
		}
		if env, _, _ := strings.Cut(strings.TrimPrefix(a.Value, "track "), " "); !b.follows(ctx, a.Workspace, a.Channel, env) {
			return private(errorReply(fmt.Sprintf("This channel no longer follows %s, so that button is out of date: `%s %s` follows it again.", env, b.cmd, a.Value)))
		}
		return b.HandleCommand(ctx, Command{Workspace: a.Workspace, Channel: a.Channel, User: a.User, ID: a.ID, Text: a.Value})
	case ActionRecord:
		return b.cmdRecord(ctx, Command{Workspace: a.Workspace, Channel: a.Channel, User: a.User, ID: a.ID}, a.Value)
	}
	return private(errorReply("I don't know that button any more (it is from an older version of me): `" + b.cmd + " status` shows where things stand, and `" + b.cmd + " help` what to type instead."))
}

// startedSinceAsked refuses a confirmed command (starting the next
// upgrade, changing the target, a reset, done all) asked before its
// environment's upgrade was started again: a second click on "Start the
// next upgrade", or a click after someone else started it or reset, would
// track it again ("already follows"), change the new upgrade's target
// unasked, or reset or clear the new upgrade. nil when not, or when the
// question's time is unknown.
func (b *Bot) startedSinceAsked(ctx context.Context, a Action, command string) *Reply {
	fields := strings.Fields(command)
	if len(fields) < 2 || !slices.ContainsFunc([]string{"track", "reset", "done"}, func(c string) bool { return strings.EqualFold(fields[0], c) }) {
		return nil
	}
	env, err := progress.NormalizeEnvironment(strings.TrimSuffix(fields[1], ":"))
	if err != nil {
		return nil
	}
	started, reset := b.restartAfter(ctx, a.Workspace, env, sentAt(a.Message))
	if started.IsZero() {
		return nil
	}
	l := Line{B(env), T("'s next upgrade was already started since this question")}
	if reset.Actor != "" {
		l = append(l, T(", by "), M(reset.Actor))
	}
	l = append(l, T(" ("+b.when(started)+"): nothing changed. "), C(b.cmd+" status "+env), T(" shows where it stands"))
	// The target asked for, when the new upgrade has another: how to set it.
	i := slices.IndexFunc(fields[2:], versionLike)
	if e, err := b.store.Environment(ctx, a.Workspace, env); err == nil && i >= 0 && !progress.SameVersion(e.Version, fields[2+i]) {
		l = append(l, T("; its target is Platform Server "+cmp.Or(e.Version, "not given")+", and "), C(b.cmd+" track "+env+" "+fields[2+i]), T(" changes it"))
	}
	r := &Reply{Summary: env + "'s next upgrade was already started"}
	r.Section(append(l, T(".")))
	return r
}

// markedBeforeRestart refuses a Mark button of a reply or reminder from
// before env's upgrade was started again: its module is the last
// upgrade's, and the new one may list it again. nil when the button's time
// (the message holding it, else the reply kept) is unknown or later.
func (b *Bot) markedBeforeRestart(ctx context.Context, a Action, v buttonValue, env string) *Reply {
	at := sentAt(a.Message)
	if at == 0 && v.Key != "" {
		switch k, found, err := b.keptAt(ctx, a.Workspace, v.Key); {
		case err == nil && found:
			at = k.KeptAt
		case err == nil: // expired: kept keepFor ago at least
			at = b.now().Add(-keepFor).UnixMilli()
		}
	}
	started := b.resetAfter(ctx, a.Workspace, env, at)
	if started.IsZero() {
		return nil
	}
	return errorReply(fmt.Sprintf("That button came before %s's upgrade was started again (%s): marking %s republished now would mix the two upgrades, so nothing changed. `%s %s` marks it in the new upgrade.",
		env, b.when(started), v.Module, b.cmd, MarkDoneButton(0, env, v.Module).Command))
}

// chooseEnv records a message's changes for the environment chosen, and
// rebuilds the question as the reply for that environment.
func (b *Bot) chooseEnv(ctx context.Context, a Action, v buttonValue) Response {
	again := "paste the message again starting with `" + cmp.Or(v.Env, "prod") + ":` (its environment)"
	if v.Key == "" || v.Env == "" {
		return private(errorReply("That button is out of date; " + again + "."))
	}
	k, found, err := b.keptAt(ctx, a.Workspace, v.Key)
	switch {
	case err != nil:
		return private(b.storeError("read the message's changes", err))
	case !found:
		return private(errorReply(fmt.Sprintf("That choice has expired: I keep a message's changes for %d days. To record it for %s, %s.", keepFor/(24*time.Hour), v.Env, again)))
	}
	m := k.Message
	if r := b.deletedMessage(ctx, a.Workspace, m.Channel, m.TS); r != nil {
		return Response{Reply: r, Private: true, Update: b.deletedReply(m, nothingRecorded(""))}
	}
	// When it was sent, not last kept (a late or edited reading keeps it again).
	sent := cmp.Or(sentAt(m.TS), k.KeptAt)
	if !b.follows(ctx, a.Workspace, a.Channel, v.Env) {
		return private(errorReply(fmt.Sprintf("This channel no longer follows %s, so nothing was recorded there. `%s track %s` follows it again; then %s.", v.Env, b.cmd, v.Env, again)))
	}
	if r := b.restartedReply(v.Env, b.resetAfter(ctx, a.Workspace, v.Env, sent)); r != nil {
		return private(r)
	}
	reading := b.Read(m)
	// One message is recorded for one environment: a second choice (a
	// stale copy of the question) shows the first.
	chosenBefore := func(chosen string) Response {
		r := errorReply(fmt.Sprintf("This message is already recorded for %s. To record it for %s too, paste it again starting with `%s:`.", chosen, v.Env, v.Env))
		return Response{Reply: r, Private: true, Update: b.rebuilt(ctx, v.Key, reading, chosen, "", nil)}
	}
	chosen, err := b.chosenEnv(ctx, a.Workspace, v.Key)
	if err != nil {
		return private(b.storeError("read the choice of environment", err))
	}
	if chosen != "" && chosen != v.Env {
		return chosenBefore(chosen)
	}
	// Two people answering at once both read no choice above: the claim
	// (held by the environment's name, so the same choice again wins it
	// again) lets only the first record.
	won, err := b.store.Claim(ctx, a.Workspace, "choice:"+v.Key, v.Env, keepFor)
	if err != nil {
		return private(b.storeError("keep the choice of environment", err))
	}
	if !won {
		if chosen, _ = b.chosenEnv(ctx, a.Workspace, v.Key); chosen != "" {
			return chosenBefore(chosen)
		}
		// The first is between its claim and writing the choice: its click rewrites the question.
		return private(errorReply(fmt.Sprintf("Someone chose another environment for this message at the same moment, and it is recorded there. To record it for %s too, paste it again starting with `%s:`.", v.Env, v.Env)))
	}
	// Written before recording, so that a click that lost the claim names the environment.
	if err := b.store.PutValue(ctx, a.Workspace, "choice:"+v.Key, []byte(v.Env), keepFor); err != nil {
		b.log.Warn("cannot keep the choice of environment", "err", err)
	}
	_, changes, _ := b.checkedPlan(ctx, m, reading.parts)
	var waiting []string // as record leaves them out
	if e, err := b.store.Environment(ctx, a.Workspace, v.Env); err == nil {
		if changes, waiting = whilePreparing(e, changes, b.now()); len(waiting) > 0 {
			b.keepWaiting(ctx, a.Workspace, v.Key, waiting)
		}
	}
	// The message's author reported what it names; the click only says where.
	author := cmp.Or(m.User, a.User)
	out := b.applyParts(ctx, a.Workspace, v.Env, author, messageKey(m), sent, changes, false)
	if out.err != nil {
		b.forgetChoice(ctx, a.Workspace, v.Key, v.Env) // not recorded: any environment may be chosen again
		return private(out.err)
	}
	for _, u := range slices.Compact([]string{author, a.User}) { // either may take it back with undo
		b.remember(ctx, a.Workspace, a.Channel, u, v.Key, undoable{Env: v.Env, Keys: out.keys, What: linesText(out.lines)})
	}
	if len(out.keys) > 0 { // pastes in the message's thread are v.Env's too
		if err := b.store.PutValue(ctx, a.Workspace, threadKey(v.Key), []byte(v.Env), keepFor); err != nil {
			b.log.Warn("cannot keep which environment a thread is about", "err", err)
		}
	}
	resp := Response{Update: b.rebuilt(ctx, v.Key, reading, v.Env, "", nil)}
	if len(out.lines) == 0 && len(out.held) == 0 && len(waiting) == 0 && len(planParts(reading.parts)) > 0 { // a message with nothing to record only gets its reply rewritten
		resp.Reply, resp.Private = &Reply{Summary: "Already recorded for " + v.Env}, true
		resp.Reply.Context(Line{T("Already recorded for "), B(v.Env), T(".")})
	}
	if out.cleared {
		resp.Announce = b.clearedIn(v.Env, out.state)
	}
	return resp
}

// follows reports whether channel follows env (true when that cannot be
// read: what is asked of env then says what failed).
func (b *Bot) follows(ctx context.Context, workspace, channel, env string) bool {
	envs, err := b.store.ChannelEnvironments(ctx, workspace, channel)
	if err != nil {
		return true
	}
	env, _ = progress.NormalizeEnvironment(env)
	return slices.ContainsFunc(envs, func(e progress.Environment) bool { return e.Name == env })
}

// keepFor is how long a diagnosis reply's buttons keep working in full:
// a choice of environment records, a click rebuilds the reply. Modules
// take days to republish, so it is generous.
const keepFor = 14 * 24 * time.Hour

// keep stores a message for its reply's buttons and returns the key they
// carry. The key names the message, not its content: answered again (a
// late screenshot), the message kept is its latest reading, which every
// version of the reply's buttons then rebuilds.
func (b *Bot) keep(ctx context.Context, m Message) (string, error) {
	return b.keepWith(ctx, m, nil)
}

// keepWith is keep, writing puts in the same round trip.
func (b *Bot) keepWith(ctx context.Context, m Message, puts []progress.Put) (string, error) {
	key := replyKey(m)
	p, err := jsonPut("reply:"+key, keptMessage{m, b.now().UnixMilli()}, keepFor)
	if err == nil {
		err = b.store.PutValues(ctx, m.Workspace, append(puts, p)...)
	}
	return key, err
}

// replyKey is the short key of a message's reply (per workspace).
func replyKey(m Message) string {
	sum := sha256.Sum256([]byte(m.Channel + "\x00" + m.TS))
	return base64.RawURLEncoding.EncodeToString(sum[:15])
}

// chosenEnv is the environment chosen for the message keyed key, "" when none was.
func (b *Bot) chosenEnv(ctx context.Context, workspace, key string) (string, error) {
	v, _, err := b.store.Value(ctx, workspace, "choice:"+key)
	return string(v), err
}

// forgetChoice lets the message keyed key be recorded for another
// environment than env, chosen before (its record undone, or failed).
func (b *Bot) forgetChoice(ctx context.Context, workspace, key, env string) {
	if err := b.store.Release(ctx, workspace, "choice:"+key, env); err != nil {
		b.log.Warn("cannot release the choice of environment", "err", err)
	}
	if err := b.store.PutValue(ctx, workspace, "choice:"+key, nil, time.Millisecond); err != nil {
		b.log.Warn("cannot forget the choice of environment", "err", err)
	}
}

// keptMessage is a message kept for its reply's buttons, and when.
type keptMessage struct {
	Message
	KeptAt int64 `json:"kept_at,omitempty"` // Unix ms; 0 when kept before it was noted
}

// kept returns the message kept under key; false when it expired.
func (b *Bot) kept(ctx context.Context, workspace, key string) (Message, bool, error) {
	k, found, err := b.keptAt(ctx, workspace, key)
	return k.Message, found, err
}

// keptAt is kept, with when the message was kept.
func (b *Bot) keptAt(ctx context.Context, workspace, key string) (keptMessage, bool, error) {
	return getJSON[keptMessage](ctx, b.store, workspace, "reply:"+key)
}

// rebuild is the reply of the message kept under key, built from current
// state (see rebuilt) for env, or for the environment chosen since when
// env is ""; nil when it cannot be (expired, storage down): the transport
// then leaves the message as it is.
func (b *Bot) rebuild(ctx context.Context, workspace, key, env, module string, note Line) *Reply {
	m, found, err := b.kept(ctx, workspace, key)
	if err != nil || !found {
		b.log.Debug("cannot rebuild a reply", "key", key, "found", found, "err", err)
		return nil
	}
	if env == "" { // a button of the question: answered since?
		if env, err = b.chosenEnv(ctx, workspace, key); err != nil {
			return nil
		}
	}
	return b.rebuilt(ctx, key, b.Read(m), env, module, note)
}

// rebuilt is a message's reply as it stands now, for env (the choice
// still open when ""): what the message recorded, buttons only for the
// modules still to republish, those republished since (but module,
// which note tells about) and note.
func (b *Bot) rebuilt(ctx context.Context, key string, r *Reading, env, module string, note Line) *Reply {
	m := r.Message()
	parts, changes, questions := b.checkedPlan(ctx, m, r.parts)
	rec := recordOutcome{env: env, unsure: unsureNames(questions)}
	var listed map[string]bool
	var gone []string
	u, hasUndo, uerr := b.undoable(ctx, m.Workspace, key)
	hasUndo = uerr == nil && hasUndo && env != ""
	undone := hasUndo && u.Undone != "" // it records nothing now
	if env == "" {
		envs, err := b.store.ChannelEnvironments(ctx, m.Workspace, m.Channel)
		if err != nil {
			return nil
		}
		rec.untraced = len(envs) == 0 && !onlyWhileOpen(changes)
		for _, e := range envs {
			if len(envs) > 1 {
				rec.ask = append(rec.ask, e.Name)
			}
		}
		if len(envs) > 0 {
			rec.about = commonEnv(envs)
		}
	} else {
		st, err := b.store.Status(ctx, m.Workspace, env, -1)
		if err != nil {
			return nil
		}
		rec.about, listed = st.Environment, map[string]bool{}
		if st.Finished() {
			changes = dropWhileOpen(changes) // not recorded once the upgrade is done
		}
		// Producers left unrecorded while the preparation ran (whilePreparing) still are.
		if v, ok, err := b.store.Value(ctx, m.Workspace, "waiting:"+key); err == nil && ok {
			changes, _ = withoutProducers(changes)
			rec.waiting = strings.Split(string(v), "\n")
			rec.lines = append(rec.lines, waitingLine(env, rec.waiting))
		}
		for _, mod := range st.Modules {
			listed[moduleKey(mod.Name)] = true
		}
		republished := map[string]bool{}
		for _, mod := range st.RepublishedModules {
			republished[moduleKey(mod.Name)] = true
		}
		// What is still held back is explained again, the rest was recorded.
		h, _, err := b.heldFor(ctx, m.Workspace, heldCode(messageKey(m), env))
		if err != nil || h.Recorded != "" {
			h = heldChanges{}
		}
		held := map[string]bool{}
		heldMods := map[string]map[string]bool{} // a change's modules held apart (its key#counts, #env, #again)
		heldAny := map[string]bool{}             // every module held back, said so in its own line
		for _, hc := range h.Changes {
			held[hc.Key] = true
			for _, mod := range hc.Change.Modules {
				heldAny[moduleKey(mod)] = true
			}
			if base := hc.Key[:max(strings.LastIndexByte(hc.Key, '#'), 0)]; base != "" && hc.Change.Kind == progress.ChangeAddModules {
				if heldMods[base] == nil {
					heldMods[base] = map[string]bool{}
				}
				for _, mod := range hc.Change.Modules {
					heldMods[base][moduleKey(mod)] = true
				}
			}
		}
		for _, pc := range changes {
			for _, p := range pc.Changes {
				k := p.key(pc.Key)
				if held[k] || undone {
					continue
				}
				if p.Kind == progress.ChangeAddModules && heldMods[k] != nil {
					if p.Modules = slices.DeleteFunc(slices.Clone(p.Modules), func(m string) bool { return heldMods[k][moduleKey(m)] }); len(p.Modules) == 0 {
						continue
					}
				}
				rec.lines = append(rec.lines, describeRecorded(env, p, progress.Result{Duplicate: true}))
			}
		}
		if l := b.consumersLine(ctx, m.Workspace, env, changes); l != nil && len(rec.waiting) == 0 {
			rec.lines = append(rec.lines, l)
		}
		if len(h.Changes) > 0 {
			rec.held, rec.heldCode, rec.heldWhy = h.Changes, heldCode(messageKey(m), env), b.heldLines(ctx, m.Workspace, env, h.Changes)
		}
		rec.questions, rec.asked = b.keepQuestions(ctx, m, env, key, questions), len(questions)
		for _, mod := range namedModules(findingsOf(parts)) {
			// Only what the record says was republished: a module held back was never listed.
			if republished[moduleKey(mod)] && !listed[moduleKey(mod)] && !heldAny[moduleKey(mod)] && moduleKey(mod) != moduleKey(module) && !rec.unsure[mod] && !undone && !slices.Contains(rec.waiting, mod) {
				gone = append(gone, mod)
			}
		}
	}
	reply := b.diagnosisMessage(m, parts, changes, rec, key, listed)
	if hasUndo {
		if !undone {
			withUndo(reply, key, u.What)
		} else {
			reply.Context(Line{T(":leftwards_arrow_with_hook: Undone by "), M(u.Undone), T(".")})
		}
	}
	if len(gone) > 0 {
		reply.Context(append(Line{T(":white_check_mark: Republished since: ")}, nameSpans(gone, 5)...))
	}
	if len(note) > 0 {
		reply.Context(note)
	}
	return reply
}
