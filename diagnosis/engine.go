package diagnosis

import (
	"bytes"
	"slices"
	"strings"
	"sync"
)

// Engine recognizes knowledge-base messages in text. It is safe for concurrent use.
type Engine struct {
	kb    *KB
	scan  *scanner
	tmpls []compiled
	bufs  sync.Pool
}

type compiled struct {
	entry *Entry
	t     *template
}

// New returns an engine for the knowledge base.
func New(kb *KB) *Engine {
	e := &Engine{kb: kb}
	for _, entry := range kb.entries {
		for i := range entry.Messages {
			e.tmpls = append(e.tmpls, compiled{entry: entry, t: entry.Messages[i].tmpl})
		}
	}
	ts := make([]*template, len(e.tmpls))
	for i, c := range e.tmpls {
		ts[i] = c.t
	}
	e.scan = newScanner(ts)
	e.bufs.New = func() any { return &normalized{} }
	return e
}

// KB returns the engine's knowledge base.
func (e *Engine) KB() *KB { return e.kb }

// Diagnose returns every finding in text, in the order they appear.
func (e *Engine) Diagnose(text string) []Finding {
	regions := e.scan.regions(text)
	if len(regions) == 0 {
		return nil
	}
	n := e.bufs.Get().(*normalized)
	defer e.bufs.Put(n)
	var findings []Finding
	var matches []matchResult
	base, done := 0, 0
	for _, r := range regions {
		// Windows never overlap, so no message is found twice.
		start, end := max(r.start, done), r.end
		if start >= end {
			continue
		}
		first := len(findings)
		findings, matches = e.matchRegion(text, start, end, r.mask, base, n, findings, matches)
		// A window sized for usual values may cut a message with long ones:
		// widen it when nothing was found or a message stopped short.
		widen := len(findings) == first
		for _, f := range findings[first:] {
			widen = widen || f.cut
		}
		if widen && (max(r.fullStart, done) < start || r.fullEnd > end) {
			findings = findings[:first]
			start, end = max(r.fullStart, done), r.fullEnd
			findings, matches = e.matchRegion(text, start, end, r.mask, base, n, findings, matches)
		}
		base += len(n.lower) + 1
		done = end
	}
	// The version a message names applies to all its findings, wherever it stands.
	if len(findings) > 0 {
		if v := findVersion(text); v != "" {
			for i := range findings {
				findings[i].Values = append(findings[i].Values, Value{Name: "version", Text: v})
			}
		}
	}
	return findings
}

// matchRegion normalizes text[start:end] into n and appends the findings of
// the templates in mask, in order.
func (e *Engine) matchRegion(text string, start, end int, mask uint64, base int, n *normalized, findings []Finding, matches []matchResult) ([]Finding, []matchResult) {
	normalize(text[start:end], n)
	first := len(findings)
	for ti := range e.tmpls {
		if mask&(1<<uint(ti%64)) == 0 {
			continue
		}
		c := &e.tmpls[ti]
		matches = c.t.findAll(n, matches[:0])
		for _, m := range matches {
			findings = append(findings, Finding{ID: c.entry.ID, Entry: c.entry, Values: m.values, Offset: base + m.start, end: base + m.end, cut: m.cut})
		}
	}
	slices.SortStableFunc(findings[first:], func(a, b Finding) int { return a.Offset - b.Offset })
	// Two messages of one entry may cover the same text: keep the first.
	kept := slices.CompactFunc(findings[first:], func(a, b Finding) bool {
		return a.ID == b.ID && max(a.Offset, b.Offset) < min(a.end, b.end)
	})
	return findings[:first+len(kept)], matches
}

// findVersion returns the Platform Server version the text names
// ("Platform Server 11.31.0", "Platform Server version: 11.10.0 (Build
// 22500)"). When it names several ("from … to …"), the one after "to" —
// the target of the upgrade — wins, else the first.
func findVersion(text string) string {
	var n normalized
	first := ""
	for from := 0; ; {
		p := indexFold(text, from, "platform")
		if p < 0 {
			return first
		}
		from = p + 1
		// Normalize just this phrase: markup and line breaks may sit inside it.
		normalize(text[max(0, p-8):min(len(text), p+80)], &n)
		l := n.lower
		q := bytes.Index(l, []byte("platform"))
		i, ok := matchWord(l, skipCloseMark(l, q+len("platform")), "server")
		if !ok {
			continue
		}
		if j, ok := matchWord(l, skipCloseMark(l, i), "version"); ok {
			i = j
		}
		i = skipSpaces(l, i)
		if i < len(l) && l[i] == ':' {
			i++
		}
		i = skipSpaces(l, i)
		j, dots := i, 0
		for j < len(l) && (l[j] >= '0' && l[j] <= '9' || l[j] == '.' && j+1 < len(l) && l[j+1] >= '0' && l[j+1] <= '9' && j > i) {
			if l[j] == '.' {
				dots++
			}
			j++
		}
		if dots == 0 || wordStartsAt(l, j) {
			continue
		}
		v := string(n.orig[i:j])
		if precededByTo(text, p) {
			return v
		}
		if first == "" {
			first = v
		}
	}
}

// skipCloseMark skips a banner's close button read by OCR as a lone "x".
func skipCloseMark(l []byte, i int) int {
	j := skipSpaces(l, i)
	if j+1 < len(l) && l[j] == 'x' && isSpace(l[j+1]) {
		return j + 1
	}
	return i
}

// indexFold finds the lowercase word w in text from i, ignoring ASCII case.
// It keeps the next place of each case of w's first letter, so each is
// searched once: linear in the text.
func indexFold(text string, i int, w string) int {
	next := func(c byte, from int) int {
		if j := strings.IndexByte(text[from:], c); j >= 0 {
			return from + j
		}
		return len(text)
	}
	lo, up := next(w[0], i), next(w[0]-'a'+'A', i)
	for {
		p := min(lo, up)
		if p+len(w) > len(text) {
			return -1
		}
		if strings.EqualFold(text[p:p+len(w)], w) {
			return p
		}
		if p == lo {
			lo = next(w[0], p+1)
		} else {
			up = next(w[0]-'a'+'A', p+1)
		}
	}
}

// precededByTo reports whether the word before text[p] is "to".
func precededByTo(text string, p int) bool {
	s := strings.TrimRight(text[:p], " \t\n\u00a0")
	return len(s) >= 2 && strings.EqualFold(s[len(s)-2:], "to") && (len(s) == 2 || !isWordByte(s[len(s)-3]))
}
