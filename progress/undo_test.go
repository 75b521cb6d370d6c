package progress

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// testUndo: an undo puts back what its changes replaced, leaves what was
// changed since (and says so), is a change of its own in the history, and
// uses the records up.
func testUndo(t *testing.T, newStore func(t *testing.T) Store) {
	summary := Change{Kind: ChangeSummary, Key: "sum", Counts: Counts{Prepared: new(26), Failed: new(1), Skipped: new(2)}}
	addAB := Change{Kind: ChangeAddModules, Key: "add", Reason: ReasonFailed, Modules: []string{"A", "B"}}
	for _, tc := range []struct {
		name    string
		changes []Change
		undo    []string
		want    Result // Added, Removed, Updated, Kept, KeptState
		mods    []string
		state   State
		named   int
		failed  *int
		repub   []string // republished and not listed after the undo
	}{
		{name: "a report", changes: []Change{addAB}, undo: []string{"add"},
			want: Result{Removed: []string{"A", "B"}}, state: StateFollowing},
		{name: "a summary", changes: []Change{summary}, undo: []string{"sum"}, state: StateFollowing},
		{name: "a summary over an earlier one", changes: []Change{summary, {Kind: ChangeSummary, Key: "sum2", Counts: Counts{Failed: new(5)}, Force: true}},
			undo: []string{"sum2"}, state: StateFinishedWithErrors, failed: new(1)},
		{name: "a done", changes: []Change{addAB, {Kind: ChangeDone, Key: "done", Modules: []string{"a"}}}, undo: []string{"done"},
			want: Result{Added: []string{"A"}}, mods: []string{"A", "B"}, state: StateFollowing, named: 2},
		{name: "done all", changes: []Change{summary, addAB, {Kind: ChangeDone, Key: "done", All: true}}, undo: []string{"done"},
			want: Result{Added: []string{"A", "B"}}, mods: []string{"A", "B"}, state: StateFinishedWithErrors, named: 2, failed: new(1)},
		{name: "a new reason", changes: []Change{addAB, {Kind: ChangeAddModules, Key: "skip", Reason: ReasonSkipped, Modules: []string{"B"}}},
			undo: []string{"skip"}, want: Result{Updated: []string{"B"}}, mods: []string{"A", "B"}, state: StateFollowing, named: 2},
		{name: "a reset", changes: []Change{summary, addAB, {Kind: ChangeReset, Key: "reset"}}, undo: []string{"reset"},
			want: Result{Added: []string{"A", "B"}}, mods: []string{"A", "B"}, state: StateFinishedWithErrors, named: 2, failed: new(1)},
		{name: "a report, one module republished since", changes: []Change{addAB, {Kind: ChangeDone, Key: "done", Modules: []string{"A"}}},
			undo: []string{"add"}, want: Result{Removed: []string{"B"}, Kept: []string{"A"}}, state: StateFollowing, named: 1, repub: []string{"A"}},
		{name: "a reset after a done", changes: []Change{addAB, {Kind: ChangeDone, Key: "done", Modules: []string{"A"}}, {Kind: ChangeReset, Key: "reset"}},
			undo: []string{"reset"}, want: Result{Added: []string{"B"}}, mods: []string{"B"}, state: StateFollowing, named: 2, repub: []string{"A"}},
		{name: "a summary, state changed since", changes: []Change{summary, {Kind: ChangeState, Key: "ready", State: StateReady}},
			undo: []string{"sum"}, want: Result{KeptState: true}, state: StateReady, failed: new(1)},
		{name: "two changes at once, last first", changes: []Change{addAB, {Kind: ChangeDone, Key: "done", Modules: []string{"A"}}},
			undo: []string{"add", "done"}, want: Result{Added: []string{"A"}, Removed: []string{"A", "B"}}, state: StateFollowing},
		{name: "a report, reported again since by someone else", changes: []Change{addAB, {Kind: ChangeAddModules, Key: "again", Actor: "U2", Reason: ReasonFailed, Modules: []string{"B"}}},
			undo: []string{"add"}, want: Result{Removed: []string{"A"}, Kept: []string{"B"}}, mods: []string{"B"}, state: StateFollowing, named: 1},
		{name: "a report, reported again since by its author", changes: []Change{addAB, {Kind: ChangeAddModules, Key: "again", Reason: ReasonFailed, Modules: []string{"B"}}},
			undo: []string{"add"}, want: Result{Removed: []string{"A", "B"}}, state: StateFollowing},
		{name: "a report again, undone", changes: []Change{addAB, {Kind: ChangeAddModules, Key: "again", Actor: "U2", Reason: ReasonFailed, Modules: []string{"B"}}},
			undo: []string{"again"}, mods: []string{"A", "B"}, state: StateFollowing, named: 2},
		{name: "a done, confirmed since by someone else", changes: []Change{addAB, {Kind: ChangeDone, Key: "done", Modules: []string{"A"}}, {Kind: ChangeDone, Key: "again", Actor: "U2", Modules: []string{"A"}}},
			undo: []string{"done"}, want: Result{Kept: []string{"A"}}, mods: []string{"B"}, state: StateFollowing, named: 2, repub: []string{"A"}},
		{name: "a done, repeated since by its author", changes: []Change{addAB, {Kind: ChangeDone, Key: "done", Modules: []string{"A"}}, {Kind: ChangeDone, Key: "again", Modules: []string{"A"}}},
			undo: []string{"done"}, want: Result{Added: []string{"A"}}, mods: []string{"A", "B"}, state: StateFollowing, named: 2},
		{name: "one of them recorded nothing", changes: []Change{addAB}, undo: []string{"never", "add"},
			want: Result{Removed: []string{"A", "B"}}, state: StateFollowing},
		// The state settles to what the list and counts call for.
		{name: "a done before the all-clear, undone: republishing again", changes: []Change{sum(2), addAB, doneOf("A"), doneOf("B")},
			undo: []string{"done-A"}, want: Result{Added: []string{"A"}}, mods: []string{"A"}, state: StateRepublishing, named: 2, failed: new(2), repub: []string{"B"}},
		{name: "the report of a module counted twice, undone: done", changes: []Change{sum(1), addOf("A"), addOf("B"), doneOf("A")},
			undo: []string{"add-B"}, want: Result{Removed: []string{"B"}, BecameDone: true}, state: StateDone, named: 1, failed: new(1), repub: []string{"A"}},
		{name: "a done undone while a later one stands: the outcome put back", changes: []Change{sum(3), addOf("A"), addOf("B"), addOf("C"), doneOf("A"), doneOf("B")},
			undo: []string{"done-A"}, want: Result{Added: []string{"A"}}, mods: []string{"A", "C"}, state: StateFinishedWithErrors, named: 3, failed: new(3), repub: []string{"B"}},
		{name: "done all undone, a module republished before the summary", changes: []Change{addOf("A"), addOf("B"), doneOf("A"), sum(2), {Kind: ChangeDone, Key: "all", All: true}},
			undo: []string{"all"}, want: Result{Added: []string{"B"}}, mods: []string{"B"}, state: StateFinishedWithErrors, named: 2, failed: new(2), repub: []string{"A"}},
		{name: "the only done undone: the outcome again", changes: []Change{sum(3), addOf("A"), addOf("B"), doneOf("A")},
			undo: []string{"done-A"}, want: Result{Added: []string{"A"}}, mods: []string{"A", "B"}, state: StateFinishedWithErrors, named: 2, failed: new(3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			track(t, s, TrackRequest{Environment: "prod", Channel: "C1"})
			for _, c := range tc.changes {
				apply(t, s, "prod", c)
			}
			before := len(history(t, s, "prod"))
			res := apply(t, s, "prod", Change{Kind: ChangeUndo, Key: "undo-1", Actor: "U2", Undoes: tc.undo})
			equal(t, "Added", res.Added, tc.want.Added)
			equal(t, "Removed", res.Removed, tc.want.Removed)
			equal(t, "Updated", res.Updated, tc.want.Updated)
			equal(t, "Kept", res.Kept, tc.want.Kept)
			if res.KeptState != tc.want.KeptState || res.State != tc.state || res.BecameDone != tc.want.BecameDone {
				t.Errorf("KeptState, State, BecameDone = %v, %s, %v; want %v, %s, %v", res.KeptState, res.State, res.BecameDone, tc.want.KeptState, tc.state, tc.want.BecameDone)
			}
			st := status(t, s, "prod", -1)
			equal(t, "modules", moduleNames(st.Modules), tc.mods)
			equal(t, "republished", moduleNames(st.RepublishedModules), tc.repub)
			if st.State != tc.state || st.NamedFailedSkipped != tc.named || fmt.Sprint(deref(st.Counts.Failed)) != fmt.Sprint(deref(tc.failed)) || st.ModuleCount != len(tc.mods) {
				t.Errorf("after the undo: state %s, named %d, failed %v, count %d; want %s, %d, %v, %d",
					st.State, st.NamedFailedSkipped, deref(st.Counts.Failed), st.ModuleCount, tc.state, tc.named, deref(tc.failed), len(tc.mods))
			}
			h := history(t, s, "prod")
			if last := h[len(h)-1]; len(h) != before+1 || last.Action != "undo" || last.Actor != "U2" || !strings.HasPrefix(last.Detail, "undo of ") {
				t.Errorf("history: %d entries after %d, last %+v", len(h), before, last)
			} else if (len(tc.want.Kept) > 0 || tc.want.KeptState) != strings.Contains(last.Detail, "left as is") {
				t.Errorf("history detail %q does not say what was left", last.Detail)
			}
			// The same undo again (a retry) is a duplicate; another one finds nothing left.
			if again := apply(t, s, "prod", Change{Kind: ChangeUndo, Key: "undo-1", Undoes: tc.undo}); !again.Duplicate {
				t.Errorf("retried undo = %+v, want a duplicate", again)
			}
			_, err := s.Apply(context.Background(), ws, "prod", Change{Kind: ChangeUndo, Key: "undo-2", Actor: "U2", Undoes: tc.undo})
			if !errors.Is(err, ErrNothingToUndo) {
				t.Errorf("second undo: %v, want ErrNothingToUndo", err)
			}
			if h2 := history(t, s, "prod"); len(h2) != len(h) {
				t.Errorf("a refused undo was logged")
			}
		})
	}
	// An add that changes a listed module without moving it says so: its
	// undo is what lets the first report be undone.
	t.Run("marked", func(t *testing.T) {
		s := newStore(t)
		track(t, s, TrackRequest{Environment: "prod", Channel: "C1"})
		apply(t, s, "prod", addOf("A"))
		for _, tc := range []struct {
			c    Change
			want []string
		}{
			{Change{Kind: ChangeAddModules, Key: "producer", Reason: ReasonProducerNotPrepared, Modules: []string{"A"}}, []string{"A"}},
			{Change{Kind: ChangeAddModules, Key: "producer-again", Reason: ReasonProducerNotPrepared, Modules: []string{"A"}}, nil},
			{Change{Kind: ChangeAddModules, Key: "by-U2", Actor: "U2", Reason: ReasonFailed, Modules: []string{"A"}}, nil}, // counted, not shown
		} {
			equal(t, tc.c.Key+" Marked", apply(t, s, "prod", tc.c).Marked, tc.want)
		}
		res := apply(t, s, "prod", Change{Kind: ChangeUndo, Key: "u", Undoes: []string{"add-A", "producer", "by-U2"}})
		equal(t, "Removed", res.Removed, []string{"A"})
		equal(t, "Kept", res.Kept, nil)
	})
	t.Run("details", func(t *testing.T) {
		s := newStore(t)
		track(t, s, TrackRequest{Environment: "prod", Channel: "C1"})
		apply(t, s, "prod", addAB)
		apply(t, s, "prod", Change{Kind: ChangeDone, Key: "done", Modules: []string{"A"}})
		res := apply(t, s, "prod", Change{Kind: ChangeUndo, Key: "u", Undoes: []string{"add"}})
		h := history(t, s, "prod")
		want := "undo of 2 modules reported (failed): A, B (changed since, left as is: A)"
		if got := h[len(h)-1].Detail; got != want || res.Undid != "2 modules reported (failed): A, B" {
			t.Errorf("detail %q, Undid %q; want %q", got, res.Undid, want)
		}
		if _, err := s.Apply(context.Background(), ws, "prod", Change{Kind: ChangeUndo, Key: "u2"}); !errors.Is(err, ErrInvalid) {
			t.Errorf("an undo of nothing: %v, want ErrInvalid", err)
		}
		// The record keeps the module as reported: undone, it comes back with its reporter and time.
		apply(t, s, "prod", Change{Kind: ChangeUndo, Key: "u3", Undoes: []string{"done"}})
		st := status(t, s, "prod", -1)
		if i := slices.IndexFunc(st.Modules, func(m Module) bool { return m.Name == "A" }); i < 0 || st.Modules[i].ReportedBy != "U1" || !st.Modules[i].ReportedAt.Equal(t0) {
			t.Errorf("A after undoing its done: %+v", st.Modules)
		}
	})
}

