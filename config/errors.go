package config

import "strings"

// Problem is one missing or invalid setting.
type Problem struct {
	// Name is the setting's environment variable, e.g. "UPGRADEBOT_TIMEZONE".
	Name string
	// Message says what is wrong and what to do. It never holds a secret.
	Message string
}

// Error formats the problem as one line: "NAME: message".
func (p Problem) Error() string { return p.Name + ": " + p.Message }

// ValidationError lists every problem Load found, so one start-up shows them all.
type ValidationError struct {
	Problems []Problem
}

// Error returns the problems one per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}
