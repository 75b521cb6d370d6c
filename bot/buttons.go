package bot

import (
	"encoding/json"
	"fmt"
)

// MarkDoneButton is the button that marks module republished on env, as
// HandleAction understands it. n numbers the button within its message
// (Slack wants distinct action ids); the first one is the primary button.
func MarkDoneButton(n int, env, module string) Button {
	v, _ := json.Marshal(buttonValue{Env: env, Module: module})
	return Button{ActionID: fmt.Sprintf("%s:%d", ActionMarkDone, n), Label: "Mark " + module + " republished", Value: string(v), Primary: n == 0}
}

// ShowStatusButton is the button that shows env's status to whoever clicks it.
// n numbers the button within its message.
func ShowStatusButton(n int, env string) Button {
	v, _ := json.Marshal(buttonValue{Env: env})
	return Button{ActionID: fmt.Sprintf("%s:%d", ActionShowStatus, n), Label: "Show status", Value: string(v)}
}

// AllClear is the message that env has no modules left to republish.
func (b *Bot) AllClear(env string) *Reply { return b.allClear(env) }
