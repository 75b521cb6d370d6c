package diagnosis

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// contractIDs are the finding ids CONTRACTS.md fixes.
var contractIDs = []string{
	"modules-preparation-errors", "modules-preparation-failed", "publish-blocked-by-preparation",
	"configuration-blocked-by-preparation", "delete-blocked-by-preparation", "module-not-upgraded", "producer-not-prepared",
	"preparation-in-progress", "preparation-summary", "environment-ready", "module-upgrade-failed", "service-center-outdated", "preparing-module-database",
}

func TestBuiltinHasContractIDs(t *testing.T) {
	kb := Builtin()
	if got := len(kb.Entries()); got < 30 {
		t.Errorf("built-in knowledge base has %d entries, want at least 30", got)
	}
	for _, id := range contractIDs {
		if kb.Entry(id) == nil {
			t.Errorf("missing entry %s", id)
		}
	}
	for _, e := range kb.Entries() {
		if e.Kind == KindError && (len(e.Causes) == 0 || len(e.Steps) == 0 || len(e.Links) == 0) {
			t.Errorf("%s: an error needs causes, steps and a link", e.ID)
		}
		if e.Source == "" {
			t.Errorf("%s: no source", e.ID)
		}
		if e.Republish != "" && !strings.Contains(e.Messages[0].Text, "{module}") {
			t.Errorf("%s: republish without a {module} to record", e.ID)
		}
		if e.FixedIn != "" && (!fullVersion.MatchString(e.FixedIn) || !hasNoteWhen(e, "fix-in-target") || !hasNoteWhen(e, "fix-not-in-target")) {
			t.Errorf("%s: fixed_in %q must be a version x.y.z, with notes for both fix-in-target and fix-not-in-target", e.ID, e.FixedIn)
		}
	}
}

var fullVersion = regexp.MustCompile(`^\d+\.\d+\.\d+$`)

// hasNoteWhen reports whether a cause or step of e is limited to condition c.
func hasNoteWhen(e *Entry, c string) bool {
	for _, n := range append(append([]Note{}, e.Causes...), e.Steps...) {
		if slices.Contains(n.When, c) {
			return true
		}
	}
	return false
}

// references are the documents messages are checked against: the
// reference document and the source lines of testdata/verbatim.txt.
func references(t *testing.T) []byte {
	doc, err := os.ReadFile(filepath.Join("..", "..", "shared", "seeds", "000_7fde9fff02e723d1.txt"))
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("reference document missing: %v", err)
		}
		t.Skipf("reference document not found beside the repository: %v", err)
	}
	lines, err := os.ReadFile(filepath.Join("testdata", "verbatim.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return append(doc, lines...)
}

// Every link is an address confirmed in OutSystems' documentation sources
// (testdata/links.txt says where), so a person can share it.
func TestLinksAreConfirmed(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "links.txt"))
	if err != nil {
		t.Fatal(err)
	}
	confirmed := map[string]bool{}
	for _, line := range strings.Split(string(data), "\n") {
		if url, source, ok := strings.Cut(line, " "); ok && strings.HasPrefix(url, "https://") && strings.TrimSpace(source) != "" {
			confirmed[url] = true
		}
	}
	for _, e := range Builtin().Entries() {
		for _, l := range e.Links {
			if !confirmed[l.URL] {
				t.Errorf("%s: link %s is not in testdata/links.txt", e.ID, l.URL)
			}
			if strings.Contains(l.URL, "github.com") {
				t.Errorf("%s: link %s is a repository copy, not the documentation site", e.ID, l.URL)
			}
		}
	}
}

// The README's table lists every entry with its source.
func TestReadmeListsEveryEntry(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range Builtin().Entries() {
		row := regexp.MustCompile("(?m)^\\| `" + regexp.QuoteMeta(e.ID) + "` \\|.*\\|$").Find(readme)
		if row == nil {
			t.Errorf("README.md: no row for %s in the table of what the bot recognizes", e.ID)
			continue
		}
		if path := strings.Fields(e.Source); len(path) > 1 && strings.HasPrefix(path[0], "OutSystems/") && !bytes.Contains(row, []byte(path[1])) {
			t.Errorf("README.md: the row of %s does not name its source %s", e.ID, path[1])
		}
	}
}

// The error messages are facts: each must stand verbatim in the reference
// document or in the source line testdata/verbatim.txt copies, placeholders
// aside (written there as <name>, [name], `<name>` or an example value).
func TestErrorTemplatesAreVerbatim(t *testing.T) {
	doc := references(t)
	placeholder := regexp.MustCompile(`\{[a-z_:]+\}`)
	for _, e := range Builtin().Entries() {
		if e.Kind != KindError {
			continue
		}
		for _, m := range e.Messages {
			parts := placeholder.Split(m.Text, -1)
			for i, p := range parts {
				parts[i] = regexp.QuoteMeta(p)
			}
			re := regexp.MustCompile(strings.Join(parts, "`?(?:<[^>]+>|&lt;[^>]+>|\\[[^\\]]+\\]|[^\"'`<>\\n]{1,120})`?"))
			if !re.Match(doc) {
				t.Errorf("%s: message %q is not verbatim in the reference", e.ID, m.Text)
			}
		}
	}
}

