package config

import (
	"bufio"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// The compose file must pass every setting the bot reads through to it, so
// an operator's .env reaches the bot whatever they set.
func TestComposeWiresEverySetting(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Image       string            `yaml:"image"`
			Build       any               `yaml:"build"`
			Command     []string          `yaml:"command"`
			Environment map[string]string `yaml:"environment"`
			DependsOn   map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
			Healthcheck *struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatalf("docker-compose.yml is not valid YAML: %v", err)
	}
	bot, ok := compose.Services["upgradebot"]
	if !ok || bot.Build == nil {
		t.Fatal("no upgradebot service built from the repository")
	}
	for _, s := range Settings() {
		for _, name := range namesOf(s) {
			v, ok := bot.Environment[name]
			if !ok {
				t.Errorf("docker-compose.yml does not pass %s to the bot", name)
				continue
			}
			if !strings.Contains(v, "${"+name) {
				t.Errorf("%s is set to %q instead of being taken from .env", name, v)
			}
		}
	}
	redis, ok := compose.Services["redis"]
	if !ok || redis.Healthcheck == nil || !slices.Contains(redis.Command, "--appendonly") {
		t.Errorf("redis needs append-only persistence and a health check: %+v", redis)
	}
	if bot.DependsOn["redis"].Condition != "service_healthy" {
		t.Error("the bot must wait for a healthy Redis")
	}
}

func TestEnvExampleListsEverySetting(t *testing.T) {
	f, err := os.Open(filepath.Join("..", ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, _, ok := strings.Cut(line, "=")
		if !ok {
			t.Errorf(".env.example: %q is not NAME=value", line)
		}
		seen[name] = true
	}
	for _, s := range Settings() {
		for _, name := range namesOf(s) {
			if !seen[name] {
				t.Errorf(".env.example lacks %s", name)
			}
		}
	}
}

// namesOf returns the variables of a setting: its name, and NAME_FILE for a secret.
func namesOf(s Setting) []string {
	if s.Secret {
		return []string{s.Name, s.Name + "_FILE"}
	}
	return []string{s.Name}
}
