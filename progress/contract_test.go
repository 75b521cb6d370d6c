package progress

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// t0 is the base time of the contract tests; changes carry explicit times so
// ordering does not depend on the clock.
var t0 = time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)

const ws = "T0001"

// keySeq numbers the change keys the tests do not choose themselves.
var keySeq atomic.Int64

// runContractTests is the behaviour every Store must have; each subtest gets a fresh, empty store.
func runContractTests(t *testing.T, newStore func(t *testing.T) Store) {
	t.Run("TrackUntrack", func(t *testing.T) { testTrackUntrack(t, newStore(t)) })
	t.Run("ChannelsAndEnvironments", func(t *testing.T) { testChannelsAndEnvironments(t, newStore(t)) })
	t.Run("Ordering", func(t *testing.T) { testOrdering(t, newStore(t)) })
	t.Run("DoneByName", func(t *testing.T) { testDoneByName(t, newStore(t)) })
	t.Run("DoneOfNothingListed", func(t *testing.T) { testDoneOfNothingListed(t, newStore(t)) })
	t.Run("IfRevision", func(t *testing.T) { testIfRevision(t, newStore(t)) })
	t.Run("FirstNews", func(t *testing.T) { testFirstNews(t, newStore(t)) })
	t.Run("SentBeforeReset", func(t *testing.T) { testSentBeforeReset(t, newStore(t)) })
	t.Run("NewRunAfterFailedStep", func(t *testing.T) { testNewRunAfterFailedStep(t, newStore(t)) })
	t.Run("ReportAgainAfterUndoInNewRun", func(t *testing.T) { testReportAgainAfterUndoInNewRun(t, newStore(t)) })
	t.Run("LookAlikeNames", func(t *testing.T) { testLookAlikeNames(t, newStore(t)) })
	t.Run("DoneAll", func(t *testing.T) { testDoneAll(t, newStore(t)) })
	t.Run("DoneAllFromBefore11", func(t *testing.T) { testDoneAllFromBefore11(t, newStore(t)) })
	t.Run("ReAddModule", func(t *testing.T) { testReAddModule(t, newStore(t)) })
	t.Run("Unnamed", func(t *testing.T) { testUnnamed(t, newStore(t)) })
	t.Run("SummaryState", func(t *testing.T) { testSummaryState(t, newStore) })
	t.Run("Preparing", func(t *testing.T) { testPreparing(t, newStore(t)) })
	t.Run("PreparationNews", func(t *testing.T) { testPreparationNews(t, newStore(t)) })
	t.Run("LifeCycle", func(t *testing.T) { testLifeCycle(t, newStore(t)) })
	t.Run("ResetKeepsHistory", func(t *testing.T) { testReset(t, newStore(t)) })
	t.Run("IdempotentRetry", func(t *testing.T) { testIdempotent(t, newStore(t)) })
	t.Run("HistoryExport", func(t *testing.T) { testHistoryExport(t, newStore(t)) })
	t.Run("HistoryNames", func(t *testing.T) { testHistoryNames(t, newStore(t)) })
	t.Run("Validation", func(t *testing.T) { testValidation(t, newStore(t)) })
	t.Run("NotFound", func(t *testing.T) { testNotFound(t, newStore(t)) })
	t.Run("StatusLimit", func(t *testing.T) { testStatusLimit(t, newStore(t)) })
	t.Run("ChangeRecord", func(t *testing.T) { testChangeRecord(t, newStore(t)) })
	t.Run("UndoKeepsCounts", func(t *testing.T) { testUndoKeepsCounts(t, newStore(t)) })
	t.Run("ChannelSettings", func(t *testing.T) { testChannelSettings(t, newStore(t)) })
	t.Run("Claims", func(t *testing.T) { testClaims(t, newStore(t)) })
	t.Run("Values", func(t *testing.T) { testValues(t, newStore(t)) })
	t.Run("ValueLists", func(t *testing.T) { testValueLists(t, newStore(t)) })
	t.Run("Owners", func(t *testing.T) { testOwners(t, newStore(t)) })
	t.Run("Undo", func(t *testing.T) { testUndo(t, newStore) })
}

func testClaims(t *testing.T, s Store) {
	ctx := context.Background()
	mine, theirs := NewToken(), NewToken()
	if mine == theirs || len(mine) < 16 {
		t.Fatalf("tokens %q and %q are not unique random values", mine, theirs)
	}
	held := func(ws, key string, want bool) {
		t.Helper()
		if got, err := s.Held(ctx, ws, key); err != nil || got != want {
			t.Errorf("Held(%s, %s) = %v, %v; want %v", ws, key, got, err, want)
		}
	}
	for _, step := range []struct {
		op, ws, key, token string
		want               bool // Claim or Renew won; Held after Release
	}{
		{"held", "T1", "msg:C1:1.1", "", false},
		{"claim", "T1", "msg:C1:1.1", mine, true},
		{"claim", "T1", "msg:C1:1.1", mine, true}, // a resend finds its own token
		{"claim", "T1", "msg:C1:1.1", theirs, false},
		{"held", "T1", "msg:C1:1.1", "", true},
		{"held", "T2", "msg:C1:1.1", "", false}, // workspaces are apart
		{"held", "", "msg:C1:1.1", "", false},   // and so is what belongs to none
		{"claim", "T2", "msg:C1:1.1", theirs, true},
		{"claim", "", "msg:C1:1.1", theirs, true},
		{"renew", "T1", "msg:C1:1.1", theirs, false},
		{"release", "T1", "msg:C1:1.1", theirs, true}, // the wrong token frees nothing
		{"claim", "T1", "msg:C1:1.1", theirs, false},
		{"renew", "T1", "msg:C1:1.1", mine, true}, // "done": a long ttl, same token
		{"claim", "T1", "msg:C1:1.2", theirs, true},
		{"release", "T1", "msg:C1:1.1", mine, false},
		{"held", "T2", "msg:C1:1.1", "", true}, // another workspace's release left it
		{"claim", "T1", "msg:C1:1.1", theirs, true},
		{"renew", "T1", "msg:C1:1.1", mine, false}, // mine is gone: no renewal of theirs
		{"renew", "T1", "never:claimed", mine, false},
		{"held", "T1", "never:claimed", "", false},
		{"release", "", "msg:C1:1.1", theirs, false},
	} {
		var got bool
		var err error
		switch step.op {
		case "held":
			held(step.ws, step.key, step.want)
			continue
		case "claim":
			got, err = s.Claim(ctx, step.ws, step.key, step.token, time.Hour)
		case "renew":
			got, err = s.Renew(ctx, step.ws, step.key, step.token, 24*time.Hour)
		case "release":
			if err = s.Release(ctx, step.ws, step.key, step.token); err == nil {
				got, err = s.Held(ctx, step.ws, step.key)
			}
		}
		if err != nil || got != step.want {
			t.Errorf("%s(%s, %s, %s) = %v, %v; want %v", step.op, step.ws, step.key, step.token[:4], got, err, step.want)
		}
	}
	for name, err := range map[string]error{
		"empty key":     errOf(s.Claim(ctx, "T1", "", mine, time.Hour)),
		"zero ttl":      errOf(s.Claim(ctx, "T1", "k", mine, 0)),
		"no token":      errOf(s.Claim(ctx, "T1", "k", "", time.Hour)),
		"bad workspace": errOf(s.Claim(ctx, "T 1", "k", mine, time.Hour)),
		"renew 0 ttl":   errOf(s.Renew(ctx, "T1", "k", mine, 0)),
		"release":       s.Release(ctx, "T1", "k", ""),
		"held":          errOf(s.Held(ctx, "T1", "")),
	} {
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", name, err)
		}
	}
	// Concurrent claimers with their own tokens: exactly one wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if ok, err := s.Claim(ctx, "T1", "race", NewToken(), time.Hour); err == nil && ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d concurrent claims won, want 1", wins.Load())
	}
}

// errOf returns the error of a (value, error) pair.
func errOf[T any](_ T, err error) error { return err }

func track(t *testing.T, s Store, req TrackRequest) TrackResult {
	t.Helper()
	if req.Workspace == "" {
		req.Workspace = ws
	}
	if req.At.IsZero() {
		req.At = t0
	}
	res, err := s.Track(context.Background(), req)
	if err != nil {
		t.Fatalf("Track(%+v): %v", req, err)
	}
	return res
}

func apply(t *testing.T, s Store, env string, c Change) Result {
	t.Helper()
	if c.Key == "" {
		c.Key = fmt.Sprintf("k-%d", keySeq.Add(1))
	}
	if c.At.IsZero() {
		c.At = t0
	}
	if c.Actor == "" {
		c.Actor = "U1"
	}
	res, err := s.Apply(context.Background(), ws, env, c)
	if err != nil {
		t.Fatalf("Apply(%s, %+v): %v", env, c, err)
	}
	return res
}

func status(t *testing.T, s Store, env string, limit int) Status {
	t.Helper()
	st, err := s.Status(context.Background(), ws, env, limit)
	if err != nil {
		t.Fatalf("Status(%s): %v", env, err)
	}
	return st
}

// environment is env read alone, after checking that its channel's list
// (ChannelEnvironments, C1) reads it the same.
func environment(t *testing.T, s Store, env string) Environment {
	t.Helper()
	e, err := s.Environment(context.Background(), ws, env)
	if err != nil {
		t.Fatalf("Environment(%s): %v", env, err)
	}
	envs, err := s.ChannelEnvironments(context.Background(), ws, "C1")
	if err != nil || !slices.ContainsFunc(envs, func(c Environment) bool { return reflect.DeepEqual(c, e) }) {
		t.Fatalf("ChannelEnvironments(C1) = %+v, %v; want %+v among them", envs, err, e)
	}
	return e
}

