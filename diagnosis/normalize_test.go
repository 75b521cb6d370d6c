package diagnosis

import (
	"slices"
	"strings"
	"testing"
)

// TestNormalize pins what normalize makes of markup and layout: every
// case is also run with text before it, so it does not start the text.
func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Producer module 'Billing_CS'", "Producer module 'Billing_CS'"},
		{"two  spaces", "two spaces"},
		{"abc   d", "abc d"},
		{"abcd  efgh  ijkl", "abcd efgh ijkl"},
		{"line one\nline two", "line one\nline two"},
		{"line one \nline two", "line one\nline two"},
		{"line one\n\n\nline two", "line one\nline two"},
		{"see\n> quoted text", "see\nquoted text"},
		{"see\n- a bullet", "see\na bullet"},
		{"see\n-5 degrees", "see\n-5 degrees"},
		{"see\n1. first item", "see\nfirst item"},
		{"at\n2024-03-12 10:15:02 ERROR", "at\n2024-03-12 10:15:02 ERROR"},
		{"a _stressed_ word", "a stressed word"},
		{"a *bold* word", "a bold word"},
		{"snake_case_name and a*b", "snake_case_name and a*b"},
		{"Billing__CS, Sales~~Core and a**b", "Billing__CS, Sales~~Core and a**b"}, // a run inside a word is part of it
		{"a **bold** and __underlined__ word", "a bold and underlined word"},
		{"*_Billing__CS_*", "Billing__CS"},
		{"'Billing_\nCS' and 'Billing\r\n_CS'", "'Billing_\nCS' and 'Billing\n_CS'"}, // a hard wrap beside a name's underscore
		{"_an italic line_\n_and another_", "an italic line\nand another"},
		{"_italics open\n_italics close_", "italics open\nitalics close"}, // Slack's italics close on their line
		{"_wrapped italics in Billing_\nCS", "wrapped italics in Billing\nCS"},
		{"a ** b", "a ** b"},
		{"Producer: module", "Producer: module"},
		{"time 10:15:02", "time 10:15:02"},
		{"an :emoji: here", "an here"},
		{"a `code` span", "a\ncode\nspan"},                           // a part in code stands apart, as on a line of its own
		{"see `Some words here` now", "see \"Some words here\" now"}, // code holding a message quotes it, as "…" does
		{"a ```code``` block", "a\ncode\nblock"},                     // a code block stands apart, as on a line of its own
		{"R&amp;D &lt;x&gt;", "R&D <x>"},
		{"tab\there", "tab\there"},
		{"crlf\r\nnext", "crlf\nnext"},
		{"x\u00a0y\u200bz", "x yz"},
		{"Emp\u202Eloyees \u2066Orders\u2069\u200f", "Employees Orders"},
		{"\x1b[31mfailed\x1b[0m for \x1b[1;33mOrders_IS\x1b[0m", "failed for Orders_IS"}, // a CI log's colours
		{"a\x1bb", "ab"},
		{"Orders_IS\x1b(B\x1b[m done", "Orders_IS done"},                      // tput sgr0
		{"\x1b]8;;https://x.io\x07link\x1b]8;;\x1b\\ here", "link here"},      // a link
		{"\x1b[1éx \x1b]8;;unended", "éx ]8;;unended"},                        // no final byte, no end: only ESC goes
		{"Evil\u009b2J_CS and \u009dx", "Evil 2J_CS and x"},                   // C1 controls a terminal would act on
		{"by ana@x.com <mailto:ana@x.com> at 10:00", "by ana@x.com at 10:00"}, // Outlook's address and its link
		{"see https://x.io <https://x.io>", "see https://x.io"},
	}
	for _, tt := range tests {
		for pad := range 5 {
			prefix := strings.Repeat("w", pad+1) + " "
			n := normalize(prefix + tt.in)
			got := strings.TrimPrefix(string(n.orig), prefix)
			if got != tt.want {
				t.Errorf("normalize(%q) = %q, want %q", prefix+tt.in, got, tt.want)
			}
			if string(n.lower) != strings.ToLower(string(n.orig)) {
				t.Errorf("normalize(%q): lower %q is not orig %q lowercased", prefix+tt.in, n.lower, n.orig)
			}
		}
	}
}

// TestFindingsKeepTheirValues checks the findings of one text, which
// share allocations for their values, against each message diagnosed
// alone, with the version the engine adds to all; a later text does not
// change them.
func TestFindingsKeepTheirValues(t *testing.T) {
	e := New(Builtin())
	msgs := []string{
		"Producer module 'Billing_CS' hasn't been prepared for the current OutSystems environment version.",
		"The 1-Click Publish started by jane.doe at 2024-03-12 10:15:02 can't proceed because there is an ongoing Modules upgrade, started by Compiler Service at 2024-03-12 10:01:44, that is locking 'Directory' module.",
		"Producer module 'Orders & Co' hasn't been prepared for the current OutSystems environment version.",
		"The 1-Click Publish started by ACME\\jdoe at 3/12/2024 10:15 AM can't proceed because there is an ongoing Modules upgrade, started by Compiler Service at 3/12/2024 10:01 AM, that is locking 'HR-API' module.",
		"There were errors preparing some modules.\n26 modules prepared successfully, 1 modules failed and 3 modules skipped.",
	}
	var want [][]Value
	for _, m := range msgs {
		fs := e.Diagnose(m)
		if len(fs) == 0 {
			t.Fatalf("Diagnose(%q) found nothing", m)
		}
		for _, f := range fs {
			want = append(want, append(slices.Clone(f.Values), Value{Name: "version", Text: "11.31.0"}))
		}
	}
	text := "Upgrading to Platform Server 11.31.0, we got:\n" + strings.Join(msgs, "\n\nthen\n\n")
	got := e.Diagnose(text)
	e.Diagnose(strings.ToUpper(text))
	if len(got) != len(want) {
		t.Fatalf("found %d, want %d", len(got), len(want))
	}
	for i, f := range got {
		if !slices.Equal(f.Values, want[i]) {
			t.Errorf("finding %d (%s): values %+v, want %+v", i, f.ID, f.Values, want[i])
		}
	}
}

// Plain folds a pasted grid's cell as the diagnosis reads a message.
func TestPlain(t *testing.T) {
	for in, want := range map[string]string{
		"R&amp;D_Tools":                  "R&D_Tools",
		"<http://Billing.io|Billing.io>": "Billing.io",
		"<http://Billing.io>":            "http://Billing.io",
		" :warning: *Orders_UI* ":        "Orders_UI",
		"Billing_CS":                     "Billing_CS",
	} {
		if got := Plain(in); got != want {
			t.Errorf("Plain(%q) = %q, want %q", in, got, want)
		}
	}
}
