package progress

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxModuleName is the longest module name taken, in characters.
const MaxModuleName = 200

const (
	maxEnvName = 40
	maxID      = 80
	maxText    = 200
	maxVersion = 20
)

// NormalizeEnvironment validates an environment name and returns its
// lowercase key; invisible characters pasted with it are left out, and a
// colon after it ("status prod:", as "failed prod: A" is written).
func NormalizeEnvironment(name string) (string, error) {
	name = strings.TrimRight(cleanName(name), ":.,;!?") // "prod:" of a command, "prod." of a sentence
	if name == "" {
		return "", invalid("environment name", "", "is empty")
	}
	if utf8.RuneCountInString(name) > maxEnvName {
		return "", invalid("environment name", name, fmt.Sprintf("is longer than %d characters", maxEnvName))
	}
	for _, r := range name {
		if !isASCIIAlnum(r) && r != '-' && r != '_' && r != '.' {
			return "", invalid("environment name", name, `may contain only ASCII letters (no accents), digits, "-", "_" and "."`)
		}
	}
	return strings.ToLower(name), nil
}

// NormalizeModule validates a module name and returns it as stored: in
// Unicode NFC, without invisible characters, trimmed, case preserved.
func NormalizeModule(name string) (string, error) {
	name = cleanName(name)
	if name == "" {
		return "", invalid("module name", "", "is empty")
	}
	if !utf8.ValidString(name) {
		return "", invalid("module name", name, "is not valid UTF-8")
	}
	if utf8.RuneCountInString(name) > MaxModuleName {
		return "", invalid("module name", name, fmt.Sprintf("is longer than %d characters", MaxModuleName))
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return "", invalid("module name", name, "contains a control character")
		}
		// "<" and ">" would be Slack markup (links, mentions) when echoed back.
		if r == '<' || r == '>' {
			return "", invalid("module name", name, `may not contain "<" or ">"`)
		}
	}
	return name, nil
}

// ModuleKey is how module names compare (CONTRACTS.md): case-insensitively
// after Unicode NFC, invisible characters left out. "Café" composed and
// decomposed, "Billing\u200b_CS" and "billing_cs" have one key.
func ModuleKey(name string) string { return norm.NFC.String(strings.ToLower(cleanName(name))) }

// moduleKey is ModuleKey; the stores call it on names already clean, and
// on keys stored before names were normalized, which it cleans.
func moduleKey(name string) string { return ModuleKey(name) }

// cleanName is name in NFC without invisible characters, trimmed.
// Invisible are the format characters (Unicode category Cf: zero-width
// space, joiners, word joiner, byte order mark, bidi marks, embeddings,
// overrides and isolates, soft hyphen, tags): a name pasted from a web page
// or a chat client carries them unseen.
func cleanName(name string) string {
	if strings.IndexFunc(name, isInvisible) >= 0 {
		name = strings.Map(func(r rune) rune {
			if isInvisible(r) {
				return -1
			}
			return r
		}, name)
	}
	return strings.TrimSpace(norm.NFC.String(name))
}

func isInvisible(r rune) bool { return unicode.Is(unicode.Cf, r) }

// withLegacyKeys gives each module the keys it was stored under before
// names were normalized (stored lists the keys an environment holds), so
// that an old record still matches its name.
func withLegacyKeys(mods []normalizedModule, stored []string) {
	index := make(map[string]int, len(mods))
	for i, m := range mods {
		index[m.Key] = i
	}
	for _, k := range stored {
		if nk := moduleKey(k); nk != k {
			if i, ok := index[nk]; ok {
				mods[i].Legacy = append(mods[i].Legacy, k)
			}
		}
	}
}

// checkID validates workspace and channel ids. They become parts of storage
// keys, so separators (":" and Redis hash-tag braces) and spaces are refused.
func checkID(field, id string) error {
	if id == "" {
		return invalid(field, "", "is empty")
	}
	if len(id) > maxID {
		return invalid(field, id, fmt.Sprintf("is longer than %d characters", maxID))
	}
	for _, r := range id {
		if !isASCIIAlnum(r) && !strings.ContainsRune("-_.#@", r) {
			return invalid(field, id, `may contain only letters, digits and "-_.#@"`)
		}
	}
	return nil
}

