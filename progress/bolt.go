package progress

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// BoltOptions configure a BoltStore.
type BoltOptions struct {
	Now            func() time.Time // clock; nil means time.Now
	IdempotencyTTL time.Duration    // how long change keys are remembered; 0 means IdempotencyTTL
	LockTimeout    time.Duration    // wait for another process's lock; 0 means 1s
	historyLimit   int              // tests lower it; 0 means HistoryLimit
}

// BoltStore is a Store in one bbolt file, for a single process.
//
// Layout: bucket "ws" / <workspace> / "envs" / <env> holds the key "meta"
// (JSON) and the buckets "channels", "modules" (lowercase name → JSON),
// "order" (producer flag, first-reported ms, lowercase name → name),
// "history" (sequence → JSON), "idem" (change key → ms) and "idemexp"
// (ms, change key → nothing, to expire keys oldest first). Each workspace
// also has "follows" / <channel> (env names) and "settings" (channel → JSON).
// Claims and values (Values) have top-level buckets of their own.
type BoltStore struct {
	db           *bolt.DB
	now          func() time.Time
	idemTTL      time.Duration
	historyLimit int
	journalProc  string // marks the journal entries this process took; others were left by an earlier one
}

var _ Store = (*BoltStore)(nil)

var (
	bktWorkspaces = []byte("ws")
	bktEnvs       = []byte("envs")
	bktFollows    = []byte("follows")
	bktSettings   = []byte("settings")
	bktChannels   = []byte("channels")
	bktModules    = []byte("modules")
	bktOrder      = []byte("order")
	bktNamed      = []byte("named")
	bktRepub      = []byte("republished")
	bktEdges      = []byte("edges")
	bktHistory    = []byte("history")
	bktIdem       = []byte("idem")
	bktIdemExp    = []byte("idemexp")
	keyMeta       = []byte("meta")
)

// OpenBoltStore opens (creating if needed) the data file at path. When another
// process holds the file it fails within LockTimeout with an error wrapping ErrLocked.
func OpenBoltStore(path string, opts BoltOptions) (*BoltStore, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.IdempotencyTTL <= 0 {
		opts.IdempotencyTTL = IdempotencyTTL
	}
	if opts.LockTimeout <= 0 {
		opts.LockTimeout = time.Second
	}
	if opts.historyLimit <= 0 {
		opts.historyLimit = HistoryLimit
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("progress: create data directory: %w", err)
		}
	}
	db, err := openBolt(path, opts.LockTimeout)
	if err != nil {
		return nil, err
	}
	return &BoltStore{db: db, now: opts.Now, idemTTL: opts.IdempotencyTTL, historyLimit: opts.historyLimit, journalProc: NewToken()}, nil
}

// EnvironmentsInFile counts the environments an embedded store file holds,
// by workspace, read only and without waiting: none when there is no such
// file, or it is in use or unreadable. Stores never share data, so the
// binary warns with it when Redis is configured while the file still
// holds upgrades.
func EnvironmentsInFile(path string) (n map[string]int) {
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if recover() != nil {
			n = nil // damaged: nothing to say of it here
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 100 * time.Millisecond})
	if err != nil {
		return nil
	}
	defer db.Close()
	n = map[string]int{}
	_ = db.View(func(tx *bolt.Tx) error {
		for _, ws := range keys(tx.Bucket(bktWorkspaces)) {
			if k := len(keys(nested(wsBucket(tx, ws), bktEnvs))); k > 0 {
				n[ws] = k
			}
		}
		return nil
	})
	return n
}

// openBolt opens the data file and makes its buckets. bbolt panics on
// some damaged files (a bad freelist page, a file cut short under its
// memory map): that is returned as an error naming the file, so the
// person starting the bot reads what to do rather than a stack trace.
func openBolt(path string, lockTimeout time.Duration) (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	damaged := func(why any) error {
		return fmt.Errorf("progress: the data file %s is damaged (%v): move it aside to start afresh, or restore it from a backup", path, why)
	}
	defer func() {
		if p := recover(); p != nil {
			err = damaged(p)
		}
	}()
	// Without a timeout a second process would wait for the file lock forever.
	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: lockTimeout})
	switch {
	case err == nil:
	case errors.Is(err, berrors.ErrTimeout):
		return nil, fmt.Errorf("%w: the data file %s is in use by another upgradebot process (a shell left open?): stop it, or give this one another file, or use Redis (REDIS_URL) to run both", ErrLocked, path)
	case errors.Is(err, berrors.ErrInvalid), errors.Is(err, berrors.ErrChecksum), errors.Is(err, berrors.ErrVersionMismatch),
		strings.Contains(err.Error(), "file size too small"):
		return nil, damaged(err)
	case errors.Is(err, fs.ErrPermission):
		return nil, fmt.Errorf("progress: the data file %s cannot be opened for writing (%w): give the bot's user write access to it and its folder, or name a writable file (a mounted volume), or use Redis (REDIS_URL)", path, err)
	default:
		return nil, fmt.Errorf("progress: open data file %s: %w", path, err)
	}
	// bbolt reads pages as they are needed and panics on a damaged one, in
	// whichever request first reads it: the whole file is checked now.
	if err := db.View(func(tx *bolt.Tx) error {
		var first error
		for err := range tx.Check() {
			first = cmp.Or(first, err)
		}
		return first
	}); err != nil {
		_ = db.Close()
		return nil, damaged(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bktWorkspaces)
		if err == nil {
			_, err = tx.CreateBucketIfNotExists(bktJournal)
		}
		return err
	}); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("progress: initialise data file %s: %w", path, err)
	}
	return db, nil
}

