package diagnosis

import (
	"bytes"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzDiagnose checks that no input panics the normalizer or the matcher,
// and that every value found is valid, trimmed text.
func FuzzDiagnose(f *testing.F) {
	for _, c := range loadCorpus(f, "corpus.json") {
		f.Add(c.Text)
	}
	f.Add(strings.Repeat("Producer module '", 50))
	f.Add(strings.Repeat("The 1-Click Publish started by ", 30))
	e := New(Builtin())
	f.Fuzz(func(t *testing.T, text string) {
		for _, fd := range e.Diagnose(text) {
			for _, v := range fd.Values {
				if v.Kind == ValueText && (v.Text == "" || strings.TrimSpace(v.Text) != v.Text) {
					t.Errorf("%s: value %s = %q is empty or untrimmed", fd.ID, v.Name, v.Text)
				}
				if utf8.ValidString(text) && !utf8.ValidString(v.Text) {
					t.Errorf("%s: value %s = %q is not valid UTF-8", fd.ID, v.Name, v.Text)
				}
			}
		}
	})
}

// adversarial inputs make the matcher try hard at every position: partial
// messages that never complete, open quotes, anchor words at every few
// bytes, versions named over and over beside a finding.
var adversarial = []struct {
	name string
	unit string
}{
	{"blocked-prefixes", "The 1-Click Publish started by x at "},
	{"open-quotes", "Producer module 'a "},
	{"triggers", "pPqQ upgrade prepar "},
	{"anchors", "There were errors preparing "},
	{"versions", "Upgrade failed for X Platform Server 1.2 "},
	{"summary-numbers", "1 modules prepared successfully, 2 modules failed and "},
	{"links", "<mailto:a@b|"},
	{"markup", "*_~`:x:&amp;"},
}

// TestLinearTime checks that the work grows linearly up to Slack's 40,000
// characters: ten times the input may cost ten times the time, with a wide
// margin for a noisy machine, never the hundred times of a quadratic matcher.
// It times the engine, so like TestBenchmarkGoals it runs only with
// UPGRADEBOT_BENCH_GOALS=1 (.ci/run runs both alone, on a quiet machine).
func TestLinearTime(t *testing.T) {
	if os.Getenv("UPGRADEBOT_BENCH_GOALS") == "" {
		t.Skip("set UPGRADEBOT_BENCH_GOALS=1 to time the engine on adversarial input")
	}
	e := New(Builtin())
	for _, a := range adversarial {
		t.Run(a.name, func(t *testing.T) {
			small := strings.Repeat(a.unit, 4000/len(a.unit)+1)[:4000]
			large := strings.Repeat(a.unit, 40000/len(a.unit)+1)[:40000]
			ts, tl := fastest(func() { e.Diagnose(small) }), fastest(func() { e.Diagnose(large) })
			ratio := float64(tl) / float64(max(ts, 1))
			t.Logf("4 KB %v, 40 KB %v: ratio %.1f (linear: 10)", ts, tl, ratio)
			if ratio > 35 {
				t.Errorf("10x the input took %.1fx the time: not linear", ratio)
			}
		})
	}
}

// fastest returns the shortest of several runs, the least disturbed by other load.
func fastest(f func()) time.Duration {
	best := time.Duration(1 << 62)
	for range 7 {
		start := time.Now()
		f()
		best = min(best, time.Since(start))
	}
	return best
}

// listLike matches a line that may start with a list or quote marker.
var listLike = regexp.MustCompile(`(?m)^[ \t]*([-+*>0-9]|\x{2022}|\x{25e6}|\x{25aa}|\x{2023})`)

// FuzzNormalize checks what the later steps rely on: the three views have
// the same length, lower is orig lowercased and search is lower with the
// confusable characters folded; whitespace runs are one byte; valid text
// stays valid; and normalizing again changes nothing, so nothing is left
// half-folded. Markup and entities are left out of that last check, as
// removing them may make more ("&amp;lt;", ":a*+0:" is ":a+0:"), and so
// are lines that start like a list item.
func FuzzNormalize(f *testing.F) {
	f.Add("2024-03-12 10:15:02 ERROR Old Producer: Producer module 'Billing_CS' hasn't been prepared.\n")
	f.Add("snake_case and a*b\n-5 degrees\n12) x\n> *quoted* :x: <http://a|b> \u2019s\u00a0\u200b")
	f.Add(`{"m":"Producer \u0027X\u0027\r\n\u00a0\"Y\" C:\\temp\tnew \ud83d\u0000\\"}`)
	f.Fuzz(func(t *testing.T, s string) {
		n := normalize(s)
		if len(n.lower) != len(n.orig) || len(n.search) != len(n.orig) {
			t.Fatalf("normalize(%q): views of %d, %d and %d bytes", s, len(n.orig), len(n.lower), len(n.search))
		}
		for k, c := range n.orig {
			if n.lower[k] != lowerByte(c) || n.search[k] != confusable(n.lower[k]) {
				t.Fatalf("normalize(%q): byte %d is %q, %q, %q", s, k, c, n.lower[k], n.search[k])
			}
			if c == '\r' || isSpace(c) && k > 0 && isSpace(n.orig[k-1]) {
				t.Fatalf("normalize(%q) = %q: whitespace not folded at %d", s, n.orig, k)
			}
		}
		if utf8.ValidString(s) && !utf8.Valid(n.orig) {
			t.Fatalf("normalize(%q) = %q is not valid UTF-8", s, n.orig)
		}
		// The pairs filter never rules out a word the search view holds.
		held := pairsOf(n.search)
		for _, w := range bytes.Fields(n.search) {
			if !held.mayHold(w) || len(w) > 1 && !held.mayHold(w[len(w)/2:]) {
				t.Fatalf("normalize(%q): the pairs filter rules out %q, which the search view %q holds", s, w, n.search)
			}
		}
		if utf8.ValidString(s) && !strings.ContainsAny(s, "&<*_~:`\\") && !listLike.Match(n.orig) { // an escape is read once
			if again := normalize(string(n.orig)); string(again.orig) != string(n.orig) {
				t.Fatalf("normalize(%q) = %q, normalized again %q", s, n.orig, again.orig)
			}
		}
	})
}
