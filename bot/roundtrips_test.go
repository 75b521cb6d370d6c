package bot

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

// countingStore counts the store calls that are a round trip each with
// Redis, and names them.
type countingStore struct {
	progress.Store
	calls []string
}

func (c *countingStore) note(format string, args ...any) {
	c.calls = append(c.calls, fmt.Sprintf(format, args...))
}

func (c *countingStore) Environment(ctx context.Context, w, e string) (progress.Environment, error) {
	c.note("Environment %s", e)
	return c.Store.Environment(ctx, w, e)
}

func (c *countingStore) ChannelEnvironments(ctx context.Context, w, ch string) ([]progress.Environment, error) {
	c.note("ChannelEnvironments %s", ch)
	return c.Store.ChannelEnvironments(ctx, w, ch)
}

func (c *countingStore) Environments(ctx context.Context, w string) ([]progress.Environment, error) {
	c.note("Environments")
	return c.Store.Environments(ctx, w)
}

func (c *countingStore) Status(ctx context.Context, w, e string, limit int) (progress.Status, error) {
	c.note("Status %s %d", e, limit)
	return c.Store.Status(ctx, w, e, limit)
}

func (c *countingStore) Apply(ctx context.Context, w, e string, ch progress.Change) (progress.Result, error) {
	c.note("Apply %s", ch.Kind)
	return c.Store.Apply(ctx, w, e, ch)
}

func (c *countingStore) History(ctx context.Context, w, e string) ([]progress.HistoryEntry, error) {
	c.note("History %s", e)
	return c.Store.History(ctx, w, e)
}

func (c *countingStore) Claim(ctx context.Context, ws, k, token string, ttl time.Duration) (bool, error) {
	c.note("Claim %s", k)
	return c.Store.Claim(ctx, ws, k, token, ttl)
}

func (c *countingStore) Held(ctx context.Context, ws, k string) (bool, error) {
	c.note("Held %s", k)
	return c.Store.Held(ctx, ws, k)
}

func (c *countingStore) PutValue(ctx context.Context, w, k string, v []byte, ttl time.Duration) error {
	c.note("PutValue %s", k)
	return c.Store.PutValue(ctx, w, k, v, ttl)
}

func (c *countingStore) PutValues(ctx context.Context, w string, puts ...progress.Put) error {
	var keys []string
	for _, p := range puts {
		keys = append(keys, p.Key)
	}
	c.note("PutValues %s", strings.Join(keys, " "))
	return c.Store.PutValues(ctx, w, puts...)
}

func (c *countingStore) Value(ctx context.Context, w, k string) ([]byte, bool, error) {
	c.note("Value %s", k)
	return c.Store.Value(ctx, w, k)
}

func (c *countingStore) AppendValue(ctx context.Context, w, k string, item []byte, o progress.AppendOptions) error {
	c.note("AppendValue %s", k)
	return c.Store.AppendValue(ctx, w, k, item, o)
}

func (c *countingStore) ValueList(ctx context.Context, w, k string) ([][]byte, error) {
	c.note("ValueList %s", k)
	return c.Store.ValueList(ctx, w, k)
}

func (c *countingStore) ModuleOwners(ctx context.Context, w, e string) (map[string]string, error) {
	c.note("ModuleOwners %s", e)
	return c.Store.ModuleOwners(ctx, w, e)
}

// countedBot is a bot on a fresh embedded store, at testNow, whose store calls are counted.
func countedBot(t *testing.T) (*Bot, *countingStore) {
	t.Helper()
	_, store := newTestBot(t)
	counted := &countingStore{Store: store}
	return New(Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: counted, Now: func() time.Time { return testNow }, BotUserID: "UBOT"}), counted
}

// TestPasteRoundTrips bounds the store calls (each a round trip to Redis)
// the core makes to answer a pasted error: they are most of a paste's cost
// under load (docs/performance-investigations.md).
func TestPasteRoundTrips(t *testing.T) {
	b, counted := countedBot(t)
	cmd(t, b, "C1", "U1", "track prod 11.31.0 self-managed")
	producer := func(name string) string { return strings.ReplaceAll(producerPaste, "Billing_CS", name) }
	for _, c := range []struct {
		name, channel, text string
		max                 int
	}{
		// Channel's environments (with their last reset: a message sent
		// before it is not recorded); the guard's status; the change; the
		// chart's sample (counts and append); what the reply recorded
		// before; one write of what undo needs and the message its
		// buttons refer to.
		{"a module recorded", "C1", producer("Billing_CS"), 7},
		{"another module recorded", "C1", producer("Orders_CS"), 7},
		{"the same module again", "C1", producer("Billing_CS"), 7},
		{"a state recorded", "C1", "There were errors preparing some modules.", 7},
		// Nothing to record and no environment: only the channel's environments.
		{"in a channel that follows nothing", "C9", producer("Billing_CS"), 1},
		{"a message without module in a channel that follows nothing", "C9", "There were errors preparing some modules.", 1},
	} {
		counted.calls = nil
		resp := b.Answer(context.Background(), b.Read(Message{Workspace: "T1", Channel: c.channel, User: "U2", TS: fmt.Sprintf("%d.%06d", testNow.Unix(), len(c.name)), Text: c.text}))
		if resp.Reply == nil && resp.React == "" {
			t.Errorf("%s: no answer", c.name)
		}
		if len(counted.calls) > c.max {
			t.Errorf("%s: %d store calls, want at most %d:\n  %s", c.name, len(counted.calls), c.max, strings.Join(counted.calls, "\n  "))
		}
	}
}
