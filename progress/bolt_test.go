package progress

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func newBoltStore(t *testing.T, opts BoltOptions) *BoltStore {
	t.Helper()
	s, err := OpenBoltStore(filepath.Join(t.TempDir(), "data", "upgradebot.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestBoltContract(t *testing.T) {
	runContractTests(t, func(t *testing.T) Store { return newBoltStore(t, BoltOptions{}) })
}

func TestBoltLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "upgradebot.db")
	s, err := OpenBoltStore(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// bbolt's flock belongs to the open file description, so a second open
	// in this process conflicts just as another process would.
	s2, err := OpenBoltStore(path, BoltOptions{})
	if err == nil {
		_ = s2.Close()
		t.Fatal("second open succeeded, want ErrLocked")
	}
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "in use by another upgradebot process") || !strings.Contains(err.Error(), "stop it") {
		t.Errorf("error = %v, want ErrLocked naming %s", err, path)
	}
	// Data survives a close and reopen.
	ctx := context.Background()
	if _, err := s.Track(ctx, TrackRequest{Workspace: ws, Environment: "dev", Channel: "C1"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Ping on a closed store = %v, want ErrUnavailable", err)
	}
	s3, err := OpenBoltStore(path, BoltOptions{})
	if err != nil {
		t.Fatalf("reopen after close: %v", err)
	}
	defer s3.Close()
	if _, err := s3.Status(ctx, ws, "dev", 1); err != nil {
		t.Errorf("status after reopen: %v", err)
	}
}

func TestBoltIdempotencyExpires(t *testing.T) {
	now := t0
	s := newBoltStore(t, BoltOptions{Now: func() time.Time { return now }})
	ctx := context.Background()
	if _, err := s.Track(ctx, TrackRequest{Workspace: ws, Environment: "dev", Channel: "C1"}); err != nil {
		t.Fatal(err)
	}
	c := Change{Kind: ChangeAddModules, Key: "m1", Reason: ReasonFailed, Modules: []string{"A"}}
	for i, want := range []bool{false, true} {
		res, err := s.Apply(ctx, ws, "dev", c)
		if err != nil || res.Duplicate != want {
			t.Fatalf("apply %d = %+v, %v; want duplicate %v", i, res, err, want)
		}
	}
	now = now.Add(IdempotencyTTL + time.Minute)
	// Another change triggers the clean-up; the old key is then forgotten.
	if res, err := s.Apply(ctx, ws, "dev", c); err != nil || res.Duplicate {
		t.Errorf("apply after a day = %+v, %v; want applied", res, err)
	}
}

// A claim expires at its ttl (and a renewal pushes that back); then any token takes it.
func TestBoltClaimExpires(t *testing.T) {
	now := t0
	s := newBoltStore(t, BoltOptions{Now: func() time.Time { return now }})
	ctx := context.Background()
	a, b := NewToken(), NewToken()
	for i, step := range []struct {
		advance time.Duration
		claimer string
		renew   bool
		want    bool
	}{
		{0, a, false, true},
		{59 * time.Minute, b, false, false},
		{0, a, true, true}, // renewed for an hour from now
		{59 * time.Minute, b, false, false},
		{2 * time.Minute, a, true, false}, // expired: nothing to renew
		{0, b, false, true},
	} {
		now = now.Add(step.advance)
		op := s.Claim
		if step.renew {
			op = s.Renew
		}
		if got, err := op(ctx, "T1", "k", step.claimer, time.Hour); err != nil || got != step.want {
			t.Errorf("step %d: %v, %v; want %v", i, got, err, step.want)
		}
	}
}

// A claim stored before claims had tokens (its expiry alone) is held by
// SharedToken: others cannot take it, SharedToken releases it. (Claims
// belonging to no workspace, the digest's, kept their key.)
func TestBoltLegacyClaim(t *testing.T) {
	s := newBoltStore(t, BoltOptions{Now: func() time.Time { return t0 }})
	ctx := context.Background()
	err := s.update(ctx, "test", func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bktClaims)
		if err != nil {
			return err
		}
		return b.Put([]byte("old"), binary.BigEndian.AppendUint64(nil, uint64(toMillis(t0.Add(time.Hour)))))
	})
	if err != nil {
		t.Fatal(err)
	}
	if held, err := s.Held(ctx, "", "old"); err != nil || !held {
		t.Errorf("Held = %v, %v; want held", held, err)
	}
	if ok, err := s.Claim(ctx, "", "old", NewToken(), time.Hour); err != nil || ok {
		t.Errorf("Claim by another token = %v, %v; want lost", ok, err)
	}
	if err := s.Release(ctx, "", "old", SharedToken); err != nil {
		t.Fatal(err)
	}
	if held, err := s.Held(ctx, "", "old"); err != nil || held {
		t.Errorf("Held after release by SharedToken = %v, %v; want free", held, err)
	}
}

func TestBoltHistoryLimit(t *testing.T) {
	s := newBoltStore(t, BoltOptions{historyLimit: 3})
	testHistoryLimit(t, s)
}

// testHistoryLimit expects a store keeping 3 history entries.
func testHistoryLimit(t *testing.T, s Store) {
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1"})
	for i := range 5 {
		apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonFailed, Modules: []string{string(rune('A' + i))}})
	}
	h := history(t, s, "dev")
	var details []string
	for _, e := range h {
		details = append(details, e.Detail)
	}
	equal(t, "kept history", details, []string{
		"1 module reported (failed): C", "1 module reported (failed): D", "1 module reported (failed): E",
	})
}