// checkText validates free text such as actors, sources and expected times.
func checkText(field, s string, maxLen int) error {
	if !utf8.ValidString(s) {
		return invalid(field, s, "is not valid UTF-8")
	}
	if utf8.RuneCountInString(s) > maxLen {
		return invalid(field, s, fmt.Sprintf("is longer than %d characters", maxLen))
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return invalid(field, s, "contains a control character")
		}
	}
	return nil
}

func checkVersion(v string) error {
	if v == "" {
		return nil
	}
	if len(v) > maxVersion {
		return invalid("version", v, fmt.Sprintf("is longer than %d characters", maxVersion))
	}
	parts := strings.Split(v, ".")
	if len(parts) > 4 {
		return invalid("version", v, "has more than four parts")
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "0123456789") != "" {
			return invalid("version", v, `must be numbers separated by dots, like "11.31.0"`)
		}
	}
	return nil
}

func checkInstallType(t InstallType) error {
	switch t {
	case InstallUnknown, InstallCloud, InstallSelfManaged:
		return nil
	}
	return invalid("installation type", string(t), `must be "cloud" or "self-managed"`)
}

func checkCount(field string, p *int) error {
	if p != nil && *p < 0 {
		return invalid(field, fmt.Sprint(*p), "is negative")
	}
	return nil
}

func isASCIIAlnum(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
}

// envRef validates the workspace and environment of an operation.
func envRef(workspace, env string) (string, error) {
	if err := checkID("workspace", workspace); err != nil {
		return "", err
	}
	return NormalizeEnvironment(env)
}

// normalizeTrack validates a TrackRequest and fills its defaults.
func normalizeTrack(req TrackRequest, now time.Time) (TrackRequest, error) {
	name, err := envRef(req.Workspace, req.Environment)
	if err != nil {
		return req, err
	}
	req.Environment = name
	if err := checkID("channel", req.Channel); err != nil {
		return req, err
	}
	req.Version = strings.TrimSpace(req.Version)
	if err := checkVersion(req.Version); err != nil {
		return req, err
	}
	req.FromVersion = strings.TrimSpace(req.FromVersion)
	if err := checkVersion(req.FromVersion); err != nil {
		return req, err
	}
	if err := checkInstallType(req.InstallType); err != nil {
		return req, err
	}
	if err := checkText("actor", req.Actor, maxID); err != nil {
		return req, err
	}
	if req.At.IsZero() {
		req.At = now
	}
	return req, nil
}

// normalizedModule is a validated module name with its comparison key,
// and the keys it may have been stored under before names were normalized.
type normalizedModule struct {
	Name   string   `json:"name"`
	Key    string   `json:"key"`
	Legacy []string `json:"legacy,omitempty"`
	Error  string   `json:"error,omitempty"`
}