// Close closes the data file.
func (s *BoltStore) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("progress: close data file: %w", err)
	}
	return nil
}

// Ping reports whether the data file is open.
func (s *BoltStore) Ping(ctx context.Context) error {
	return s.view(ctx, "ping", func(*bolt.Tx) error { return nil })
}

func (s *BoltStore) view(ctx context.Context, op string, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("progress: %s: %w", op, err)
	}
	return s.wrap(op, s.db.View(fn))
}

func (s *BoltStore) update(ctx context.Context, op string, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("progress: %s: %w", op, err)
	}
	return s.wrap(op, s.db.Update(fn))
}

func (s *BoltStore) wrap(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrInvalid), errors.Is(err, ErrChanged), errors.Is(err, ErrStartedAgain):
		return err
	case errors.Is(err, berrors.ErrDatabaseNotOpen):
		return fmt.Errorf("progress: %s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("progress: %s: %w", op, err)
}

type boltEnv struct {
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	From        string `json:"from,omitempty"`
	Install     string `json:"install,omitempty"`
	State       State  `json:"state"`
	Percent     *int   `json:"percent,omitempty"`
	Expected    string `json:"expected,omitempty"`
	Current     *int   `json:"current,omitempty"`
	Total       *int   `json:"total,omitempty"`
	PrepAt      int64  `json:"prep_at,omitempty"` // Preparation.At
	Prepared    *int   `json:"prepared,omitempty"`
	Failed      *int   `json:"failed,omitempty"`
	Skipped     *int   `json:"skipped,omitempty"`
	UpdatedAt   int64  `json:"updated_at,omitempty"`
	UpdatedBy   string `json:"updated_by,omitempty"`
	NamedFS     int    `json:"named_fs"`
	ModuleCount int    `json:"module_count"`
	Covered     bool   `json:"covered,omitempty"`  // Status.UnnamedCovered
	Rev         int64  `json:"rev,omitempty"`      // Environment.Revision
	NewsAt      int64  `json:"news_at,omitempty"`  // Environment.FirstNews
	ResetAt     int64  `json:"reset_at,omitempty"` // the last reset (Change.SentAt)
}

func (r *boltEnv) clearPreparation() {
	r.Percent, r.Expected, r.Current, r.Total, r.PrepAt = nil, "", nil, nil, 0
}

func (r *boltEnv) environment(workspace string, channels []string) Environment {
	e := Environment{
		Workspace: workspace, Name: r.Name, Version: r.Version, FromVersion: r.From, InstallType: InstallType(r.Install),
		Channels: channels, State: r.State.Normal(),
		Counts:    Counts{Prepared: r.Prepared, Failed: r.Failed, Skipped: r.Skipped},
		UpdatedAt: fromMillis(r.UpdatedAt), UpdatedBy: r.UpdatedBy, Revision: r.Rev, FirstNews: fromMillis(r.NewsAt),
		ResetAt: fromMillis(r.ResetAt),
	}
	if r.State == StatePreparing {
		e.Preparation = Preparation{Percent: r.Percent, Expected: r.Expected, Current: r.Current, Total: r.Total, At: fromMillis(r.PrepAt)}
	}
	return e
}

// wsBucket returns a workspace's bucket, nil when it has none.
func wsBucket(tx *bolt.Tx, workspace string) *bolt.Bucket {
	root := tx.Bucket(bktWorkspaces)
	if root == nil {
		return nil
	}
	return root.Bucket([]byte(workspace))
}

func nested(b *bolt.Bucket, names ...[]byte) *bolt.Bucket {
	for _, n := range names {
		if b == nil {
			return nil
		}
		b = b.Bucket(n)
	}
	return b
}

func createNested(b *bolt.Bucket, names ...[]byte) (*bolt.Bucket, error) {
	var err error
	for _, n := range names {
		if b, err = b.CreateBucketIfNotExists(n); err != nil {
			return nil, err
		}
	}
	return b, nil
}

func envBucket(tx *bolt.Tx, workspace, env string) *bolt.Bucket {
	return nested(wsBucket(tx, workspace), bktEnvs, []byte(env))
}

func loadEnv(eb *bolt.Bucket) (boltEnv, error) {
	var r boltEnv
	v := eb.Get(keyMeta)
	if v == nil {
		return r, errors.New("environment without meta record")
	}
	if err := json.Unmarshal(v, &r); err != nil {
		return r, fmt.Errorf("decode environment: %w", err)
	}
	return r, nil
}

func saveEnv(eb *bolt.Bucket, r boltEnv) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode environment: %w", err)
	}
	return eb.Put(keyMeta, b)
}

