package diagnosis

import (
	"bytes"
	"encoding/json"
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
	// Before and After: the rest of its line (80 bytes at most), normalized;
	// the caller tells by them a paste from a sentence that uses its words.
	Before, After string
	end           int
}

// Value returns the named value and whether it was present.
func (f Finding) Value(name string) (Value, bool) {
	for _, v := range f.Values {
		if v.Name == name {
			return v, true
		}
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

// MarshalJSON writes the finding as CONTRACTS.md defines it: id, title,
// then one key per value present.
func (f Finding) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"id":`)
	writeJSONString(&b, f.ID)
	if f.Entry != nil {
		b.WriteString(`,"title":`)
		writeJSONString(&b, f.Entry.Title)
	}
	for _, v := range f.Values {
		b.WriteByte(',')
		writeJSONString(&b, v.Name)
		b.WriteByte(':')
		if v.Kind == ValueNumber {
			b.WriteString(strconv.Itoa(v.Num))
		} else {
			writeJSONString(&b, v.Text)
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// writeJSONString writes s as a JSON string without HTML escaping, so a
// module named R&D reads as R&D in the output.
func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // a string always encodes
	b.Truncate(b.Len() - 1) // Encode adds a newline
}
