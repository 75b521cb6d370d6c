package bot

import (
	"context"
	"strings"
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
