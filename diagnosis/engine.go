package diagnosis

import (
	"bytes"
	"slices"
)

// Engine recognizes knowledge-base messages in text. It is safe for
// concurrent use. Diagnose runs the pipeline: normalize (normalize.go),
// find candidates (find.go), match (match.go), read values (values.go).
type Engine struct {
	kb    *KB
	tmpls []compiled
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
	return e
}

// KB returns the engine's knowledge base.
func (e *Engine) KB() *KB { return e.kb }

// Diagnose returns every finding in text, in the order they appear.
func (e *Engine) Diagnose(text string) []Finding {
	n := normalize(text)
	var findings []Finding
	for _, c := range e.tmpls {
		for _, m := range c.t.findAll(n) {
			findings = append(findings, Finding{ID: c.entry.ID, Entry: c.entry, Values: m.values, Offset: m.start, end: m.end})
		}
	}
	if len(findings) == 0 {
		return nil
	}
	slices.SortStableFunc(findings, func(a, b Finding) int { return a.Offset - b.Offset })
	// Two messages of one entry may cover the same text: keep the first.
	findings = slices.CompactFunc(findings, func(a, b Finding) bool {
		return a.ID == b.ID && max(a.Offset, b.Offset) < min(a.end, b.end)
	})
	// The version a message names applies to all its findings, wherever it stands.
	if v := findVersion(n); v != "" {
		for i := range findings {
			findings[i].Values = append(findings[i].Values, Value{Name: "version", Text: v})
		}
	}
	return findings
}

// findVersion returns the Platform Server version the text names
// ("Platform Server 11.31.0", "Platform Server version: 11.10.0 (Build
// 22500)"). When it names several ("from … to …"), the one after "to" —
// the target of the upgrade — wins, else the first.
func findVersion(n *normalized) string {
	l, first := n.lower, ""
	for at := 0; ; at++ {
		p := bytes.Index(l[at:], []byte("platform"))
		if p < 0 {
			return first
		}
		at += p
		i, ok := matchWord(l, skipCloseMark(l, at+len("platform")), "server")
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
		if before := bytes.TrimRight(l[:at], " \t\n"); bytes.HasSuffix(before, []byte("to")) && !wordEndsAt(before, len(before)-2) {
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
