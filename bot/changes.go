package bot

import (
	"cmp"
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/upgradebot/upgradebot/progress"
)

// The core notes which environments a message, command or click changed
// (Response.Changed) where every change passes: the store. changeRecorder
// wraps it and adds each environment a write changed to the list the
// request's context carries, so no command has to remember to say it.

type changesKey struct{}

// changeList is one request's changed environments, and those that
// reached a milestone (preparation finished or failed, all clear).
type changeList struct {
	mu         sync.Mutex
	envs       []string
	workspace  string
	milestones map[string]progress.State // env → state reached; "" for all clear
	// read holds what the request read of an environment (its counts when
	// counted) until it writes there: a paste's reply reads an environment
	// several times, and each read is a round trip.
	read map[string]readEnv // by workspace/env
}

type readEnv struct {
	env       progress.Environment
	counts    *progress.Status // Status(…, 0), when read
	changed   bool             // written by this request since: read again
	following bool             // followed or unfollowed by this request since: its Channels are out of date
}

func readKey(workspace, env string) string { return workspace + "/" + strings.ToLower(env) }

// lookup returns env as the request read it, unless it wrote there since.
func (l *changeList) lookup(workspace, env string) (readEnv, bool) {
	if l == nil {
		return readEnv{}, false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	r, ok := l.read[readKey(workspace, env)]
	return r, ok && !r.changed
}

func (l *changeList) keep(workspace string, e progress.Environment, counts *progress.Status) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.read == nil {
		l.read = map[string]readEnv{}
	}
	l.read[readKey(workspace, e.Name)] = readEnv{env: e, counts: counts}
}

// wrote marks env written (its channels too, when following): what was
// read of it is read again.
func (l *changeList) wrote(workspace, env string, following bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if r, ok := l.read[readKey(workspace, env)]; ok {
		r.changed, r.following = true, r.following || following
		l.read[readKey(workspace, env)] = r
	}
}

// following are the channels of each env in envs, as the request read them.
func (l *changeList) following(envs []string) map[string][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var m map[string][]string
	for _, r := range l.read {
		if !r.following && slices.Contains(envs, r.env.Name) {
			if m == nil {
				m = map[string][]string{}
			}
			m[r.env.Name] = slices.Clone(r.env.Channels)
		}
	}
	return m
}

func (l *changeList) milestone(workspace, env string, s progress.State) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.milestones == nil {
		l.milestones = map[string]progress.State{}
	}
	if _, ok := l.milestones[env]; !ok || s == "" {
		l.workspace, l.milestones[env] = workspace, s
	}
}

func (l *changeList) add(env string) {
	if env, err := progress.NormalizeEnvironment(env); err == nil {
		l.mu.Lock()
		if !slices.Contains(l.envs, env) {
			l.envs = append(l.envs, env)
		}
		l.mu.Unlock()
	}
}

func noteChange(ctx context.Context, env string) {
	if l, ok := ctx.Value(changesKey{}).(*changeList); ok {
		l.add(env)
	}
}

// requestReads is the request's change list, for its reads; nil outside a request.
func requestReads(ctx context.Context) *changeList {
	l, _ := ctx.Value(changesKey{}).(*changeList)
	return l
}

// withChanges runs fn, a request from channel, with a change list in its
// context and returns its response with Changed (and Milestone) filled in.
func (b *Bot) withChanges(ctx context.Context, channel string, fn func(context.Context) Response) Response {
	l := &changeList{}
	ctx = context.WithValue(ctx, changesKey{}, l)
	resp := fn(ctx)
	for _, e := range resp.Changed {
		l.add(e)
	}
	slices.Sort(l.envs)
	resp.Changed, resp.Following = l.envs, l.following(l.envs)
	if len(l.milestones) == 1 && resp.Milestone == nil {
		for env, s := range l.milestones {
			resp.Milestone = b.milestone(ctx, l.workspace, env, s)
		}
	}
	// Every path that clears a list (command, paste, click, undo) says
	// "All clear" in the request's channel, in its announcement or as the
	// milestone: that channel's scheduled all-clear would be the second.
	for env, s := range l.milestones {
		if s != "" {
			continue
		}
		// A list emptied before the outcome is known says so, not all
		// clear: this channel is still owed the all-clear that comes with it.
		if st, err := b.store.Status(ctx, l.workspace, env, 0); err != nil || st.State.Normal() == progress.StateDone {
			b.allClearAnnounced(ctx, l.workspace, channel, env)
		}
	}
	return resp
}

