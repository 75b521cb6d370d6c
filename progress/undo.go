package progress

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Undo: every change keeps, under its key for UndoTTL, what it touched with
// the values before and after it (an undo record). A ChangeUndo puts back the
// "before" of each item whose value is still the "after": what someone
// changed since is left as it is and reported (Result.Kept, KeptState),
// never clobbered. The undo is a change of its own (idempotent by its key,
// in the history as "undo of …") and uses the records up, so a second undo
// of the same change finds nothing to undo. The Redis store does the same in
// applyLua; items are m (a module's record), n (its membership of the named
// set), r (its record among the republished) and s (the state fields).

// ChangeUndo takes back the changes keyed Change.Undoes.
const ChangeUndo ChangeKind = "undo"

// UndoTTL is how long a change can be undone.
const UndoTTL = 3 * 24 * time.Hour

// ErrNothingToUndo means none of the changes named has an undo record: they
// were undone already, recorded nothing, or are older than UndoTTL.
var ErrNothingToUndo = errors.New("progress: nothing to undo")

// undoItem is one thing a change touched; nil is absent.
type undoItem struct {
	Kind   string `json:"k"`
	Key    string `json:"key"`
	Before []byte `json:"b"`
	After  []byte `json:"a"`
}

type undoRecord struct {
	Detail string     `json:"d"`
	Items  []undoItem `json:"t"`
}

// metaSnap are the state fields an undo puts back (SNAP in applyLua).
type metaSnap struct {
	State                                     State
	Percent                                   *int
	Expected                                  string
	Current, Total, Prepared, Failed, Skipped *int
	Covered                                   bool  `json:",omitempty"`
	PrepAt                                    int64 `json:",omitempty"`
	NewsAt                                    int64 // always written: a record without it is older (olderSnap)
	ResetAt                                   int64 // always written, as NewsAt
}

// olderSnap is the state snapshot now as a record written before it held
// NewsAt (or ResetAt) holds it, when like is such a record: the state is
// compared on the fields the record holds, as applyLua compares SNAP's first n.
func olderSnap(now, like []byte) []byte {
	for _, field := range []string{"NewsAt", "ResetAt"} { // in the order they were added
		if like != nil && !bytes.Contains(like, []byte(`"`+field+`"`)) {
			if i := bytes.LastIndex(now, []byte(`,"`+field+`":`)); i >= 0 {
				return append(now[:i:i], '}')
			}
		}
	}
	return now
}

var (
	bktUndo    = []byte("undo")    // change key → applied ms (8 bytes) + undo record JSON
	bktUndoExp = []byte("undoexp") // applied ms, change key → nothing: expires records oldest first
)

// boltUndo reads and writes the items of one environment in one transaction.
type boltUndo struct {
	rec            *boltEnv
	mb, ob, nb, rb *bolt.Bucket
}

func (u boltUndo) get(kind, key string) []byte {
	switch kind {
	case "m":
		return bytes.Clone(u.mb.Get([]byte(key)))
	case "n":
		if u.nb.Get([]byte(key)) != nil {
			return []byte("1")
		}
		return nil
	case "r":
		return bytes.Clone(u.rb.Get([]byte(key)))
	}
	r := u.rec
	b, _ := json.Marshal(metaSnap{r.State, r.Percent, r.Expected, r.Current, r.Total, r.Prepared, r.Failed, r.Skipped, r.Covered, r.PrepAt, r.NewsAt, r.ResetAt})
	return b
}

func (u boltUndo) set(kind, key string, v []byte) error {
	switch kind {
	case "m":
		if cur, err := getModule(u.mb, key); err != nil || cur != nil {
			if err != nil {
				return err
			}
			u.rec.ModuleCount--
			if err := u.ob.Delete(orderKey(*cur, key)); err != nil {
				return err
			}
			if err := u.mb.Delete([]byte(key)); err != nil {
				return err
			}
		}
		if v == nil {
			return nil
		}
		var w wireModule
		if err := json.Unmarshal(v, &w); err != nil {
			return fmt.Errorf("decode module: %w", err)
		}
		u.rec.ModuleCount++
		return putModule(u.mb, u.ob, key, w)
	case "n":
		switch had := u.nb.Get([]byte(key)) != nil; {
		case v != nil && !had:
			u.rec.NamedFS++
			return u.nb.Put([]byte(key), []byte{1})
		case v == nil && had:
			u.rec.NamedFS--
			return u.nb.Delete([]byte(key))
		}
		return nil
	case "r":
		if v == nil {
			return u.rb.Delete([]byte(key))
		}
		return u.rb.Put([]byte(key), v)
	}
	r := u.rec
	m := metaSnap{NewsAt: r.NewsAt, ResetAt: r.ResetAt} // kept when v is older than they are
	if err := json.Unmarshal(v, &m); err != nil {
		return fmt.Errorf("decode state: %w", err)
	}
	r.State, r.Percent, r.Expected, r.Current, r.Total, r.Prepared, r.Failed, r.Skipped, r.Covered, r.PrepAt, r.NewsAt, r.ResetAt = m.State, m.Percent, m.Expected, m.Current, m.Total, m.Prepared, m.Failed, m.Skipped, m.Covered, m.PrepAt, m.NewsAt, m.ResetAt
	return nil
}

