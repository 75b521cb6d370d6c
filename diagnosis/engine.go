package diagnosis

import (
	"bytes"
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// Engine recognizes knowledge-base messages in text. It is safe for concurrent use.
type Engine struct {
	kb    *KB
	scan  *scanner
	tmpls []compiled
	bufs  sync.Pool
	// platform finds "platform", where a text names its version.
	platform triggerPattern
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
	var f [256]bool
	f['f'] = true
	e.platform, _ = newTriggerPattern([]byte("t"), &f)
	e.bufs.New = func() any { return &normalized{} }
	return e
}

// KB returns the engine's knowledge base.
func (e *Engine) KB() *KB { return e.kb }

// Diagnose returns every finding in text, in the order they appear.
func (e *Engine) Diagnose(text string) []Finding {
	var buf [4]region
	var sg sightings
	regions := e.scan.scan(text, buf[:0], &sg)
	if len(regions) == 0 {
		return nil
	}
	n := e.bufs.Get().(*normalized)
	var findings []Finding
	matches := n.matches[:0]
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
	if len(findings) > 0 && (sg.n > 0 || !sg.complete) {
		platform := sg.pos[:sg.n]
		if !sg.complete {
			platform = e.platformAt(text)
		}
		if v := findVersion(text, platform); v != "" {
			for i := range findings {
				findings[i].Values = append(findings[i].Values, Value{Name: "version", Text: v})
			}
		}
	}
	// The pooled buffer's matches: their values are handed on in findings,
	// and cleared so that the pool does not keep them, or the text, alive.
	clear(matches)
	n.matches = matches[:0]
	n.reset()
	e.bufs.Put(n)
	return findings
}

// matchRegion normalizes text[start:end] into n and appends the findings of
// the templates in mask, in order.
func (e *Engine) matchRegion(text string, start, end int, mask uint64, base int, n *normalized, findings []Finding, matches []matchResult) ([]Finding, []matchResult) {
	normalizeFrom(text[start:end], start == 0 || text[start-1] == '\n' || text[start-1] == '\r', n)
	first := len(findings)
	for ti := range e.tmpls {
		if mask&(1<<uint(ti%64)) == 0 {
			continue
		}
		c := &e.tmpls[ti]
		matches = c.t.findAll(n, matches[:0])
		if len(matches) > 0 && cap(findings) == 0 {
			findings = n.takeFindings()
		}
		for _, m := range matches {
			findings = append(findings, Finding{ID: c.entry.ID, Entry: c.entry, Values: m.values, Offset: base + m.start, end: base + m.end, cut: m.cut})
		}
	}
	if len(findings)-first < 2 {
		return findings, matches
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
// 22500)"), given where it says "platform". When it names several ("from
// … to …"), the one after "to" — the target of the upgrade — wins, else
// the first.
func findVersion(text string, platform []int32) string {
	var n normalized
	first := ""
	for _, p := range platform {
		// Normalize just this phrase: markup and line breaks may sit inside it.
		normalize(text[max(0, int(p)-8):min(len(text), int(p)+80)], &n)
		l := n.lower
		q := bytes.Index(l, []byte("platform"))
		if q < 0 {
			continue
		}
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
		v := n.str(n.orig[i:j])
		if precededByTo(text, int(p)) {
			return v
		}
		if first == "" {
			first = v
		}
	}
	return first
}

// skipCloseMark skips a banner's close button read by OCR as a lone "x".
func skipCloseMark(l []byte, i int) int {
	j := skipSpaces(l, i)
	if j+1 < len(l) && l[j] == 'x' && isSpace(l[j+1]) {
		return j + 1
	}
	return i
}

// platformAt returns where text says "platform", in any case, with the
// scan kernel looking for its rare pair "tf".
func (e *Engine) platformAt(text string) []int32 {
	var out []int32
	b := unsafe.Slice(unsafe.StringData(text), len(text))
	var pos [16]int32
	for at := 0; at < len(b); {
		n, next := triggerPositions(b[at:], &e.platform, pos[:])
		for _, k := range pos[:n] {
			if p := at + int(k) - 3; p >= 0 && p+8 <= len(text) && strings.EqualFold(text[p:p+8], "platform") {
				out = append(out, int32(p))
			}
		}
		at += next
	}
	return out
}

// precededByTo reports whether the word before text[p] is "to".
func precededByTo(text string, p int) bool {
	s := strings.TrimRight(text[:p], " \t\n\u00a0")
	return len(s) >= 2 && strings.EqualFold(s[len(s)-2:], "to") && (len(s) == 2 || !isWordByte(s[len(s)-3]))
}