func history(t *testing.T, s Store, env string) []HistoryEntry {
	t.Helper()
	h, err := s.History(context.Background(), ws, env)
	if err != nil {
		t.Fatalf("History(%s): %v", env, err)
	}
	return h
}

func moduleNames(mods []Module) []string {
	out := make([]string, len(mods))
	for i, m := range mods {
		out[i] = m.Name
	}
	return out
}

func envNames(envs []Environment) []string {
	out := make([]string, len(envs))
	for i, e := range envs {
		out[i] = e.Name
	}
	return out
}

func equal[T comparable](t *testing.T, what string, got, want []T) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func testTrackUntrack(t *testing.T, s Store) {
	ctx := context.Background()
	res := track(t, s, TrackRequest{Environment: "Dev", Channel: "C1", Version: "11.31.0", InstallType: InstallCloud, Actor: "U1"})
	if res != (TrackResult{Created: true, Followed: true}) {
		t.Errorf("first track = %+v", res)
	}
	if res := track(t, s, TrackRequest{Environment: "dev", Channel: "C1", Actor: "U1"}); res != (TrackResult{}) {
		t.Errorf("repeated track = %+v, want nothing changed", res)
	}
	if res := track(t, s, TrackRequest{Environment: "DEV", Channel: "C2", Actor: "U2"}); res != (TrackResult{Followed: true}) {
		t.Errorf("track from a second channel = %+v", res)
	}
	if res := track(t, s, TrackRequest{Environment: "dev", Channel: "C2", Version: "11.32.1", Actor: "U2", At: t0.Add(time.Hour)}); res != (TrackResult{Updated: true}) {
		t.Errorf("track with a new version = %+v", res)
	}
	st := status(t, s, "dEv", 10)
	if st.Name != "dev" || st.Workspace != ws || st.Version != "11.32.1" || st.InstallType != InstallCloud || st.State != StateFollowing {
		t.Errorf("status = %+v", st.Environment)
	}
	if !st.UpdatedAt.Equal(t0.Add(time.Hour)) || st.UpdatedBy != "U2" {
		t.Errorf("updated = %v by %q", st.UpdatedAt, st.UpdatedBy)
	}
	equal(t, "channels", st.Channels, []string{"C1", "C2"})
	// The version upgraded from is kept like the target version.
	if res := track(t, s, TrackRequest{Environment: "dev", Channel: "C2", FromVersion: "10.0.1", Actor: "U2", At: t0.Add(time.Hour)}); res != (TrackResult{Updated: true}) {
		t.Errorf("track with a from-version = %+v", res)
	}
	if res := track(t, s, TrackRequest{Environment: "dev", Channel: "C2", Version: "11.32.1", Actor: "U2"}); res != (TrackResult{}) {
		t.Errorf("track without a from-version = %+v, want nothing changed", res)
	}
	if st := status(t, s, "dev", 0); st.FromVersion != "10.0.1" || st.Version != "11.32.1" {
		t.Errorf("from %q to %q, want from 10.0.1 to 11.32.1", st.FromVersion, st.Version)
	}
	if _, err := s.Track(ctx, TrackRequest{Workspace: ws, Environment: "dev", Channel: "C1", FromVersion: "ten"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("from-version \"ten\": err = %v, want ErrInvalid", err)
	}

	envs, err := s.ChannelEnvironments(ctx, ws, "C1")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "C1 environments", envNames(envs), []string{"dev"})

	removed, err := s.Untrack(ctx, ws, "DEV", "C1", "U1")
	if err != nil || !removed {
		t.Fatalf("Untrack = %v, %v; want true", removed, err)
	}
	removed, err = s.Untrack(ctx, ws, "dev", "C1", "U1")
	if err != nil || removed {
		t.Errorf("second Untrack = %v, %v; want false, nil", removed, err)
	}
	if _, err := s.Untrack(ctx, ws, "nope", "C1", "U1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Untrack of an unknown environment: %v, want ErrNotFound", err)
	}
	envs, err = s.ChannelEnvironments(ctx, ws, "C1")
	if err != nil || len(envs) != 0 {
		t.Errorf("C1 environments after untrack = %v, %v", envNames(envs), err)
	}
	equal(t, "channels after untrack", status(t, s, "dev", 0).Channels, []string{"C2"})

	// The last channel leaving keeps the environment and its history.
	if _, err := s.Untrack(ctx, ws, "dev", "C2", "U1"); err != nil {
		t.Fatal(err)
	}
	envs, err = s.Environments(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "environments", envNames(envs), []string{"dev"})
	if len(envs[0].Channels) != 0 {
		t.Errorf("channels = %v, want none", envs[0].Channels)
	}
	fc, err := s.FollowedChannels(ctx, ws)
	if err != nil || len(fc) != 0 {
		t.Errorf("FollowedChannels = %v, %v; want none", fc, err)
	}
	var actions []string
	for _, e := range history(t, s, "dev") {
		actions = append(actions, e.Action)
	}
	// Track: created, followed in C2, version changed, from-version set; untrack twice.
	equal(t, "history actions", actions, []string{"track", "track", "track", "track", "untrack", "untrack"})
}

func testChannelsAndEnvironments(t *testing.T, s Store) {
	ctx := context.Background()
	track(t, s, TrackRequest{Environment: "prod", Channel: "C1"})
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1"})
	track(t, s, TrackRequest{Environment: "qa", Channel: "C2"})
	track(t, s, TrackRequest{Environment: "prod", Channel: "C2"})
	track(t, s, TrackRequest{Environment: "qa.eu-1_b", Channel: "C3"})
	track(t, s, TrackRequest{Workspace: "T0002", Environment: "prod", Channel: "C9"})

	envs, err := s.Environments(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "environments", envNames(envs), []string{"dev", "prod", "qa", "qa.eu-1_b"})
	for _, c := range []struct {
		channel string
		want    []string
	}{
		{"C1", []string{"dev", "prod"}},
		{"C2", []string{"prod", "qa"}},
		{"C3", []string{"qa.eu-1_b"}},
		{"C9", nil}, // another workspace's channel
	} {
		envs, err := s.ChannelEnvironments(ctx, ws, c.channel)
		if err != nil {
			t.Fatal(err)
		}
		equal(t, c.channel+" environments", envNames(envs), c.want)
	}
	prod := status(t, s, "prod", 0)
	equal(t, "prod channels", prod.Channels, []string{"C1", "C2"})
	if e, err := s.Environment(ctx, ws, "PROD:"); err != nil || !reflect.DeepEqual(e, prod.Environment) {
		t.Errorf("Environment(PROD:) = %+v, %v; want what Status reads, %+v", e, err, prod.Environment)
	}

	set := ChannelSettings{Schedule: "@every 2h", Paused: true, PauseReason: "off", UpdatedAt: t0, UpdatedBy: "U1"}
	if err := s.SetChannelSettings(ctx, ws, "C2", set); err != nil {
		t.Fatal(err)
	}
	fc, err := s.FollowedChannels(ctx, ws)
	if err != nil {
		t.Fatal(err)
	}
	want := []ChannelFollow{
		{"C1", []string{"dev", "prod"}, ChannelSettings{}},
		{"C2", []string{"prod", "qa"}, set},
		{"C3", []string{"qa.eu-1_b"}, ChannelSettings{}},
	}
	if fmt.Sprint(fc) != fmt.Sprint(want) {
		t.Errorf("FollowedChannels = %v, want %v", fc, want)
	}
	wss, err := s.Workspaces(ctx)
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "workspaces", wss, []string{ws, "T0002"})
	other, err := s.Environments(ctx, "T0002")
	if err != nil {
		t.Fatal(err)
	}
	equal(t, "other workspace environments", envNames(other), []string{"prod"})
	none, err := s.Environments(ctx, "T9999")
	if err != nil || len(none) != 0 {
		t.Errorf("unknown workspace environments = %v, %v", none, err)
	}
}

func testOrdering(t *testing.T, s Store) {
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1"})
	add := func(at time.Duration, reason Reason, names ...string) {
		apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: reason, Modules: names, At: t0.Add(at)})
	}
	add(3*time.Minute, ReasonFailed, "Zeta", "alpha")             // same time: by name
	add(1*time.Minute, ReasonSkipped, "Old")                      // oldest non-producer
	add(5*time.Minute, ReasonProducerNotPrepared, "ProducerLate") // producers first
	add(4*time.Minute, ReasonProducerNotPrepared, "ProducerEarly", "producerAlso")
	add(2*time.Minute, ReasonNotUpgraded, "Beta")
	st := status(t, s, "dev", -1)
	equal(t, "order", moduleNames(st.Modules),
		[]string{"producerAlso", "ProducerEarly", "ProducerLate", "Old", "Beta", "alpha", "Zeta"})
	if st.ModuleCount != 7 {
		t.Errorf("ModuleCount = %d, want 7", st.ModuleCount)
	}
	m := st.Modules[3]
	if m.Reason != ReasonSkipped || m.ReportedBy != "U1" || !m.ReportedAt.Equal(t0.Add(time.Minute)) || m.Source == "" {
		t.Errorf("module = %+v", m)
	}
	// A module becoming a producer moves ahead, keeping its first-reported time.
	add(10*time.Minute, ReasonProducerNotPrepared, "ZETA")
	st = status(t, s, "dev", 4)
	equal(t, "order after re-reason", moduleNames(st.Modules), []string{"Zeta", "producerAlso", "ProducerEarly", "ProducerLate"})
	if !st.Modules[0].ReportedAt.Equal(t0.Add(3 * time.Minute)) {
		t.Errorf("re-reasoned module time = %v, want first report", st.Modules[0].ReportedAt)
	}
	// Republished, then shown to be a producer not prepared: it stays
	// failed, and goes first all the same.
	apply(t, s, "dev", Change{Kind: ChangeDone, Key: "done-alpha", Modules: []string{"alpha"}, At: t0.Add(11 * time.Minute)})
	add(12*time.Minute, ReasonProducerNotPrepared, "alpha")
	st = status(t, s, "dev", -1)
	equal(t, "order after a republished module came back a producer", moduleNames(st.Modules),
		[]string{"Zeta", "producerAlso", "ProducerEarly", "ProducerLate", "alpha", "Old", "Beta"})
	if m := st.Modules[4]; m.Reason != ReasonFailed || !m.Producer {
		t.Errorf("alpha = %+v, want failed and a producer", m)
	}
}

