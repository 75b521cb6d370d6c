package slackbot

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

type manifest struct {
	Metadata struct {
		Major int `yaml:"major_version"`
	} `yaml:"_metadata"`
	Display struct {
		Name string `yaml:"name"`
	} `yaml:"display_information"`
	Features struct {
		AppHome struct {
			HomeTab     bool `yaml:"home_tab_enabled"`
			MessagesTab bool `yaml:"messages_tab_enabled"`
		} `yaml:"app_home"`
		BotUser struct {
			DisplayName string `yaml:"display_name"`
		} `yaml:"bot_user"`
		SlashCommands []struct {
			Command   string `yaml:"command"`
			URL       string `yaml:"url"`
			UsageHint string `yaml:"usage_hint"`
			Escape    bool   `yaml:"should_escape"`
		} `yaml:"slash_commands"`
	} `yaml:"features"`
	OAuth struct {
		Scopes struct {
			Bot []string `yaml:"bot"`
		} `yaml:"scopes"`
	} `yaml:"oauth_config"`
	Settings struct {
		Events struct {
			RequestURL string   `yaml:"request_url"`
			BotEvents  []string `yaml:"bot_events"`
		} `yaml:"event_subscriptions"`
		Interactivity struct {
			Enabled    bool   `yaml:"is_enabled"`
			RequestURL string `yaml:"request_url"`
		} `yaml:"interactivity"`
		SocketMode bool `yaml:"socket_mode_enabled"`
	} `yaml:"settings"`
}

// The manifests grant every scope and subscribe to every event the code
// relies on, declare /upgrade and interactivity, and in HTTP mode send
// everything to the one URL the server serves.
func TestManifests(t *testing.T) {
	for _, c := range []struct {
		file   string
		socket bool
	}{{"manifest-socket.yaml", true}, {"manifest-http.yaml", false}} {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("..", "..", "slack", c.file))
			if err != nil {
				t.Fatal(err)
			}
			var m manifest
			dec := yaml.NewDecoder(strings.NewReader(string(data)))
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("not YAML: %v", err)
			}
			if m.Metadata.Major != 1 || m.Display.Name == "" || m.Features.BotUser.DisplayName == "" {
				t.Errorf("metadata, name or bot user missing: %+v", m)
			}
			if !m.Features.AppHome.HomeTab {
				t.Error("the Home tab is off, but the bot publishes an App Home")
			}
			for _, s := range BotScopes {
				if !slices.Contains(m.OAuth.Scopes.Bot, s) {
					t.Errorf("scope %s missing", s)
				}
			}
			for _, s := range m.OAuth.Scopes.Bot {
				if !slices.Contains(BotScopes, s) {
					t.Errorf("scope %s is asked for but not used", s)
				}
			}
			for _, e := range BotEvents {
				if !slices.Contains(m.Settings.Events.BotEvents, e) {
					t.Errorf("event %s missing", e)
				}
			}
			if len(m.Features.SlashCommands) != 1 || m.Features.SlashCommands[0].Command != "/upgrade" || m.Features.SlashCommands[0].UsageHint == "" {
				t.Errorf("slash commands: %+v", m.Features.SlashCommands)
			}
			if !m.Settings.Interactivity.Enabled {
				t.Error("interactivity is off, but the bot's replies have buttons")
			}
			if m.Settings.SocketMode != c.socket {
				t.Errorf("socket_mode_enabled: %v", m.Settings.SocketMode)
			}
			urls := []string{m.Settings.Events.RequestURL, m.Settings.Interactivity.RequestURL, m.Features.SlashCommands[0].URL}
			for _, u := range urls {
				switch {
				case c.socket && u != "":
					t.Errorf("a request URL in the Socket Mode manifest: %s", u)
				case !c.socket && (!strings.HasPrefix(u, "https://") || !strings.HasSuffix(u, EventsPath)):
					t.Errorf("request URL %q is not https://…%s", u, EventsPath)
				}
			}
		})
	}
}
