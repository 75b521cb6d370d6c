package progress

import (
	"testing"
	"time"
)

// testChangeRecord: the counts by group, the modules republished (by whom,
// when), the edges learned, and a history that logs what changes did, in
// the modules' own spelling, and nothing for a change that did nothing.
func testChangeRecord(t *testing.T, s Store) {
	track(t, s, TrackRequest{Environment: "prod", Channel: "C1"})
	apply(t, s, "prod", Change{Kind: ChangeSummary, Counts: Counts{Prepared: new(3), Failed: new(2), Skipped: new(3)}})
	apply(t, s, "prod", Change{Kind: ChangeAddModules, Reason: ReasonFailed, Modules: []string{"Billing_CS", "Orders_Core"}, Actor: "U1"})
	apply(t, s, "prod", Change{Kind: ChangeAddModules, Reason: ReasonProducerNotPrepared, Modules: []string{"Pricing_Lib"},
		Edges: []Edge{{Producer: "Pricing_Lib", Consumer: "Orders_UI"}, {Producer: "pricing_lib", Consumer: "ORDERS_UI"}, {Producer: "X", Consumer: "x"}}})
	// Moved from failed to skipped: logged.
	res := apply(t, s, "prod", Change{Kind: ChangeAddModules, Reason: ReasonSkipped, Modules: []string{"orders_core"}})
	equal(t, "updated", res.Updated, []string{"Orders_Core"})
	// Nothing new: not logged.
	apply(t, s, "prod", Change{Kind: ChangeAddModules, Reason: ReasonSkipped, Modules: []string{"Orders_Core"}})
	// Republished as typed, logged as listed; a name not on the list is refused, not logged.
	res = apply(t, s, "prod", Change{Kind: ChangeDone, Modules: []string{"billing_cs"}, Actor: "U2", At: t0.Add(time.Hour)})
	equal(t, "removed", res.Removed, []string{"Billing_CS"})
	res = apply(t, s, "prod", Change{Kind: ChangeDone, Modules: []string{"Foo_Nonexistent"}})
	equal(t, "not found", res.NotFound, []string{"Foo_Nonexistent"})

	st := status(t, s, "prod", -1)
	if want := (GroupCounts{Skipped: 1, Reported: 1}); st.Open != want {
		t.Errorf("open = %+v, want %+v", st.Open, want)
	}
	if want := (GroupCounts{Failed: 1}); st.Republished != want {
		t.Errorf("republished = %+v, want %+v", st.Republished, want)
	}
	if len(st.RepublishedModules) != 1 || st.RepublishedModules[0].Name != "Billing_CS" || st.RepublishedModules[0].RepublishedBy != "U2" ||
		!st.RepublishedModules[0].RepublishedAt.Equal(t0.Add(time.Hour)) || st.RepublishedModules[0].ReportedBy != "U1" {
		t.Errorf("republished modules = %+v", st.RepublishedModules)
	}
	equal(t, "edges", st.Edges, []Edge{{Producer: "pricing_lib", Consumer: "orders_ui"}})
	if st.Unnamed() != 2 { // 5 counted, 3 named
		t.Errorf("unnamed = %d, want 2", st.Unnamed())
	}
	var details []string
	for _, e := range history(t, s, "prod")[2:] {
		details = append(details, e.Detail)
	}
	equal(t, "history", details, []string{
		"2 modules reported (failed): Billing_CS, Orders_Core",
		"1 module reported (producer-not-prepared): Pricing_Lib",
		"moved to skipped: Orders_Core (was failed)",
		"republished: Billing_CS",
	})

	// The first line of its error: kept when it is listed, learned later when it was not known.
	apply(t, s, "prod", Change{Kind: ChangeAddModules, Reason: ReasonProducerNotPrepared, Modules: []string{"pricing_lib", "New_One"},
		Errors: map[string]string{"pricing_lib": "Producer module 'Pricing_Lib' hasn't been prepared", "New_One": "bad\x00line"}})
	for _, m := range status(t, s, "prod", -1).Modules {
		if want := map[string]string{"Pricing_Lib": "Producer module 'Pricing_Lib' hasn't been prepared"}[m.Name]; m.Error != want {
			t.Errorf("%s error = %q, want %q", m.Name, m.Error, want)
		}
	}
	apply(t, s, "prod", Change{Kind: ChangeDone, Modules: []string{"New_One"}})

	// Named again after it was republished: listed again.
	apply(t, s, "prod", Change{Kind: ChangeAddModules, Reason: ReasonFailed, Modules: []string{"Billing_CS"}})
	if st := status(t, s, "prod", 0); st.Open.Failed != 1 || st.Republished.Failed != 0 {
		t.Errorf("named again: open %+v, republished %+v", st.Open, st.Republished)
	}
	// done all covers the unnamed.
	res = apply(t, s, "prod", Change{Kind: ChangeDone, All: true})
	if len(res.Removed) != 3 || !res.BecameEmpty {
		t.Errorf("done all = %+v", res)
	}
	st = status(t, s, "prod", -1)
	if st.Unnamed() != 0 || !st.UnnamedCovered || st.Open != (GroupCounts{}) || st.Republished.Total() != 4 || len(st.RepublishedModules) != 4 {
		t.Errorf("after done all: %+v", st)
	}
	h := history(t, s, "prod")
	if d := h[len(h)-1].Detail; d != "republished all: Pricing_Lib, Billing_CS, Orders_Core; 1 counted by Service Center but not named" {
		t.Errorf("done all detail = %q", d)
	}
	// Again: nothing to do, nothing logged.
	apply(t, s, "prod", Change{Kind: ChangeDone, All: true})
	if n := len(history(t, s, "prod")); n != len(h) {
		t.Errorf("a done all that did nothing was logged")
	}
	// A reset starts over but keeps what it learned about the modules.
	apply(t, s, "prod", Change{Kind: ChangeReset})
	st = status(t, s, "prod", -1)
	if st.UnnamedCovered || st.Republished != (GroupCounts{}) || len(st.RepublishedModules) != 0 || len(st.Edges) != 1 {
		t.Errorf("after reset: %+v", st)
	}
}

// testUndoKeepsCounts: an undo of a done puts the modules back on the list,
// the counts follow, and what a done of all covered is uncovered.
func testUndoKeepsCounts(t *testing.T, s Store) {
	track(t, s, TrackRequest{Environment: "prod", Channel: "C1"})
	apply(t, s, "prod", Change{Kind: ChangeSummary, Counts: Counts{Prepared: new(3), Failed: new(2), Skipped: new(1)}})
	apply(t, s, "prod", Change{Kind: ChangeAddModules, Reason: ReasonFailed, Modules: []string{"Billing_CS", "Orders_Core"}})
	apply(t, s, "prod", Change{Kind: ChangeDone, All: true, Key: "all-1"})
	if st := status(t, s, "prod", -1); st.Unnamed() != 0 || st.Republished.Failed != 2 || st.Open != (GroupCounts{}) {
		t.Fatalf("after done all: %+v", st)
	}
	apply(t, s, "prod", Change{Kind: ChangeUndo, Undoes: []string{"all-1"}})
	st := status(t, s, "prod", -1)
	if st.Unnamed() != 1 || st.UnnamedCovered || st.Open.Failed != 2 || st.Republished != (GroupCounts{}) || len(st.RepublishedModules) != 0 {
		t.Errorf("after its undo: unnamed %d, open %+v, republished %+v %v", st.Unnamed(), st.Open, st.Republished, st.RepublishedModules)
	}
}