func testDoneByName(t *testing.T, s Store) {
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1"})
	res := apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonFailed, Modules: []string{"CustomerPortal", " Orders ", "orders", "Billing_API"}})
	equal(t, "added", res.Added, []string{"CustomerPortal", "Orders", "Billing_API"})
	if res.Remaining != 3 {
		t.Errorf("remaining = %d", res.Remaining)
	}
	res = apply(t, s, "dev", Change{Kind: ChangeDone, Modules: []string{"customerportal", "Unknown"}})
	equal(t, "removed", res.Removed, []string{"CustomerPortal"})
	equal(t, "not found", res.NotFound, []string{"Unknown"})
	if res.Remaining != 2 || res.BecameEmpty {
		t.Errorf("result = %+v", res)
	}
	res = apply(t, s, "dev", Change{Kind: ChangeDone, Modules: []string{"ORDERS", "billing_api"}})
	equal(t, "removed", res.Removed, []string{"Orders", "Billing_API"})
	if res.Remaining != 0 || !res.BecameEmpty {
		t.Errorf("last done = %+v, want BecameEmpty", res)
	}
	// Already empty: "all clear" must not be announced again.
	res = apply(t, s, "dev", Change{Kind: ChangeDone, Modules: []string{"Orders"}})
	if res.BecameEmpty || len(res.Removed) != 0 {
		t.Errorf("done on an empty list = %+v", res)
	}
	st := status(t, s, "dev", 10)
	// Republished modules stay counted as named (Service Center's counts do not go down).
	if st.ModuleCount != 0 || len(st.Modules) != 0 || st.NamedFailedSkipped != 3 {
		t.Errorf("status = %+v", st)
	}
}

// A new run of the preparation after its step failed: its summary counts
// what this run failed, and a module republished before the run does not
// cover that count (no early done); one still listed does. Undoing the
// run's first banner puts the module back among the named.
func testNewRunAfterFailedStep(t *testing.T, s Store) {
	track(t, s, TrackRequest{Environment: "test", Channel: "C1"})
	apply(t, s, "test", Change{Kind: ChangeState, Key: "failed", State: StateFailed})
	apply(t, s, "test", Change{Kind: ChangeAddModules, Key: "add", Reason: ReasonFailed, Modules: []string{"Billing_CS", "Orders_CS"}})
	apply(t, s, "test", Change{Kind: ChangeDone, Key: "done", Modules: []string{"Billing_CS"}})
	apply(t, s, "test", Change{Kind: ChangePreparing, Key: "run2", Preparation: Preparation{Percent: new(10)}})
	if st := status(t, s, "test", 0); st.NamedFailedSkipped != 1 {
		t.Errorf("named after the new run started: %d, want 1 (Orders_CS, still listed)", st.NamedFailedSkipped)
	}
	apply(t, s, "test", Change{Kind: ChangeUndo, Key: "u", Undoes: []string{"run2"}})
	if st := status(t, s, "test", 0); st.NamedFailedSkipped != 2 || st.State != StateFailed {
		t.Errorf("after undoing the run's banner: %d named, %s; want 2, failed", st.NamedFailedSkipped, st.State)
	}
	apply(t, s, "test", Change{Kind: ChangePreparing, Key: "run2b", Preparation: Preparation{Percent: new(10)}})
	res := apply(t, s, "test", Change{Kind: ChangeSummary, Key: "sum", Counts: Counts{Prepared: new(28), Failed: new(2), Skipped: new(0)}})
	if res.State != StateFinishedWithErrors {
		t.Errorf("after the run's summary: %s, want %s", res.State, StateFinishedWithErrors)
	}
	res = apply(t, s, "test", Change{Kind: ChangeDone, Key: "done2", Modules: []string{"Orders_CS"}})
	if st := status(t, s, "test", 0); res.BecameDone || st.State == StateDone || st.Unnamed() != 1 {
		t.Errorf("the run's other failed module unnamed: done %v, %s, %d unnamed; want not done, 1 unnamed", res.BecameDone, st.State, st.Unnamed())
	}
}

// A module listed again by an undo, though no longer named (a new run
// began since), is named again by an add that changes nothing visible: it
// counts, so its summary leaves none unnamed and its done ends the upgrade.
func testReportAgainAfterUndoInNewRun(t *testing.T, s Store) {
	track(t, s, TrackRequest{Environment: "test", Channel: "C1"})
	sum := Counts{Prepared: new(9), Failed: new(1), Skipped: new(0)}
	apply(t, s, "test", Change{Kind: ChangeAddModules, Key: "k0", Reason: ReasonFailed, Modules: []string{"Alpha"}})
	apply(t, s, "test", Change{Kind: ChangeSummary, Key: "k1", Counts: sum})
	if res := apply(t, s, "test", Change{Kind: ChangeDone, Key: "k2", Modules: []string{"Alpha"}}); res.State != StateDone {
		t.Fatalf("after done Alpha: %s, want %s", res.State, StateDone)
	}
	apply(t, s, "test", Change{Kind: ChangePreparing, Key: "k3", Force: true, Preparation: Preparation{Percent: new(10)}})
	apply(t, s, "test", Change{Kind: ChangeUndo, Key: "k4", Undoes: []string{"k2"}})
	apply(t, s, "test", Change{Kind: ChangeAddModules, Key: "k5", Reason: ReasonFailed, Modules: []string{"Alpha"}})
	apply(t, s, "test", Change{Kind: ChangeSummary, Key: "k6", Counts: sum})
	if st := status(t, s, "test", 0); st.NamedFailedSkipped != 1 || st.Unnamed() != 0 {
		t.Errorf("after the run's summary: %d named, %d unnamed; want 1, 0 (Alpha)", st.NamedFailedSkipped, st.Unnamed())
	}
	if res := apply(t, s, "test", Change{Kind: ChangeDone, Key: "k7", Modules: []string{"Alpha"}}); res.State != StateDone {
		t.Errorf("after done Alpha again: %s, want %s", res.State, StateDone)
	}
}

// A done that names no listed module changes nothing: not the state, not
// who changed the environment last.
func testDoneOfNothingListed(t *testing.T, s Store) {
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1"})
	apply(t, s, "dev", Change{Kind: ChangeSummary, Key: "sum", Actor: "U1", Counts: Counts{Prepared: new(29), Failed: new(1), Skipped: new(0)}})
	was := status(t, s, "dev", 0)
	if was.State != StateFinishedWithErrors {
		t.Fatalf("after the summary: %s, want %s", was.State, StateFinishedWithErrors)
	}
	res := apply(t, s, "dev", Change{Kind: ChangeDone, Key: "typo", Actor: "U2", At: t0.Add(time.Hour), Modules: []string{"Foo_Core"}})
	equal(t, "not found", res.NotFound, []string{"Foo_Core"})
	st := status(t, s, "dev", 0)
	if res.State != was.State || st.State != was.State || st.UpdatedBy != was.UpdatedBy || !st.UpdatedAt.Equal(was.UpdatedAt) {
		t.Errorf("after a done of nothing listed: result %s, status %s by %s at %v; want %s by %s at %v, as before",
			res.State, st.State, st.UpdatedBy, st.UpdatedAt, was.State, was.UpdatedBy, was.UpdatedAt)
	}
	// So does an add of a module listed already, by someone else.
	apply(t, s, "dev", Change{Kind: ChangeAddModules, Key: "add", Actor: "U1", At: t0.Add(2 * time.Hour), Reason: ReasonFailed, Modules: []string{"X_Core"}})
	was = status(t, s, "dev", 0)
	apply(t, s, "dev", Change{Kind: ChangeAddModules, Key: "again", Actor: "U3", At: t0.Add(3 * time.Hour), Reason: ReasonFailed, Modules: []string{"X_Core"}})
	if st := status(t, s, "dev", 0); st.UpdatedBy != was.UpdatedBy || !st.UpdatedAt.Equal(was.UpdatedAt) || st.State != was.State {
		t.Errorf("after an add of what is listed: %s by %s at %v; want as before, %s by %s at %v", st.State, st.UpdatedBy, st.UpdatedAt, was.State, was.UpdatedBy, was.UpdatedAt)
	}
}

