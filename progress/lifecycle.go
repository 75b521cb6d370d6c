package progress

import (
	"cmp"
	"strconv"
	"strings"
)

// The life cycle of an environment's upgrade, decided here and nowhere else:
//
//	following ─▶ preparing ─▶ finished-with-errors | failed | ready ─▶ republishing ─▶ done
//
// Status messages (a banner's percent, a blocked publish, the summary, the
// outcome) move it forward; one that would move it to an earlier stage is
// older than what is recorded and is refused unless forced, except the
// progress of a preparation run again after it failed; the ready banner
// after done says what is recorded (finished either way). Marking modules
// republished after the outcome moves it to republishing, and to done when
// the last one is republished and Service Center's counts are covered (or
// with "done all"); a failed preparation is never done: it runs again (or
// Support steps in) first. A reset starts a new upgrade: following again.
//
// Both stores apply what Next decides: the embedded store within its
// transaction, the Redis store with a compare-and-set of the fields Next
// read (a conflict reads again and decides again).

// Life-cycle states besides the preparation's (see State).
const (
	StateFollowing    State = "following"    // tracked, no news of the preparation yet
	StateRepublishing State = "republishing" // the outcome is known and modules are being republished
	StateDone         State = "done"         // every module republished, the counts covered
)

// Verdict says why a change was refused; "" when it was applied.
type Verdict string

// Verdicts of the life cycle's guards.
const (
	// VerdictOlder: the message would move the upgrade backwards (an
	// earlier stage, or less progress than recorded).
	VerdictOlder Verdict = "older"
	// VerdictOtherVersion: the message names another Platform Server
	// version than the environment's target.
	VerdictOtherVersion Verdict = "other-version"
	// VerdictRecorded: the message says what is recorded already (the
	// summary pasted again while republishing, the ready banner after
	// done): nothing to change.
	VerdictRecorded Verdict = "recorded"
	// VerdictOtherCounts: a summary whose counts differ from those
	// recorded, more than the modules named cover: another environment's,
	// or a new run of the preparation.
	VerdictOtherCounts Verdict = "other-counts"
)

// Normal is s as the life cycle knows it: "unknown" (stored before the
// life cycle had a name for it) and "" read as following.
func (s State) Normal() State {
	if s == StateUnknown || s == "" {
		return StateFollowing
	}
	return s
}

// stage orders the states; a status message never moves to an earlier one.
func (s State) stage() int {
	switch s.Normal() {
	case StatePreparing:
		return 1
	case StateFinishedWithErrors, StateFailed, StateReady:
		return 2
	case StateRepublishing:
		return 3
	case StateDone:
		return 4
	}
	return 0
}

// OutcomeKnown reports whether the preparation's outcome is known: every
// state from finished-with-errors, failed or ready on.
func (s State) OutcomeKnown() bool { return s.stage() >= 2 }

// Finished reports whether the upgrade is over: done, or Service Center
// said ready and no module is listed, nor counted and not named.
func (st Status) Finished() bool {
	s := st.State.Normal()
	return s == StateDone || s == StateReady && st.ModuleCount == 0 && st.Unnamed() == 0
}

// FromBefore11 reports whether the upgrade started from Platform Server 10
// or earlier: there is no modules preparation to wait for, every
// application is republished, and "done all" ends the upgrade.
func (e Environment) FromBefore11() bool {
	major, _, _ := strings.Cut(e.FromVersion, ".")
	n, err := strconv.Atoi(strings.TrimSpace(major))
	return err == nil && n <= 10
}

// Transition is what the life cycle decides for one change.
type Transition struct {
	State State // the state after the change (the current one when refused)
	// IfEmpty, when set, is the state instead if the change leaves no
	// module listed: which of a done change's modules were listed, the
	// store knows as it applies it.
	IfEmpty State
	Refused Verdict // why the change is not applied; "" when it is
}

// After is the state once the change is applied, remaining modules listed.
func (t Transition) After(remaining int) State {
	if remaining == 0 && t.IfEmpty != "" {
		return t.IfEmpty
	}
	return t.State
}

