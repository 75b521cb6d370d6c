package bot

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/internal/redistest"
	"github.com/upgradebot/upgradebot/progress"
)

// hooked is a store that calls its hook at some calls, so that a test can
// hold one replica at a chosen point (a barrier): before "value", "claim"
// (with the key), "apply" (with the change's kind) and "setowner" (with
// the owner), after "put".
type hooked struct {
	progress.Store
	mu   sync.Mutex
	hook func(call, key string)
}

func (h *hooked) setHook(f func(call, key string)) {
	h.mu.Lock()
	h.hook = f
	h.mu.Unlock()
}

func (h *hooked) before(call, key string) {
	h.mu.Lock()
	f := h.hook
	h.mu.Unlock()
	if f != nil {
		f(call, key)
	}
}

func (h *hooked) Value(ctx context.Context, ws, key string) ([]byte, bool, error) {
	h.before("value", key)
	return h.Store.Value(ctx, ws, key)
}

func (h *hooked) PutValue(ctx context.Context, ws, key string, v []byte, ttl time.Duration) error {
	err := h.Store.PutValue(ctx, ws, key, v, ttl)
	h.before("put", key)
	return err
}

func (h *hooked) Claim(ctx context.Context, ws, key, token string, ttl time.Duration) (bool, error) {
	h.before("claim", key)
	return h.Store.Claim(ctx, ws, key, token, ttl)
}

func (h *hooked) Apply(ctx context.Context, ws, env string, c progress.Change) (progress.Result, error) {
	h.before("apply", string(c.Kind))
	return h.Store.Apply(ctx, ws, env, c)
}

func (h *hooked) SetOwner(ctx context.Context, ws, env, owner, by string, modules []string) (map[string]string, error) {
	h.before("setowner", owner)
	return h.Store.SetOwner(ctx, ws, env, owner, by, modules)
}

// rig is two replicas of the bot on one store (replicas), on a clock the test moves.
type rig struct {
	b1, b2 *Bot
	h1, h2 *hooked
	clock  *clock
}

