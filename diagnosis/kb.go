// Package diagnosis recognizes OutSystems modules-preparation errors and status messages in text; pure: no I/O, no Slack.
package diagnosis

import (
	"bytes"
	"cmp"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

//go:embed knowledge.yaml
var builtinKB []byte

// Kind says whether an entry is an error people hit or a status message.
type Kind string

// Entry kinds.
const (
	KindError  Kind = "error"
	KindStatus Kind = "status"
)

// Install is an installation type; empty means it applies to every installation.
type Install string

// Installation types.
const (
	InstallAny         Install = ""
	InstallSelfManaged Install = "self-managed"
	InstallCloud       Install = "cloud"
)

// Note is one cause or step, maybe only for one installation type and what the bot knows (When: any of Conditions).
type Note struct {
	Text   string   `yaml:"text"`
	Plural string   `yaml:"plural"` // the text when a reply explains several findings of the entry
	Only   Install  `yaml:"only"`
	When   []string `yaml:"when"`
}

// Conditions are what a note's When may name: the preparation's stage (finished, refined: step-failed, all-prepared, with-errors; republish-all: from Platform Server 10), an internal error or not, whether the target version has the entry's FixedIn.
var Conditions = []string{"unknown", "preparing", "finished", "step-failed", "all-prepared", "with-errors", "republish-all", "internal-error", "no-internal-error", "fix-in-target", "fix-not-in-target"}

// Link is a documentation link kept in the data so it can be corrected without a release.
type Link struct {
	Title string  `yaml:"title"`
	URL   string  `yaml:"url"`
	Only  Install `yaml:"only"`
}

// Message is one verbatim product message that identifies an entry.
type Message struct {
	Text string `yaml:"text"`
	Key  string `yaml:"key"`
	tmpl *template
}

// Entry is one knowledge-base entry: a message the product shows, what it means and what to do.
type Entry struct {
	ID        string    `yaml:"id"`
	Kind      Kind      `yaml:"kind"`
	Title     string    `yaml:"title"`
	Messages  []Message `yaml:"messages"`
	Causes    []Note    `yaml:"causes"`
	Steps     []Note    `yaml:"steps"`
	Links     []Link    `yaml:"links"`
	Plural    string    `yaml:"plural"`    // the title when a reply explains several findings of the entry
	Source    string    `yaml:"source"`    // where the messages were taken from
	Republish string    `yaml:"republish"` // the reason a message's {module} is listed under, while an upgrade is open
	FixedIn   string    `yaml:"fixed_in"`  // the Platform Server version that fixes the known issue behind the messages
}

// KB is a validated, compiled knowledge base.
type KB struct {
	entries []*Entry
	byID    map[string]*Entry
}

// Entries returns the entries in knowledge-base order.
func (kb *KB) Entries() []*Entry { return kb.entries }

// Entry returns the entry with the given id, or nil.
func (kb *KB) Entry(id string) *Entry { return kb.byID[id] }

// EntryError reports a malformed knowledge-base entry.
type EntryError struct {
	File   string
	Index  int // 1-based position in the file
	ID     string
	Reason string
}

func (e *EntryError) Error() string {
	return fmt.Sprintf("%s: entry %d (%s): %s", e.File, e.Index, cmp.Or(e.ID, "(no id)"), e.Reason)
}

// ErrMalformed is matched (errors.Is) by every knowledge-base parse error.
var ErrMalformed = errors.New("malformed knowledge base")

func (e *EntryError) Unwrap() error { return ErrMalformed }

// Builtin returns the knowledge base embedded in the binary.
func Builtin() *KB {
	kb, err := WithExtra(nil, "")
	if err != nil {
		panic(err) // the embedded file is tested: this is a broken build
	}
	return kb
}

// ParseEntries parses and validates entries from YAML, reporting every malformed one (file names the source).
func ParseEntries(data []byte, file string) ([]*Entry, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", file, ErrMalformed, err)
	}
	if doc.Kind == 0 {
		return nil, nil // an empty file adds nothing
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("%s: line %d: %w: the file must be a YAML list of entries", file, root.Line, ErrMalformed)
	}
	var list []*Entry
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a misspelt field is an error, not a silently ignored key
	if err := dec.Decode(&list); err != nil {
		return nil, &EntryError{File: file, Index: entryAtLine(root, err), Reason: err.Error()}
	}
	var errs []error
	entries, seen := make([]*Entry, 0, len(list)), map[string]int{}
	for i, e := range list {
		reason := "empty entry"
		if e == nil {
			e = &Entry{}
		} else if reason = validateEntry(e); reason == "" && seen[e.ID] > 0 {
			reason = fmt.Sprintf("id already used by entry %d", seen[e.ID])
		}
		if reason != "" {
			errs = append(errs, &EntryError{File: file, Index: i + 1, ID: e.ID, Reason: reason})
			continue
		}
		seen[e.ID] = i + 1
		entries = append(entries, e)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return entries, nil
}

// entryAtLine maps a YAML decode error's line to the 1-based entry index.
func entryAtLine(root *yaml.Node, err error) int {
	var line int // 0 when the error names none: Sscanf reads nothing from ""
	_, after, _ := strings.Cut(err.Error(), "line ")
	fmt.Sscanf(after, "%d", &line)
	if i := slices.IndexFunc(root.Content, func(n *yaml.Node) bool { return n.Line > line }); i >= 0 {
		return i
	}
	return len(root.Content)
}

func validateEntry(e *Entry) string {
	switch {
	case e.ID == "":
		return "missing id"
	case strings.IndexFunc(e.ID, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') }) >= 0:
		return "id must be lowercase letters, digits and '-'"
	case e.Kind != KindError && e.Kind != KindStatus:
		return fmt.Sprintf("kind must be %q or %q, not %q", KindError, KindStatus, e.Kind)
	case strings.TrimSpace(e.Title) == "":
		return "missing title"
	case len(e.Messages) == 0:
		return "needs at least one message"
	case e.Republish != "" && e.Republish != "not-upgraded" && e.Republish != "producer-not-prepared":
		return fmt.Sprintf("republish must be %q or %q, not %q", "not-upgraded", "producer-not-prepared", e.Republish)
	}
	for i := range e.Messages {
		t, err := compileTemplate(e.Messages[i].Text, e.Messages[i].Key)
		if err != nil {
			return fmt.Sprintf("message %d: %v", i+1, err)
		}
		e.Messages[i].tmpl = t
	}
	onlys := []Install{}
	for _, n := range append(slices.Clone(e.Causes), e.Steps...) {
		if strings.TrimSpace(n.Text) == "" {
			return "a cause or step has no text"
		}
		if i := slices.IndexFunc(n.When, func(w string) bool { return !slices.Contains(Conditions, w) }); i >= 0 {
			return fmt.Sprintf("when must name some of %s, not %q", strings.Join(Conditions, ", "), n.When[i])
		}
		onlys = append(onlys, n.Only)
	}
	for _, l := range e.Links {
		if !strings.HasPrefix(l.URL, "https://") && !strings.HasPrefix(l.URL, "http://") {
			return fmt.Sprintf("link %q: url must start with https://", l.Title)
		}
		onlys = append(onlys, l.Only)
	}
	if i := slices.IndexFunc(onlys, func(in Install) bool { return in != InstallAny && in != InstallSelfManaged && in != InstallCloud }); i >= 0 {
		return fmt.Sprintf("only must be %q or %q, not %q", InstallSelfManaged, InstallCloud, onlys[i])
	}
	return ""
}

// WithExtra returns the built-in knowledge base extended by data's entries; one with a built-in id replaces it.
func WithExtra(data []byte, file string) (*KB, error) {
	extra, err := ParseEntries(data, file)
	base, errBase := ParseEntries(builtinKB, "knowledge.yaml (built in)")
	if err = cmp.Or(err, errBase); err != nil {
		return nil, err
	}
	kb := &KB{byID: map[string]*Entry{}}
	for _, e := range append(base, extra...) {
		if old, ok := kb.byID[e.ID]; ok {
			kb.entries[slices.Index(kb.entries, old)] = e
		} else {
			kb.entries = append(kb.entries, e)
		}
		kb.byID[e.ID] = e
	}
	return kb, nil
}