// testSentBeforeReset: a change of a message sent before the environment's
// last reset is refused in the write, changing nothing, whatever was read
// before it; one sent after is recorded; undoing the reset puts the
// previous reset's time back.
func testSentBeforeReset(t *testing.T, s Store) {
	ctx := context.Background()
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1", Version: "11.31.0"})
	add := func(key string, sent time.Time, mods ...string) error {
		_, err := s.Apply(ctx, ws, "dev", Change{Kind: ChangeAddModules, Key: key, Actor: "U1", At: t0.Add(3 * time.Hour), SentAt: sent, Reason: ReasonFailed, Modules: mods})
		return err
	}
	if e := environment(t, s, "dev"); !e.ResetAt.IsZero() {
		t.Errorf("ResetAt %v before any reset; want none", e.ResetAt)
	}
	if err := add("never-reset", t0, "A_Core"); err != nil {
		t.Fatalf("add sent before any reset: %v", err)
	}
	apply(t, s, "dev", Change{Kind: ChangeReset, Key: "r1", Actor: "U2", At: t0.Add(time.Hour)})
	apply(t, s, "dev", Change{Kind: ChangeReset, Key: "r2", Actor: "U2", At: t0.Add(2 * time.Hour)})
	if err := add("before-both", t0.Add(30*time.Minute), "B_Core"); !errors.Is(err, ErrStartedAgain) {
		t.Errorf("add sent before both resets: %v; want ErrStartedAgain", err)
	}
	if _, err := s.Apply(ctx, ws, "dev", Change{Kind: ChangeAddModules, Key: "never-reset", Actor: "U1", At: t0.Add(3 * time.Hour), SentAt: t0, Reason: ReasonFailed, Modules: []string{"A_Core"}}); err != nil {
		t.Errorf("the first add again, its message sent before the resets: %v; want it a duplicate, as applied before", err)
	}
	if err := add("between", t0.Add(90*time.Minute), "B_Core"); !errors.Is(err, ErrStartedAgain) {
		t.Errorf("add sent between the resets: %v; want ErrStartedAgain", err)
	}
	if st := status(t, s, "dev", -1); st.ModuleCount != 0 {
		t.Fatalf("%d listed after the refused adds; want 0", st.ModuleCount)
	}
	if e := environment(t, s, "dev"); !e.ResetAt.Equal(t0.Add(2 * time.Hour)) {
		t.Errorf("ResetAt %v; want %v, the last reset's", e.ResetAt, t0.Add(2*time.Hour))
	}
	apply(t, s, "dev", Change{Kind: ChangeUndo, Key: "u2", Actor: "U2", At: t0.Add(150 * time.Minute), Undoes: []string{"r2"}})
	if e := environment(t, s, "dev"); !e.ResetAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("ResetAt %v after the last reset's undo; want %v, the first's", e.ResetAt, t0.Add(time.Hour))
	}
	if err := add("between-after-undo", t0.Add(90*time.Minute), "C_Core"); err != nil {
		t.Errorf("add sent between the resets, after the second was undone: %v; want it recorded", err)
	}
	if err := add("before-first", t0.Add(30*time.Minute), "D_Core"); !errors.Is(err, ErrStartedAgain) {
		t.Errorf("add sent before the first reset, after the second was undone: %v; want ErrStartedAgain", err)
	}
	if err := add("unknown-time", time.Time{}, "B_Core"); err != nil {
		t.Errorf("add of a message whose time is unknown: %v; want it recorded", err)
	}
	if err := add("after", t0.Add(3*time.Hour), "E_Core"); err != nil {
		t.Errorf("add sent after the resets: %v", err)
	}
	if st := status(t, s, "dev", -1); st.ModuleCount != 3 {
		t.Errorf("%d listed; want 3 (C_Core, B_Core, E_Core)", st.ModuleCount)
	}
}

// testIfRevision: a change guarded by the revision it was decided on is
// refused, changing nothing, once another change landed in between; what
// changes nothing (an add of what is listed) does not move the revision.
func testIfRevision(t *testing.T, s Store) {
	ctx := context.Background()
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1", Version: "11.31.0"})
	rev := func() int64 { return status(t, s, "dev", 0).Revision }
	r0 := rev()
	if r0 == 0 {
		t.Fatalf("a tracked environment's revision is 0; want it counted from its creation")
	}
	add := func(key string, ifRev int64, mods ...string) (Result, error) {
		return s.Apply(ctx, ws, "dev", Change{Kind: ChangeAddModules, Key: key, Actor: "U1", At: t0, Reason: ReasonFailed, Modules: mods, IfRevision: &ifRev})
	}
	if _, err := add("a1", r0, "A_Core"); err != nil {
		t.Fatalf("add at the current revision: %v", err)
	}
	r1 := rev()
	if r1 <= r0 {
		t.Fatalf("revision %d after an add, %d before; want it moved", r1, r0)
	}
	apply(t, s, "dev", Change{Kind: ChangeAddModules, Key: "a1-again", Actor: "U2", At: t0, Reason: ReasonFailed, Modules: []string{"A_Core"}})
	if got := rev(); got != r1 {
		t.Errorf("revision %d after an add of what is listed; want %d, unchanged", got, r1)
	}
	apply(t, s, "dev", Change{Kind: ChangeDone, Key: "d1", Actor: "U2", At: t0, Modules: []string{"A_Core"}})
	if _, err := add("a2", r1, "A_Core", "B_Core"); !errors.Is(err, ErrChanged) {
		t.Fatalf("add at revision %d after a done: %v; want ErrChanged", r1, err)
	}
	st := status(t, s, "dev", -1)
	if st.ModuleCount != 0 || len(st.RepublishedModules) != 1 {
		t.Errorf("after the refused add: %d listed, %d republished; want 0 and 1, as the done left it", st.ModuleCount, len(st.RepublishedModules))
	}
	// Refused, its key stays free: decided again, it applies.
	if _, err := add("a2", st.Revision, "B_Core"); err != nil {
		t.Fatalf("add decided again at revision %d: %v", st.Revision, err)
	}
	if got := status(t, s, "dev", 0).ModuleCount; got != 1 {
		t.Errorf("%d listed; want 1", got)
	}
	// A new target moves it too: an undo decided before it is refused.
	r := rev()
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1", Version: "11.32.0"})
	if got := rev(); got == r {
		t.Errorf("revision %d after a new target; want it moved", got)
	}
}

// testFirstNews: an environment tracked ahead of its upgrade knows when
// the upgrade had its first news, and a reset's next upgrade its own.
func testFirstNews(t *testing.T, s Store) {
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1", Version: "11.31.0"})
	news := func() time.Time { return status(t, s, "dev", 0).FirstNews }
	if got := news(); !got.IsZero() {
		t.Fatalf("first news %v right after tracking; want none", got)
	}
	day := 24 * time.Hour
	apply(t, s, "dev", Change{Kind: ChangePreparing, Key: "p1", Actor: "U1", At: t0.Add(2 * day), Preparation: Preparation{Percent: new(10)}})
	apply(t, s, "dev", Change{Kind: ChangeSummary, Key: "s1", Actor: "U1", At: t0.Add(2*day + time.Hour), Counts: Counts{Prepared: new(9), Failed: new(1), Skipped: new(0)}})
	if got := news(); !got.Equal(t0.Add(2 * day)) {
		t.Errorf("first news %v; want %v, the banner's", got, t0.Add(2*day))
	}
	apply(t, s, "dev", Change{Kind: ChangeReset, Key: "r1", Actor: "U1", At: t0.Add(3 * day)})
	if got := news(); !got.IsZero() {
		t.Errorf("first news %v after the reset; want none", got)
	}
	apply(t, s, "dev", Change{Kind: ChangeUndo, Key: "undo:r1", Actor: "U1", At: t0.Add(3*day + time.Minute), Undoes: []string{"r1"}})
	if got := news(); !got.Equal(t0.Add(2 * day)) {
		t.Errorf("first news %v after the reset's undo; want %v, put back", got, t0.Add(2*day))
	}
	apply(t, s, "dev", Change{Kind: ChangeReset, Key: "r2", Actor: "U1", At: t0.Add(4 * day)})
	apply(t, s, "dev", Change{Kind: ChangeAddModules, Key: "a1", Actor: "U1", At: t0.Add(5 * day), Reason: ReasonFailed, Modules: []string{"A_Core"}})
	apply(t, s, "dev", Change{Kind: ChangeDone, Key: "d1", Actor: "U1", At: t0.Add(6 * day), Modules: []string{"A_Core"}})
	apply(t, s, "dev", Change{Kind: ChangeAddModules, Key: "a2", Actor: "U1", At: t0.Add(7 * day), Reason: ReasonFailed, Modules: []string{"B_Core"}})
	if got := news(); !got.Equal(t0.Add(5 * day)) {
		t.Errorf("first news of the next upgrade %v; want %v", got, t0.Add(5*day))
	}
}

func testDoneAll(t *testing.T, s Store) {
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1"})
	apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonSkipped, Modules: []string{"B", "A"}, At: t0})
	apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonProducerNotPrepared, Modules: []string{"P"}, At: t0.Add(time.Minute)})
	res := apply(t, s, "dev", Change{Kind: ChangeDone, All: true})
	equal(t, "removed", res.Removed, []string{"P", "A", "B"})
	if !res.BecameEmpty || res.Remaining != 0 {
		t.Errorf("done all = %+v", res)
	}
	st := status(t, s, "dev", 10)
	if st.ModuleCount != 0 || len(st.Modules) != 0 || st.NamedFailedSkipped != 3 {
		t.Errorf("status = %+v", st)
	}
	res = apply(t, s, "dev", Change{Kind: ChangeDone, All: true})
	if res.BecameEmpty || len(res.Removed) != 0 {
		t.Errorf("done all on empty list = %+v", res)
	}
	// The list works again afterwards; A was named before, so it counts once.
	apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonFailed, Modules: []string{"A"}})
	if st := status(t, s, "dev", 10); st.ModuleCount != 1 || st.NamedFailedSkipped != 3 {
		t.Errorf("after re-adding: %+v", st)
	}
}

