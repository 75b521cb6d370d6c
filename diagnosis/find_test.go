package diagnosis

import (
	"bytes"
	"testing"
)

// The pairs filter keeps every template whose anchor the text holds (in
// the search view: OCR's "Modu1es" too) and rules out those of chat.
func TestPairsFilter(t *testing.T) {
	kb := Builtin()
	for _, c := range []struct {
		name, text string
		maxKept    int // templates the filter keeps (-1: any number)
	}{
		{"chat", chatLine, 0},
		{"chat about the upgrade", upgradeChat, 6},
		{"empty", "", 0},
		{"one byte", "a", 0},
		{"a producer's message", "Producer module 'Billing_CS' hasn't been prepared for the current OutSystems environment version.", -1},
		{"read by OCR", "There were errors preparing some modu1es. PREPARING MODULES", -1},
		{"log", log40K, -1},
	} {
		n := normalize(c.text)
		held, kept := pairsOf(n.search), 0
		for _, e := range kb.entries {
			for _, m := range e.Messages {
				if held.mayHold(m.tmpl.anchor) {
					kept++
				} else if bytes.Contains(n.search, m.tmpl.anchor) {
					t.Errorf("%s: anchor %q ruled out, but the text holds it", c.name, m.tmpl.anchor)
				}
			}
		}
		if c.maxKept >= 0 && kept > c.maxKept {
			t.Errorf("%s: the filter kept %d templates, want at most %d", c.name, kept, c.maxKept)
		}
	}
}
