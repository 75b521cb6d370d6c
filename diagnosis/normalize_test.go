package diagnosis

import (
	"strings"
	"testing"
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