// sum is a summary counting failed modules; addOf and doneOf report and
// mark one module, keyed by what they do.
func sum(failed int) Change {
	return Change{Kind: ChangeSummary, Key: "sum", Counts: Counts{Prepared: new(20), Failed: new(failed), Skipped: new(0)}}
}

func addOf(m string) Change {
	return Change{Kind: ChangeAddModules, Key: "add-" + m, Reason: ReasonFailed, Modules: []string{m}}
}

func doneOf(m string) Change { return Change{Kind: ChangeDone, Key: "done-" + m, Modules: []string{m}} }

// An undo record lasts UndoTTL; records expire as new changes come.
func TestBoltUndoExpires(t *testing.T) {
	now := t0
	s := newBoltStore(t, BoltOptions{Now: func() time.Time { return now }})
	ctx := context.Background()
	if _, err := s.Track(ctx, TrackRequest{Workspace: ws, Environment: "dev", Channel: "C1"}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"old", "kept"} {
		if _, err := s.Apply(ctx, ws, "dev", Change{Kind: ChangeAddModules, Key: k, Reason: ReasonFailed, Modules: []string{k}}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(UndoTTL / 2)
	}
	now = now.Add(time.Minute) // "old" is UndoTTL and a minute old, "kept" half that
	if _, err := s.Apply(ctx, ws, "dev", Change{Kind: ChangeUndo, Key: "u1", Undoes: []string{"old"}}); !errors.Is(err, ErrNothingToUndo) {
		t.Errorf("undo after UndoTTL: %v, want ErrNothingToUndo", err)
	}
	if res, err := s.Apply(ctx, ws, "dev", Change{Kind: ChangeUndo, Key: "u2", Undoes: []string{"kept"}}); err != nil || len(res.Removed) != 1 {
		t.Errorf("undo within UndoTTL: %+v, %v", res, err)
	}
}
