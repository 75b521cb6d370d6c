package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/upgradebot/upgradebot/diagnosis"
	"github.com/upgradebot/upgradebot/progress"
)

// unreplicated is a store whose writes are recorded but not confirmed by a
// Redis replica (WAIT timed out).
type unreplicated struct{ progress.Store }

func (s unreplicated) Apply(ctx context.Context, ws, env string, c progress.Change) (progress.Result, error) {
	res, err := s.Store.Apply(ctx, ws, env, c)
	res.NotReplicated = err == nil
	return res, err
}

func (s unreplicated) Track(ctx context.Context, req progress.TrackRequest) (progress.TrackResult, error) {
	res, err := s.Store.Track(ctx, req)
	res.NotReplicated = err == nil
	return res, err
}

// A change recorded but not confirmed by a replica says so, once per reply;
// a confirmed one says nothing of replicas.
func TestNotReplicatedNote(t *testing.T) {
	const note = "Recorded, not yet on a replica; repeating it is safe."
	plain, _ := newTestBot(t)
	_, store := newTestBot(t)
	b := New(Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: unreplicated{store}, Now: plain.now, BotUserID: "UBOT"})
	for _, tc := range []struct {
		name string
		send func(b *Bot) string
	}{
		{"track", func(b *Bot) string { return text(cmd(t, b, "C1", "U1", "track qa")) }},
		{"failed", func(b *Bot) string { return text(cmd(t, b, "C1", "U1", "failed A B")) }},
		{"pasted error", func(b *Bot) string { return text(msg(t, b, "C1", "U1", "1.1", producerPaste)) }},
		{"done", func(b *Bot) string { return text(cmd(t, b, "C1", "U1", "done A")) }},
		{"reset", func(b *Bot) string { return text(cmd(t, b, "C1", "U1", "reset qa --yes")) }},
	} {
		got := tc.send(b)
		if strings.Count(got, note) != 1 {
			t.Errorf("%s, not replicated: want the note once in %q", tc.name, got)
		}
		if got := tc.send(plain); got == "" || strings.Contains(got, "replica") {
			t.Errorf("%s, replicated: %q mentions replicas", tc.name, got)
		}
	}
}

// Two replicas (two bots on one store) take in the same news at once, as
// after two people paste it in one channel: the milestone is announced
// once, decided by the state each write itself saw, not by what each
// request read before the other wrote.
func TestMilestoneOnceAcrossReplicas(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		ctx := context.Background()
		msgAs := func(b *Bot, ts string) Response {
			return b.HandleMessage(ctx, Message{Workspace: "T1", Channel: "C1", User: "U" + ts, TS: ts, Text: prepFailedPaste})
		}
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		msg(t, b, "C1", "U1", "4.0", preparingPaste)
		var wg sync.WaitGroup
		wg.Add(2)
		arrive := func() { wg.Done(); wg.Wait() } // each waits for the other
		var bots [2]*Bot
		for i := range bots {
			h := &hooked{Store: store} // each change of state waits until both have reached the store
			h.setHook(func(call, kind string) {
				if call == "apply" && kind == string(progress.ChangeState) {
					arrive()
				}
			})
			bots[i] = New(Options{Engine: diagnosis.New(diagnosis.Builtin()), Store: h, Now: b.now, BotUserID: "UBOT"})
		}
		var got [2]Response
		var done sync.WaitGroup
		for i, r := range bots {
			done.Add(1)
			go func() { defer done.Done(); got[i] = msgAs(r, fmt.Sprintf("4.%d", i+1)) }()
		}
		done.Wait()
		if n := btoi(got[0].Milestone != nil) + btoi(got[1].Milestone != nil); n != 1 {
			t.Errorf("the milestone announced %d times, want once", n)
		}
	})
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// A take that reads the list, then writes its owner after someone marked
// the module republished (another replica, another channel): the module
// left the list, so it is given back and the taker told, rather than an
// owner staying on a module off the list.
func TestTakeRacingDone(t *testing.T) {
	eachStore(t, func(t *testing.T, b *Bot, store progress.Store) {
		ctx := context.Background()
		cmd(t, b, "C1", "U1", "track prod 11.31.0")
		cmd(t, b, "C1", "U1", "failed Orders_Core Claims_Core")
		h := &hooked{Store: store} // U2's done lands between U3's read of the list and its write
		var once sync.Once
		h.setHook(func(call, owner string) {
			if call == "setowner" && owner == "U3" {
				once.Do(func() { cmd(t, b, "C1", "U2", "done Orders_Core") })
			}
		})
		taker := New(Options{Engine: diagnosis.New(diagnosis.Builtin()), Now: b.now, BotUserID: "UBOT", Store: h})
		out := text(taker.HandleCommand(ctx, Command{Workspace: "T1", Channel: "C1", User: "U3", ID: "take", Text: "take Orders_Core Claims_Core"}))
		mustSay(t, out, "U3 took Claims_Core on prod.", "Left the list as you took them, so not yours: Orders_Core.")
		owners, err := store.ModuleOwners(ctx, "T1", "prod")
		if err != nil || owners["orders_core"] != "" || owners["claims_core"] != "U3" {
			t.Errorf("owners %v, %v; want Claims_Core only, U3's", owners, err)
		}
		// The history that says U3 took Orders_Core says they gave it back.
		hist, _ := store.History(ctx, "T1", "prod")
		if last := hist[len(hist)-1]; last.Actor != "U3" || last.Action != progress.ActionRelease || !strings.Contains(last.Detail, "Orders_Core") {
			t.Errorf("history ends with %+v, want U3's release of Orders_Core", last)
		}
	})
}