func keys(b *bolt.Bucket) []string {
	var out []string
	if b == nil {
		return out
	}
	_ = b.ForEach(func(k, _ []byte) error {
		out = append(out, string(k))
		return nil
	})
	return out
}

// appendHistory adds an entry and drops the oldest beyond the limit.
func (s *BoltStore) appendHistory(eb *bolt.Bucket, e HistoryEntry) error {
	hb, err := eb.CreateBucketIfNotExists(bktHistory)
	if err != nil {
		return err
	}
	seq, err := hb.NextSequence()
	if err != nil {
		return err
	}
	v, err := encodeEntry(e)
	if err != nil {
		return fmt.Errorf("encode history: %w", err)
	}
	if err := hb.Put(u64(seq), []byte(v)); err != nil {
		return err
	}
	if seq <= uint64(s.historyLimit) {
		return nil
	}
	keep := u64(seq - uint64(s.historyLimit) + 1)
	c := hb.Cursor()
	for k, _ := c.First(); k != nil && bytes.Compare(k, keep) < 0; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

func u64(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

// orderKey sorts like the Redis score: producers not prepared first, then
// by first-reported time, ties by lowercase name.
func orderKey(w wireModule, key string) []byte {
	b := make([]byte, 0, 9+len(key))
	if Reason(w.Reason) == ReasonProducerNotPrepared || w.Producer {
		b = append(b, 0)
	} else {
		b = append(b, 1)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(w.At))
	return append(b, key...)
}

// Track follows an environment from a channel, creating it if new.
func (s *BoltStore) Track(ctx context.Context, req TrackRequest) (TrackResult, error) {
	req, err := normalizeTrack(req, s.now())
	if err != nil {
		return TrackResult{}, err
	}
	var res TrackResult
	err = s.update(ctx, "track", func(tx *bolt.Tx) error {
		res = TrackResult{}
		wb, err := createNested(tx.Bucket(bktWorkspaces), []byte(req.Workspace))
		if err != nil {
			return err
		}
		eb, err := createNested(wb, bktEnvs, []byte(req.Environment))
		if err != nil {
			return err
		}
		var rec boltEnv
		if eb.Get(keyMeta) == nil {
			res.Created = true
			rec = boltEnv{Name: req.Environment, State: StateFollowing}
		} else if rec, err = loadEnv(eb); err != nil {
			return err
		}
		changed := false
		if req.Version != "" && rec.Version != req.Version {
			rec.Version, changed = req.Version, true
		}
		if req.InstallType != InstallUnknown && rec.Install != string(req.InstallType) {
			rec.Install, changed = string(req.InstallType), true
		}
		if req.FromVersion != "" && rec.From != req.FromVersion {
			rec.From, changed = req.FromVersion, true
		}
		res.Updated = changed && !res.Created
		if res.Created || changed {
			rec.UpdatedAt, rec.UpdatedBy = toMillis(req.At), req.Actor
			rec.Rev++
			if err := saveEnv(eb, rec); err != nil {
				return err
			}
		}
		cb, err := eb.CreateBucketIfNotExists(bktChannels)
		if err != nil {
			return err
		}
		if cb.Get([]byte(req.Channel)) == nil {
			res.Followed = true
			if err := cb.Put([]byte(req.Channel), nil); err != nil {
				return err
			}
			fb, err := createNested(wb, bktFollows, []byte(req.Channel))
			if err != nil {
				return err
			}
			if err := fb.Put([]byte(req.Environment), nil); err != nil {
				return err
			}
		}
		if res.Created || res.Updated || res.Followed {
			return s.appendHistory(eb, HistoryEntry{Time: req.At, Actor: req.Actor, Action: ActionTrack, Detail: describeTrack(req)})
		}
		return nil
	})
	return res, err
}

// Untrack stops a channel following an environment.
func (s *BoltStore) Untrack(ctx context.Context, workspace, env, channel, actor string) (bool, error) {
	env, err := envRef(workspace, env)
	if err != nil {
		return false, err
	}
	if err := checkID("channel", channel); err != nil {
		return false, err
	}
	if err := checkText("actor", actor, maxID); err != nil {
		return false, err
	}
	var removed bool
	err = s.update(ctx, "untrack", func(tx *bolt.Tx) error {
		removed = false
		eb := envBucket(tx, workspace, env)
		if eb == nil {
			return notFound(workspace, env)
		}
		cb := eb.Bucket(bktChannels)
		if cb == nil || cb.Get([]byte(channel)) == nil {
			return nil
		}
		removed = true
		if err := cb.Delete([]byte(channel)); err != nil {
			return err
		}
		follows := wsBucket(tx, workspace).Bucket(bktFollows)
		if fb := nested(follows, []byte(channel)); fb != nil {
			if err := fb.Delete([]byte(env)); err != nil {
				return err
			}
			if k, _ := fb.Cursor().First(); k == nil {
				if err := follows.DeleteBucket([]byte(channel)); err != nil {
					return err
				}
			}
		}
		return s.appendHistory(eb, HistoryEntry{Time: s.now(), Actor: actor, Action: ActionUntrack, Detail: describeUntrack(channel)})
	})
	return removed, err
}

// Apply makes one change in one transaction with its history entry and key; a repeated key changes nothing.
func (s *BoltStore) Apply(ctx context.Context, workspace, env string, c Change) (Result, error) {
	env, err := envRef(workspace, env)
	if err != nil {
		return Result{}, err
	}
	now := s.now()
	c, mods, err := normalizeChange(c, now)
	if err != nil {
		return Result{}, err
	}
	var res Result
	err = s.update(ctx, "apply", func(tx *bolt.Tx) error {
		res = Result{}
		eb := envBucket(tx, workspace, env)
		if eb == nil {
			return notFound(workspace, env)
		}
		idem, idemExp, err := expiring(eb, bktIdem, bktIdemExp, toMillis(now.Add(-s.idemTTL)))
		if err != nil {
			return err
		}
		if idem.Get([]byte(c.Key)) != nil {
			res.Duplicate = true
			return nil
		}
		rec, err := loadEnv(eb)
		if err != nil {
			return err
		}
		if c.IfRevision != nil && rec.Rev != *c.IfRevision {
			return ErrChanged
		}
		if !c.SentAt.IsZero() && rec.ResetAt > toMillis(c.SentAt) {
			return ErrStartedAgain
		}
		mb, err := eb.CreateBucketIfNotExists(bktModules)
		if err != nil {
			return err
		}
		ob, err := eb.CreateBucketIfNotExists(bktOrder)
		if err != nil {
			return err
		}
		nb, err := eb.CreateBucketIfNotExists(bktNamed)
		if err != nil {
			return err
		}
		rb, err := eb.CreateBucketIfNotExists(bktRepub)
		if err != nil {
			return err
		}
		edb, err := eb.CreateBucketIfNotExists(bktEdges)
		if err != nil {
			return err
		}
		next := Next(Status{Environment: rec.environment(workspace, nil), NamedFailedSkipped: rec.NamedFS, UnnamedCovered: rec.Covered}, c)
		if next.Refused != "" {
			res.State, res.Refused = next.State, next.Refused
			return nil
		}
		before, was, nowMs := rec.ModuleCount, rec.State.Normal(), toMillis(now)
		// No news of this upgrade yet: the change is its first (Environment.FirstNews).
		first, _ := rb.Cursor().First()
		fresh := was == StateFollowing && before == 0 && first == nil && rec.Prepared == nil && rec.Failed == nil && rec.Skipped == nil
		u := boltUndo{rec: &rec, mb: mb, ob: ob, nb: nb, rb: rb}
		items, detail := u.touched(c, mods), describeChange(c, mods)
		if c.Kind == ChangeUndo {
			if detail, err = u.undo(eb, c.Undoes, nowMs, &res); err != nil {
				return err
			}
			rec.State = Settle(Status{Environment: rec.environment(workspace, nil), ModuleCount: rec.ModuleCount,
				NamedFailedSkipped: rec.NamedFS, UnnamedCovered: rec.Covered})
			if res.KeptState && rec.State.Normal() != was { // not left as it was after all
				res.KeptState = false
				detail = undoDetail(&res)
			}
		} else {
			out, err := applyChange(&rec, modBuckets{mb, ob, nb, rb, edb}, c, mods, &res)
			if err != nil {
				return err
			}
			if c.Kind == ChangeAddModules || c.Kind == ChangeDone {
				if detail = describeModules(c, res, out); detail != "" && c.Force {
					detail += " (recorded anyway)"
				}
			}
		}
		idle := c.Kind == ChangeDone && !c.All && len(res.Removed) == 0 // none of its modules was listed: it changes nothing
		if after := next.After(rec.ModuleCount); after != "" && !idle { // "": an undo put the state back itself
			rec.State = after
		}
		// An add of what is listed already, a done of nothing listed: nothing
		// changed, so neither who changed the environment last.
		idle = idle || detail == "" && c.Kind == ChangeAddModules && rec.State == was
		res.BecameDone = was != StateDone && rec.State == StateDone
		if detail == "" && c.Kind == ChangeDone && c.All && res.BecameDone {
			detail = "republished all" // an upgrade from Platform Server 10: nothing listed, yet it is done now
			if c.Force {
				detail += " (recorded anyway)"
			}
		}
		if !idle {
			rec.UpdatedAt, rec.UpdatedBy = toMillis(c.At), c.Actor
			rec.Rev++
			if fresh && c.Kind != ChangeReset && c.Kind != ChangeUndo {
				rec.NewsAt = rec.UpdatedAt
			}
		}
		if err := saveEnv(eb, rec); err != nil {
			return err
		}
		if detail != "" { // an add or done that did nothing is not logged
			if err := s.appendHistory(eb, HistoryEntry{Time: c.At, Actor: c.Actor, Action: string(c.Kind), Detail: detail, Source: c.Source}); err != nil {
				return err
			}
		}
		if c.Kind != ChangeUndo {
			if err := u.record(eb, c.Key, detail, items, nowMs); err != nil {
				return err
			}
		}
		if err := idem.Put([]byte(c.Key), u64(uint64(nowMs))); err != nil {
			return err
		}
		if err := idemExp.Put(append(u64(uint64(nowMs)), c.Key...), nil); err != nil {
			return err
		}
		res.Remaining = rec.ModuleCount
		res.BecameEmpty = c.Kind == ChangeDone && before > 0 && rec.ModuleCount == 0
		res.State, res.Was = rec.State, was
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	return res, nil
}

// expiring opens a bucket of keys that expire and its index by time,
// forgetting the keys put before cutoff (ms).
func expiring(eb *bolt.Bucket, name, expName []byte, cutoff int64) (b, exp *bolt.Bucket, err error) {
	if b, err = eb.CreateBucketIfNotExists(name); err != nil {
		return nil, nil, err
	}
	if exp, err = eb.CreateBucketIfNotExists(expName); err != nil {
		return nil, nil, err
	}
	return b, exp, expireKeys(b, exp, cutoff)
}

// expireKeys forgets change keys applied before cutoff (ms), oldest first;
// idem's values start with the ms they were applied at (idem or undo records).
func expireKeys(idem, idemExp *bolt.Bucket, cutoff int64) error {
	c := idemExp.Cursor()
	for k, _ := c.First(); k != nil && len(k) >= 8 && int64(binary.BigEndian.Uint64(k[:8])) < cutoff; k, _ = c.First() {
		key := k[8:]
		// Only forget the key if it was not applied again later.
		if v := idem.Get(key); len(v) >= 8 && bytes.Equal(v[:8], k[:8]) {
			if err := idem.Delete(key); err != nil {
				return err
			}
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// modBuckets are an environment's buckets of modules: listed, their order,
// every one named since the last reset (see Status.NamedFailedSkipped),
// republished since the last reset, and the producer → consumer edges.
type modBuckets struct{ mods, order, named, repub, edges *bolt.Bucket }

// applyChange applies c's data to the environment (the state is Next's);
// mods carry their legacy keys. It says what the history detail needs.
func applyChange(rec *boltEnv, b modBuckets, c Change, mods []normalizedModule, res *Result) (out outcome, err error) {
	mb, ob, nb := b.mods, b.order, b.named
	// republish keeps a module taken off the list in the republished bucket, with who and when.
	republish := func(key string, w wireModule) error {
		w.DoneBy, w.DoneAt = c.Actor, toMillis(c.At)
		v, err := json.Marshal(w)
		if err != nil {
			return fmt.Errorf("encode module: %w", err)
		}
		res.Removed = append(res.Removed, w.Name)
		return b.repub.Put([]byte(key), v)
	}
	name := func(key string) error {
		if nb.Get([]byte(key)) != nil {
			return nil
		}
		rec.NamedFS++
		return nb.Put([]byte(key), []byte{1})
	}
	if len(mods) > 0 {
		mods = slices.Clone(mods)
		withLegacyKeys(mods, keys(mb))
	}
	switch c.Kind {
	case ChangePreparing:
		if rec.State != StatePreparing {
			rec.clearPreparation()
		}
		if p := c.Preparation; rec.PrepAt == 0 || p.Percent != nil || p.Current != nil {
			rec.PrepAt = toMillis(c.At)
		}
		if rec.State.stage() >= 2 {
			// The preparation runs again after an outcome (its step failed,
			// or recorded anyway after a summary): its summary counts what
			// this run failed and skipped. Modules republished before it do
			// not cover those counts; those still listed do.
			u := boltUndo{rec: rec, mb: b.mods, rb: b.repub}
			for _, k := range u.republishedOnly() {
				if nb.Get([]byte(k)) != nil {
					if err := nb.Delete([]byte(k)); err != nil {
						return out, err
					}
					rec.NamedFS--
				}
			}
			rec.Prepared, rec.Failed, rec.Skipped, rec.Covered = nil, nil, nil, false
		}
		p := c.Preparation
		if p.Percent != nil {
			rec.Percent = p.Percent
		}
		if p.Expected != "" {
			rec.Expected = p.Expected
		}
		if p.Current != nil {
			rec.Current = p.Current
		}
		if p.Total != nil {
			rec.Total = p.Total
		}
	case ChangeSummary:
		if c.Counts.Prepared != nil {
			rec.Prepared = c.Counts.Prepared
		}
		if c.Counts.Failed != nil {
			rec.Failed = c.Counts.Failed
		}
		if c.Counts.Skipped != nil {
			rec.Skipped = c.Counts.Skipped
		}
		rec.clearPreparation()
	case ChangeState:
		rec.clearPreparation()
	case ChangeAddModules:
		for _, e := range c.Edges {
			if err := b.edges.Put([]byte(e.Producer+"\n"+e.Consumer), nil); err != nil {
				return out, err
			}
		}
		at := toMillis(c.At)
		for _, m := range mods {
			key, cur, err := findModule(mb, m)
			if err != nil {
				return out, err
			}
			if cur != nil {
				if err := name(key); err != nil {
					return out, err
				}
				// The error that named it, learned after it was listed.
				learned := cur.Error == "" && m.Error != ""
				if learned {
					cur.Error = m.Error
				}
				// A failed or skipped module stays so when another message reports
				// it; shown to be a producer not prepared, it goes first all the same.
				old, reason := Reason(cur.Reason), c.Reason
				if reason.Group() == GroupReported && old.Group() != GroupReported {
					reason = old
				}
				producer := (cur.Producer || old == ReasonProducerNotPrepared || c.Reason == ReasonProducerNotPrepared) && reason != ReasonProducerNotPrepared
				if producer && !cur.Producer && reason == old {
					out.producers = append(out.producers, cur.Name)
				}
				if reason != old {
					out.moved = append(out.moved, fmt.Sprintf("%s (was %s)", quotedName(cur.Name), cur.Reason))
					res.Updated = append(res.Updated, cur.Name)
				}
				// Reported again by someone else: counted, so that undoing
				// the first report leaves it.
				again := c.Actor != cur.By
				if !learned && reason == old && producer == cur.Producer && !again {
					continue
				}
				if reason == old && (learned || producer != cur.Producer) {
					res.Marked = append(res.Marked, cur.Name)
				}
				if again {
					cur.Also++
				}
				if err := ob.Delete(orderKey(*cur, key)); err != nil {
					return out, err
				}
				cur.Reason, cur.Producer = string(reason), producer
				if err := putModule(mb, ob, key, *cur); err != nil {
					return out, err
				}
				continue
			}
			// Marked republished in this upgrade, reported again: said so, and
			// a failed or skipped module keeps its group.
			reason := c.Reason
			var old wireModule
			if v := b.repub.Get([]byte(m.Key)); v != nil && json.Unmarshal(v, &old) == nil {
				if reason.Group() == GroupReported && Reason(old.Reason).Group() != GroupReported {
					reason = Reason(old.Reason)
				}
				res.Reopened = append(res.Reopened, Module{Name: old.Name, RepublishedBy: old.DoneBy, RepublishedAt: fromMillis(old.DoneAt)})
			}
			// Shown to be a producer not prepared, a failed module goes first.
			w := wireModule{Name: m.Name, Reason: string(reason), By: c.Actor, At: at, Source: c.Source, Error: m.Error,
				Producer: c.Reason == ReasonProducerNotPrepared && reason != c.Reason}
			if err := putModule(mb, ob, m.Key, w); err != nil {
				return out, err
			}
			if err := name(m.Key); err != nil {
				return out, err
			}
			rec.ModuleCount++
			res.Added = append(res.Added, m.Name)
		}
	case ChangeDone:
		if c.All {
			// done all also covers what Service Center counted and nobody named;
			// with no counts yet, not while the preparation runs or after it
			// failed (counts from a run still to come).
			counted := rec.Failed != nil || rec.Skipped != nil
			if !rec.Covered && counted {
				out.covered = max(0, deref(rec.Failed)+deref(rec.Skipped)-rec.NamedFS)
			}
			rec.Covered = rec.Covered || counted || rec.State != StatePreparing && rec.State != StateFailed
			cur := ob.Cursor()
			for k, v := cur.First(); k != nil; k, v = cur.Next() {
				w, err := getModule(mb, string(v))
				if err != nil {
					return out, err
				}
				if w != nil {
					if err := republish(string(v), *w); err != nil {
						return out, err
					}
				}
			}
			for _, b := range []*bolt.Bucket{mb, ob} {
				if err := clearBucket(b); err != nil {
					return out, err
				}
			}
			rec.ModuleCount = 0
			return out, nil
		}
		for _, m := range mods {
			var found *wireModule
			for _, key := range append([]string{m.Key}, m.Legacy...) {
				cur, err := getModule(mb, key)
				if err != nil {
					return out, err
				}
				if cur == nil {
					continue
				}
				if err := mb.Delete([]byte(key)); err != nil {
					return out, err
				}
				if err := ob.Delete(orderKey(*cur, key)); err != nil {
					return out, err
				}
				rec.ModuleCount--
				if found == nil {
					found = cur
				}
			}
			if found == nil {
				res.NotFound = append(res.NotFound, m.Name)
				// Marked republished already, confirmed by someone else:
				// counted, so that undoing the first mark leaves it.
				var old wireModule
				if v := b.repub.Get([]byte(m.Key)); v != nil && json.Unmarshal(v, &old) == nil && old.DoneBy != c.Actor {
					old.Also++
					v, err := json.Marshal(old)
					if err != nil {
						return out, err
					}
					if err := b.repub.Put([]byte(m.Key), v); err != nil {
						return out, err
					}
				}
				continue
			}
			if err := republish(m.Key, *found); err != nil {
				return out, err
			}
		}
	case ChangeReset:
		for _, b := range []*bolt.Bucket{mb, ob, nb, b.repub} {
			if err := clearBucket(b); err != nil {
				return out, err
			}
		}
		rec.clearPreparation()
		rec.Prepared, rec.Failed, rec.Skipped = nil, nil, nil
		rec.ModuleCount, rec.NamedFS, rec.Covered, rec.NewsAt, rec.ResetAt = 0, 0, false, 0, toMillis(c.At)
	}
	return out, nil
}

// clearBucket deletes every key of b; the bucket itself stays so the handles
// applyChange holds remain valid.
func clearBucket(b *bolt.Bucket) error {
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// findModule finds m under its key, or under a key it was stored under
// before names were normalized (m.Legacy), and returns that key.
func findModule(mb *bolt.Bucket, m normalizedModule) (string, *wireModule, error) {
	for _, key := range append([]string{m.Key}, m.Legacy...) {
		if cur, err := getModule(mb, key); err != nil || cur != nil {
			return key, cur, err
		}
	}
	return m.Key, nil, nil
}

func getModule(mb *bolt.Bucket, key string) (*wireModule, error) {
	v := mb.Get([]byte(key))
	if v == nil {
		return nil, nil
	}
	w, err := decodeModule(v)
	if err != nil {
		return nil, fmt.Errorf("decode module: %w", err)
	}
	return &w, nil
}

func putModule(mb, ob *bolt.Bucket, key string, w wireModule) error {
	b, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("encode module: %w", err)
	}
	if err := mb.Put([]byte(key), b); err != nil {
		return err
	}
	return ob.Put(orderKey(w, key), []byte(key))
}

// Environment returns one environment without its modules.
func (s *BoltStore) Environment(ctx context.Context, workspace, env string) (Environment, error) {
	env, err := envRef(workspace, env)
	if err != nil {
		return Environment{}, err
	}
	var e Environment
	err = s.view(ctx, "environment", func(tx *bolt.Tx) error {
		e, err = loadEnvironment(tx, workspace, env)
		return err
	})
	return e, err
}

// Status returns one environment with at most limit modules (limit < 0: all).
func (s *BoltStore) Status(ctx context.Context, workspace, env string, limit int) (Status, error) {
	env, err := envRef(workspace, env)
	if err != nil {
		return Status{}, err
	}
	var st Status
	err = s.view(ctx, "status", func(tx *bolt.Tx) error {
		eb := envBucket(tx, workspace, env)
		if eb == nil {
			return notFound(workspace, env)
		}
		rec, err := loadEnv(eb)
		if err != nil {
			return err
		}
		st = Status{
			Environment:        rec.environment(workspace, keys(eb.Bucket(bktChannels))),
			NamedFailedSkipped: rec.NamedFS, UnnamedCovered: rec.Covered,
		}
		ob, mb := eb.Bucket(bktOrder), eb.Bucket(bktModules)
		listed, repub := map[string]wireModule{}, map[string]string{}
		if mb != nil {
			if err := mb.ForEach(func(k, v []byte) error {
				w, err := decodeModule(v)
				if err != nil {
					return fmt.Errorf("decode module: %w", err)
				}
				listed[string(k)] = w
				return nil
			}); err != nil {
				return err
			}
		}
		if rb := eb.Bucket(bktRepub); rb != nil {
			_ = rb.ForEach(func(k, v []byte) error { repub[string(k)] = string(v); return nil })
		}
		if err := st.tally(listed, repub, limit < 0); err != nil {
			return err
		}
		for _, k := range keys(eb.Bucket(bktEdges)) {
			if e, ok := parseEdge(k); ok && limit != 0 {
				st.Edges = append(st.Edges, e)
			}
		}
		if ob == nil || mb == nil || limit == 0 {
			return nil
		}
		c := ob.Cursor()
		for k, v := c.First(); k != nil && (limit < 0 || len(st.Modules) < limit); k, v = c.Next() {
			w, err := getModule(mb, string(v))
			if err != nil {
				return err
			}
			if w != nil {
				st.Modules = append(st.Modules, w.module())
			}
		}
		return nil
	})
	return st, err
}

// Environments lists a workspace's environments by name.
func (s *BoltStore) Environments(ctx context.Context, workspace string) ([]Environment, error) {
	if err := checkID("workspace", workspace); err != nil {
		return nil, err
	}
	var envs []Environment
	err := s.view(ctx, "environments", func(tx *bolt.Tx) error {
		envs = nil
		for _, name := range keys(nested(wsBucket(tx, workspace), bktEnvs)) {
			e, err := loadEnvironment(tx, workspace, name)
			if err != nil {
				return err
			}
			envs = append(envs, e)
		}
		return nil
	})
	return envs, err
}

func loadEnvironment(tx *bolt.Tx, workspace, name string) (Environment, error) {
	eb := envBucket(tx, workspace, name)
	if eb == nil {
		return Environment{}, notFound(workspace, name)
	}
	rec, err := loadEnv(eb)
	if err != nil {
		return Environment{}, err
	}
	return rec.environment(workspace, keys(eb.Bucket(bktChannels))), nil
}

// ChannelEnvironments lists the environments a channel follows, by name.
func (s *BoltStore) ChannelEnvironments(ctx context.Context, workspace, channel string) ([]Environment, error) {
	if err := checkID("workspace", workspace); err != nil {
		return nil, err
	}
	if err := checkID("channel", channel); err != nil {
		return nil, err
	}
	var envs []Environment
	err := s.view(ctx, "channel environments", func(tx *bolt.Tx) error {
		envs = nil
		for _, name := range keys(nested(wsBucket(tx, workspace), bktFollows, []byte(channel))) {
			e, err := loadEnvironment(tx, workspace, name)
			if err != nil {
				return err
			}
			envs = append(envs, e)
		}
		return nil
	})
	return envs, err
}

// History returns an environment's history, oldest first.
func (s *BoltStore) History(ctx context.Context, workspace, env string) ([]HistoryEntry, error) {
	env, err := envRef(workspace, env)
	if err != nil {
		return nil, err
	}
	var entries []HistoryEntry
	err = s.view(ctx, "history", func(tx *bolt.Tx) error {
		entries = []HistoryEntry{}
		eb := envBucket(tx, workspace, env)
		if eb == nil {
			return notFound(workspace, env)
		}
		hb := eb.Bucket(bktHistory)
		if hb == nil {
			return nil
		}
		return hb.ForEach(func(_, v []byte) error {
			var w wireEntry
			if err := json.Unmarshal(v, &w); err != nil {
				return fmt.Errorf("decode history entry: %w", err)
			}
			entries = append(entries, w.entry())
			return nil
		})
	})
	return entries, err
}

type boltSettings struct {
	Schedule    string `json:"schedule,omitempty"`
	Paused      bool   `json:"paused,omitempty"`
	PauseReason string `json:"reason,omitempty"`
	UpdatedAt   int64  `json:"updated_at,omitempty"`
	UpdatedBy   string `json:"updated_by,omitempty"`
}

// ChannelSettings returns a channel's settings; zero settings when never set.
func (s *BoltStore) ChannelSettings(ctx context.Context, workspace, channel string) (ChannelSettings, error) {
	if err := checkID("workspace", workspace); err != nil {
		return ChannelSettings{}, err
	}
	if err := checkID("channel", channel); err != nil {
		return ChannelSettings{}, err
	}
	var cs ChannelSettings
	err := s.view(ctx, "channel settings", func(tx *bolt.Tx) (err error) {
		cs, err = readSettings(tx, workspace, channel)
		return err
	})
	return cs, err
}

func readSettings(tx *bolt.Tx, workspace, channel string) (ChannelSettings, error) {
	b := nested(wsBucket(tx, workspace), bktSettings)
	if b == nil {
		return ChannelSettings{}, nil
	}
	v := b.Get([]byte(channel))
	if v == nil {
		return ChannelSettings{}, nil
	}
	var bs boltSettings
	if err := json.Unmarshal(v, &bs); err != nil {
		return ChannelSettings{}, fmt.Errorf("decode channel settings: %w", err)
	}
	return ChannelSettings{Schedule: bs.Schedule, Paused: bs.Paused, PauseReason: bs.PauseReason, UpdatedAt: fromMillis(bs.UpdatedAt), UpdatedBy: bs.UpdatedBy}, nil
}

// SetChannelSettings replaces a channel's settings; a zero UpdatedAt means now.
func (s *BoltStore) SetChannelSettings(ctx context.Context, workspace, channel string, cs ChannelSettings) error {
	cs, err := normalizeSettings(workspace, channel, cs, s.now())
	if err != nil {
		return err
	}
	v, err := json.Marshal(boltSettings{Schedule: cs.Schedule, Paused: cs.Paused, PauseReason: cs.PauseReason, UpdatedAt: toMillis(cs.UpdatedAt), UpdatedBy: cs.UpdatedBy})
	if err != nil {
		return fmt.Errorf("progress: encode channel settings: %w", err)
	}
	return s.update(ctx, "set channel settings", func(tx *bolt.Tx) error {
		b, err := createNested(tx.Bucket(bktWorkspaces), []byte(workspace), bktSettings)
		if err != nil {
			return err
		}
		return b.Put([]byte(channel), v)
	})
}

// FollowedChannels lists the channels following any environment of a
// workspace with their settings, in one transaction.
func (s *BoltStore) FollowedChannels(ctx context.Context, workspace string) ([]ChannelFollow, error) {
	if err := checkID("workspace", workspace); err != nil {
		return nil, err
	}
	var out []ChannelFollow
	err := s.view(ctx, "followed channels", func(tx *bolt.Tx) error {
		out = nil
		follows := nested(wsBucket(tx, workspace), bktFollows)
		for _, ch := range keys(follows) {
			envs := keys(follows.Bucket([]byte(ch)))
			if len(envs) == 0 {
				continue
			}
			cs, err := readSettings(tx, workspace, ch)
			if err != nil {
				return err
			}
			out = append(out, ChannelFollow{Channel: ch, Environments: envs, Settings: cs})
		}
		return nil
	})
	return out, err
}

// Workspaces lists every workspace with data, sorted.
func (s *BoltStore) Workspaces(ctx context.Context) ([]string, error) {
	var out []string
	err := s.view(ctx, "workspaces", func(tx *bolt.Tx) error {
		out = keys(tx.Bucket(bktWorkspaces))
		return nil
	})
	slices.Sort(out)
	return out, err
}