// A damaged data file is an error naming the file and what to do, not a
// panic: bbolt panics on some damage.
func TestBoltDamagedFile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(f *os.File) error
	}{
		{"cut short", func(f *os.File) error { return f.Truncate(20000) }},
		{"cut to one page", func(f *os.File) error { return f.Truncate(4096) }},
		{"not a data file", func(f *os.File) error {
			if err := f.Truncate(0); err != nil {
				return err
			}
			_, err := f.WriteAt(bytes.Repeat([]byte("not bbolt "), 4000), 0)
			return err
		}},
		{"pages after the meta pages overwritten", func(f *os.File) error {
			st, err := f.Stat()
			if err == nil {
				_, err = f.WriteAt(bytes.Repeat([]byte{0xff}, int(st.Size())-8192), 8192)
			}
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "u.db")
			s, err := OpenBoltStore(path, BoltOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.Track(context.Background(), TrackRequest{Workspace: "T1", Environment: "prod", Channel: "C1", Actor: "U1"}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			if err := tc.damage(f); err != nil {
				t.Fatal(err)
			}
			f.Close()
			s, err = OpenBoltStore(path, BoltOptions{})
			if err == nil {
				s.Close()
				t.Fatal("a damaged data file opened without an error")
			}
			for _, want := range []string{path, "damaged", "move it aside"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

// A page damaged anywhere in the file is found when it is opened (bbolt
// reads pages as needed and would panic in the first request to read it),
// or is one no request reads.
func TestBoltDamagedPage(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clean := filepath.Join(dir, "clean.db")
	s, err := OpenBoltStore(clean, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i, env := range []string{"prod", "qa", "dev"} {
		if _, err := s.Track(ctx, TrackRequest{Workspace: "T1", Environment: env, Channel: "C1", Actor: "U1"}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Apply(ctx, "T1", env, Change{Kind: ChangeAddModules, Key: fmt.Sprint("k", i), Reason: ReasonFailed, Modules: []string{"Billing_CS", "Orders_CS"}}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	data, err := os.ReadFile(clean)
	if err != nil {
		t.Fatal(err)
	}
	const pageSize = 4096
	found := 0
	for page := 2; page < len(data)/pageSize; page++ {
		damaged := bytes.Clone(data)
		copy(damaged[page*pageSize:], bytes.Repeat([]byte{0xff}, 16))
		path := filepath.Join(dir, fmt.Sprintf("p%d.db", page))
		if err := os.WriteFile(path, damaged, 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := OpenBoltStore(path, BoltOptions{})
		if err != nil {
			if !strings.Contains(err.Error(), "damaged") {
				t.Errorf("page %d: %v", page, err)
			}
			found++
			continue
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("page %d damaged: opened, then a request panicked: %v", page, p)
				}
			}()
			for _, env := range []string{"prod", "qa", "dev"} {
				_, _ = s.Status(ctx, "T1", env, -1)
			}
			_, _ = s.ChannelEnvironments(ctx, "T1", "C1")
		}()
		s.Close()
	}
	if found == 0 {
		t.Error("no damaged page was found at all")
	}
}

// An undo record written before the state snapshot held NewsAt still puts
// the state back, and leaves the first news as it is.
func TestBoltUndoOfAnOlderSnapshot(t *testing.T) {
	s := newBoltStore(t, BoltOptions{})
	track(t, s, TrackRequest{Environment: "prod", Channel: "C1"})
	apply(t, s, "prod", Change{Kind: ChangeAddModules, Key: "a1", Actor: "U1", At: t0, Reason: ReasonFailed, Modules: []string{"A_Core"}})
	apply(t, s, "prod", Change{Kind: ChangePreparing, Key: "banner", At: t0.Add(time.Hour), Preparation: Preparation{Percent: new(40)}})
	news := status(t, s, "prod", 0).FirstNews
	older := regexp.MustCompile(`,"NewsAt":\d+(,"ResetAt":\d+)?`)
	if err := s.db.Update(func(tx *bolt.Tx) error {
		ub := envBucket(tx, ws, "prod").Bucket(bktUndo)
		v := ub.Get([]byte("banner"))
		var r undoRecord
		if err := json.Unmarshal(v[8:], &r); err != nil {
			return err
		}
		for i, it := range r.Items {
			if it.Kind == "s" { // as the earlier build wrote them
				r.Items[i].Before, r.Items[i].After = older.ReplaceAll(it.Before, nil), older.ReplaceAll(it.After, nil)
			}
		}
		js, err := json.Marshal(r)
		if err != nil {
			return err
		}
		return ub.Put([]byte("banner"), append(slices.Clone(v[:8]), js...))
	}); err != nil {
		t.Fatal(err)
	}
	res := apply(t, s, "prod", Change{Kind: ChangeUndo, Key: "undo-banner", At: t0.Add(2 * time.Hour), Undoes: []string{"banner"}})
	st := status(t, s, "prod", 0)
	if res.KeptState || st.Preparation.Percent != nil || !st.FirstNews.Equal(news) {
		t.Errorf("undo of an older snapshot: kept state %v, percent %v, first news %v; want the state put back and the first news %v", res.KeptState, st.Preparation.Percent, st.FirstNews, news)
	}
}
