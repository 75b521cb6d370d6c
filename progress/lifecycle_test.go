package progress

import (
	"context"
	"fmt"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestNext is the life cycle as a table: a state and what a change says
// (and how many modules it leaves listed) → the state after it, or refused
// (and why).
func TestNext(t *testing.T) {
	counts := func(f, s int) Counts { return Counts{Prepared: new(10), Failed: new(f), Skipped: new(s)} }
	prep := func(pct int) Preparation { return Preparation{Percent: new(pct)} }
	for _, tc := range []struct {
		name      string
		st        Status
		c         Change
		remaining int
		want      State
		refused   Verdict
	}{
		// following
		{"old data: unknown is following", Status{Environment: Environment{State: StateUnknown}}, Change{Kind: ChangeAddModules}, 1, StateFollowing, ""},
		{"following, banner", stateOf(StateFollowing), Change{Kind: ChangePreparing, Preparation: prep(10)}, 0, StatePreparing, ""},
		{"following, summary with errors", stateOf(StateFollowing), Change{Kind: ChangeSummary, Counts: counts(1, 3)}, 0, StateFinishedWithErrors, ""},
		{"following, clean summary, nothing listed: done", stateOf(StateFollowing), Change{Kind: ChangeSummary, Counts: counts(0, 0)}, 0, StateDone, ""},
		{"following, clean summary, a module listed", stateOf(StateFollowing), Change{Kind: ChangeSummary, Counts: counts(0, 0)}, 1, StateReady, ""},
		{"failed, clean summary of the run again, nothing listed: done", stateOf(StateFailed), Change{Kind: ChangeSummary, Counts: counts(0, 0)}, 0, StateDone, ""},
		{"finished, unnamed failed, clean summary of the run again forced: done", covered(StateFinishedWithErrors, 1, 0), Change{Kind: ChangeSummary, Counts: counts(0, 0), Force: true}, 0, StateDone, ""},
		{"following, step failed", stateOf(StateFollowing), Change{Kind: ChangeState, State: StateFailed}, 0, StateFailed, ""},
		{"following, done keeps following", stateOf(StateFollowing), Change{Kind: ChangeDone}, 0, StateFollowing, ""},
		{"following, done all: no news, the team says it is done", stateOf(StateFollowing), Change{Kind: ChangeDone, All: true}, 0, StateDone, ""},
		{"preparing, done all keeps preparing", withPrep(prep(40)), Change{Kind: ChangeDone, All: true}, 0, StatePreparing, ""},
		// preparing
		{"preparing, more percent", withPrep(prep(40)), Change{Kind: ChangePreparing, Preparation: prep(60)}, 0, StatePreparing, ""},
		{"preparing, same percent", withPrep(prep(40)), Change{Kind: ChangePreparing, Preparation: prep(40)}, 0, StatePreparing, ""},
		{"preparing, lower percent", withPrep(prep(40)), Change{Kind: ChangePreparing, Preparation: prep(11)}, 0, StatePreparing, VerdictOlder},
		{"preparing, lower percent forced", withPrep(prep(40)), Change{Kind: ChangePreparing, Preparation: prep(11), Force: true}, 0, StatePreparing, ""},
		{"preparing, module 3 after 5 of 30", withPrep(Preparation{Current: new(5), Total: new(30)}), Change{Kind: ChangePreparing, Preparation: Preparation{Current: new(3), Total: new(30)}}, 0, StatePreparing, VerdictOlder},
		{"preparing, module 3 of another run", withPrep(Preparation{Current: new(5), Total: new(30)}), Change{Kind: ChangePreparing, Preparation: Preparation{Current: new(3), Total: new(6)}}, 0, StatePreparing, ""},
		{"preparing, blocked publish", withPrep(prep(40)), Change{Kind: ChangePreparing}, 0, StatePreparing, ""},
		{"preparing, summary", withPrep(prep(90)), Change{Kind: ChangeSummary, Counts: counts(1, 0)}, 0, StateFinishedWithErrors, ""},
		{"preparing, ready, nothing listed: done", withPrep(prep(90)), Change{Kind: ChangeState, State: StateReady}, 0, StateDone, ""},
		{"preparing, ready, a module listed", withPrep(prep(90)), Change{Kind: ChangeState, State: StateReady}, 1, StateReady, ""},
		{"preparing, module added", withPrep(prep(90)), Change{Kind: ChangeAddModules}, 1, StatePreparing, ""},
		// finished with errors, failed, ready
		{"finished, banner 40%", stateOf(StateFinishedWithErrors), Change{Kind: ChangePreparing, Preparation: prep(40)}, 0, StateFinishedWithErrors, VerdictOlder},
		{"finished, blocked publish", stateOf(StateFinishedWithErrors), Change{Kind: ChangePreparing}, 0, StateFinishedWithErrors, VerdictOlder},
		{"finished, banner forced", stateOf(StateFinishedWithErrors), Change{Kind: ChangePreparing, Force: true}, 0, StatePreparing, ""},
		{"finished, summary again", stateOf(StateFinishedWithErrors), Change{Kind: ChangeSummary, Counts: counts(1, 3)}, 0, StateFinishedWithErrors, ""},
		{"finished, ready, nothing listed: done", stateOf(StateFinishedWithErrors), Change{Kind: ChangeState, State: StateReady}, 0, StateDone, ""},
		{"finished, ready, modules counted and not named", covered(StateFinishedWithErrors, 3, 1), Change{Kind: ChangeState, State: StateReady}, 0, StateReady, ""},
		{"ready, errors", stateOf(StateReady), Change{Kind: ChangeState, State: StateFinishedWithErrors}, 0, StateFinishedWithErrors, ""},
		{"failed, banner (a new run)", stateOf(StateFailed), Change{Kind: ChangePreparing, Preparation: prep(5)}, 0, StatePreparing, ""},
		{"failed, module counter (a new run)", stateOf(StateFailed), Change{Kind: ChangePreparing, Preparation: Preparation{Current: new(1), Total: new(30)}}, 0, StatePreparing, ""},
		{"failed, blocked publish (maybe of the run that failed)", stateOf(StateFailed), Change{Kind: ChangePreparing}, 0, StateFailed, VerdictOlder},
		{"failed, last done: it must run again", stateOf(StateFailed), Change{Kind: ChangeDone}, 0, StateFailed, ""},
		{"failed, done all: it must run again", stateOf(StateFailed), Change{Kind: ChangeDone, All: true}, 0, StateFailed, ""},
		{"finished, module added", stateOf(StateFinishedWithErrors), Change{Kind: ChangeAddModules}, 2, StateFinishedWithErrors, ""},
		{"finished, one of two done", stateOf(StateFinishedWithErrors), Change{Kind: ChangeDone}, 1, StateRepublishing, ""},
		{"finished, last done, counts covered", covered(StateFinishedWithErrors, 4, 4), Change{Kind: ChangeDone}, 0, StateDone, ""},
		{"finished, last done, 3 unnamed", covered(StateFinishedWithErrors, 4, 1), Change{Kind: ChangeDone}, 0, StateRepublishing, ""},
		{"finished, done all", covered(StateFinishedWithErrors, 4, 1), Change{Kind: ChangeDone, All: true}, 0, StateDone, ""},
		// an upgrade from Platform Server 10 or earlier: done all ends it from any stage
		{"from 10, following, done all", from10(StateFollowing), Change{Kind: ChangeDone, All: true}, 0, StateDone, ""},
		{"from 10, preparing, done all", from10(StatePreparing), Change{Kind: ChangeDone, All: true}, 0, StateDone, ""},
		{"from 10, finished, done all", from10(StateFinishedWithErrors), Change{Kind: ChangeDone, All: true}, 0, StateDone, ""},
		{"from 10, ready, done all", from10(StateReady), Change{Kind: ChangeDone, All: true}, 0, StateDone, ""},
		{"from 10, following, done", from10(StateFollowing), Change{Kind: ChangeDone}, 0, StateFollowing, ""},
		{"from 11, following, done all", Status{Environment: Environment{State: StateFollowing, FromVersion: "11.8.0"}}, Change{Kind: ChangeDone, All: true}, 0, StateDone, ""},
		// a summary whose failed and skipped modules were all named already (pasted last, or an edit correcting one)
		{"following, summary of modules named and republished", named(StateFollowing, 1), Change{Kind: ChangeSummary, Counts: counts(1, 0)}, 0, StateDone, ""},
		{"following, summary of modules named, one still listed", named(StateFollowing, 2), Change{Kind: ChangeSummary, Counts: counts(1, 1)}, 1, StateFinishedWithErrors, ""},
		{"following, summary of more modules than named", named(StateFollowing, 1), Change{Kind: ChangeSummary, Counts: counts(2, 0)}, 0, StateFinishedWithErrors, ""},
		{"republishing, corrected summary of modules named", named(StateRepublishing, 1), Change{Kind: ChangeSummary, Counts: counts(1, 0)}, 0, StateDone, ""},
		{"republishing, corrected summary, one still listed", named(StateRepublishing, 2), Change{Kind: ChangeSummary, Counts: counts(1, 0)}, 1, StateRepublishing, ""},
		{"done, summary of modules named", named(StateDone, 3), Change{Kind: ChangeSummary, Counts: counts(1, 2)}, 0, StateDone, ""},
		{"done, summary of more modules than named", named(StateDone, 1), Change{Kind: ChangeSummary, Counts: counts(1, 2)}, 0, StateDone, VerdictOlder},
		// republishing
		{"republishing, done", stateOf(StateRepublishing), Change{Kind: ChangeDone}, 3, StateRepublishing, ""},
		{"republishing, last done", covered(StateRepublishing, 2, 2), Change{Kind: ChangeDone}, 0, StateDone, ""},
		{"republishing, another summary", stateOf(StateRepublishing), Change{Kind: ChangeSummary, Counts: counts(1, 3)}, 0, StateRepublishing, VerdictOlder},
		{"republishing, the summary again", withCounts(StateRepublishing, counts(1, 3)), Change{Kind: ChangeSummary, Counts: counts(1, 3)}, 0, StateRepublishing, VerdictRecorded},
		{"republishing, the counts line alone again", withCounts(StateRepublishing, counts(1, 3)), Change{Kind: ChangeSummary, Counts: Counts{Failed: new(1)}}, 0, StateRepublishing, VerdictRecorded},
		{"republishing, other counts", withCounts(StateRepublishing, counts(1, 3)), Change{Kind: ChangeSummary, Counts: counts(2, 3)}, 0, StateRepublishing, VerdictOtherCounts},
		{"finished, other counts", withCounts(StateFinishedWithErrors, counts(2, 3)), Change{Kind: ChangeSummary, Counts: counts(1, 2)}, 0, StateFinishedWithErrors, VerdictOtherCounts},
		{"finished, the same counts", withCounts(StateFinishedWithErrors, counts(2, 3)), Change{Kind: ChangeSummary, Counts: counts(2, 3)}, 0, StateFinishedWithErrors, VerdictRecorded},
		{"ready, the same counts", withCounts(StateReady, counts(0, 0)), Change{Kind: ChangeSummary, Counts: counts(0, 0)}, 0, StateReady, VerdictRecorded},
		{"failed, the same counts: a new run", withCounts(StateFailed, counts(2, 3)), Change{Kind: ChangeSummary, Counts: counts(2, 3)}, 0, StateFinishedWithErrors, ""},
		{"finished, other counts forced", withCounts(StateFinishedWithErrors, counts(2, 3)), Change{Kind: ChangeSummary, Counts: counts(1, 2), Force: true}, 0, StateFinishedWithErrors, ""},
		{"done, other counts", withCounts(StateDone, counts(1, 3)), Change{Kind: ChangeSummary, Counts: counts(2, 3)}, 0, StateDone, VerdictOtherCounts},
		{"finished, other counts the named modules cover", covered(StateFinishedWithErrors, 3, 2), Change{Kind: ChangeSummary, Counts: counts(1, 1)}, 0, StateFinishedWithErrors, VerdictOtherCounts},
		{"finished, other counts the named modules cover, forced (an edit)", covered(StateRepublishing, 3, 2), Change{Kind: ChangeSummary, Counts: counts(1, 1), Force: true}, 0, StateDone, ""},
		{"republishing, other counts forced", withCounts(StateRepublishing, counts(1, 3)), Change{Kind: ChangeSummary, Counts: counts(2, 3), Force: true}, 0, StateFinishedWithErrors, ""},
		{"republishing, banner", stateOf(StateRepublishing), Change{Kind: ChangePreparing, Preparation: prep(40)}, 0, StateRepublishing, VerdictOlder},
		{"republishing, errors line", stateOf(StateRepublishing), Change{Kind: ChangeState, State: StateFinishedWithErrors}, 0, StateRepublishing, VerdictOlder},
		// done
		{"done, the summary again", withCounts(StateDone, counts(1, 3)), Change{Kind: ChangeSummary, Counts: counts(1, 3)}, 0, StateDone, VerdictRecorded},
		{"done, ready banner: finished either way", stateOf(StateDone), Change{Kind: ChangeState, State: StateReady}, 0, StateDone, VerdictRecorded},
		{"done, errors line", stateOf(StateDone), Change{Kind: ChangeState, State: StateFinishedWithErrors}, 0, StateDone, VerdictOlder},
		{"done, step failed", stateOf(StateDone), Change{Kind: ChangeState, State: StateFailed}, 0, StateDone, VerdictOlder},
		{"failed, ready banner is not done", stateOf(StateFailed), Change{Kind: ChangeState, State: StateReady}, 0, StateReady, ""},
		{"done, new module reported", stateOf(StateDone), Change{Kind: ChangeAddModules}, 1, StateRepublishing, ""},
		{"done, reset", stateOf(StateDone), Change{Kind: ChangeReset}, 0, StateFollowing, ""},
		// the version guard
		{"other version", versioned(StateFollowing, "11.31.0"), Change{Kind: ChangeSummary, Counts: counts(1, 3), Version: "11.10.0"}, 0, StateFollowing, VerdictOtherVersion},
		{"other version, module", versioned(StateFinishedWithErrors, "11.31.0"), Change{Kind: ChangeAddModules, Version: "11.10.0"}, 1, StateFinishedWithErrors, VerdictOtherVersion},
		{"other version forced", versioned(StateFollowing, "11.31.0"), Change{Kind: ChangeSummary, Counts: counts(1, 3), Version: "11.10.0", Force: true}, 0, StateFinishedWithErrors, ""},
		{"same version", versioned(StateFollowing, "11.31.0"), Change{Kind: ChangeSummary, Counts: counts(1, 3), Version: "11.31.0"}, 0, StateFinishedWithErrors, ""},
		{"same release, target without patch", versioned(StateFollowing, "11.31"), Change{Kind: ChangeState, State: StateReady, Version: "11.31.2"}, 0, StateDone, ""},
		{"no target: no guard", versioned(StateFollowing, ""), Change{Kind: ChangeState, State: StateReady, Version: "11.10.0"}, 0, StateDone, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Next(tc.st, tc.c)
			if got.After(tc.remaining) != tc.want || got.Refused != tc.refused {
				t.Errorf("Next = %+v, after it with %d modules listed %s, want %s (refused %q)", got, tc.remaining, got.After(tc.remaining), tc.want, tc.refused)
			}
		})
	}
}

