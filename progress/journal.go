package progress

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"strings"
	"time"
)

// Entry is acknowledged work kept in the journal until it is done: what a
// restarted process, or another replica, needs to finish it.
type Entry struct {
	ID        string // given by Append
	Workspace string
	Channel   string
	EventID   string // Slack's event id, "" when it has none
	Kind      string // what Payload is (the caller's name: "message", "command"…)
	Payload   []byte // the request as received
	Findings  []byte // what was already worked out (the caller's encoding)
	// Recovered is how many times Recover has taken it, this time
	// included: an entry whose work kills the process comes back after
	// each crash, and the caller gives it up after a few.
	Recovered int
}

// Journal keeps acknowledged work durably until it is done, so work a
// process took but did not finish is finished by another replica or the
// next process. Work runs at least once: an entry may be taken again.
//
// A consumer names one process's claim on entries (ConsumerName); entries
// are taken by the consumer that appends them, kept by it while it works
// (Keep), and recovered by another consumer when they went unkept for
// longer than a minimum idle time, or, in the embedded store, when an
// earlier process left them.
type Journal interface {
	// Append writes e durably, taken by consumer, and returns its id.
	Append(ctx context.Context, consumer string, e Entry) (string, error)
	// Recover takes for consumer up to n entries that others left: not
	// kept for minIdle, or (embedded store) left by an earlier process.
	Recover(ctx context.Context, consumer string, minIdle time.Duration, n int) ([]Entry, error)
	// Keep says consumer still works on entries (of one or more
	// workspaces), so they are not recovered.
	Keep(ctx context.Context, consumer string, entries ...Entry) error
	// Done removes finished entries.
	Done(ctx context.Context, entries ...Entry) error
	// Leave gives up unfinished entries (a process shutting down), so any
	// consumer recovers them at once, whatever its minimum idle time, and
	// ends consumer where it holds nothing (call it even with no entries).
	Leave(ctx context.Context, consumer string, entries ...Entry) error
}

// ConsumerName names this process as a journal consumer: host, process
// id and a random part, so a restarted process (the same pid in a
// container) is never taken for the one that left its entries.
func ConsumerName() string {
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if isASCIIAlnum(r) || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, host)
	return fmt.Sprintf("%.40s-%d-%s", cmp.Or(host, "host"), os.Getpid(), NewToken()[:8])
}

func checkEntry(consumer string, e Entry) error {
	if err := checkID("workspace", e.Workspace); err != nil {
		return err
	}
	return checkID("journal consumer", consumer)
}