// milestone is the short line for the channel when env reached state s ("": all clear).
func (b *Bot) milestone(ctx context.Context, workspace, env string, s progress.State) *Reply {
	if s == "" {
		if st, err := b.store.Status(ctx, workspace, env, 0); err == nil && republishAll(st.Environment) {
			return (&Reply{Summary: env + ": all applications to republish"}).Section(b.republishAllLine(st.Environment))
		} else if err == nil {
			return b.clearedIn(env, st.State)
		}
		return b.allClear(env)
	}
	icon := map[progress.State]string{progress.StateFailed: ":x:", progress.StateReady: ":white_check_mark:"}[s]
	what := stateText(s)
	if s == progress.StateRepublishing { // reached by a milestone only from done
		icon, what = ":warning:", "no longer all clear, modules to republish again"
	}
	r := &Reply{Summary: env + ": " + what}
	l := Line{T(cmp.Or(icon, ":checkered_flag:") + " "), B(env), T(": " + what)}
	if st, err := b.store.Status(ctx, workspace, env, 0); err == nil && CountsLine(st) != "" {
		l = append(l, T(" · "+CountsLine(st)))
	}
	r.Section(l)
	if s == progress.StateFinishedWithErrors || s == progress.StateRepublishing {
		// What to do next, for everyone in the channel: the counts alone are jargon.
		r.Context(Line{C(b.cmd + " status " + env), T(" shows what to republish first; "), C(b.cmd + " take " + env + ": <module>"), T(" says you are on one.")})
	}
	return r
}

// changeRecorder is the store, noting the environments its writes change
// and adding a sample of the burn-down chart after each recorded change.
type changeRecorder struct {
	progress.Store
	log *slog.Logger
	now func() time.Time
}

func (s changeRecorder) Apply(ctx context.Context, workspace, env string, c progress.Change) (progress.Result, error) {
	finishing := c.Kind == progress.ChangeSummary || c.Kind == progress.ChangeState
	s.wrote(ctx, workspace, env, false)
	res, err := s.Store.Apply(ctx, workspace, env, c)
	if err != nil || res.Duplicate || res.Refused != "" {
		return res, err
	}
	// The state the write itself saw: with replicas or two channels changing
	// the environment at once, what this request read earlier may be stale,
	// and a milestone would be announced twice or never.
	before := res.Was
	noteChange(ctx, env)
	at := c.At
	if at.IsZero() {
		at = s.now()
	}
	// The all-clear milestone is the reply's (Result.AllClear): a list
	// emptied while the preparation runs, or with modules Service Center
	// counted still unnamed, is not all clear.
	cleared := res.AllClear()
	finished := finishing && res.State != before && (res.State == progress.StateFinishedWithErrors || res.State == progress.StateFailed || res.State == progress.StateReady)
	// A module reported after the all-clear: the channels that heard it must hear this.
	reopened := c.Kind == progress.ChangeAddModules && before == progress.StateDone && res.State != progress.StateDone
	if err := addSample(ctx, s, workspace, env, at, res.Remaining, c.Kind == progress.ChangeReset, cleared || res.BecameEmpty || finished); err != nil {
		s.log.Warn("cannot add a sample to the burn-down chart", "env", env, "err", err)
	}
	if c.Kind == progress.ChangeReset {
		s.started(ctx, workspace, env, at)
	}
	l, _ := ctx.Value(changesKey{}).(*changeList)
	switch {
	case l == nil:
	case cleared:
		l.milestone(workspace, env, "")
	case finished, reopened:
		l.milestone(workspace, env, res.State)
	}
	return res, err
}

func (s changeRecorder) Track(ctx context.Context, req progress.TrackRequest) (progress.TrackResult, error) {
	s.wrote(ctx, req.Workspace, req.Environment, true)
	res, err := s.Store.Track(ctx, req)
	if err == nil && (res.Created || res.Followed || res.Updated) {
		noteChange(ctx, req.Environment)
	}
	if err == nil && res.Created {
		s.started(ctx, req.Workspace, req.Environment, req.At)
	}
	return res, err
}

// wrote forgets what the request read of env: it is about to change
// (its channels too, when following).
func (s changeRecorder) wrote(ctx context.Context, workspace, env string, following bool) {
	if l := requestReads(ctx); l != nil {
		l.wrote(workspace, env, following)
	}
}

// Environment is the store's, or what the request read of env before.
func (s changeRecorder) Environment(ctx context.Context, workspace, env string) (progress.Environment, error) {
	l := requestReads(ctx)
	if r, ok := l.lookup(workspace, env); ok {
		return cloneEnv(r.env), nil
	}
	e, err := s.Store.Environment(ctx, workspace, env)
	if err == nil && l != nil {
		l.keep(workspace, cloneEnv(e), nil)
	}
	return e, err
}