// done all of an upgrade from Platform Server 10, nothing listed, ends it:
// the history says so, and so does the undo that takes it back.
func testDoneAllFromBefore11(t *testing.T, s Store) {
	track(t, s, TrackRequest{Environment: "legacy", Channel: "C1", Version: "11.31.0", FromVersion: "10.0.1"})
	if res := apply(t, s, "legacy", Change{Kind: ChangeDone, All: true, Key: "all"}); !res.BecameDone || res.Was != StateFollowing || res.State != StateDone {
		t.Fatalf("done all = %+v, want became done, was following", res)
	}
	h := history(t, s, "legacy")
	if last := h[len(h)-1]; last.Action != string(ChangeDone) || last.Detail != "republished all" {
		t.Errorf("history ends with %+v, want done: republished all", last)
	}
	apply(t, s, "legacy", Change{Kind: ChangeUndo, Undoes: []string{"all"}})
	h = history(t, s, "legacy")
	if last := h[len(h)-1]; last.Detail != "undo of republished all" {
		t.Errorf("undo's history entry %q, want %q", last.Detail, "undo of republished all")
	}
	// Recorded anyway (forced), it says so in both stores; a forced change
	// that did nothing has no words for its undo.
	apply(t, s, "legacy", Change{Kind: ChangeDone, All: true, Key: "all2", Force: true})
	if h = history(t, s, "legacy"); h[len(h)-1].Detail != "republished all (recorded anyway)" {
		t.Errorf("forced done all's history entry %q", h[len(h)-1].Detail)
	}
	apply(t, s, "legacy", Change{Kind: ChangeDone, Key: "none", Force: true, Modules: []string{"Nowhere"}})
	if res := apply(t, s, "legacy", Change{Kind: ChangeUndo, Key: "u-none", Undoes: []string{"none"}}); res.Undid != "" {
		t.Errorf("undo of a forced change that did nothing: Undid %q", res.Undid)
	}
}

func testReAddModule(t *testing.T, s Store) {
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1"})
	apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonFailed, Modules: []string{"Orders"}, Actor: "U1", Source: "m1"})
	res := apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonFailed, Modules: []string{"ORDERS", "Billing"}, Actor: "U2", Source: "m2", At: t0.Add(time.Hour)})
	equal(t, "added", res.Added, []string{"Billing"})
	if len(res.Updated) != 0 || res.Remaining != 2 {
		t.Errorf("result = %+v", res)
	}
	// A failed module reported by another message stays failed; shown to be
	// a producer not prepared, it goes first.
	res = apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonNotUpgraded, Modules: []string{"orders"}})
	if len(res.Updated) != 0 {
		t.Errorf("not-upgraded changed a failed module: %+v", res)
	}
	apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonProducerNotPrepared, Modules: []string{"billing"}})
	if h := history(t, s, "dev"); h[len(h)-1].Detail != "producers not prepared, to republish first: Billing" {
		t.Errorf("history = %+v", h[len(h)-1])
	}
	st := status(t, s, "dev", 10)
	if m := st.Modules[0]; m.Name != "Billing" || m.Reason != ReasonFailed || !m.Producer {
		t.Errorf("first module = %+v, want Billing, failed, a producer", m)
	}
	// Moved between failed and skipped, or from the reported group: recorded.
	res = apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonSkipped, Modules: []string{"orders"}})
	equal(t, "updated", res.Updated, []string{"Orders"})
	st = status(t, s, "dev", 10)
	m := st.Modules[1]
	if m.Name != "Orders" || m.Reason != ReasonSkipped || m.ReportedBy != "U1" || m.Source != "m1" || !m.ReportedAt.Equal(t0) {
		t.Errorf("re-added module = %+v, want first report kept, reason updated", m)
	}
	if st.Open != (GroupCounts{Failed: 1, Skipped: 1}) {
		t.Errorf("open = %+v", st.Open)
	}
	// Republished, then reported again by another message: listed again,
	// saying who marked it republished and when, in its failed group.
	apply(t, s, "dev", Change{Kind: ChangeDone, Modules: []string{"billing"}, Actor: "U3", At: t0.Add(2 * time.Hour)})
	res = apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonProducerNotPrepared, Modules: []string{"Billing"}, Actor: "U4", At: t0.Add(3 * time.Hour)})
	equal(t, "added", res.Added, []string{"Billing"})
	if len(res.Reopened) != 1 || res.Reopened[0].Name != "Billing" || res.Reopened[0].RepublishedBy != "U3" || !res.Reopened[0].RepublishedAt.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("reopened = %+v", res.Reopened)
	}
	if st := status(t, s, "dev", 10); st.Open != (GroupCounts{Failed: 1, Skipped: 1}) {
		t.Errorf("reported again, a failed module left its group: open = %+v", st.Open)
	}
	if res := apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonFailed, Modules: []string{"Fresh"}}); len(res.Reopened) != 0 {
		t.Errorf("a new module reopened: %+v", res.Reopened)
	}
}

func testUnnamed(t *testing.T, s Store) {
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1"})
	if st := status(t, s, "dev", 0); st.Unnamed() != 0 || st.Counts.Known() {
		t.Errorf("unnamed without counts = %d", st.Unnamed())
	}
	apply(t, s, "dev", Change{Kind: ChangeSummary, Counts: Counts{Prepared: new(100), Failed: new(5), Skipped: new(2)}})
	if st := status(t, s, "dev", 0); st.Unnamed() != 7 {
		t.Errorf("unnamed = %d, want 7", st.Unnamed())
	}
	apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonFailed, Modules: []string{"F1", "F2", "F3"}})
	apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonSkipped, Modules: []string{"S1"}})
	apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonNotUpgraded, Modules: []string{"N1"}})
	// Every module named counts, whatever its reason: each is one the preparation did not prepare.
	st := status(t, s, "dev", 0)
	if st.Unnamed() != 2 || st.NamedFailedSkipped != 5 || st.ModuleCount != 5 {
		t.Errorf("unnamed = %d, named = %d, count = %d; want 2, 5, 5", st.Unnamed(), st.NamedFailedSkipped, st.ModuleCount)
	}
	apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonProducerNotPrepared, Modules: []string{"f1"}})
	if st := status(t, s, "dev", 0); st.Unnamed() != 2 {
		t.Errorf("unnamed after re-reason = %d, want 2", st.Unnamed())
	}
	// Republishing does not make a module unnamed again.
	apply(t, s, "dev", Change{Kind: ChangeDone, Modules: []string{"F2", "S1"}})
	if st := status(t, s, "dev", 0); st.Unnamed() != 2 || st.NamedFailedSkipped != 5 {
		t.Errorf("unnamed after done = %d (named %d), want 2 (5)", st.Unnamed(), st.NamedFailedSkipped)
	}
	// A reset starts counting again.
	apply(t, s, "dev", Change{Kind: ChangeReset})
	if st := status(t, s, "dev", 0); st.NamedFailedSkipped != 0 {
		t.Errorf("named after reset = %d, want 0", st.NamedFailedSkipped)
	}
	apply(t, s, "dev", Change{Kind: ChangeSummary, Counts: Counts{Prepared: new(100), Failed: new(5), Skipped: new(2)}})
	apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonFailed, Modules: []string{"X1", "X2", "X3", "X4", "X5", "X6", "X7", "X8"}})
	if st := status(t, s, "dev", 0); st.Unnamed() != 0 {
		t.Errorf("unnamed with more named than counted = %d, want 0", st.Unnamed())
	}
	// done all while the preparation runs covers nothing its summary counts later.
	track(t, s, TrackRequest{Environment: "qa", Channel: "C1"})
	apply(t, s, "qa", Change{Kind: ChangePreparing, Preparation: Preparation{Percent: new(40)}})
	apply(t, s, "qa", Change{Kind: ChangeDone, All: true})
	res := apply(t, s, "qa", Change{Kind: ChangeSummary, Counts: Counts{Prepared: new(26), Failed: new(1), Skipped: new(0)}})
	if st := status(t, s, "qa", 0); st.Unnamed() != 1 || res.BecameDone || st.State != StateFinishedWithErrors {
		t.Errorf("after done all while preparing, then the summary: unnamed %d, state %s, became done %v; want 1, finished-with-errors, false", st.Unnamed(), st.State, res.BecameDone)
	}
	// After the ready banner the outcome is known: done all covers the summary pasted after it.
	track(t, s, TrackRequest{Environment: "rdy", Channel: "C1"})
	apply(t, s, "rdy", Change{Kind: ChangeAddModules, Reason: ReasonFailed, Modules: []string{"A"}})
	apply(t, s, "rdy", Change{Kind: ChangeState, State: StateReady})
	apply(t, s, "rdy", Change{Kind: ChangeDone, All: true})
	res = apply(t, s, "rdy", Change{Kind: ChangeSummary, Counts: Counts{Prepared: new(120), Failed: new(3), Skipped: new(0)}})
	if st := status(t, s, "rdy", 0); st.Unnamed() != 0 || st.State != StateDone || res.Refused != "" {
		t.Errorf("the summary after ready and done all: unnamed %d, state %s, refused %q; want 0, done, none", st.Unnamed(), st.State, res.Refused)
	}
}

