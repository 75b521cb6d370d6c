package diagnosis

import (
	"bytes"
	"cmp"
	"regexp"
	"slices"
)

// Engine recognizes knowledge-base messages in text, safe for concurrent use; Diagnose runs README.md's pipeline.
type Engine struct {
	kb *KB
}

// New returns an engine for the knowledge base.
func New(kb *KB) *Engine { return &Engine{kb: kb} }

// KB returns the engine's knowledge base.
func (e *Engine) KB() *KB { return e.kb }

// Diagnose returns every finding in text, in the order they appear.
func (e *Engine) Diagnose(text string) []Finding {
	n := normalize(text)
	var findings []Finding
	held := pairsOf(n.search)
	for _, entry := range e.kb.entries {
		for _, msg := range entry.Messages {
			if !held.mayHold(msg.tmpl.anchor) {
				continue
			}
			for _, m := range msg.tmpl.findAll(n) {
				before, after := n.orig[max(0, m.start-80):m.start], n.orig[m.end:min(len(n.orig), m.end+80)]
				after, _, _ = bytes.Cut(after, []byte{'\n'})
				before = before[bytes.LastIndexByte(before, '\n')+1:]
				// A producer's Error Log row ("time<TAB>module<TAB>message") names the module being published: its consumer.
				if row := bytes.Split(before, []byte{'\t'}); entry.ID == "producer-not-prepared" && len(row) == 3 && bytes.ContainsRune(row[0], ':') && !bytes.ContainsAny(row[1], ":'\"<>") {
					m.values = append(m.values, Value{Name: "consumer", Text: string(bytes.TrimSpace(row[1]))})
				}
				findings = append(findings, Finding{ID: entry.ID, Entry: entry, Values: m.values, Offset: m.start, end: m.end, Before: string(before), After: string(after)})
			}
		}
	}
	if len(findings) == 0 {
		return nil
	}
	slices.SortStableFunc(findings, func(a, b Finding) int { return a.Offset - b.Offset })
	// Two messages of one entry may cover the same text: keep the first.
	findings = slices.CompactFunc(findings, func(a, b Finding) bool { return a.ID == b.ID && max(a.Offset, b.Offset) < min(a.end, b.end) })
	// The version a message names applies to all its findings, wherever it stands.
	if v := findVersion(n); v != "" {
		for i := range findings {
			findings[i].Values = append(findings[i].Values, Value{Name: "version", Text: v})
		}
	}
	return findings
}

// findVersion returns the Platform Server version named ("Version 11.10.0 (Build 22500)"): after "to", else the first; no module's.
func findVersion(n *normalized) string {
	l, first := n.lower, ""
	for at := 0; ; at++ {
		p := bytes.Index(l[at:], []byte("platform"))
		if p < 0 {
			if b := bytes.Index(l, []byte(" (build ")); first == "" && b > 0 { // a window: see versionNumber
				if m := buildLine.FindSubmatchIndex(l[max(0, b-32) : b+8]); m != nil {
					return string(n.orig[max(0, b-32)+m[2] : max(0, b-32)+m[3]])
				}
			}
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
		m := versionNumber.FindSubmatchIndex(l[i:min(len(l), i+64)]) // a window: regexp's cost grows with its input
		if m == nil || wordStartsAt(l, i+m[3]) {
			continue
		}
		v, before := string(n.orig[i+m[2]:i+m[3]]), bytes.TrimRight(l[:at], " \t\n")
		if bytes.HasSuffix(before, []byte("published with")) || bytes.HasSuffix(before, []byte("a different")) {
			continue
		}
		if m[4] >= 0 { // "Platform Server 11.11.3 to 11.18.1" (or "->", "→"): the text is about the target
			return string(n.orig[i+m[4] : i+m[5]])
		}
		if bytes.HasSuffix(before, []byte("to")) && !wordEndsAt(before, len(before)-2) {
			return v
		}
		first = cmp.Or(first, v)
	}
}

// buildLine is Service Center's line with its Platform Server version.
var buildLine = regexp.MustCompile(`(?:^|\n)version ([0-9]+(?:\.[0-9]+)+) \(build `)

// versionNumber is a version after "Platform Server [version]" ("(11.31.0)", "11.31.0."; "11.11.3 to 11.18.1"'s target), no folder's.
var versionNumber = regexp.MustCompile(`^[ \t\n]*[:(]?[ \t\n]*([0-9]+(?:\.[0-9]+)+)(?: ?(?:to|->|→) ?([0-9]+(?:\.[0-9]+)+))?\.?(?:[^\\.0-9]|$)`)

// skipCloseMark skips a banner's close button read by OCR as a lone "x".
func skipCloseMark(l []byte, i int) int {
	j := skipSpaces(l, i)
	if j+1 < len(l) && l[j] == 'x' && isSpace(l[j+1]) {
		return j + 1
	}
	return i
}
