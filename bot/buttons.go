package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/upgradebot/upgradebot/diagnosis"
)

// Action ids of the bot's buttons.
const (
	ActionMarkDone   = "mark_done"
	ActionShowStatus = "show_status"
	ActionChooseEnv  = "choose_env"
	ActionShare      = "share_status"
)

// buttonValue is what a mark-done or status button carries.
type buttonValue struct {
	Env    string `json:"env,omitempty"`
	Module string `json:"module,omitempty"`
}

func (v buttonValue) String() string {
	js, _ := json.Marshal(v)
	return string(js)
}

// MarkDoneButton is the button that marks module republished on env, as
// HandleAction understands it. n numbers the button within its message
// (Slack wants distinct action ids); the first one is the primary button.
func MarkDoneButton(n int, env, module string) Button {
	v, cmd := buttonValue{Env: env, Module: module}, "done "+commandName(module)
	if env != "" {
		cmd = "done " + env + ": " + commandName(module)
	}
	return Button{ActionID: fmt.Sprintf("%s:%d", ActionMarkDone, n), Label: "Mark " + module + " republished", Value: v.String(), Primary: n == 0, Command: cmd}
}

// ShowStatusButton is the button that shows env's status to whoever clicks it.
// n numbers the button within its message.
func ShowStatusButton(n int, env string) Button {
	return Button{ActionID: fmt.Sprintf("%s:%d", ActionShowStatus, n), Label: "Show status", Value: buttonValue{Env: env}.String(), Command: statusCommand(env)}
}

// statusCommand is the command that shows env's status (all followed here when env is "").
func statusCommand(env string) string { return strings.TrimSpace("status " + env) }

// commandName writes a module name as commands read it: quoted when it
// holds a separator, or is "all" (which done takes for every module).
func commandName(module string) string {
	if strings.ContainsAny(module, " \t,;\u00a0") || strings.EqualFold(module, "all") {
		return `"` + module + `"`
	}
	return module
}

// findingButtons are a diagnosis's buttons: mark each module named (five
// at most) republished, and show the environment's status.
func (b *Bot) findingButtons(findings []diagnosis.Finding, env string) []Button {
	var buttons []Button
	seen := map[string]bool{}
	for _, f := range findings {
		if f.ID != "producer-not-prepared" && f.ID != "module-upgrade-failed" {
			continue
		}
		mod := f.Text("module")
		if moduleKey(mod) == "" || seen[moduleKey(mod)] || len(buttons) >= 5 {
			continue
		}
		seen[moduleKey(mod)] = true
		buttons = append(buttons, MarkDoneButton(len(buttons), env, mod))
	}
	if env != "" {
		buttons = append(buttons, Button{ActionID: ActionShowStatus, Label: "Show status", Value: buttonValue{Env: env}.String(), Command: statusCommand(env)})
	}
	return buttons
}

// pendingChoice is what a choose-environment button records: the changes
// of the message's text (or first part) and those of its screenshots.
type pendingChoice struct {
	Key     string        `json:"k"`
	Changes []planned     `json:"c"`
	More    []partChanges `json:"x,omitempty"`
}

type envChoice struct {
	Env     string          `json:"env"`
	Pending json.RawMessage `json:"p"`
}

// HandleAction handles a button click.
func (b *Bot) HandleAction(ctx context.Context, a Action) Response {
	kind, _, _ := strings.Cut(a.ActionID, ":")
	switch kind {
	case ActionMarkDone:
		var v buttonValue
		if json.Unmarshal([]byte(a.Value), &v) != nil || v.Module == "" {
			return private(errorReply("That button is out of date; use `" + b.cmd + " done <module>`."))
		}
		env := v.Env
		if env == "" {
			var errR *Reply
			if env, errR = b.resolveEnv(ctx, Command{Workspace: a.Workspace, Channel: a.Channel, User: a.User}, "", []string{v.Module}); errR != nil {
				return private(errR)
			}
		}
		return b.markDone(ctx, a.Workspace, env, a.User, "btn:"+a.ID, []string{v.Module}, false)
	case ActionShowStatus, ActionShare:
		var v buttonValue
		_ = json.Unmarshal([]byte(a.Value), &v)
		resp := b.cmdStatus(ctx, Command{Workspace: a.Workspace, Channel: a.Channel, User: a.User, ID: a.ID}, strings.ReplaceAll(firstEnv(v.Env), ",", " "))
		if kind == ActionShare && resp.Reply != nil {
			// Shared: everyone sees it, without the share button.
			shared := *resp.Reply
			shared.Blocks = shared.Blocks[:len(shared.Blocks)-1]
			shared.Context(Line{T("Shared by "), M(a.User)})
			return Response{Announce: &shared}
		}
		return resp
	case ActionChooseEnv:
		var v envChoice
		var p pendingChoice
		if json.Unmarshal([]byte(a.Value), &v) != nil || json.Unmarshal(v.Pending, &p) != nil {
			return private(errorReply("That button is out of date; paste the message again starting with `prod:` (your environment)."))
		}
		parts := append([]partChanges{{Key: p.Key, Changes: p.Changes}}, p.More...)
		out := b.applyParts(ctx, a.Workspace, v.Env, a.User, parts, false)
		if out.err != nil {
			return private(out.err)
		}
		r := &Reply{Summary: "Recorded for " + v.Env}
		if len(out.lines) == 0 {
			out.lines = []Line{{T("Already recorded for "), B(v.Env), T(".")}}
		}
		r.Context(out.lines...)
		resp := Response{Reply: r}
		if out.cleared {
			resp.Announce = b.allClear(v.Env)
		}
		return resp
	}
	return private(errorReply("I don't know that button any more."))
}

func firstEnv(s string) string {
	first, _, _ := strings.Cut(s, ",")
	return first
}