func testSummaryState(t *testing.T, newStore func(t *testing.T) Store) {
	for _, c := range []struct {
		name   string
		counts Counts
		want   State
	}{
		{"failures", Counts{Prepared: new(10), Failed: new(1), Skipped: new(0)}, StateFinishedWithErrors},
		{"skipped only", Counts{Prepared: new(10), Failed: new(0), Skipped: new(3)}, StateFinishedWithErrors},
		{"clean, nothing listed", Counts{Prepared: new(10), Failed: new(0), Skipped: new(0)}, StateDone},
		{"prepared only", Counts{Prepared: new(10)}, StateReady},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newStore(t)
			track(t, s, TrackRequest{Environment: "dev", Channel: "C1"})
			apply(t, s, "dev", Change{Kind: ChangePreparing, Preparation: Preparation{Percent: new(40)}})
			res := apply(t, s, "dev", Change{Kind: ChangeSummary, Counts: c.counts})
			if res.State != c.want {
				t.Errorf("result state = %s, want %s", res.State, c.want)
			}
			st := status(t, s, "dev", 0)
			if st.State != c.want || st.Preparation != (Preparation{}) {
				t.Errorf("state = %s, preparation %+v; want %s and none", st.State, st.Preparation, c.want)
			}
			if fmt.Sprint(deref(st.Counts.Prepared), deref(st.Counts.Failed), deref(st.Counts.Skipped)) !=
				fmt.Sprint(deref(c.counts.Prepared), deref(c.counts.Failed), deref(c.counts.Skipped)) ||
				(st.Counts.Failed == nil) != (c.counts.Failed == nil) {
				t.Errorf("counts = %+v, want %+v", st.Counts, c.counts)
			}
		})
	}
	t.Run("merge and set state", func(t *testing.T) {
		s := newStore(t)
		track(t, s, TrackRequest{Environment: "dev", Channel: "C1"})
		apply(t, s, "dev", Change{Kind: ChangeSummary, Counts: Counts{Prepared: new(10), Failed: new(2)}})
		// Other counts are held back (VerdictOtherCounts) unless recorded anyway.
		if held, err := s.Apply(context.Background(), ws, "dev", Change{Kind: ChangeSummary, Key: "other", Counts: Counts{Failed: new(0)}, At: t0}); err != nil || held.Refused != VerdictOtherCounts {
			t.Errorf("other counts: %+v, %v; want them held back", held, err)
		}
		res := apply(t, s, "dev", Change{Kind: ChangeSummary, Counts: Counts{Failed: new(0)}, Force: true})
		st := status(t, s, "dev", 0)
		if res.State != StateReady || deref(st.Counts.Prepared) != 10 || deref(st.Counts.Failed) != 0 || st.Counts.Skipped != nil {
			t.Errorf("merged summary: state %s, counts %v/%v/%v", res.State, st.Counts.Prepared, st.Counts.Failed, st.Counts.Skipped)
		}
		for _, want := range []State{StateFailed, StateReady} {
			if res := apply(t, s, "dev", Change{Kind: ChangeState, State: want}); res.State != want {
				t.Errorf("set state %s: got %s", want, res.State)
			}
			if st := status(t, s, "dev", 0); st.State != want {
				t.Errorf("status state = %s, want %s", st.State, want)
			}
		}
	})
}

func testPreparing(t *testing.T, s Store) {
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1"})
	apply(t, s, "dev", Change{Kind: ChangePreparing, Preparation: Preparation{Percent: new(12), Expected: "14:30"}})
	apply(t, s, "dev", Change{Kind: ChangePreparing, Preparation: Preparation{Current: new(3), Total: new(120)}})
	apply(t, s, "dev", Change{Kind: ChangePreparing, Preparation: Preparation{Percent: new(45)}, Actor: "U7", At: t0.Add(time.Minute)})
	st := status(t, s, "dev", 0)
	p := st.Preparation
	if st.State != StatePreparing || deref(p.Percent) != 45 || p.Expected != "14:30" || deref(p.Current) != 3 || deref(p.Total) != 120 {
		t.Errorf("preparation = %s %v %q %v %v", st.State, deref(p.Percent), p.Expected, deref(p.Current), deref(p.Total))
	}
	if st.UpdatedBy != "U7" || !st.UpdatedAt.Equal(t0.Add(time.Minute)) {
		t.Errorf("updated = %v by %s", st.UpdatedAt, st.UpdatedBy)
	}
	// A new preparation after another state (recorded anyway: the life
	// cycle takes it for an older message) starts from nothing.
	apply(t, s, "dev", Change{Kind: ChangeState, State: StateFailed})
	apply(t, s, "dev", Change{Kind: ChangePreparing, Preparation: Preparation{Percent: new(5)}, Force: true})
	st = status(t, s, "dev", 0)
	if p := st.Preparation; deref(p.Percent) != 5 || p.Expected != "" || p.Current != nil || p.Total != nil {
		t.Errorf("restarted preparation = %+v", p)
	}
	if h := history(t, s, "dev"); h[len(h)-1].Detail != "preparing: 5% (recorded anyway)" || h[2].Detail != "preparing: module 3 of 120" {
		t.Errorf("history details = %q, %q", h[2].Detail, h[len(h)-1].Detail)
	}
}

// Preparation.At is when the running preparation last had news: its start,
// or a banner or counter; not a blocked publish (it only runs), nor a
// module reported meanwhile. An undo puts it back; an outcome clears it.
func testPreparationNews(t *testing.T, s Store) {
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1"})
	at := func() time.Time { return status(t, s, "dev", 0).Preparation.At }
	apply(t, s, "dev", Change{Kind: ChangePreparing, At: t0})
	if !at().Equal(t0) {
		t.Errorf("began: news at %v, want %v", at(), t0)
	}
	apply(t, s, "dev", Change{Kind: ChangePreparing, Preparation: Preparation{Percent: new(11)}, At: t0.Add(time.Hour)})
	apply(t, s, "dev", Change{Kind: ChangePreparing, At: t0.Add(2 * time.Hour)}) // a blocked publish
	apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonFailed, Modules: []string{"A"}, At: t0.Add(3 * time.Hour)})
	if !at().Equal(t0.Add(time.Hour)) {
		t.Errorf("after the banner, a blocked publish and a report: news at %v, want the banner's %v", at(), t0.Add(time.Hour))
	}
	apply(t, s, "dev", Change{Kind: ChangePreparing, Preparation: Preparation{Current: new(3), Total: new(9)}, Key: "counter", At: t0.Add(4 * time.Hour)})
	apply(t, s, "dev", Change{Kind: ChangeUndo, Undoes: []string{"counter"}, At: t0.Add(5 * time.Hour)})
	if !at().Equal(t0.Add(time.Hour)) {
		t.Errorf("after the counter's undo: news at %v, want the banner's %v", at(), t0.Add(time.Hour))
	}
	apply(t, s, "dev", Change{Kind: ChangeSummary, Counts: Counts{Prepared: new(9), Failed: new(0), Skipped: new(0)}, At: t0.Add(6 * time.Hour)})
	if !at().IsZero() {
		t.Errorf("after the outcome: news at %v, want none", at())
	}
}

func testReset(t *testing.T, s Store) {
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1", Version: "11.31.0"})
	apply(t, s, "dev", Change{Kind: ChangeSummary, Counts: Counts{Prepared: new(1), Failed: new(1), Skipped: new(1)}})
	apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonFailed, Modules: []string{"A", "B"}})
	before := len(history(t, s, "dev"))
	res := apply(t, s, "dev", Change{Kind: ChangeReset, Actor: "U9", Key: "reset-1"})
	if res.State != StateFollowing || res.Remaining != 0 || res.BecameEmpty {
		t.Errorf("reset result = %+v", res)
	}
	st := status(t, s, "dev", 10)
	if st.State != StateFollowing || st.Counts.Known() || st.ModuleCount != 0 || len(st.Modules) != 0 || st.Unnamed() != 0 {
		t.Errorf("after reset: %+v", st)
	}
	if st.Version != "11.31.0" || len(st.Channels) != 1 {
		t.Errorf("reset must keep version and channels: %+v", st.Environment)
	}
	h := history(t, s, "dev")
	if len(h) != before+1 {
		t.Fatalf("history has %d entries, want %d", len(h), before+1)
	}
	last := h[len(h)-1]
	if last.Action != "reset" || last.Actor != "U9" || last.Source != "reset-1" || last.Detail == "" {
		t.Errorf("reset entry = %+v", last)
	}
	apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonFailed, Modules: []string{"A"}})
	if st := status(t, s, "dev", 10); st.ModuleCount != 1 || st.NamedFailedSkipped != 1 {
		t.Errorf("after reset and add: %+v", st)
	}
}

