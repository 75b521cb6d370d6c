package botproc

import (
	"fmt"
	"sync"
	"testing"

	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
)

// toolTB lets the load tool (a program, not a test) use slackfake, which
// asks for a testing.TB: cleanups run on Close, failures panic. Only the
// methods slackfake calls are implemented.
type toolTB struct {
	testing.TB // nil: any other method panics

	mu       sync.Mutex
	cleanups []func()
}

func (t *toolTB) Helper() {}

func (t *toolTB) Cleanup(f func()) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

func (t *toolTB) Fatalf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (t *toolTB) Fatal(args ...any)                 { panic(fmt.Sprint(args...)) }
func (t *toolTB) Errorf(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }
func (t *toolTB) Logf(string, ...any)               {}

func (t *toolTB) close() {
	t.mu.Lock()
	fs := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// NewFakeSlack starts slackfake's Web API outside a test; stop it with the
// returned function.
func NewFakeSlack() (*slackfake.Server, func()) {
	tb := &toolTB{}
	s := slackfake.New(tb)
	return s, tb.close
}
