package bot

import (
	"strings"

	"github.com/upgradebot/upgradebot/progress"
)

// splitEnvPrefix takes a leading "prod:" off arguments.
func splitEnvPrefix(args string) (env, rest string) {
	first, after, _ := strings.Cut(strings.TrimSpace(args), " ")
	if strings.HasSuffix(first, ":") && len(first) > 1 && !strings.ContainsAny(first, "\"'“‘") {
		return strings.TrimSuffix(first, ":"), strings.TrimSpace(after)
	}
	if env, ok := strings.CutPrefix(first, "--env="); ok {
		return env, strings.TrimSpace(after)
	}
	return "", args
}

// moduleNames reads module names from command arguments:
// pasted Error Log rows and errors name their modules; otherwise names are
// separated by spaces, commas or lines, and quotes keep a name with spaces.
func moduleNames(engine Diagnoser, args string) []string {
	var names []string
	seen := map[string]bool{}
	add := func(n string) {
		n = strings.TrimSpace(n)
		if k := moduleKey(n); k == "" || seen[k] {
			return
		}
		seen[moduleKey(n)] = true
		names = append(names, n)
	}
	for _, f := range engine.Diagnose(args) {
		add(f.Text("module"))
	}
	if len(names) > 0 {
		return names
	}
	s := args
	var cur strings.Builder
	var quote rune
	flush := func() {
		add(cur.String())
		cur.Reset()
	}
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote || (quote == '“' && r == '”') || (quote == '‘' && r == '’') {
				flush()
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'' || r == '“' || r == '‘':
			if cur.Len() == 0 {
				quote = r
			} else {
				cur.WriteRune(r)
			}
		case r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == ',' || r == ';' || r == '\u00a0':
			flush()
		case r == '`' || r == '*' && cur.Len() == 0:
			// code and bold markers around pasted names
		default:
			cur.WriteRune(r)
		}
	}
	flush()
	// Trailing markdown markers: *Billing_CS*. A name left empty ("*" in
	// quotes) or equal to another once they are off is dropped.
	out := names[:0]
	seen = map[string]bool{}
	for _, n := range names {
		n = strings.TrimSpace(strings.TrimRight(n, "*"))
		if k := moduleKey(n); k == "" || seen[k] {
			continue
		}
		seen[moduleKey(n)] = true
		out = append(out, n)
	}
	return out
}

// moduleKey is how the core compares module names: as the store does.
func moduleKey(name string) string { return progress.ModuleKey(name) }