func testIdempotent(t *testing.T, s Store) {
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1"})
	add := Change{Kind: ChangeAddModules, Key: "1712.000100", Reason: ReasonFailed, Modules: []string{"A", "B"}}
	if res := apply(t, s, "dev", add); res.Duplicate || len(res.Added) != 2 {
		t.Fatalf("first apply = %+v", res)
	}
	h1 := history(t, s, "dev")
	// A retry after an uncertain outcome, even with other content, changes nothing.
	retry := add
	retry.Modules = []string{"C"}
	res := apply(t, s, "dev", retry)
	if !res.Duplicate || len(res.Added) != 0 || res.BecameEmpty {
		t.Errorf("retry = %+v, want a duplicate", res)
	}
	if h2 := history(t, s, "dev"); len(h2) != len(h1) {
		t.Errorf("history grew on retry: %d → %d", len(h1), len(h2))
	}
	if st := status(t, s, "dev", 10); st.ModuleCount != 2 {
		t.Errorf("modules after retry = %v", moduleNames(st.Modules))
	}
	done := Change{Kind: ChangeDone, Key: "cmd-42", All: true}
	if res := apply(t, s, "dev", done); !res.BecameEmpty {
		t.Errorf("done all = %+v", res)
	}
	if res := apply(t, s, "dev", done); !res.Duplicate || res.BecameEmpty {
		t.Errorf("retried done all = %+v; all clear must be announced once", res)
	}
	// Keys are per environment: the same message may update another one.
	track(t, s, TrackRequest{Environment: "qa", Channel: "C1"})
	if res := apply(t, s, "qa", add); res.Duplicate {
		t.Errorf("same key on another environment was a duplicate")
	}
}

func testHistoryExport(t *testing.T, s Store) {
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1", Version: "11.31.0", InstallType: InstallSelfManaged, Actor: "U1"})
	apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonFailed, Modules: []string{"Orders|Core", "=HYPERLINK"}, Actor: "U2", Key: "m1", Source: "C1/1712.0001", At: t0.Add(time.Minute)})
	apply(t, s, "dev", Change{Kind: ChangeDone, Modules: []string{"orders|core"}, Actor: "U3", Key: "m2", At: t0.Add(2 * time.Minute)})
	h := history(t, s, "dev")
	if len(h) != 3 {
		t.Fatalf("history = %+v", h)
	}
	want := []HistoryEntry{
		{Time: t0, Actor: "U1", Action: "track", Detail: "followed in C1, version 11.31.0, self-managed"},
		{Time: t0.Add(time.Minute), Actor: "U2", Action: "add", Detail: "2 modules reported (failed): Orders|Core, =HYPERLINK", Source: "C1/1712.0001"},
		{Time: t0.Add(2 * time.Minute), Actor: "U3", Action: "done", Detail: "republished: Orders|Core", Source: "m2"},
	}
	for i := range want {
		if !h[i].Time.Equal(want[i].Time) || h[i].Actor != want[i].Actor || h[i].Action != want[i].Action || h[i].Detail != want[i].Detail || h[i].Source != want[i].Source {
			t.Errorf("entry %d = %+v, want %+v", i, h[i], want[i])
		}
	}

	var md bytes.Buffer
	if err := WriteHistoryMarkdown(&md, "dev", h); err != nil {
		t.Fatal(err)
	}
	wantMD := "# History of dev\n\n" +
		"| Time | Who | Action | Detail | Source |\n" +
		"|---|---|---|---|---|\n" +
		"| 2025-03-01 09:00:00 UTC | U1 | track | followed in C1, version 11.31.0, self-managed |  |\n" +
		`| 2025-03-01 09:01:00 UTC | U2 | add | 2 modules reported (failed): Orders\|Core, =HYPERLINK | C1/1712.0001 |` + "\n" +
		`| 2025-03-01 09:02:00 UTC | U3 | done | republished: Orders\|Core | m2 |` + "\n"
	if md.String() != wantMD {
		t.Errorf("markdown =\n%s\nwant\n%s", md.String(), wantMD)
	}

	var out bytes.Buffer
	if err := WriteHistoryCSV(&out, h); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		t.Fatalf("CSV does not parse: %v", err)
	}
	wantCSV := [][]string{
		{"time", "actor", "action", "detail", "source"},
		{"2025-03-01T09:00:00Z", "U1", "track", "followed in C1, version 11.31.0, self-managed", ""},
		{"2025-03-01T09:01:00Z", "U2", "add", "2 modules reported (failed): Orders|Core, =HYPERLINK", "C1/1712.0001"},
		{"2025-03-01T09:02:00Z", "U3", "done", "republished: Orders|Core", "m2"},
	}
	if fmt.Sprintf("%q", recs) != fmt.Sprintf("%q", wantCSV) {
		t.Errorf("csv = %q\nwant %q", recs, wantCSV)
	}
}

func testValidation(t *testing.T, s Store) {
	ctx := context.Background()
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1"})
	long := strings.Repeat("m", 201)
	for _, c := range []struct {
		name  string
		field string
		call  func() error
	}{
		{"empty env", "environment name", func() error {
			_, err := s.Track(ctx, TrackRequest{Workspace: ws, Environment: "", Channel: "C1"})
			return err
		}},
		{"env with space", "environment name", func() error {
			_, err := s.Track(ctx, TrackRequest{Workspace: ws, Environment: "my env", Channel: "C1"})
			return err
		}},
		{"env too long", "environment name", func() error {
			_, err := s.Track(ctx, TrackRequest{Workspace: ws, Environment: strings.Repeat("e", 41), Channel: "C1"})
			return err
		}},
		{"env with colon", "environment name", func() error {
			_, err := s.Status(ctx, ws, "dev:x", 1)
			return err
		}},
		{"bad version", "version", func() error {
			_, err := s.Track(ctx, TrackRequest{Workspace: ws, Environment: "dev", Channel: "C1", Version: "eleven"})
			return err
		}},
		{"bad install type", "installation type", func() error {
			_, err := s.Track(ctx, TrackRequest{Workspace: ws, Environment: "dev", Channel: "C1", InstallType: "onprem"})
			return err
		}},
		{"bad channel", "channel", func() error {
			_, err := s.Track(ctx, TrackRequest{Workspace: ws, Environment: "dev", Channel: "C 1"})
			return err
		}},
		{"bad workspace", "workspace", func() error {
			_, err := s.Environments(ctx, "T:1")
			return err
		}},
		{"module with markup", "module name", func() error {
			_, err := s.Apply(ctx, ws, "dev", Change{Kind: ChangeAddModules, Key: "v1", Reason: ReasonFailed, Modules: []string{"ok", "<@U123>"}})
			return err
		}},
		{"module with control char", "module name", func() error {
			_, err := s.Apply(ctx, ws, "dev", Change{Kind: ChangeAddModules, Key: "v2", Reason: ReasonFailed, Modules: []string{"a\nb"}})
			return err
		}},
		{"module too long", "module name", func() error {
			_, err := s.Apply(ctx, ws, "dev", Change{Kind: ChangeAddModules, Key: "v3", Reason: ReasonFailed, Modules: []string{long}})
			return err
		}},
		{"empty module", "module name", func() error {
			_, err := s.Apply(ctx, ws, "dev", Change{Kind: ChangeDone, Key: "v4", Modules: []string{"  "}})
			return err
		}},
		{"no key", "change key", func() error {
			_, err := s.Apply(ctx, ws, "dev", Change{Kind: ChangeReset})
			return err
		}},
		{"unknown reason", "reason", func() error {
			_, err := s.Apply(ctx, ws, "dev", Change{Kind: ChangeAddModules, Key: "v5", Reason: "broken", Modules: []string{"A"}})
			return err
		}},
		{"bad percent", "percent", func() error {
			_, err := s.Apply(ctx, ws, "dev", Change{Kind: ChangePreparing, Key: "v6", Preparation: Preparation{Percent: new(101)}})
			return err
		}},
		{"negative count", "failed", func() error {
			_, err := s.Apply(ctx, ws, "dev", Change{Kind: ChangeSummary, Key: "v7", Counts: Counts{Failed: new(-1)}})
			return err
		}},
		{"bad state", "state", func() error {
			_, err := s.Apply(ctx, ws, "dev", Change{Kind: ChangeState, Key: "v8", State: StatePreparing})
			return err
		}},
		{"unknown kind", "change kind", func() error {
			_, err := s.Apply(ctx, ws, "dev", Change{Kind: "explode", Key: "v9"})
			return err
		}},
		{"done names and all", "modules", func() error {
			_, err := s.Apply(ctx, ws, "dev", Change{Kind: ChangeDone, Key: "v10", All: true, Modules: []string{"A"}})
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.call()
			var ve *ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error = %v, want a *ValidationError", err)
			}
			if ve.Field != c.field || ve.Error() == "" {
				t.Errorf("field = %q (%v), want %q", ve.Field, ve, c.field)
			}
		})
	}
	// Nothing of the refused changes was written.
	if st := status(t, s, "dev", 10); st.ModuleCount != 0 || st.State != StateFollowing {
		t.Errorf("status after refused changes = %+v", st)
	}
	if h := history(t, s, "dev"); len(h) != 1 {
		t.Errorf("history after refused changes has %d entries, want 1", len(h))
	}
	// A refused key can be used once the input is fixed.
	res := apply(t, s, "dev", Change{Kind: ChangeAddModules, Key: "v1", Reason: ReasonFailed, Modules: []string{"ok", "Ünïcode Module (v2) & co"}})
	equal(t, "added", res.Added, []string{"ok", "Ünïcode Module (v2) & co"})
}

