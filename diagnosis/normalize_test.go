package diagnosis

import (
	"strings"
	"testing"
	"unsafe"
)

// TestNormalize pins what normalize makes of markup and layout, in
// particular where its fast path copies bytes as they are: every case
// is also run with text before it, so it lands at each alignment of the
// four-byte steps.
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
		{"Producer: module", "Producer: module"},
		{"time 10:15:02", "time 10:15:02"},
		{"an :emoji: here", "an here"},
		{"a `code` span", "a code span"},
		{"R&amp;D &lt;x&gt;", "R&D <x>"},
		{"tab\there", "tab\there"},
		{"crlf\r\nnext", "crlf\nnext"},
		{"x\u00a0y\u200bz", "x yz"},
	}
	for _, tt := range tests {
		for pad := range 5 {
			prefix := strings.Repeat("w", pad+1) + " "
			var n normalized
			normalize(prefix+tt.in, &n)
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
// share one allocation for their values, each with its own module and
// the version the engine adds to all; the second text, pasted as it is,
// gets values cut from it, and a third text does not change them.
func TestFindingsKeepTheirValues(t *testing.T) {
	e := New(Builtin())
	prod := func(m string) string {
		return "Producer module '" + m + "' hasn't been prepared for the current OutSystems environment version. "
	}
	texts := []struct {
		text    string
		modules []string
	}{
		{"After the upgrade to Platform Server 11.31.0:\n" + prod("Billing_CS") + "\nand\n" + prod("Orders & Co") + "\n" + prod("HR-API") + "\nalso\n" + prod("Stock"), []string{"Billing_CS", "Orders & Co", "HR-API", "Stock"}},
		{"log: Platform Server 11.31.0 " + prod("Billing_CS") + "done", []string{"Billing_CS"}},
	}
	var all [][]Finding
	for _, tt := range texts {
		fs := e.Diagnose(tt.text)
		if len(fs) != len(tt.modules) {
			t.Fatalf("Diagnose(%q) found %d, want %d", tt.text, len(fs), len(tt.modules))
		}
		all = append(all, fs)
	}
	e.Diagnose(strings.ToUpper(texts[1].text))
	for i, tt := range texts {
		for k, f := range all[i] {
			if got := f.Text("module"); got != tt.modules[k] {
				t.Errorf("text %d finding %d: module %q, want %q", i, k, got, tt.modules[k])
			}
			if got := f.Text("version"); got != "11.31.0" {
				t.Errorf("text %d finding %d: version %q, want 11.31.0", i, k, got)
			}
			if len(f.Values) != 2 {
				t.Errorf("text %d finding %d: values %+v, want module and version", i, k, f.Values)
			}
		}
	}
}

// TestResetForgetsText checks that a pooled buffer lets go of a text it
// took as it is, and gets its own buffer back for the next one.
func TestResetForgetsText(t *testing.T) {
	var n normalized
	normalizeFrom("two  spaces", false, &n) // folded: n owns orig
	own := &n.orig[:1][0]
	text := "Producer module 'Billing_CS' hasn't been prepared"
	normalizeFrom(text, false, &n)
	if !n.asIs || &n.orig[0] != unsafe.StringData(text) {
		t.Fatalf("a plain text was not taken as it is")
	}
	n.reset()
	if n.asIs || len(n.orig) > 0 && &n.orig[0] == unsafe.StringData(text) {
		t.Fatalf("reset kept the text")
	}
	normalizeFrom("two  spaces", false, &n)
	if &n.orig[:1][0] != own {
		t.Errorf("the buffer's own bytes were not reused")
	}
	if string(n.orig) != "two spaces" {
		t.Errorf("orig = %q", n.orig)
	}
}
