package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Secret holds a token or password that must never reach a log, an error or output.
//
// The value sits in an unexported field so that reflection-based printers
// (fmt's %v on a struct, encoding/json, slog's fallback) cannot reach it, and
// every formatting hook answers "[redacted]" ("[unset]" when empty). The only
// way to the value is Reveal, which makes each use visible in review.
type Secret struct {
	value string
}

// NewSecret wraps a secret value.
func NewSecret(value string) Secret { return Secret{value: value} }

// Reveal returns the secret value; call it only where the value is sent to its service.
func (s Secret) Reveal() string { return s.value }

// IsSet reports whether the secret has a value.
func (s Secret) IsSet() bool { return s.value != "" }

// String returns "[redacted]", or "[unset]" when the secret is empty.
func (s Secret) String() string {
	if s.value == "" {
		return "[unset]"
	}
	return "[redacted]"
}

// Format prints the redacted form for every verb (%#v and %x included), so
// that no verb on a struct holding a Secret reaches the field by reflection.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'q' {
		fmt.Fprint(f, strconv.Quote(s.String()))
		return
	}
	fmt.Fprint(f, s.String())
}

// UnmarshalText takes the secret without surrounding whitespace (a file's final newline).
func (s *Secret) UnmarshalText(b []byte) error {
	s.value = strings.TrimSpace(string(b))
	return nil
}

// MarshalText encodes the redacted form (JSON, XML and other text encoders use it).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