// Our explanations are our own words: no cause or step repeats a sentence of the reference.
func TestExplanationsAreOurOwnWords(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "shared", "seeds", "000_7fde9fff02e723d1.txt"))
	if err != nil {
		t.Skipf("reference document not found: %v", err)
	}
	words := strings.Fields(strings.ToLower(string(doc)))
	docText := " " + strings.Join(words, " ") + " "
	for _, e := range Builtin().Entries() {
		for _, n := range append(append([]Note{}, e.Causes...), e.Steps...) {
			w := strings.Fields(strings.ToLower(n.Text))
			// Eight words in a row copied would be a copied sentence.
			for i := 0; i+8 <= len(w); i++ {
				run := " " + strings.Join(w[i:i+8], " ") + " "
				if strings.Contains(docText, run) {
					t.Errorf("%s: %q copies the reference (%q)", e.ID, n.Text, strings.TrimSpace(run))
				}
			}
		}
	}
}

func TestParseEntriesErrors(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"not a list", "id: x\n", []string{"extra.yaml", "list of entries"}},
		{"unknown field", "- id: a-b\n  kind: error\n  title: T\n  mesages: []\n", []string{"extra.yaml", "entry 1", "mesages"}},
		{"missing id", "- kind: error\n  title: T\n  messages: [{text: \"one two three\"}]\n", []string{"entry 1", "missing id"}},
		{"bad kind", "- id: a\n  kind: warning\n  title: T\n  messages: [{text: \"one two three\"}]\n", []string{"entry 1 (a)", "kind"}},
		{"no messages", "- id: a\n  kind: error\n  title: T\n", []string{"at least one message"}},
		{"key not in text", "- id: a\n  kind: error\n  title: T\n  messages: [{text: \"alpha beta gamma delta\", key: \"beta gamma zeta\"}]\n", []string{"key", "not part"}},
		{"placeholder before key", "- id: a\n  kind: error\n  title: T\n  messages: [{text: \"{x} alpha beta gamma\", key: \"alpha beta gamma\"}]\n", []string{"{x}"}},
		{"too short", "- id: a\n  kind: error\n  title: T\n  messages: [{text: \"hello there\"}]\n", []string{"three literal words"}},
		{"bad only", "- id: a\n  kind: error\n  title: T\n  messages: [{text: \"one two three\"}]\n  causes: [{text: c, only: mainframe}]\n", []string{"only"}},
		{"bad link", "- id: a\n  kind: error\n  title: T\n  messages: [{text: \"one two three\"}]\n  links: [{title: x, url: \"ftp://x\"}]\n", []string{"url"}},
		{"empty entry", "- id: a\n  kind: error\n  title: T\n  messages: [{text: \"one two three\"}]\n-\n", []string{"entry 2", "empty entry"}},
		{"bad republish", "- id: a\n  kind: error\n  title: T\n  republish: failed\n  messages: [{text: \"one {module} two three\"}]\n", []string{"entry 1 (a)", "republish must be"}},
		{"duplicate id", "- id: a\n  kind: error\n  title: T\n  messages: [{text: \"one two three\"}]\n- id: a\n  kind: error\n  title: T\n  messages: [{text: \"four five six\"}]\n", []string{"entry 2 (a)", "already used by entry 1"}},
		{"second entry bad", "- id: a\n  kind: error\n  title: T\n  messages: [{text: \"one two three\"}]\n- id: b\n  kind: error\n  title: T\n  messages: [{text: \"one {x:float} three four\"}]\n", []string{"entry 2 (b)", "number or text"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseEntries([]byte(c.yaml), "extra.yaml")
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v does not match ErrMalformed", err)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestOperatorEntries(t *testing.T) {
	extra := `
- id: team-deploy-timeout
  kind: error
  title: Deployment timed out during preparation
  messages:
    - text: "Deployment of {module} timed out after {minutes:number} minutes while preparing modules."
      key: "Deployment of {module} timed out"
  steps:
    - text: Wait and deploy again.
- id: producer-not-prepared
  kind: error
  title: Corrected title
  messages:
    - text: "Producer module '{module}' hasn't been prepared for the current OutSystems environment version."
      key: "Producer module '{module}' hasn't been prepared"
`
	kb, err := WithExtra([]byte(extra), "team.yaml")
	if err != nil {
		t.Fatal(err)
	}
	e := New(kb)
	got := e.Diagnose("ci says: Deployment of Orders_API timed out after 45 minutes while preparing modules.\nand Producer module 'X' hasn't been prepared")
	if len(got) != 2 {
		t.Fatalf("got %d findings, want 2: %+v", len(got), got)
	}
	if got[0].ID != "team-deploy-timeout" || got[0].Text("module") != "Orders_API" {
		t.Errorf("operator entry: got %s module %q", got[0].ID, got[0].Text("module"))
	}
	if n, ok := got[0].Number("minutes"); !ok || n != 45 {
		t.Errorf("minutes = %d, %v; want 45", n, ok)
	}
	if got[1].Entry.Title != "Corrected title" {
		t.Errorf("override: title %q", got[1].Entry.Title)
	}
	if len(kb.Entries()) != len(Builtin().Entries())+1 {
		t.Errorf("entries = %d, want %d", len(kb.Entries()), len(Builtin().Entries())+1)
	}
}
