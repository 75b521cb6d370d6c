package config

import "strings"

// Problem is one missing or invalid setting, or a problem of the YAML file itself.
type Problem struct {
	// Name is the setting's environment variable, e.g. "UPGRADEBOT_TIMEZONE";
	// "" for a problem of the YAML file as a whole (syntax, unknown key).
	Name string
	// Where tells where the value came from when not from the environment:
	// a flag ("--timezone"), a file position ("upgradebot.yaml:4"), or the
	// _FILE variable a secret was read through. For file problems, the file[:line].
	Where string
	// Message says what is wrong and what to do. It never holds a secret.
	Message string
}

// String formats the problem as one line: "NAME (from WHERE): message".
func (p Problem) String() string {
	switch {
	case p.Name == "":
		return p.Where + ": " + p.Message
	case p.Where == "":
		return p.Name + ": " + p.Message
	default:
		return p.Name + " (from " + p.Where + "): " + p.Message
	}
}

// ValidationError lists every problem Load found, so one start-up shows them all.
type ValidationError struct {
	Problems []Problem
}

// Error returns the problems one per line.
func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// Names returns the variables the problems name, in order, for tests and callers that branch on them.
func (e *ValidationError) Names() []string {
	var names []string
	for _, p := range e.Problems {
		names = append(names, p.Name)
	}
	return names
}
