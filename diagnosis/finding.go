package diagnosis

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
)

// Value is one value read from a message, e.g. module = "Billing_CS".
type Value struct {
	Name string
	Kind ValueKind
	Text string // as written
	Num  int    // for ValueNumber
}

// Finding is one recognized message in a text.
type Finding struct {
	ID     string
	Entry  *Entry
	Values []Value
	Offset int // where the message starts in the normalized text, for ordering
	// Before and After: the rest of its line (≤ 80 bytes, normalized), telling a paste from a sentence.
	Before, After string
	end           int
}

// Value returns the named value and whether it was present.
func (f Finding) Value(name string) (Value, bool) {
	if i := slices.IndexFunc(f.Values, func(v Value) bool { return v.Name == name }); i >= 0 {
		return f.Values[i], true
	}
	return Value{}, false
}

// Text returns the named value's text, or "".
func (f Finding) Text(name string) string {
	v, _ := f.Value(name)
	return v.Text
}

// Number returns the named number and whether it was present.
func (f Finding) Number(name string) (int, bool) {
	v, ok := f.Value(name)
	return v.Num, ok && v.Kind == ValueNumber
}

// MarshalJSON writes the finding as CONTRACTS.md defines it: id, title, then a key per value.
func (f Finding) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	// Not HTML-escaped: a module named R&D reads as R&D. Encode adds a newline.
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	str := func(s string) { _ = enc.Encode(s); b.Truncate(b.Len() - 1) }
	b.WriteString(`{"id":`)
	str(f.ID)
	if f.Entry != nil {
		b.WriteString(`,"title":`)
		str(f.Entry.Title)
	}
	for _, v := range f.Values {
		b.WriteByte(',')
		str(v.Name)
		b.WriteByte(':')
		if v.Kind == ValueNumber {
			b.WriteString(strconv.Itoa(v.Num))
		} else {
			str(v.Text)
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
