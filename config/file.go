package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/upgradebot/upgradebot/internal/suggest"
	"go.yaml.in/yaml/v3"
)

// fileValue is one setting read from the YAML file.
type fileValue struct {
	text string
	line int
}

// fileLayer holds the settings of the YAML file; the zero value is "no file".
type fileLayer struct {
	path   string
	values map[string]fileValue // YAML key → value
}

// readFile reads the YAML file at path. It returns every problem of the file
// (unreadable, malformed, unknown or repeated keys, values of the wrong shape)
// and keeps the keys it could read, so that the other settings are still checked.
//
// The document is decoded into a yaml.Node rather than a struct: the node
// keeps line numbers for messages, and scalars stay text whatever YAML would
// resolve them to (`ocr: on`, `redis_prefix: 123`), to be parsed like the
// environment's strings.
func readFile(path string) (fileLayer, []Problem) {
	layer := fileLayer{path: path, values: map[string]fileValue{}}
	data, err := os.ReadFile(path)
	if err != nil {
		return layer, []Problem{{Where: path, Message: "cannot read the config file: " + reason(err)}}
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return layer, []Problem{yamlProblem(path, err)}
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return layer, nil // an empty file sets nothing
	}
	root := deref(doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return layer, nil
	}
	if root.Kind != yaml.MappingNode {
		return layer, []Problem{{Where: at(path, root.Line),
			Message: "must be a mapping of settings, one `key: value` per line"}}
	}

	known := map[string]Setting{}
	for _, s := range Settings() {
		known[s.Key] = s
		if s.FileKey != "" {
			known[s.FileKey] = Setting{Name: s.FileName, Key: s.FileKey, Path: true}
		}
	}
	var problems []Problem
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], deref(root.Content[i+1])
		key := k.Value
		s, ok := known[key]
		if k.Kind != yaml.ScalarNode || !ok {
			problems = append(problems, Problem{Where: at(path, k.Line), Message: unknownKey(key)})
			continue
		}
		if prev, dup := layer.values[key]; dup {
			problems = append(problems, Problem{Where: at(path, k.Line),
				Message: fmt.Sprintf("key %q repeats the one on line %d: keep one", key, prev.line)})
			continue
		}
		text, msg := nodeText(v, s.List)
		if msg != "" {
			// The value is not echoed: the key may be a secret's.
			problems = append(problems, Problem{Name: s.Name, Where: at(path, v.Line), Message: msg})
			continue
		}
		layer.values[key] = fileValue{text: strings.TrimSpace(text), line: v.Line}
	}
	return layer, problems
}

// deref follows YAML aliases (*name) to the node they point to.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// nodeText returns a value node as text, joining a list's items with commas
// for List settings; msg says what is wrong otherwise.
func nodeText(n *yaml.Node, list bool) (text, msg string) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "", ""
		}
		return n.Value, ""
	case yaml.SequenceNode:
		if !list {
			return "", "must be a single value, not a list"
		}
		items := make([]string, 0, len(n.Content))
		for _, item := range n.Content {
			item = deref(item)
			if item.Kind != yaml.ScalarNode {
				return "", "must be a list of ids, one per item"
			}
			items = append(items, item.Value)
		}
		return strings.Join(items, ","), ""
	default:
		if list {
			return "", "must be a list of ids or one string of ids separated by commas"
		}
		return "", "must be a single value, not a mapping"
	}
}

// unknownKey explains an unknown key and suggests the closest known one,
// since most unknown keys are typos or variable names copied from the environment.
func unknownKey(key string) string {
	msg := fmt.Sprintf("unknown key %q", key)
	keys := YAMLKeys()
	// An environment variable name, or a flag name, used as a key.
	if k := strings.ReplaceAll(yamlKey(strings.ToUpper(key)), "-", "_"); k != key {
		for _, known := range keys {
			if k == known {
				return msg + fmt.Sprintf(": use %q (keys are the variable names in lowercase, without UPGRADEBOT_)", known)
			}
		}
	}
	best, bestDist := "", 3 // suggest only within two edits
	for _, known := range keys {
		if d := suggest.Distance(strings.ToLower(key), known); d < bestDist {
			best, bestDist = known, d
		}
	}
	if best != "" {
		return msg + fmt.Sprintf(": did you mean %q?", best)
	}
	return msg + ": keys are the variable names in lowercase, without UPGRADEBOT_ (see the README's settings table)"
}

// yamlProblem turns a YAML syntax error ("yaml: line 3: did not find …")
// into "FILE:3: malformed YAML: did not find …".
func yamlProblem(path string, err error) Problem {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if num, text, ok := strings.Cut(rest, ": "); ok {
			if line, err := strconv.Atoi(num); err == nil {
				return Problem{Where: at(path, line), Message: "malformed YAML: " + text}
			}
		}
	}
	return Problem{Where: path, Message: "malformed YAML: " + msg}
}

// at formats a file position.
func at(path string, line int) string {
	if line <= 0 {
		return path
	}
	return fmt.Sprintf("%s:%d", path, line)
}