// clock starts at testNow.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// replicas runs test with two bots on one store, as two replicas share it:
// on one bbolt file, and on two Redis connections with one key prefix
// (database 8).
func replicas(t *testing.T, test func(t *testing.T, r rig)) {
	run := func(t *testing.T, c *clock, s1, s2 progress.Store) {
		r := rig{h1: &hooked{Store: s1}, h2: &hooked{Store: s2}, clock: c}
		bot := func(h *hooked) *Bot {
			return New(Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: h, Now: c.Now, BotUserID: "UBOT"})
		}
		r.b1, r.b2 = bot(r.h1), bot(r.h2)
		test(t, r)
	}
	t.Run("bolt", func(t *testing.T) {
		c := &clock{now: testNow}
		s, err := progress.OpenBoltStore(filepath.Join(t.TempDir(), "bot.db"), progress.BoltOptions{Now: c.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		run(t, c, s, s)
	})
	t.Run("redis", func(t *testing.T) {
		c := &clock{now: testNow}
		opts := redistest.Options(t, 8)
		prefix := redistest.Prefix(t, opts)
		var stores [2]progress.Store
		for i := range stores {
			rc := redis.NewClient(opts)
			t.Cleanup(func() { rc.Close() })
			s, err := progress.NewRedisStore(rc, progress.RedisOptions{Prefix: prefix, Now: c.Now})
			if err != nil {
				t.Fatal(err)
			}
			stores[i] = s
		}
		run(t, c, stores[0], stores[1])
	})
}

// barrier returns a func that holds each of n callers until all n have called it.
func barrier(n int) func() {
	var wg sync.WaitGroup
	wg.Add(n)
	return func() { wg.Done(); wg.Wait() }
}

// listedIn are the names listed on env.
func listedIn(t *testing.T, s progress.Store, env string) []string {
	t.Helper()
	st, err := s.Status(context.Background(), "T1", env, -1)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range st.Modules {
		names = append(names, m.Name)
	}
	return names
}

// Two people answer "which environment?" at the same moment, one prod,
// one dev, on two replicas: the first choice records, the other is told
// where the message went, and each undo takes back only what was recorded.
func TestTwoChoicesAtOnce(t *testing.T) {
	replicas(t, func(t *testing.T, r rig) {
		ctx := context.Background()
		b1, b2, h1, h2 := r.b1, r.b2, r.h1, r.h2
		cmd(t, b1, "C1", "U1", "track dev")
		cmd(t, b1, "C1", "U1", "track prod")
		q := buttonsOf(msg(t, b1, "C1", "U1", "9.1", producerPaste).Reply)
		// Both read that nothing was chosen yet; then prod's click claims
		// and has written its choice before dev's click claims.
		bothRead := barrier(2)
		prodChose := make(chan struct{})
		var read1, read2, put1 sync.Once
		h1.setHook(func(call, key string) {
			switch {
			case call == "value" && strings.HasPrefix(key, "choice:"):
				read1.Do(bothRead)
			case call == "put" && strings.HasPrefix(key, "choice:"):
				put1.Do(func() { close(prodChose) })
			}
		})
		h2.setHook(func(call, key string) {
			switch {
			case call == "value" && strings.HasPrefix(key, "choice:"):
				read2.Do(bothRead)
			case call == "claim" && strings.HasPrefix(key, "choice:"):
				<-prodChose
			}
		})
		var wg sync.WaitGroup
		var prod, dev Response
		wg.Add(2)
		go func() {
			defer wg.Done()
			prod = b1.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U1", ID: "c1", ActionID: q["prod"].ActionID, Value: q["prod"].Value})
		}()
		go func() {
			defer wg.Done()
			dev = b2.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U2", ID: "c2", ActionID: q["dev"].ActionID, Value: q["dev"].Value})
		}()
		wg.Wait()
		h1.setHook(nil)
		h2.setHook(nil)

		if p, d := listedIn(t, h1, "prod"), listedIn(t, h1, "dev"); len(p) != 1 || len(d) != 0 {
			t.Fatalf("prod lists %v, dev lists %v; want the message recorded for prod alone", p, d)
		}
		if !strings.Contains(RenderText(prod.Update), "Recorded for prod") {
			t.Errorf("the prod click's reply does not say it recorded:\n%s", RenderText(prod.Update))
		}
		if got := text(dev); !dev.Private || !strings.Contains(got, "already recorded for prod") {
			t.Errorf("the dev click got %q (private %v); want it told the message is recorded for prod", got, dev.Private)
		}
		// Only U1's undo takes it back, from prod; then dev may be chosen.
		if got := text(cmd(t, b2, "C1", "U2", "undo")); !strings.Contains(got, "no change to undo") {
			t.Errorf("U2's undo: %q; U2 recorded nothing", got)
		}
		if got := text(cmd(t, b1, "C1", "U1", "undo")); !strings.Contains(got, "undid a change on prod") {
			t.Errorf("U1's undo: %q; want prod's record undone", got)
		}
		b2.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U2", ID: "c3", ActionID: q["dev"].ActionID, Value: q["dev"].Value})
		if p, d := listedIn(t, h1, "prod"), listedIn(t, h1, "dev"); len(p) != 0 || len(d) != 1 {
			t.Errorf("after the undo and a choice of dev: prod lists %v, dev lists %v", p, d)
		}
	})
}

// slackTS is a Slack message ts, d before testNow.
func slackTS(d time.Duration) string {
	at := testNow.Add(-d)
	return fmt.Sprintf("%d.%06d", at.Unix(), at.Nanosecond()/1000)
}

func TestSentAt(t *testing.T) {
	for _, tc := range []struct {
		ts   string
		want int64
	}{
		{"1764063000.123456", 1764063001123}, // clockSkew later: the latest the bot's clock read then
		{"1764063000.000001", 1764063001000},
		{"1.1", 0},                            // a test's or another transport's id: its time is unknown
		{"1764063000000000000-ABC.000001", 0}, // the shell's
		{"1764063000.12345x", 0},
		{"-5.000000", 0},
		{"", 0},
	} {
		if got := sentAt(tc.ts); got != tc.want {
			t.Errorf("sentAt(%q) = %d, want %d", tc.ts, got, tc.want)
		}
	}
}

// A message sent before a reset and handled after it (a replica's queue,
// a slow screenshot, an edit) is about the upgrade before: not recorded
// into the new one. One sent before the environment was tracked is no
// older upgrade's.
func TestPasteSentBeforeTheReset(t *testing.T) {
	const failure = "Upgrade Failure: Upgrade failed for Orders_Core"
	const refused = "came before prod's upgrade was started again"
	for _, tc := range []struct {
		name     string
		reset    bool
		ts       string
		edit     bool // the message is edited after the reset, its first version said nothing to record
		recorded bool
	}{
		{name: "sent before the reset", reset: true, ts: slackTS(30 * time.Second)},
		{name: "sent before the reset, edited after", reset: true, ts: slackTS(30 * time.Second), edit: true},
		{name: "sent at the reset", reset: true, ts: slackTS(0), recorded: true},
		{name: "sent after the reset, Slack's clock 0.5 s behind the bot's", reset: true, ts: slackTS(500 * time.Millisecond), recorded: true},
		{name: "sent 3 s before the reset", reset: true, ts: slackTS(3 * time.Second)},
		{name: "sent before tracking", ts: slackTS(time.Hour), recorded: true},
		{name: "of unknown time", reset: true, ts: "1.1", recorded: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			replicas(t, func(t *testing.T, r rig) {
				ctx := context.Background()
				b1, b2, h1 := r.b1, r.b2, r.h1
				cmd(t, b1, "C1", "U1", "track prod 11.31.0")
				if tc.reset {
					cmd(t, b2, "C2", "U2", "track prod")
					cmd(t, b2, "C2", "U2", "reset prod --yes")
				}
				m := Message{Workspace: "T1", Channel: "C1", User: "U3", TS: tc.ts, Text: failure}
				var got Response
				if tc.edit {
					m.Text = "anyone seen this?"
					b1.HandleMessage(ctx, m)
					m.Text, m.Edited = failure, slackTS(0)
					got = b1.HandleEdit(ctx, m)
				} else {
					got = b1.HandleMessage(ctx, m)
				}
				listed := listedIn(t, h1, "prod")
				if tc.recorded != (len(listed) == 1) {
					t.Errorf("prod lists %v; want recorded %v", listed, tc.recorded)
				}
				if tc.recorded == strings.Contains(text(got), refused) {
					t.Errorf("reply %q; want it to say the message came before the reset: %v", text(got), !tc.recorded)
				}
			})
		})
	}
}

