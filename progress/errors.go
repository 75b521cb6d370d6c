package progress

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

var (
	// ErrNotFound means the environment is not tracked in the workspace.
	ErrNotFound = errors.New("progress: not found")
	// ErrUnavailable means the storage could not be reached; the change did not happen.
	ErrUnavailable = errors.New("progress: storage unavailable")
	// ErrInvalid is matched by every *ValidationError.
	ErrInvalid = errors.New("progress: invalid input")
	// ErrLocked means another process holds the embedded data file.
	ErrLocked = errors.New("progress: data file locked")
	// ErrChanged means the environment changed since the revision a change
	// was guarded by (Change.IfRevision); nothing changed: read and decide again.
	ErrChanged = errors.New("progress: the environment changed since it was read")
	// ErrStartedAgain means the environment was reset after the change's
	// message was sent (Change.SentAt); nothing changed.
	ErrStartedAgain = errors.New("progress: the upgrade was started again after the message was sent")
)

// ValidationError describes input that was refused; its message can be shown to the user.
type ValidationError struct {
	Field   string // e.g. "environment name", "module name"
	Value   string
	Problem string
}

// Error says what was refused and why.
func (e *ValidationError) Error() string {
	if e.Value == "" {
		return e.Field + ": " + e.Problem
	}
	v := e.Value
	if utf8.RuneCountInString(v) > 60 {
		v = string([]rune(v)[:60]) + "…"
	}
	return fmt.Sprintf("%s %q: %s", e.Field, v, e.Problem)
}

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

func invalid(field, value, problem string) error {
	return &ValidationError{Field: field, Value: value, Problem: problem}
}

// NotFoundError is ErrNotFound for one environment, which it names.
type NotFoundError struct{ Workspace, Env string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%v: environment %q is not tracked in workspace %q", ErrNotFound, e.Env, e.Workspace)
}

// Unwrap makes errors.Is(err, ErrNotFound) hold.
func (e *NotFoundError) Unwrap() error { return ErrNotFound }

func notFound(workspace, env string) error { return &NotFoundError{Workspace: workspace, Env: env} }
