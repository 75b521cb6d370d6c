package progress

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"
)

func TestModuleKey(t *testing.T) {
	for _, tc := range []struct{ a, b string }{
		{"Caf\u00e9", "Cafe\u0301"},        // composed, decomposed
		{"Billing\u200b_CS", "billing_cs"}, // zero-width space
		{"Bill\u200c\u200ding", "Billing"}, // zero-width (non-)joiner
		{"Word\u2060Joiner", "WordJoiner"},
		{"\ufeffOrders", "ORDERS"},         // byte order mark
		{"Soft\u00adHyphen", "SoftHyphen"}, // soft hyphen
		{"LTR\u200eMark\u200f", "ltrmark"}, // bidi marks
		{"\u202aEmbedded\u202c", "Embedded"},
		{"\u202eOverride\u202c", "Override"},
		{"\u2066Isolate\u2069", "isolate"},
		{" Orders ", "orders"},
	} {
		if ka, kb := ModuleKey(tc.a), ModuleKey(tc.b); ka != kb {
			t.Errorf("ModuleKey(%+q) = %+q, ModuleKey(%+q) = %+q: want one key", tc.a, ka, tc.b, kb)
		}
		name, err := NormalizeModule(tc.a)
		if err != nil {
			t.Errorf("NormalizeModule(%+q): %v", tc.a, err)
		} else if strings.IndexFunc(name, isInvisible) >= 0 || ModuleKey(name) != ModuleKey(tc.b) {
			t.Errorf("NormalizeModule(%+q) = %+q", tc.a, name)
		}
	}
	for _, tc := range []struct{ a, b string }{{"Cafe", "Caf\u00e9"}, {"Billing_CS", "Billing CS"}, {"Billing_CS", "Billing-CS"}} {
		if ModuleKey(tc.a) == ModuleKey(tc.b) {
			t.Errorf("%+q and %+q share a key", tc.a, tc.b)
		}
	}
	if _, err := NormalizeModule("\u200b\u200e"); err == nil {
		t.Error("a name of invisible characters alone was accepted")
	}
}

func TestEnvironmentNamesLeaveInvisiblesOut(t *testing.T) {
	for _, name := range []string{"prod", "PROD", "pro\u200bd", "\u2066prod\u2069", "\ufeffProd", "prod:", "prod.", "prod!"} {
		if got, err := NormalizeEnvironment(name); err != nil || got != "prod" {
			t.Errorf("NormalizeEnvironment(%+q) = %q, %v; want prod", name, got, err)
		}
	}
	if _, err := NormalizeEnvironment("pr\u00f6d"); err == nil {
		t.Error("a non-ASCII environment name was accepted")
	}
}

// testLookAlikeNames: names that look alike are one module in the store.
func testLookAlikeNames(t *testing.T, s Store) {
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1"})
	for _, tc := range []struct {
		first, again, done, stored string
	}{
		{"Caf\u00e9", "Cafe\u0301", "CAFE\u0301", "Caf\u00e9"},
		{"Cafe\u0301s", "Caf\u00e9s", "caf\u00e9s", "Caf\u00e9s"}, // stored composed
		{"Billing\u200b_CS", "Billing_CS", "billing_cs", "Billing_CS"},
		{"\u2066Orders\u2069", "\ufeffOrders", "Ord\u00aders", "Orders"},
	} {
		t.Run(tc.stored, func(t *testing.T) {
			res := apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonFailed, Modules: []string{tc.first}})
			equal(t, "added", res.Added, []string{tc.stored})
			res = apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonFailed, Modules: []string{tc.again}})
			if len(res.Added)+len(res.Updated) != 0 || res.Remaining != 1 {
				t.Errorf("the same module again = %+v, want nothing new", res)
			}
			equal(t, "modules", moduleNames(status(t, s, "dev", -1).Modules), []string{tc.stored})
			res = apply(t, s, "dev", Change{Kind: ChangeDone, Modules: []string{tc.done}})
			equal(t, "removed", res.Removed, []string{tc.stored})
			if !res.BecameEmpty {
				t.Errorf("done = %+v, want the list empty", res)
			}
		})
	}
}

// legacyModule is a module stored as before names were normalized: its key
// is the name lowercased and nothing more.
type legacyModule struct{ name string }

func (m legacyModule) key() string { return strings.ToLower(m.name) }

// testLegacyNames: records stored before names were normalized still match.
func testLegacyNames(t *testing.T, s Store, put func(env string, m legacyModule)) {
	track(t, s, TrackRequest{Environment: "dev", Channel: "C1"})
	old := []legacyModule{{"Billing\u200b_CS"}, {"Cafe\u0301"}, {"Orders"}}
	for _, m := range old {
		put("dev", m)
	}
	equal(t, "stored", moduleNames(status(t, s, "dev", -1).Modules), []string{"Billing\u200b_CS", "Cafe\u0301", "Orders"})
	res := apply(t, s, "dev", Change{Kind: ChangeAddModules, Reason: ReasonSkipped, Modules: []string{"Billing_CS", "Caf\u00e9"}})
	equal(t, "updated", res.Updated, []string{"Billing\u200b_CS", "Cafe\u0301"})
	if len(res.Added) != 0 || res.Remaining != 3 {
		t.Errorf("re-reported = %+v, want the old records updated", res)
	}
	res = apply(t, s, "dev", Change{Kind: ChangeDone, Modules: []string{"CAF\u00c9", "billing_cs"}})
	equal(t, "removed", res.Removed, []string{"Cafe\u0301", "Billing\u200b_CS"})
	equal(t, "left", moduleNames(status(t, s, "dev", -1).Modules), []string{"Orders"})
	if res.Remaining != 1 {
		t.Errorf("remaining = %d, want 1", res.Remaining)
	}
}

func TestRedisLegacyNames(t *testing.T) {
	s, c := newTestRedisStore(t, RedisOptions{})
	ctx := context.Background()
	testLegacyNames(t, s, func(env string, m legacyModule) {
		rec, _ := json.Marshal(map[string]any{"name": m.name, "reason": ReasonFailed, "by": "U1", "at": toMillis(t0), "source": "old"})
		if _, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.HSet(ctx, s.envKey(ws, env, "modules"), m.key(), rec)
			p.ZAdd(ctx, s.envKey(ws, env, "order"), redis.Z{Score: float64(toMillis(t0) + 1<<42), Member: m.key()})
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBoltLegacyNames(t *testing.T) {
	s := newBoltStore(t, BoltOptions{})
	testLegacyNames(t, s, func(env string, m legacyModule) {
		err := s.db.Update(func(tx *bolt.Tx) error {
			eb := envBucket(tx, ws, env)
			mb, err := eb.CreateBucketIfNotExists(bktModules)
			if err != nil {
				return err
			}
			ob, err := eb.CreateBucketIfNotExists(bktOrder)
			if err != nil {
				return err
			}
			if err := putModule(mb, ob, m.key(), wireModule{Name: m.name, Reason: string(ReasonFailed), By: "U1", At: toMillis(t0), Source: "old"}); err != nil {
				return err
			}
			rec, err := loadEnv(eb)
			if err != nil {
				return err
			}
			rec.ModuleCount++
			return saveEnv(eb, rec)
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}