// The Undo button clicked in one channel while the same change's code is
// typed in another, on two replicas: one undoes, the other is told who did.
func TestTwoUndosAtOnce(t *testing.T) {
	replicas(t, func(t *testing.T, r rig) {
		ctx := context.Background()
		cmd(t, r.b1, "C1", "U1", "track prod 11.31.0")
		cmd(t, r.b1, "C2", "U1", "track prod")
		undo := buttonsOf(cmd(t, r.b1, "C1", "U1", "failed Orders_Core Claims_Core").Announce)["Undo"]
		bothApply := barrier(2)
		for _, h := range []*hooked{r.h1, r.h2} {
			var once sync.Once
			h.setHook(func(call, kind string) {
				if call == "apply" && kind == string(progress.ChangeUndo) {
					once.Do(bothApply)
				}
			})
		}
		var wg sync.WaitGroup
		var got [2]Response
		wg.Add(2)
		go func() {
			defer wg.Done()
			got[0] = r.b1.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U1", ID: "x1", ActionID: undo.ActionID, Value: undo.Value})
		}()
		go func() {
			defer wg.Done()
			got[1] = r.b2.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C2", User: "U2", ID: "x2", Text: undo.Command})
		}()
		wg.Wait()
		r.h1.setHook(nil)
		r.h2.setHook(nil)

		winner, loser := 0, 1
		if got[0].Announce == nil {
			winner, loser = 1, 0
		}
		if got[winner].Announce == nil || got[loser].Announce != nil {
			t.Fatalf("want one undo announced: %q, %q", text(got[0]), text(got[1]))
		}
		by := []string{"U1", "U2"}[winner]
		if l := got[loser]; !l.Private || !strings.Contains(text(l), "That was undone already, by "+by) {
			t.Errorf("the other undo got %q (private %v); want told %s undid it", text(l), l.Private, by)
		}
		if listed := listedIn(t, r.h1, "prod"); len(listed) != 0 {
			t.Errorf("prod lists %v after the undo", listed)
		}
	})
}