// normalizeChange validates a change, fills its defaults and returns its
// modules deduplicated case-insensitively (first spelling wins).
func normalizeChange(c Change, now time.Time) (Change, []normalizedModule, error) {
	if c.Key == "" {
		return c, nil, invalid("change key", "", "is empty (use the message or command id)")
	}
	if err := checkText("change key", c.Key, maxText); err != nil {
		return c, nil, err
	}
	if c.Source == "" {
		c.Source = c.Key
	}
	if err := checkText("source", c.Source, maxText); err != nil {
		return c, nil, err
	}
	if err := checkText("actor", c.Actor, maxID); err != nil {
		return c, nil, err
	}
	if err := checkText("version", c.Version, maxID); err != nil {
		return c, nil, err
	}
	if c.At.IsZero() {
		c.At = now
	}
	// Redis orders modules by a score of 2^42 ms plus the time; 2^42 ms is in 2109.
	if ms := c.At.UnixMilli(); ms <= 0 || ms >= 1<<42 {
		return c, nil, invalid("time", c.At.String(), "is out of range")
	}
	var mods []normalizedModule
	switch c.Kind {
	case ChangePreparing:
		p := c.Preparation
		if p.Percent != nil && (*p.Percent < 0 || *p.Percent > 100) {
			return c, nil, invalid("percent", fmt.Sprint(*p.Percent), "must be between 0 and 100")
		}
		if err := checkCount("current module", p.Current); err != nil {
			return c, nil, err
		}
		if err := checkCount("total modules", p.Total); err != nil {
			return c, nil, err
		}
		if p.Current != nil && p.Total != nil && *p.Current > *p.Total {
			return c, nil, invalid("current module", fmt.Sprint(*p.Current), fmt.Sprintf("is more than the total %d", *p.Total))
		}
		c.Preparation.Expected = strings.TrimSpace(p.Expected)
		if err := checkText("expected finish", c.Preparation.Expected, maxText); err != nil {
			return c, nil, err
		}
	case ChangeSummary:
		for _, f := range []struct {
			name string
			p    *int
		}{{"prepared", c.Counts.Prepared}, {"failed", c.Counts.Failed}, {"skipped", c.Counts.Skipped}} {
			if err := checkCount(f.name, f.p); err != nil {
				return c, nil, err
			}
		}
		if !c.Counts.Known() {
			return c, nil, invalid("summary", "", "has no counts")
		}
	case ChangeState:
		if c.State != StateFailed && c.State != StateReady && c.State != StateFinishedWithErrors {
			return c, nil, invalid("state", string(c.State), `must be "failed", "ready" or "finished-with-errors"`)
		}
	case ChangeAddModules:
		switch c.Reason {
		case ReasonFailed, ReasonSkipped, ReasonNotUpgraded, ReasonProducerNotPrepared:
		default:
			return c, nil, invalid("reason", string(c.Reason), "is not a known reason")
		}
		if len(c.Modules) == 0 {
			return c, nil, invalid("modules", "", "none given")
		}
		edges := make([]Edge, 0, len(c.Edges))
		for _, e := range c.Edges {
			p, err := NormalizeModule(e.Producer)
			if err != nil {
				return c, nil, err
			}
			q, err := NormalizeModule(e.Consumer)
			if err != nil {
				return c, nil, err
			}
			if e := (Edge{moduleKey(p), moduleKey(q)}); e.Producer != e.Consumer && !slices.Contains(edges, e) {
				edges = append(edges, e)
			}
		}
		c.Edges = edges
	case ChangeDone:
		if c.All && len(c.Modules) > 0 {
			return c, nil, invalid("modules", "", `give names or "all", not both`)
		}
		if !c.All && len(c.Modules) == 0 {
			return c, nil, invalid("modules", "", "none given")
		}
	case ChangeReset:
	case ChangeUndo:
		if len(c.Undoes) == 0 {
			return c, nil, invalid("undo", "", "names no change to undo")
		}
		for _, k := range c.Undoes {
			if err := checkText("change key", k, maxText); err != nil || k == "" {
				return c, nil, invalid("change key", k, "is not a change key")
			}
		}
	default:
		return c, nil, invalid("change kind", string(c.Kind), "is not known")
	}
	if c.Kind == ChangeAddModules || c.Kind == ChangeDone {
		seen := make(map[string]bool, len(c.Modules))
		for _, m := range c.Modules {
			name, err := NormalizeModule(m)
			if err != nil {
				return c, nil, err
			}
			k := moduleKey(name)
			if seen[k] {
				continue
			}
			seen[k] = true
			nm := normalizedModule{Name: name, Key: k}
			// An error line that is not plain text is left out, not the module.
			if e := strings.TrimSpace(c.Errors[m]); checkText("error", e, maxText) == nil {
				nm.Error = e
			}
			mods = append(mods, nm)
		}
	}
	return c, mods, nil
}

const maxSchedule = 100

// normalizeSettings validates channel settings and fills UpdatedAt.
func normalizeSettings(workspace, channel string, cs ChannelSettings, now time.Time) (ChannelSettings, error) {
	if err := checkID("workspace", workspace); err != nil {
		return cs, err
	}
	if err := checkID("channel", channel); err != nil {
		return cs, err
	}
	cs.Schedule = strings.TrimSpace(cs.Schedule)
	if err := checkText("schedule", cs.Schedule, maxSchedule); err != nil {
		return cs, err
	}
	if err := checkText("pause reason", cs.PauseReason, maxText); err != nil {
		return cs, err
	}
	if err := checkText("actor", cs.UpdatedBy, maxID); err != nil {
		return cs, err
	}
	if cs.UpdatedAt.IsZero() {
		cs.UpdatedAt = now
	}
	cs.UpdatedAt = fromMillis(toMillis(cs.UpdatedAt))
	return cs, nil
}
