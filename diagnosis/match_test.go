package diagnosis

import (
	"fmt"
	"testing"
	"unicode/utf8"
)

// TestMisreadCharacterIsWhole checks that a word OCR read with one wrong
// character, which may take several bytes, still matches and leaves the
// value after it whole; the fuzzer once found a value that started inside
// such a character.
func TestMisreadCharacterIsWhole(t *testing.T) {
	e := New(Builtin())
	const msg = "The Configuration update started by jdoe at 2024-01-01 10:00 can't proceed because there is an ongoing Modules upgrade, started by Compiler Service at 2024-01-01 09:00, that is %s 'My Directory' module."
	for _, word := range []string{
		"lockin×g", // 2 bytes, inserted
		"lockin‗g", // 3 bytes, inserted
		"lockin😀g", // 4 bytes, inserted
		"lockin×",  // 2 bytes, in place of a letter
		"lock‗ng",  // 3 bytes, in place of a letter
	} {
		t.Run(word, func(t *testing.T) {
			fs := e.Diagnose(fmt.Sprintf(msg, word))
			if len(fs) != 1 || fs[0].ID != "configuration-blocked-by-preparation" {
				t.Fatalf("findings %+v, want one configuration-blocked-by-preparation", fs)
			}
			if m, _ := fs[0].Value("module"); m.Text != "My Directory" {
				t.Errorf("module = %q, want %q", m.Text, "My Directory")
			}
		})
	}
}

// TestValuesAreWholeCharacters inserts characters of two, three and four
// bytes at every position of the corpus's messages: no value found in
// valid text may start or end inside a character.
func TestValuesAreWholeCharacters(t *testing.T) {
	e := New(Builtin())
	for _, c := range loadCorpus(t, "corpus.json") {
		if len(c.Want) == 0 {
			continue
		}
		for _, s := range []string{"×", "‗", "😀"} {
			for i := 0; i <= len(c.Text); i++ {
				text := c.Text[:i] + s + c.Text[i:]
				if !utf8.ValidString(text) {
					continue // i was inside a character of the case itself
				}
				for _, f := range e.Diagnose(text) {
					for _, v := range f.Values {
						if !utf8.ValidString(v.Text) {
							t.Fatalf("%s: %q: %s = %q is not valid UTF-8", c.Name, text, v.Name, v.Text)
						}
					}
				}
			}
		}
	}
}
