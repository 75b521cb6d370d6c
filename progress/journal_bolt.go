package progress

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The journal in bbolt: bucket "journal", sequence number (8 bytes, big
// endian) → the entry, its consumer, when that consumer last kept it and
// which opening of the file did (JSON). Each Append is a committed
// transaction, on disk before it returns.

var bktJournal = []byte("journal")

var _ Journal = (*BoltStore)(nil)

type boltEntry struct {
	Workspace string `json:"ws"`
	Channel   string `json:"ch,omitempty"`
	EventID   string `json:"ev,omitempty"`
	Kind      string `json:"kind,omitempty"`
	Payload   []byte `json:"payload,omitempty"`
	Findings  []byte `json:"findings,omitempty"`
	Consumer  string `json:"consumer"`
	Kept      int64  `json:"kept"` // Unix ms
	Proc      string `json:"proc"` // the BoltStore's journalProc
	Recovered int    `json:"recovered,omitempty"`
}

func journalID(seq uint64) string { return strconv.FormatUint(seq, 10) }

func journalKey(id string) ([]byte, error) {
	seq, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return nil, invalid("journal entry id", id, "is not one the journal gave")
	}
	return binary.BigEndian.AppendUint64(nil, seq), nil
}

// Append writes e, taken by consumer.
func (s *BoltStore) Append(ctx context.Context, consumer string, e Entry) (string, error) {
	if err := checkEntry(consumer, e); err != nil {
		return "", err
	}
	v, err := json.Marshal(boltEntry{Workspace: e.Workspace, Channel: e.Channel, EventID: e.EventID, Kind: e.Kind,
		Payload: e.Payload, Findings: e.Findings, Consumer: consumer, Kept: toMillis(s.now()), Proc: s.journalProc})
	if err != nil {
		return "", fmt.Errorf("progress: encode journal entry: %w", err)
	}
	var id string
	err = s.update(ctx, "journal append", func(tx *bolt.Tx) error {
		b := tx.Bucket(bktJournal)
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		id = journalID(seq)
		return b.Put(binary.BigEndian.AppendUint64(nil, seq), v)
	})
	return id, err
}

// Recover takes for consumer the entries an earlier process left, and
// those not kept for minIdle.
func (s *BoltStore) Recover(ctx context.Context, consumer string, minIdle time.Duration, n int) ([]Entry, error) {
	if err := checkID("journal consumer", consumer); err != nil {
		return nil, err
	}
	var out []Entry
	err := s.update(ctx, "journal recover", func(tx *bolt.Tx) error {
		out = nil
		now := toMillis(s.now())
		b := tx.Bucket(bktJournal)
		var taken [][2][]byte // changed after the walk: a cursor is not to be used across writes
		c := b.Cursor()
		for k, v := c.First(); k != nil && len(taken) < n; k, v = c.Next() {
			var be boltEntry
			if err := json.Unmarshal(v, &be); err != nil {
				return fmt.Errorf("decode journal entry: %w", err)
			}
			if be.Proc == s.journalProc && now-be.Kept < minIdle.Milliseconds() {
				continue
			}
			be.Consumer, be.Kept, be.Proc = consumer, now, s.journalProc
			be.Recovered++
			nv, err := json.Marshal(be)
			if err != nil {
				return err
			}
			taken = append(taken, [2][]byte{slices.Clone(k), nv})
			out = append(out, Entry{ID: journalID(binary.BigEndian.Uint64(k)), Workspace: be.Workspace, Channel: be.Channel, EventID: be.EventID,
				Kind: be.Kind, Payload: be.Payload, Findings: be.Findings, Recovered: be.Recovered})
		}
		for _, kv := range taken {
			if err := b.Put(kv[0], kv[1]); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// Keep takes the entries for consumer as of now.
func (s *BoltStore) Keep(ctx context.Context, consumer string, entries ...Entry) error {
	if err := checkID("journal consumer", consumer); err != nil {
		return err
	}
	return s.journalEach(ctx, "journal keep", entries, func(b *bolt.Bucket, k, v []byte) error {
		var be boltEntry
		if err := json.Unmarshal(v, &be); err != nil {
			return fmt.Errorf("decode journal entry: %w", err)
		}
		be.Consumer, be.Kept, be.Proc = consumer, toMillis(s.now()), s.journalProc
		nv, err := json.Marshal(be)
		if err != nil {
			return err
		}
		return b.Put(k, nv)
	})
}

// Leave marks the entries as kept by no process, so any consumer takes
// them. Consumers are only names in the entries: none to end.
func (s *BoltStore) Leave(ctx context.Context, consumer string, entries ...Entry) error {
	if err := checkID("journal consumer", consumer); err != nil {
		return err
	}
	return s.journalEach(ctx, "journal leave", entries, func(b *bolt.Bucket, k, v []byte) error {
		var be boltEntry
		if err := json.Unmarshal(v, &be); err != nil {
			return fmt.Errorf("decode journal entry: %w", err)
		}
		be.Consumer, be.Kept, be.Proc = "", 0, ""
		nv, err := json.Marshal(be)
		if err != nil {
			return err
		}
		return b.Put(k, nv)
	})
}

// Done deletes the entries.
func (s *BoltStore) Done(ctx context.Context, entries ...Entry) error {
	return s.journalEach(ctx, "journal done", entries, func(b *bolt.Bucket, k, _ []byte) error { return b.Delete(k) })
}

// journalEach runs fn on each of the entries still in the journal, in one transaction.
func (s *BoltStore) journalEach(ctx context.Context, op string, entries []Entry, fn func(b *bolt.Bucket, k, v []byte) error) error {
	keys := make([][]byte, len(entries))
	for i, e := range entries {
		err := checkID("workspace", e.Workspace)
		if err == nil {
			keys[i], err = journalKey(e.ID)
		}
		if err != nil {
			return err
		}
	}
	if len(keys) == 0 {
		return nil
	}
	return s.update(ctx, op, func(tx *bolt.Tx) error {
		b := tx.Bucket(bktJournal)
		for _, k := range keys {
			if v := b.Get(k); v != nil {
				if err := fn(b, k, v); err != nil {
					return err
				}
			}
		}
		return nil
	})
}