// Next decides what change c does to the environment st. It is the only
// place that knows the life cycle's rules; c.Force skips the guards.
func Next(st Status, c Change) Transition {
	cur := st.State.Normal()
	keep := Transition{State: cur}
	if !c.Force && c.Version != "" && st.Version != "" && !SameVersion(c.Version, st.Version) &&
		c.Kind != ChangeDone && c.Kind != ChangeReset {
		return Transition{State: cur, Refused: VerdictOtherVersion}
	}
	var to, ifEmpty State
	switch c.Kind {
	case ChangeUndo:
		return Transition{} // the undo puts back the state it changed, if no one changed it since
	case ChangeReset:
		return Transition{State: StateFollowing}
	case ChangeAddModules:
		if cur == StateDone {
			return Transition{State: StateRepublishing}
		}
		return keep
	case ChangeDone:
		if c.All && st.FromBefore11() {
			return Transition{State: StateDone} // every application republished, whatever the preparation said
		}
		if c.All && cur == StateFollowing {
			// No news of the preparation at all, and the team says every
			// module is republished: a team that never pastes the summary
			// closes its upgrade so.
			return Transition{State: StateDone}
		}
		if cur.stage() < 2 || cur == StateFailed {
			return keep // the preparation's outcome is unknown, or it must run again: nothing to finish yet
		}
		if c.All {
			return Transition{State: StateDone}
		}
		if st.Unnamed() == 0 {
			return Transition{State: StateRepublishing, IfEmpty: StateDone}
		}
		return Transition{State: StateRepublishing}
	case ChangePreparing:
		to = StatePreparing
		if cur == StatePreparing && lessProgress(c.Preparation, st.Preparation) && !c.Force {
			return Transition{State: cur, Refused: VerdictOlder}
		}
	case ChangeSummary:
		if (cur.stage() > 2 || cur.stage() == 2 && cur.Normal() != StateFailed) && sameCounts(c.Counts, st.Counts) {
			// Pasted again (a failed step's next run starts afresh instead).
			return Transition{State: cur, Refused: VerdictRecorded}
		}
		to = StateReady
		failed, skipped := cmp.Or(c.Counts.Failed, st.Counts.Failed), cmp.Or(c.Counts.Skipped, st.Counts.Skipped)
		if failed != nil && skipped != nil {
			// None failed or skipped (this run, after a failed one too):
			// with nothing listed (none ever, or all republished) the upgrade is done.
			ifEmpty = StateDone
		}
		if n := deref(failed) + deref(skipped); n > 0 {
			ifEmpty = ""
			to = StateFinishedWithErrors
			if (st.UnnamedCovered || n <= st.NamedFailedSkipped) && (!st.Counts.Known() || c.Force) {
				// The first summary, every module it counts named
				// already (pasted last): it is news of this upgrade, not
				// an older one, and once none is left to republish the
				// upgrade is done. (Other counts than those recorded are
				// held back below; an edit correcting them is forced.)
				switch {
				case cur == StateDone:
					return Transition{State: cur}
				case cur == StateRepublishing:
					return Transition{State: cur, IfEmpty: StateDone}
				case to.stage() >= cur.stage() || c.Force:
					return Transition{State: to, IfEmpty: StateDone}
				}
			}
		}
		if st.Counts.Known() && !sameCounts(c.Counts, st.Counts) && !c.Force {
			return Transition{State: cur, Refused: VerdictOtherCounts}
		}
	case ChangeState:
		if c.State == StateReady && cur == StateDone {
			// Service Center's ready banner after the last module was
			// republished: the environment is finished either way. (Done
			// is never reached from failed, so this never finishes one.)
			return Transition{State: cur, Refused: VerdictRecorded}
		}
		to = c.State
		if to == StateReady && cur != StateFailed && st.Unnamed() == 0 {
			// Service Center says ready: with nothing listed either, the
			// upgrade is done (as the last module republished after the
			// banner makes it).
			ifEmpty = StateDone
		}
	default:
		return keep
	}
	// A banner's percent or counter after a failure is the preparation run
	// again; a blocked publish may be of the run that failed.
	retry := cur == StateFailed && to == StatePreparing && (c.Preparation.Percent != nil || c.Preparation.Current != nil)
	if to.stage() < cur.stage() && !c.Force && !retry {
		return Transition{State: cur, Refused: VerdictOlder}
	}
	return Transition{State: to, IfEmpty: ifEmpty}
}

// Settle is the state an undo leaves once it has put back what no one
// changed since: the rules above, applied to the list and counts as they
// are now. Done with modules listed again is republishing; republishing
// with none left and the counts covered is done, and so is ready with none
// left after a summary counting none failed nor skipped. (An outcome put back
// stays, even when a module republished since stands: a republish may as
// well come before the outcome, and the next one moves it on.) applyLua
// does the same.
func Settle(st Status) State {
	s := st.State.Normal()
	switch {
	case s == StateDone && st.ModuleCount > 0:
		return StateRepublishing
	case s == StateRepublishing && st.ModuleCount == 0 && st.Unnamed() == 0:
		return StateDone
	case s == StateReady && st.ModuleCount == 0 && st.Counts.Failed != nil && st.Counts.Skipped != nil && *st.Counts.Failed+*st.Counts.Skipped == 0:
		return StateDone
	}
	return s
}

// sameCounts reports whether a summary's counts c are those recorded (was).
func sameCounts(c, was Counts) bool {
	same := func(a, b *int) bool { return a == nil || b != nil && *a == *b }
	return c.Known() && same(c.Prepared, was.Prepared) && same(c.Failed, was.Failed) && same(c.Skipped, was.Skipped)
}

// lessProgress reports whether p shows less progress than was recorded (was).
func lessProgress(p, was Preparation) bool {
	if p.Percent != nil && was.Percent != nil && *p.Percent < *was.Percent {
		return true
	}
	return p.Current != nil && was.Current != nil && *p.Current < *was.Current &&
		(p.Total == nil || was.Total == nil || *p.Total == *was.Total)
}

// SameVersion reports whether two Platform Server versions are the same
// release as far as both say: "11.31" names 11.31.0 and 11.31.2, "11.31.0"
// is not "11.10.0". Build numbers are not compared.
func SameVersion(a, b string) bool { return CompareVersions(a, b) == 0 }

// CompareVersions orders two Platform Server versions as far as both say,
// as SameVersion compares them: -1 when a is older than b, 1 when newer,
// 0 when the same release ("11.31" and "11.31.2"). Parts compare as
// numbers: 11.9.0 is older than 11.12.0.
func CompareVersions(a, b string) int {
	pa, pb := strings.Split(strings.TrimSpace(a), "."), strings.Split(strings.TrimSpace(b), ".")
	for i := range min(len(pa), len(pb)) {
		x, y := strings.TrimLeft(pa[i], "0"), strings.TrimLeft(pb[i], "0")
		if c := cmp.Or(cmp.Compare(len(x), len(y)), strings.Compare(x, y)); c != 0 {
			return c
		}
	}
	return 0
}
