package config

import (
	"flag"
	"reflect"
	"strings"
)

// Setting describes one setting, for help and tests; Config's field comments say what each means.
type Setting struct {
	Name    string  // the environment variable, e.g. "REDIS_URL"
	Default string  // applied when unset, "" for none
	Secret  bool    // never printed; also read from NAME_FILE
	For     Purpose // the loosest purpose that checks it: ForRun (Slack's), ForShell (the store's), ForDiagnose
}

// Settings returns every setting in Config's order, which is CONTRACTS.md's.
func Settings() []Setting {
	var list []Setting
	for f := range reflect.TypeFor[Config]().Fields() {
		if name := envName(f); name != "" {
			purpose := map[string]Purpose{"run": ForRun, "shell": ForShell, "": ForDiagnose}[f.Tag.Get("for")]
			list = append(list, Setting{name, f.Tag.Get("envDefault"), f.Type == reflect.TypeFor[Secret](), purpose})
		}
	}
	return list
}

// envName returns the variable of a struct field's env tag.
func envName(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("env"), ",")
	return name
}

// flagVars are the few settings that are also flags, flag → variable.
// Secrets have none: a command line is readable by every local user.
var flagVars = map[string]string{
	"addr":      "UPGRADEBOT_ADDR",
	"data":      "UPGRADEBOT_DATA",
	"kb-file":   "UPGRADEBOT_KB_FILE",
	"log-level": "UPGRADEBOT_LOG_LEVEL",
}

// RegisterFlags registers the settings that are also flags on fs; a flag
// given sets its variable in environ, over the environment's value.
func RegisterFlags(fs *flag.FlagSet, environ map[string]string) {
	for flagName, name := range flagVars {
		fs.Func(flagName, "sets "+name, func(v string) error {
			environ[name] = v
			return nil
		})
	}
}