func testNotFound(t *testing.T, s Store) {
	ctx := context.Background()
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1"})
	if _, err := s.Status(ctx, ws, "qa", 10); !errors.Is(err, ErrNotFound) {
		t.Errorf("Status: %v", err)
	}
	if _, err := s.Status(ctx, "T0002", "dev", 10); !errors.Is(err, ErrNotFound) {
		t.Errorf("Status in another workspace: %v", err)
	}
	if _, err := s.Apply(ctx, ws, "qa", Change{Kind: ChangeReset, Key: "k"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("Apply: %v", err)
	}
	if _, err := s.Environment(ctx, ws, "qa"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Environment: %v", err)
	}
	if _, err := s.History(ctx, ws, "qa"); !errors.Is(err, ErrNotFound) {
		t.Errorf("History: %v", err)
	}
	// The refused key was not remembered.
	track(t, s, TrackRequest{Environment: "qa", Channel: "C1"})
	if res, err := s.Apply(ctx, ws, "qa", Change{Kind: ChangeReset, Key: "k"}); err != nil || res.Duplicate {
		t.Errorf("Apply after tracking = %+v, %v", res, err)
	}
}

func testStatusLimit(t *testing.T, s Store) {
	track(t, s, TrackRequest{Environment: "prod", Channel: "C1"})
	var names []string
	for i := range 50 {
		names = append(names, fmt.Sprintf("Module%02d", i))
	}
	res := apply(t, s, "prod", Change{Kind: ChangeAddModules, Reason: ReasonNotUpgraded, Modules: names})
	if len(res.Added) != 50 || res.Remaining != 50 {
		t.Fatalf("added %d, remaining %d", len(res.Added), res.Remaining)
	}
	for _, c := range []struct{ limit, want int }{{10, 10}, {1, 1}, {0, 0}, {-1, 50}, {80, 50}} {
		st := status(t, s, "prod", c.limit)
		if len(st.Modules) != c.want || st.ModuleCount != 50 {
			t.Errorf("limit %d: %d modules of %d, want %d of 50", c.limit, len(st.Modules), st.ModuleCount, c.want)
		}
		if c.want > 0 {
			equal(t, "first modules", moduleNames(st.Modules), names[:c.want])
		}
	}
	h := history(t, s, "prod")
	// The history is the change record: every name, in full.
	if d := h[len(h)-1].Detail; !strings.HasSuffix(d, "Module48, Module49") {
		t.Errorf("long detail = %q", d)
	}
}

func testChannelSettings(t *testing.T, s Store) {
	ctx := context.Background()
	cs, err := s.ChannelSettings(ctx, ws, "C1")
	if err != nil || cs != (ChannelSettings{}) {
		t.Fatalf("unset settings = %+v, %v; want zero", cs, err)
	}
	set := ChannelSettings{Schedule: "0 10 * * 1-5", Paused: true, PauseReason: "code freeze", UpdatedBy: "U1", UpdatedAt: t0}
	if err := s.SetChannelSettings(ctx, ws, "C1", set); err != nil {
		t.Fatal(err)
	}
	got, err := s.ChannelSettings(ctx, ws, "C1")
	if err != nil || got.Schedule != set.Schedule || !got.Paused || got.PauseReason != set.PauseReason || got.UpdatedBy != "U1" || !got.UpdatedAt.Equal(t0) {
		t.Errorf("settings = %+v, %v; want %+v", got, err, set)
	}
	// Replacing, not merging: resuming clears the reason.
	if err := s.SetChannelSettings(ctx, ws, "C1", ChannelSettings{Schedule: "0 9 * * 1", UpdatedBy: "U2"}); err != nil {
		t.Fatal(err)
	}
	got, err = s.ChannelSettings(ctx, ws, "C1")
	if err != nil || got.Paused || got.PauseReason != "" || got.Schedule != "0 9 * * 1" || got.UpdatedAt.IsZero() {
		t.Errorf("replaced settings = %+v, %v", got, err)
	}
	if other, err := s.ChannelSettings(ctx, ws, "C2"); err != nil || other != (ChannelSettings{}) {
		t.Errorf("other channel = %+v, %v", other, err)
	}
	wss, err := s.Workspaces(ctx)
	if err != nil || !slices.Contains(wss, ws) {
		t.Errorf("workspaces = %v, %v; want %s listed", wss, err, ws)
	}
	var ve *ValidationError
	if err := s.SetChannelSettings(ctx, ws, "C1", ChannelSettings{Schedule: "0 9 * * 1\n"}); err == nil {
		// trailing whitespace is trimmed; an inner control character is not allowed
		if err := s.SetChannelSettings(ctx, ws, "C1", ChannelSettings{Schedule: "0 9\t* * 1"}); !errors.As(err, &ve) {
			t.Errorf("schedule with a tab: %v, want a validation error", err)
		}
	} else {
		t.Errorf("schedule with trailing newline: %v", err)
	}
}

// testLifeCycle: the store applies what the life cycle decides: an older
// message is refused (nothing recorded, its key stays free for "record
// anyway"), the last module republished with the counts covered is done.
func testLifeCycle(t *testing.T, s Store) {
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1", Version: "11.31.0"})
	if st := status(t, s, "dev", 0); st.State != StateFollowing {
		t.Fatalf("new environment is %s, want following", st.State)
	}
	apply(t, s, "dev", Change{Kind: ChangePreparing, Preparation: Preparation{Percent: new(60)}})
	if res := apply(t, s, "dev", Change{Kind: ChangePreparing, Key: "low", Preparation: Preparation{Percent: new(40)}}); res.Refused != VerdictOlder || res.State != StatePreparing {
		t.Errorf("40%% after 60%% = %+v, want refused as older", res)
	}
	apply(t, s, "dev", Change{Kind: ChangeSummary, Counts: Counts{Prepared: new(10), Failed: new(1), Skipped: new(1)}})
	apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonFailed, Modules: []string{"A", "B"}})
	n := len(history(t, s, "dev"))
	for _, c := range []Change{
		{Kind: ChangePreparing, Key: "late-blocked"},
		{Kind: ChangeSummary, Key: "old-summary", Counts: Counts{Prepared: new(26), Failed: new(1), Skipped: new(3)}, Version: "11.10.0"},
	} {
		if res := apply(t, s, "dev", c); res.Refused == "" || res.State != StateFinishedWithErrors || res.Duplicate {
			t.Errorf("%s: %+v, want refused", c.Key, res)
		}
	}
	st := status(t, s, "dev", 0)
	if st.State != StateFinishedWithErrors || deref(st.Counts.Failed) != 1 || len(history(t, s, "dev")) != n {
		t.Errorf("after refused changes: %s, failed %d, %d history entries (want %d)", st.State, deref(st.Counts.Failed), len(history(t, s, "dev")), n)
	}
	if res := apply(t, s, "dev", Change{Kind: ChangeDone, Modules: []string{"A"}}); res.State != StateRepublishing || res.BecameDone || res.AllClear() {
		t.Errorf("first done = %+v, want republishing", res)
	}
	if res := apply(t, s, "dev", Change{Kind: ChangeDone, Modules: []string{"B"}}); res.State != StateDone || !res.BecameDone || !res.AllClear() {
		t.Errorf("last done = %+v, want done", res)
	}
	// Service Center's ready banner after the last module: what is recorded already.
	n = len(history(t, s, "dev"))
	if res := apply(t, s, "dev", Change{Kind: ChangeState, Key: "ready", State: StateReady}); res.Refused != VerdictRecorded || res.State != StateDone || res.Duplicate {
		t.Errorf("ready after done = %+v, want refused as recorded, done", res)
	}
	if st := status(t, s, "dev", 0); st.State != StateDone || len(history(t, s, "dev")) != n {
		t.Errorf("after the ready banner: %s, %d history entries (want done, %d)", st.State, len(history(t, s, "dev")), n)
	}
	// Recorded anyway, under the key refused before.
	if res := apply(t, s, "dev", Change{Kind: ChangePreparing, Key: "late-blocked", Force: true}); res.Refused != "" || res.Duplicate || res.State != StatePreparing {
		t.Errorf("forced = %+v, want preparing", res)
	}
	// done all after the outcome is done, whatever is left unnamed.
	apply(t, s, "dev", Change{Kind: ChangeReset})
	apply(t, s, "dev", Change{Kind: ChangeSummary, Counts: Counts{Prepared: new(10), Failed: new(17), Skipped: new(23)}})
	apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonFailed, Modules: []string{"C"}})
	if res := apply(t, s, "dev", Change{Kind: ChangeDone, All: true}); res.State != StateDone || !res.BecameDone {
		t.Errorf("done all = %+v, want done", res)
	}
	if res := apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonSkipped, Modules: []string{"D"}}); res.State != StateRepublishing {
		t.Errorf("module after done = %+v, want republishing", res)
	}
}

// testHistoryNames: a history detail quotes a module name that holds a
// comma, semicolon or quote (a quote doubled), so its list reads back.
func testHistoryNames(t *testing.T, s Store) {
	track(t, s, TrackRequest{Environment: "prod", Channel: "C1"})
	odd := []string{"Orders, Core", `A "B" C`, "Plain_CS"}
	apply(t, s, "prod", Change{Kind: ChangeAddModules, Key: "add", Reason: ReasonFailed, Modules: odd})
	apply(t, s, "prod", Change{Kind: ChangeAddModules, Key: "skip", Reason: ReasonSkipped, Modules: []string{"Orders, Core"}})
	apply(t, s, "prod", Change{Kind: ChangeDone, Key: "done", Modules: []string{`A "B" C`}})
	apply(t, s, "prod", Change{Kind: ChangeUndo, Key: "u", Undoes: []string{"add"}})
	var got []string
	for _, e := range history(t, s, "prod")[1:] {
		got = append(got, e.Detail)
	}
	want := []string{
		`3 modules reported (failed): "Orders, Core", "A ""B"" C", Plain_CS`,
		`moved to skipped: "Orders, Core" (was failed)`,
		`republished: "A ""B"" C"`,
		`undo of 3 modules reported (failed): "Orders, Core", "A ""B"" C", Plain_CS (changed since, left as is: "Orders, Core", "A ""B"" C")`,
	}
	equal(t, "history", got, want)
}