// touched lists, with their values now, what change c may change.
func (u boltUndo) touched(c Change, mods []normalizedModule) []undoItem {
	var items []undoItem
	add := func(kind string, keys ...string) {
		for _, k := range keys {
			items = append(items, undoItem{Kind: kind, Key: k})
		}
	}
	switch {
	case c.Kind == ChangeUndo:
	case c.Kind == ChangeReset || c.Kind == ChangeDone && c.All:
		_ = u.ob.ForEach(func(_, k []byte) error { add("m", string(k)); return nil })
		if c.Kind == ChangeReset { // done leaves the named set as it is
			add("n", keys(u.nb)...)
			add("r", keys(u.rb)...)
		} else {
			_ = u.ob.ForEach(func(_, k []byte) error { add("r", string(k)); return nil })
		}
	case c.Kind == ChangePreparing && u.rec.State.stage() >= 2:
		add("n", u.republishedOnly()...) // a new run: see newRun
	default:
		mods = withStoredLegacy(u.mb, mods)
		for _, m := range mods {
			for _, k := range append([]string{m.Key}, m.Legacy...) {
				add("m", k)
				add("n", k)
				add("r", k)
			}
		}
	}
	add("s", "")
	for i := range items {
		items[i].Before = u.get(items[i].Kind, items[i].Key)
	}
	return items
}

// withStoredLegacy is mods with the legacy keys stored in mb.
func withStoredLegacy(mb *bolt.Bucket, mods []normalizedModule) []normalizedModule {
	if len(mods) == 0 {
		return mods
	}
	mods = append([]normalizedModule(nil), mods...)
	withLegacyKeys(mods, keys(mb))
	return mods
}

// record stores what a change did (items with their values before and
// after) under its key, and drops the expired records.
func (u boltUndo) record(eb *bolt.Bucket, key, detail string, items []undoItem, now int64) error {
	kept := items[:0]
	for _, it := range items {
		if it.After = u.get(it.Kind, it.Key); !bytes.Equal(it.After, it.Before) {
			kept = append(kept, it)
		}
	}
	js, err := json.Marshal(undoRecord{Detail: detail, Items: kept})
	if err != nil {
		return fmt.Errorf("encode undo record: %w", err)
	}
	ub, exp, err := expiring(eb, bktUndo, bktUndoExp, now-UndoTTL.Milliseconds())
	if err != nil {
		return err
	}
	if err := exp.Put(append(u64(uint64(now)), key...), nil); err != nil {
		return err
	}
	return ub.Put([]byte(key), append(u64(uint64(now)), js...))
}

// undo takes back the changes keyed keys (last first) and returns the
// history detail; ErrNothingToUndo when none of them has a record left.
func (u boltUndo) undo(eb *bolt.Bucket, keys []string, now int64, res *Result) (string, error) {
	ub := eb.Bucket(bktUndo)
	var recs []undoRecord
	var found []string
	for _, k := range keys {
		var v []byte
		if ub != nil {
			v = ub.Get([]byte(k))
		}
		if len(v) < 8 || int64(binary.BigEndian.Uint64(v)) <= now-UndoTTL.Milliseconds() {
			continue
		}
		var r undoRecord
		if err := json.Unmarshal(v[8:], &r); err != nil {
			return "", fmt.Errorf("decode undo record: %w", err)
		}
		recs, found = append(recs, r), append(found, k)
	}
	if len(recs) == 0 {
		return "", ErrNothingToUndo
	}
	details, left := make([]string, len(recs)), map[string]bool{}
	for i := len(recs) - 1; i >= 0; i-- {
		items := recs[i].Items
		// A module any part of which changed since (listed, named,
		// republished) is left whole, as the state is: so are its earlier
		// values (left holds across the records, newest first).
		names := map[string]string{}
		for _, it := range items {
			if (it.Kind == "m" || it.Kind == "r") && names[it.Key] == "" {
				var w wireModule
				_ = json.Unmarshal(cmpOr(it.Before, it.After), &w)
				names[it.Key] = w.Name
			}
		}
		for _, it := range items {
			cur := u.get(it.Kind, it.Key)
			if it.Kind == "s" {
				cur = olderSnap(cur, it.After)
			}
			if left[it.Key] || bytes.Equal(cur, it.After) {
				continue
			}
			left[it.Key] = true
			if it.Kind == "s" {
				res.KeptState = true
			} else {
				res.Kept = append(res.Kept, cmp.Or(names[it.Key], it.Key))
			}
		}
		for _, it := range items {
			if left[it.Key] {
				continue
			}
			if err := u.set(it.Kind, it.Key, it.Before); err != nil {
				return "", err
			}
			mod := names[it.Key]
			switch {
			case it.Kind != "m":
			case it.Before == nil:
				res.Removed = append(res.Removed, mod)
			case it.After == nil:
				res.Added = append(res.Added, mod)
			case reasonOf(it.Before) != reasonOf(it.After): // not a report counted again
				res.Updated = append(res.Updated, mod)
			}
		}
		if err := ub.Delete([]byte(found[i])); err != nil {
			return "", err
		}
		details[i] = recs[i].Detail
	}
	res.Undid = strings.Join(details, "; ")
	return undoDetail(res), nil
}

// reasonOf is the reason of a stored module.
func reasonOf(v []byte) string {
	var w wireModule
	_ = json.Unmarshal(v, &w)
	return w.Reason
}

// undoDetail is an undo's history entry detail (the same in applyLua).
func undoDetail(res *Result) string {
	d := "undo of " + res.Undid
	what := res.Kept
	if res.KeptState {
		what = append(append([]string(nil), what...), "state")
	}
	if len(what) > 0 {
		d += " (changed since, left as is: " + nameList(what) + ")"
	}
	return d
}

func cmpOr(a, b []byte) []byte {
	if a != nil {
		return a
	}
	return b
}

// republishedOnly are the keys of the modules republished and not listed again.
func (u boltUndo) republishedOnly() []string {
	var out []string
	for _, k := range keys(u.rb) {
		if u.mb.Get([]byte(k)) == nil {
			out = append(out, k)
		}
	}
	return out
}