func stateOf(s State) Status { return Status{Environment: Environment{State: s}} }

// named is state s with n modules named (failed, skipped or reported) since the reset.
func named(s State, n int) Status {
	st := stateOf(s)
	st.NamedFailedSkipped = n
	return st
}

func withCounts(s State, c Counts) Status {
	st := stateOf(s)
	st.Counts = c
	return st
}

func from10(s State) Status {
	st := stateOf(s)
	st.FromVersion = "10.0.1"
	return st
}

func withPrep(p Preparation) Status {
	return Status{Environment: Environment{State: StatePreparing, Preparation: p}}
}

// covered is an outcome with failed+skipped counted and named modules named.
func covered(s State, counted, named int) Status {
	st := stateOf(s)
	st.Counts = Counts{Prepared: new(10), Failed: new(counted), Skipped: new(0)}
	st.NamedFailedSkipped = named
	return st
}

func versioned(s State, v string) Status {
	st := stateOf(s)
	st.Version = v
	return st
}

func TestSameVersion(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"11.31.0", "11.31.0", true}, {"11.31", "11.31.4", true}, {"11.31.0", "11.10.0", false},
		{"11.12.0", "11.12.00", true}, {"11", "11.31.0", true}, {"11.3.0", "11.31.0", false},
	} {
		if got := SameVersion(tc.a, tc.b); got != tc.want {
			t.Errorf("SameVersion(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{
		{"11.31.0", "11.31.0", 0}, {"11.31", "11.31.4", 0}, {"11.12.0", "11.12.00", 0}, {"11", "11.31.0", 0},
		{"11.14.0", "11.31.0", -1}, {"11.31.0", "11.14.0", 1},
		{"11.9.0", "11.12.0", -1}, {"11.12.0", "11.9.9", 1}, // numbers, not text
		{"10.0.1", "11.12", -1}, {"11.10.0", "11.12", -1}, {"11.12.1", "11.12", 0}, {"011.31", "11.4", 1},
		{"11.31.0", "11.31.1", -1}, {"11.31.0.1", "11.31.0.0", 1},
	} {
		if got := CompareVersions(tc.a, tc.b); got != tc.want {
			t.Errorf("CompareVersions(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// testOldState: an environment stored before the life cycle (state
// "unknown") reads as following and moves on as one.
func testOldState(t *testing.T, s Store, setUnknown func()) {
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1"})
	setUnknown()
	if st := status(t, s, "dev", 0); st.State != StateFollowing {
		t.Fatalf("old state reads as %s, want following", st.State)
	}
	if res := apply(t, s, "dev", Change{Kind: ChangeSummary, Counts: Counts{Prepared: new(3), Failed: new(1)}}); res.State != StateFinishedWithErrors {
		t.Errorf("summary on old data = %+v", res)
	}
}

func TestRedisOldState(t *testing.T) {
	s, c := newTestRedisStore(t, RedisOptions{})
	testOldState(t, s, func() {
		ctx := context.Background()
		if err := c.HSet(ctx, s.envKey(ws, "dev", "meta"), "state", "unknown").Err(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBoltOldState(t *testing.T) {
	s := newBoltStore(t, BoltOptions{})
	testOldState(t, s, func() {
		if err := s.db.Update(func(tx *bolt.Tx) error {
			eb := envBucket(tx, ws, "dev")
			rec, err := loadEnv(eb)
			if err != nil {
				return err
			}
			rec.State = StateUnknown
			return saveEnv(eb, rec)
		}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRedisConcurrentDecisions: after the outcome, a done change decides
// on the module list and the counts; replicas adding modules at the same
// time make it decide again, and nothing is lost.
func TestRedisConcurrentDecisions(t *testing.T) {
	a, _ := newTestRedisStore(t, RedisOptions{})
	b, err := NewRedisStore(newRedisClient(t, redisTestOptions(t)), RedisOptions{Prefix: a.prefix})
	if err != nil {
		t.Fatal(err)
	}
	track(t, a, TrackRequest{Environment: "prod", Channel: "C1"})
	const n = 40
	for i := range n {
		apply(t, a, "prod", Change{Kind: ChangeAddModules, Reason: ReasonFailed, Modules: []string{fmt.Sprintf("A%d", i)}})
	}
	apply(t, a, "prod", Change{Kind: ChangeSummary, Counts: Counts{Prepared: new(1), Failed: new(n), Skipped: new(0)}})
	errs := make(chan error, 2)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			if _, err := a.Apply(context.Background(), ws, "prod", Change{Kind: ChangeDone, Key: fmt.Sprintf("d%d", i), Modules: []string{fmt.Sprintf("A%d", i)}}); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Go(func() {
		for i := range n {
			if _, err := b.Apply(context.Background(), ws, "prod", Change{Kind: ChangeAddModules, Key: fmt.Sprintf("b%d", i), Reason: ReasonSkipped, Modules: []string{fmt.Sprintf("B%d", i)}}); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	st := status(t, a, "prod", 0)
	if st.ModuleCount != n || st.State != StateRepublishing {
		t.Errorf("%d modules, %s; want %d, republishing", st.ModuleCount, st.State, n)
	}
}

// An upgrade is over when done, or ready with nothing listed and nothing
// Service Center counted left unnamed: the ready banner after a summary
// with errors leaves those to republish.
func TestFinished(t *testing.T) {
	for _, tc := range []struct {
		name string
		st   Status
		want bool
	}{
		{"done", stateOf(StateDone), true},
		{"ready, nothing listed", stateOf(StateReady), true},
		{"ready, a module listed", Status{Environment: Environment{State: StateReady}, ModuleCount: 1}, false},
		{"ready, 4 counted and none named", covered(StateReady, 4, 0), false},
		{"ready, 4 counted and named", covered(StateReady, 4, 4), true},
		{"republishing, nothing listed", stateOf(StateRepublishing), false},
	} {
		if got := tc.st.Finished(); got != tc.want {
			t.Errorf("%s: Finished = %v, want %v", tc.name, got, tc.want)
		}
	}
}