// ChannelEnvironments is the store's; the request keeps what it read.
func (s changeRecorder) ChannelEnvironments(ctx context.Context, workspace, channel string) ([]progress.Environment, error) {
	envs, err := s.Store.ChannelEnvironments(ctx, workspace, channel)
	if l := requestReads(ctx); err == nil && l != nil {
		for _, e := range envs {
			if _, ok := l.lookup(workspace, e.Name); !ok {
				l.keep(workspace, cloneEnv(e), nil)
			}
		}
	}
	return envs, err
}

// Status is the store's; the counts alone (limit 0) are what the request
// read before, when it did.
func (s changeRecorder) Status(ctx context.Context, workspace, env string, limit int) (progress.Status, error) {
	l := requestReads(ctx)
	if r, ok := l.lookup(workspace, env); ok && limit == 0 && r.counts != nil {
		st := *r.counts
		st.Environment = cloneEnv(st.Environment)
		return st, nil
	}
	st, err := s.Store.Status(ctx, workspace, env, limit)
	if err == nil && l != nil {
		counts := st
		counts.Modules, counts.RepublishedModules, counts.Edges = nil, nil, nil
		counts.Environment = cloneEnv(st.Environment)
		l.keep(workspace, counts.Environment, &counts)
	}
	return st, err
}

func cloneEnv(e progress.Environment) progress.Environment {
	e.Channels = slices.Clone(e.Channels)
	return e
}

// started keeps when env's upgrade started (tracked, or reset), for its header.
func (s changeRecorder) started(ctx context.Context, workspace, env string, at time.Time) {
	if at.IsZero() {
		at = s.now()
	}
	if env, err := progress.NormalizeEnvironment(env); err == nil {
		if err := s.PutValue(ctx, workspace, startedKey(env), []byte(at.UTC().Format(time.RFC3339Nano)), startedTTL); err != nil {
			s.log.Warn("cannot keep when the upgrade started", "env", env, "err", err)
		}
	}
}

func (s changeRecorder) Untrack(ctx context.Context, workspace, env, channel, actor string) (bool, error) {
	s.wrote(ctx, workspace, env, true)
	ok, err := s.Store.Untrack(ctx, workspace, env, channel, actor)
	if err == nil && ok {
		noteChange(ctx, env)
	}
	return ok, err
}

func (s changeRecorder) SetOwner(ctx context.Context, workspace, env, owner, by string, modules []string) (map[string]string, error) {
	before, err := s.Store.SetOwner(ctx, workspace, env, owner, by, modules)
	if err == nil {
		noteChange(ctx, env)
	}
	return before, err
}

// HandleCommand runs a subcommand.
func (b *Bot) HandleCommand(ctx context.Context, c Command) Response {
	return b.withChanges(ctx, c.Channel, func(ctx context.Context) Response { return b.handleCommand(ctx, c) })
}

// HandleAction handles a button click. A click on a diagnosis reply's
// button also rebuilds that reply from current state (Response.Update).
func (b *Bot) HandleAction(ctx context.Context, a Action) Response {
	return b.withChanges(ctx, a.Channel, func(ctx context.Context) Response { return b.handleAction(ctx, a) })
}

// Answer records what a reading says and builds the reply.
func (b *Bot) Answer(ctx context.Context, r *Reading) Response {
	return b.withChanges(ctx, r.m.Channel, func(ctx context.Context) Response { return b.answer(ctx, r) })
}

// HandleEdit answers an edited message (m holds its new text, Edited set):
// what the message recorded before is undone and the new text, with the
// screenshots and files already read (m.Images when the transport has
// none to give), is diagnosed and recorded. The Reply is the message's reply as it should
// now read: the transport puts it in place of the reply it posted (or
// posts it when there was none); nil when there is nothing to say.
func (b *Bot) HandleEdit(ctx context.Context, m Message) Response {
	before := b.messageEnvState(ctx, m)
	resp := b.withChanges(ctx, m.Channel, func(ctx context.Context) Response { return b.handleEdit(ctx, m) })
	if before != "" && b.messageEnvState(ctx, m) == before {
		// The edit left the upgrade where it was: its milestone (and, done,
		// its all-clear) was said already.
		resp.Milestone = nil
		if strings.HasSuffix(before, "/"+string(progress.StateDone)) {
			resp.Announce = nil
		}
	}
	return resp
}

// HandleDelete answers the deletion of message m (its Channel and TS),
// and marks it deleted (DeletedKey): when it recorded something not
// undone, the Reply says so and offers Undo; the transport puts it in
// place of the message's reply. Else the Edit replaces its reply, if it
// has one, without the buttons that would record it. Nothing is undone
// without a click: a paste deleted to tidy up may have been right.
func (b *Bot) HandleDelete(ctx context.Context, m Message) Response {
	return b.withChanges(ctx, m.Channel, func(ctx context.Context) Response { return b.handleDelete(ctx, m) })
}
