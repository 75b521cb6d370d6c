package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestSettingsTable checks the table against Config's env tags: the same
// variables in the same order. (TestSecretFromFile shows each secret's _FILE.)
func TestSettingsTable(t *testing.T) {
	var tags []string
	ct := reflect.TypeFor[Config]()
	for i := range ct.NumField() {
		if name := ct.Field(i).Tag.Get("env"); name != "" {
			tags = append(tags, name)
		}
	}
	var table []string
	for _, s := range Settings() {
		table = append(table, s.Name)
	}
	if !slices.Equal(tags, table) {
		t.Errorf("Config's env tags\n%v\nthe table\n%v", tags, table)
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
	defaults := map[string]string{} // variable → the default column
	for _, line := range strings.Split(section, "\n") {
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if !strings.HasPrefix(line, "| `") || len(cells) < 3 {
			continue
		}
		for _, m := range regexp.MustCompile("`([A-Z_]+)`").FindAllStringSubmatch(cells[0], -1) {
			inDoc = append(inDoc, m[1])
			defaults[m[1]] = cells[len(cells)-1]
		}
	}
	for _, s := range Settings() {
		if s.Default != "" && s.Default != "auto" && !strings.Contains(defaults[s.Name], "`"+s.Default+"`") {
			t.Errorf("%s: default %q, CONTRACTS.md says %q", s.Name, s.Default, defaults[s.Name])
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

func TestFlagsHelp(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	RegisterFlags(fs, map[string]string{})
	var help bytes.Buffer
	fs.SetOutput(&help)
	fs.PrintDefaults()
	for flagName, name := range flagVars {
		if !strings.Contains(help.String(), "-"+flagName) || !strings.Contains(help.String(), name) {
			t.Errorf("help lacks --%s or %s:\n%s", flagName, name, help.String())
		}
	}
}

func TestNilEnvironment(t *testing.T) {
	c, err := Load(ForDiagnose, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Timezone.String() != "UTC" || c.OCR != OCRAuto {
		t.Errorf("unexpected defaults: %+v", c)
	}
}

func TestLogValue(t *testing.T) {
	c := mustLoad(t, ForRun, nil, with(runEnv, "REDIS_URL", "redis://u:pw@r:6379/1", "UPGRADEBOT_ADMINS", "U1AA U2BB",
		"SLACK_API_URL", "http://user:PROXYSECRET@proxy.example/api/"))
	got := map[string]string{}
	for _, a := range c.LogValue().Group() {
		got[a.Key] = a.Value.String()
	}
	for _, s := range Settings() {
		if _, ok := got[s.Name]; !ok {
			t.Errorf("LogValue lacks %s", s.Name)
		}
	}
	want := map[string]string{
		"REDIS_URL": "redis://r:6379/1", "SLACK_BOT_TOKEN": "[redacted]", "SLACK_SIGNING_SECRET": "[unset]",
		"SLACK_API_URL": "http://proxy.example/api/", "REDIS_CLUSTER_URL": "[unset]",
		"UPGRADEBOT_LOG_LEVEL": "INFO", "UPGRADEBOT_MIN_REMINDER_INTERVAL": "15m0s",
		"UPGRADEBOT_TIMEZONE": "UTC",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"redis://host:6379", "redis://host:6379", true},
		{"redis://u:p@host:6379/0", "redis://host:6379/0", true},
		{"redis://:p@a@host:6379", "redis://host:6379", true},
		{"redis://s:26379?master_name=m&password=pw&sentinel_password=x&db=1", "redis://s:26379", true},
		{"https://user:PW@proxy.example/api/", "https://proxy.example/api/", true},
		{"http://h/api/#PW", "http://h/api/", true},
		// Not shown at all: no scheme and host, or the host or path could be part of a password.
		{"", "", false},
		{"PW", "", false},
		{"u:PW@host", "", false},
		{"redis://:p/a@ss@host:6379", "", false},
		{"redis://:p?x=PW@127.0.0.1:6379/8", "", false},
		{"redis://u:12/PW@host:6379", "", false},
		{"redis://u:12#PW@host:6379", "", false},
		{"redis://u:12?PW@host:6379", "", false},
		{"redis://u:PW%zz@host:6379", "", false},
		{"redis:PW@host", "", false},
	}
	for _, tc := range tests {
		if got := shownURL(tc.in); got != tc.want || (got != "") != tc.ok {
			t.Errorf("shownURL(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}