// What the core decides on a read (a paste's guard, a reset's undo) is
// written only while no change came between the read and the write: each
// race ends as one of its two orders would have, on two replicas.
func TestDecidedOnWhatItRead(t *testing.T) {
	const summary = "40 modules prepared successfully, 1 modules failed and 0 modules skipped."
	for _, tc := range []struct {
		name string
		// setUp runs on b1 in C1 (prod, tracked from C1 and C2).
		setUp func(t *testing.T, r rig) Button
		// race: the first run's decision; between, on b2, the change that lands before its write.
		race    func(ctx context.Context, r rig, undo Button) Response
		kind    progress.ChangeKind
		between string
		listed  []string
		say     string // the raced reply says
	}{
		{
			name:  "a paste naming a module marked republished meanwhile",
			setUp: func(t *testing.T, r rig) Button { cmd(t, r.b1, "C1", "U1", "failed Orders_Core"); return Button{} },
			race: func(ctx context.Context, r rig, _ Button) Response {
				return r.b1.HandleMessage(ctx, Message{Workspace: "T1", Channel: "C1", User: "U3", TS: slackTS(-time.Second), Text: "Upgrade Failure: Upgrade failed for Orders_Core"})
			},
			kind: progress.ChangeAddModules, between: "done Orders_Core",
			say: "was marked republished",
		},
		{
			name:  "a paste beyond Service Center's count, another reported meanwhile",
			setUp: func(t *testing.T, r rig) Button { msg(t, r.b1, "C1", "U1", "1.1", summary); return Button{} },
			race: func(ctx context.Context, r rig, _ Button) Response {
				return r.b1.HandleMessage(ctx, Message{Workspace: "T1", Channel: "C1", User: "U3", TS: slackTS(-time.Second), Text: "Upgrade Failure: Upgrade failed for Orders_Core"})
			},
			kind: progress.ChangeAddModules, between: "failed Claims_Core",
			listed: []string{"Claims_Core"}, say: "counted 1 failed module there, and as many are named already",
		},
		{
			name: "a reset's undo, the new upgrade's first news meanwhile",
			setUp: func(t *testing.T, r rig) Button {
				cmd(t, r.b1, "C1", "U1", "failed Old_Core")
				return buttonsOf(cmd(t, r.b1, "C1", "U1", "reset prod --yes").Announce)["Undo"]
			},
			race: func(ctx context.Context, r rig, undo Button) Response {
				return r.b1.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U1", ID: "x1", ActionID: undo.ActionID, Value: undo.Value})
			},
			kind: progress.ChangeUndo, between: "failed New_Core",
			listed: []string{"New_Core"}, say: "prod's new upgrade has news since the reset",
		},
		{
			name:  "a paste sent before a reset that lands before its write",
			setUp: func(t *testing.T, r rig) Button { cmd(t, r.b1, "C1", "U1", "failed Old_Core"); return Button{} },
			race: func(ctx context.Context, r rig, _ Button) Response {
				return r.b1.HandleMessage(ctx, Message{Workspace: "T1", Channel: "C1", User: "U3", TS: slackTS(time.Minute), Text: "Upgrade Failure: Upgrade failed for Orders_Core"})
			},
			kind: progress.ChangeAddModules, between: "reset prod --yes",
			say: "That message came before prod's upgrade was started again",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			replicas(t, func(t *testing.T, r rig) {
				ctx := context.Background()
				cmd(t, r.b1, "C1", "U1", "track prod 11.31.0")
				cmd(t, r.b2, "C2", "U2", "track prod")
				undo := tc.setUp(t, r)
				var once sync.Once
				r.h1.setHook(func(call, kind string) {
					if call == "apply" && kind == string(tc.kind) {
						once.Do(func() { cmd(t, r.b2, "C2", "U2", tc.between) })
					}
				})
				got := tc.race(ctx, r, undo)
				r.h1.setHook(nil)
				if listed := listedIn(t, r.h1, "prod"); !slices.Equal(listed, tc.listed) {
					t.Errorf("prod lists %v; want %v\nreply: %s", listed, tc.listed, text(got))
				}
				mustSay(t, text(got), tc.say)
			})
		})
	}
}

// A message sent before a reset and handled after it (a queue, the
// journal), or edited after it, is refused when its environment is chosen
// by a click, as when the channel follows one environment: the click's
// check goes by when it was sent, not when it was last kept.
func TestChooseEnvSentBeforeReset(t *testing.T) {
	const failure = "Upgrade Failure: Upgrade failed for Orders_Core"
	for _, edited := range []bool{false, true} {
		t.Run(map[bool]string{false: "handled late", true: "edited"}[edited], func(t *testing.T) {
			replicas(t, func(t *testing.T, r rig) {
				ctx := context.Background()
				cmd(t, r.b1, "C1", "U1", "track prod 11.31.0")
				cmd(t, r.b1, "C1", "U1", "track qa 11.31.0")
				m := Message{Workspace: "T1", Channel: "C1", User: "U3", TS: slackTS(30 * time.Second), Text: failure}
				var got Response
				if edited {
					m.Text = "anyone seen this?"
					r.clock.Add(-time.Minute)
					r.b1.HandleMessage(ctx, m)
					r.clock.Add(time.Minute)
				}
				cmd(t, r.b2, "C1", "U2", "reset prod --yes")
				if edited {
					m.Text, m.Edited = failure, slackTS(-time.Second)
					got = r.b1.HandleEdit(ctx, m)
				} else {
					got = r.b1.HandleMessage(ctx, m)
				}
				choice, ok := buttonsOf(got.Reply)["prod"]
				if !ok {
					t.Fatalf("no choice of environment:\n%s", text(got))
				}
				res := r.b1.HandleAction(ctx, Action{Workspace: "T1", Channel: "C1", User: "U2", ID: "c1", ActionID: choice.ActionID, Value: choice.Value})
				if listed := listedIn(t, r.h1, "prod"); len(listed) != 0 {
					t.Errorf("prod lists %v; want none\nreply: %s", listed, text(res))
				}
				mustSay(t, text(res), "came before prod's upgrade was started again")
			})
		})
	}
}
