package load

import (
	"fmt"
	"strings"
	"testing"

	"github.com/upgradebot/upgradebot/diagnosis"
)

// The mix is what it says: no chat line is an upgrade message, and every
// error template is one with a cause (so the bot answers it in the thread).
func TestMessages(t *testing.T) {
	e := diagnosis.New(diagnosis.Builtin())
	for _, l := range chatLines {
		if f := e.Diagnose(l); len(f) > 0 {
			t.Errorf("chat line %q is diagnosed as %s", l, f[0].ID)
		}
	}
	for _, tmpl := range errorTemplates {
		text := tmpl
		if strings.Contains(tmpl, "%[1]s") {
			text = fmt.Sprintf(tmpl, "Billing_CS")
		}
		cause := false
		for _, f := range e.Diagnose(text) {
			cause = cause || (f.Entry != nil && len(f.Entry.Causes) > 0)
		}
		if !cause {
			t.Errorf("error template %q gets no answer", tmpl)
		}
	}
}
