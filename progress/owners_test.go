package progress

import (
	"context"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
)

func testOwners(t *testing.T, s Store) {
	ctx := context.Background()
	track(t, s, TrackRequest{Environment: "prod", Channel: "C1", Actor: "U1"})
	owners := func(want map[string]string) {
		t.Helper()
		got, err := s.ModuleOwners(ctx, ws, "prod")
		if err != nil || !maps.Equal(got, want) {
			t.Errorf("ModuleOwners = %v, %v; want %v", got, err, want)
		}
	}
	owners(map[string]string{})
	steps := []struct {
		owner, by string
		modules   []string
		before    map[string]string
		after     map[string]string
		history   string // the entry logged, "" for none
	}{
		{"U1", "U1", []string{"Billing_CS", "Orders"}, map[string]string{}, map[string]string{"billing_cs": "U1", "orders": "U1"}, "U1 take took: Billing_CS, Orders"},
		// Names compare as module names do; taking from someone returns who had it.
		{"U2", "U2", []string{"BILLING_cs\u200b"}, map[string]string{"billing_cs": "U1"}, map[string]string{"billing_cs": "U2", "orders": "U1"}, "U2 take took: BILLING_cs"},
		{"", "U1", []string{"Orders", "Unknown"}, map[string]string{"orders": "U1"}, map[string]string{"billing_cs": "U2"}, "U1 release released: Orders, Unknown"},
		// One module named twice: who had it before the call, not the new
		// owner. Set by no one (an undo giving owners back): not logged.
		{"U3", "", []string{"Billing_CS", "billing_cs"}, map[string]string{"billing_cs": "U2"}, map[string]string{"billing_cs": "U3"}, ""},
	}
	var logged []string
	for _, st := range steps {
		before, err := s.SetOwner(ctx, ws, "prod", st.owner, st.by, st.modules)
		if err != nil || !maps.Equal(before, st.before) {
			t.Errorf("SetOwner(%q, %v) = %v, %v; want %v", st.owner, st.modules, before, err, st.before)
		}
		owners(st.after)
		if st.history != "" {
			logged = append(logged, st.history)
		}
	}
	h, err := s.History(ctx, ws, "prod")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range h[1:] { // after the track
		got = append(got, e.Actor+" "+e.Action+" "+e.Detail)
	}
	if !slices.Equal(got, logged) {
		t.Errorf("history after the takes and releases:\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(logged, "\n  "))
	}
	if err := s.ClearOwners(ctx, ws, "prod"); err != nil {
		t.Fatal(err)
	}
	owners(map[string]string{})
	if _, err := s.SetOwner(ctx, ws, "nowhere", "U1", "U1", []string{"A"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetOwner on an untracked environment: %v, want ErrNotFound", err)
	}
	var verr *ValidationError
	if _, err := s.SetOwner(ctx, ws, "prod", "U 1", "U1", []string{"A"}); !errors.As(err, &verr) {
		t.Errorf("SetOwner with a bad owner id: %v, want a ValidationError", err)
	}
	if _, err := s.SetOwner(ctx, ws, "prod", "U1", "U1", []string{"<A>"}); !errors.As(err, &verr) {
		t.Errorf("SetOwner with a bad module name: %v, want a ValidationError", err)
	}
}
