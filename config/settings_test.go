package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestSettingsTable(t *testing.T) {
	names := map[string]bool{}
	for _, s := range Settings() {
		if names[s.Name] {
			t.Errorf("%s listed twice", s.Name)
		}
		names[s.Name] = true
		wantKey := strings.ToLower(strings.TrimPrefix(s.Name, "UPGRADEBOT_"))
		if s.Key != wantKey {
			t.Errorf("%s: key %q, want %q", s.Name, s.Key, wantKey)
		}
		if s.Description == "" || s.DefaultDoc == "" {
			t.Errorf("%s: missing description or documented default", s.Name)
		}
		if s.Secret {
			if s.Flag != "" || s.FileName != s.Name+"_FILE" || s.FileKey != s.Key+"_file" || s.FileFlag != strings.ReplaceAll(s.Key, "_", "-")+"-file" {
				t.Errorf("%s: secret naming %+v", s.Name, s)
			}
		} else if s.Flag != strings.ReplaceAll(s.Key, "_", "-") || s.FileName != "" {
			t.Errorf("%s: flag %q", s.Name, s.Flag)
		}
	}
	keys := YAMLKeys()
	if len(keys) != len(Settings())+3 {
		t.Errorf("YAMLKeys has %d keys: %v", len(keys), keys)
	}
	// The copy is the caller's.
	a := Settings()
	a[0].Name = "CHANGED"
	if Settings()[0].Name == "CHANGED" {
		t.Error("Settings shares its table")
	}
}

// TestSettingsMatchContracts compares the table with the Settings section of
// CONTRACTS.md, when the shared folder is beside the repository.
func TestSettingsMatchContracts(t *testing.T) {
	var doc []byte
	for _, p := range []string{"../../shared/CONTRACTS.md", "../shared/CONTRACTS.md"} {
		if b, err := os.ReadFile(filepath.FromSlash(p)); err == nil {
			doc = b
			break
		}
	}
	if doc == nil {
		t.Skip("CONTRACTS.md not found beside the repository")
	}
	_, section, _ := strings.Cut(string(doc), "## Settings")
	section, _, _ = strings.Cut(section, "\n## ")
	var inDoc []string
	for _, line := range strings.Split(section, "\n") {
		first, _, ok := strings.Cut(strings.TrimPrefix(line, "|"), "|")
		if !strings.HasPrefix(line, "| `") || !ok {
			continue
		}
		for _, m := range regexp.MustCompile("`([A-Z_]+)`").FindAllStringSubmatch(first, -1) {
			inDoc = append(inDoc, m[1])
		}
	}
	var inCode []string
	for _, s := range Settings() {
		inCode = append(inCode, s.Name)
	}
	if !slices.Equal(inDoc, inCode) {
		t.Errorf("CONTRACTS.md lists\n%v\nSettings() has\n%v", inDoc, inCode)
	}
}

func TestFlags(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	RegisterFlags(fs)
	for _, s := range Settings() {
		if s.Flag != "" && fs.Lookup(s.Flag) == nil {
			t.Errorf("no flag --%s", s.Flag)
		}
		if s.FileFlag != "" && fs.Lookup(s.FileFlag) == nil {
			t.Errorf("no flag --%s", s.FileFlag)
		}
		if s.Secret && fs.Lookup(s.Key) != nil {
			t.Errorf("secret %s must not be a flag", s.Name)
		}
	}
	if fs.Lookup("config") == nil {
		t.Error("no --config")
	}
	var help bytes.Buffer
	fs.SetOutput(&help)
	fs.PrintDefaults() // calls String on zero values: must not panic
	if !strings.Contains(help.String(), "UPGRADEBOT_TIMEZONE") || !strings.Contains(help.String(), "-config FILE") {
		t.Errorf("help lacks the variable names or FILE:\n%s", help.String())
	}
}

// TestFlagsOnTwoSets checks flags before and after the command: the later parse wins.
func TestFlagsOnTwoSets(t *testing.T) {
	f := NewFlags()
	global := flag.NewFlagSet("upgradebot", flag.ContinueOnError)
	f.Register(global)
	sub := flag.NewFlagSet("run", flag.ContinueOnError)
	f.Register(sub)
	dir := t.TempDir()
	cfg := writeFile(t, dir, "c.yaml", "redis_prefix: from-file\n")
	if err := global.Parse([]string{"--config", cfg, "--timezone", "Europe/Lisbon", "--addr", ":1", "run", "--addr", ":2"}); err != nil {
		t.Fatal(err)
	}
	if global.Arg(0) != "run" {
		t.Fatalf("command = %q", global.Arg(0))
	}
	if err := sub.Parse(global.Args()[1:]); err != nil {
		t.Fatal(err)
	}
	c, err := Load(ForRun, Sources{Flags: f, LookupEnv: envOf(runEnv)})
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != ":2" || c.Timezone.String() != "Europe/Lisbon" || c.RedisPrefix != "from-file" || c.ConfigFile != cfg {
		t.Errorf("addr %q, zone %v, prefix %q, file %q", c.Addr, c.Timezone, c.RedisPrefix, c.ConfigFile)
	}
}

func TestNilSources(t *testing.T) {
	c, err := Load(ForDiagnose, Sources{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Timezone.String() != "UTC" || c.OCR != OCRAuto {
		t.Errorf("unexpected defaults: %+v", c)
	}
}

func TestRedactedAndLogValue(t *testing.T) {
	c := mustLoad(t, ForRun, []string{}, with(runEnv, "REDIS_URL", "redis://u:pw@r:6379/1"))
	m := c.Redacted()
	for _, s := range Settings() {
		if _, ok := m[s.Name]; !ok {
			t.Errorf("Redacted lacks %s", s.Name)
		}
	}
	if m[envRedisURL] != "redis://[redacted]@r:6379/1" || m[envSlackBotToken] != "[redacted]" || m[envSlackSigningSecret] != "[unset]" || m[envLogLevel] != "info" {
		t.Errorf("Redacted = %v", m)
	}
	attrs := c.LogValue().Group()
	if len(attrs) != len(Settings()) {
		t.Errorf("LogValue has %d attrs", len(attrs))
	}
}

func TestRedactURL(t *testing.T) {
	tests := map[string]string{
		"redis://host:6379":         "redis://host:6379",
		"redis://u:p@host:6379/0":   "redis://[redacted]@host:6379/0",
		"redis://:p/a@ss@host:6379": "redis://[redacted]@host:6379",
		"u:p@host":                  "[redacted]@host",
		"":                          "",
	}
	for in, want := range tests {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
