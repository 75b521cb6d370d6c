package bot

import (
	"context"
	"strings"
	"testing"
)

// Look-alike module names are one module through every path of the core:
// commands, a recorded paste, and done naming it another way.
func TestLookAlikeModuleNames(t *testing.T) {
	for _, tc := range []struct {
		name   string
		record func(t *testing.T, b *Bot) // records the module in prod
		done   string                     // names it another way, without the environment
		stored string                     // as status shows it
	}{
		{"composed, done decomposed", func(t *testing.T, b *Bot) { cmd(t, b, "C1", "U1", "failed prod: Caf\u00e9") }, "done Cafe\u0301", "Caf\u00e9"},
		{"decomposed, done composed", func(t *testing.T, b *Bot) { cmd(t, b, "C1", "U1", "failed prod: Cafe\u0301") }, "done CAF\u00c9", "Caf\u00e9"},
		{"zero-width space", func(t *testing.T, b *Bot) { cmd(t, b, "C1", "U1", "skipped prod: Billing\u200b_CS") }, "done Billing_CS", "Billing_CS"},
		{"bidi isolates and BOM", func(t *testing.T, b *Bot) { cmd(t, b, "C1", "U1", "failed prod: \u2066Orders\u2069, \ufeffOrders") }, "done orders", "Orders"},
		{"soft hyphen in done", func(t *testing.T, b *Bot) { cmd(t, b, "C1", "U1", "failed prod: Directory") }, "done Direc\u00adtory", "Directory"},
		{"pasted error", func(t *testing.T, b *Bot) {
			msg(t, b, "C1", "U1", "1.1", "prod: "+strings.Replace(producerPaste, "Billing_CS", "Billing\u200b_CS", 2))
		}, "done billing_cs", "Billing_CS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, store := newTestBot(t)
			ctx := context.Background()
			cmd(t, b, "C1", "U1", "track dev")
			cmd(t, b, "C1", "U1", "track prod")
			tc.record(t, b)
			st, err := store.Status(ctx, "T1", "prod", -1)
			if err != nil || st.ModuleCount != 1 || st.Modules[0].Name != tc.stored {
				t.Fatalf("recorded: %+v, %v; want one module %+q", st.Modules, err, tc.stored)
			}
			// done finds the environment from the name, and clears it.
			if out := text(cmd(t, b, "C1", "U1", tc.done)); !strings.Contains(out, "republished") || !strings.Contains(out, tc.stored) {
				t.Errorf("%+q: %s", tc.done, out)
			}
			if st, _ := store.Status(ctx, "T1", "prod", -1); st.ModuleCount != 0 {
				t.Errorf("after %+q: %+v", tc.done, st.Modules)
			}
		})
	}
}

func TestModuleNamesDeduplicateLookAlikes(t *testing.T) {
	b, _ := newTestBot(t)
	for _, tc := range []struct {
		args string
		want int
	}{
		{"Caf\u00e9 Cafe\u0301 CAF\u00c9", 1},
		{"Billing_CS Billing\u200b_CS \u202aBilling_CS\u202c", 1},
		{"\u200b \u2060 Orders", 1}, // names of invisible characters alone are none
		{"Cafe Caf\u00e9", 2},
	} {
		if got, _ := moduleNames(b.engine, tc.args); len(got) != tc.want {
			t.Errorf("moduleNames(%+q) = %+q, want %d names", tc.args, got, tc.want)
		}
	}
}

// A pasted name's invisible characters are never echoed: a bidi override
// would show the name reversed in the reply and on its button.
func TestPastedNameEchoedWithoutInvisibles(t *testing.T) {
	b, store := newTestBot(t)
	cmd(t, b, "C1", "U1", "track prod")
	out := text(msg(t, b, "C1", "U1", "1.1", "Upgrade Failure: Upgrade failed for Emp\u202Eloyees\u200f"))
	mustSay(t, out, "Mark Employees republished", "Employees")
	if i := strings.IndexFunc(out, func(r rune) bool {
		return r >= '\u200b' && r <= '\u200f' || r >= '\u202a' && r <= '\u202e' || r >= '\u2066' && r <= '\u2069'
	}); i >= 0 {
		t.Errorf("an invisible character echoed at %d: %+q", i, out[max(i-20, 0):])
	}
	if st, _ := store.Status(context.Background(), "T1", "prod", -1); st.ModuleCount != 1 || st.Modules[0].Name != "Employees" {
		t.Errorf("recorded %+v", st.Modules)
	}
}

// A name with a backtick, echoed in an example command, keeps the
// example's code span whole: the backtick is shown as a quote.
func TestExampleCommandKeepsItsCodeSpan(t *testing.T) {
	b, _ := newTestBot(t)
	cmd(t, b, "C1", "U1", "track dev")
	cmd(t, b, "C1", "U1", "track prod")
	for _, c := range []string{"failed \"Billing`CS\" *x*", "failed staging \"Bill`ing\"", "failed prod \"Bill`ing\""} {
		out := text(cmd(t, b, "C1", "U1", c))
		if strings.Count(out, "`")%2 != 0 || strings.Contains(out, "Billing`CS") || strings.Contains(out, "Bill`ing") {
			t.Errorf("%q: a backtick of the name breaks the example's code span:\n%s", c, out)
		}
	}
}
