// Package botproc runs `upgradebot run` as a real process for the load tool
// and the fault tests: it builds the binary, starts it in HTTP mode on a
// loopback port against a Slack Web API URL and a Redis URL, waits until it
// is ready, reads its metrics and stops it with a signal.
package botproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Build compiles ./cmd/upgradebot into dir and returns the binary's path.
func Build(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	mod := strings.TrimSpace(string(out))
	if err != nil || mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the upgradebot module (go env GOMOD: %q, %v): run from the repository", mod, err)
	}
	bin := filepath.Join(dir, "upgradebot")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/upgradebot")
	cmd.Dir = filepath.Dir(mod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/upgradebot: %w\n%s", err, out)
	}
	return bin, nil
}

// Config says how to start the bot.
type Config struct {
	Bin      string // the built binary
	Dir      string // HOME and the log file
	BotToken string // SLACK_BOT_TOKEN
	Secret   string // SLACK_SIGNING_SECRET
	APIURL   string // SLACK_API_URL, ending in /
	RedisURL string // REDIS_URL
	Prefix   string // UPGRADEBOT_REDIS_PREFIX
	Env      map[string]string
}

// Bot is a running `upgradebot run`.
type Bot struct {
	Base    string // http://127.0.0.1:port
	PID     int
	LogPath string

	cmd     *exec.Cmd
	done    chan struct{}
	waitErr error
	client  *http.Client
}

var listenLine = regexp.MustCompile(`msg="listening for [^"]*" addr=(127\.0\.0\.1:\d+)`)

// Start runs the bot and waits (up to 20 s) until /readyz answers 200.
func Start(ctx context.Context, c Config) (*Bot, error) {
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + c.Dir, "SLACK_BOT_TOKEN=" + c.BotToken,
		"SLACK_SIGNING_SECRET=" + c.Secret, "SLACK_API_URL=" + c.APIURL, "REDIS_URL=" + c.RedisURL,
		"UPGRADEBOT_REDIS_PREFIX=" + c.Prefix, "UPGRADEBOT_ADDR=127.0.0.1:0", "UPGRADEBOT_OCR=off"}
	for k, v := range c.Env {
		env = append(env, k+"="+v)
	}
	logPath := filepath.Join(c.Dir, "upgradebot.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(c.Bin, "run")
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = env, c.Dir, logf, logf
	// Killed with this process, so a test that panics leaves no bot behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", c.Bin, err)
	}
	b := &Bot{PID: cmd.Process.Pid, LogPath: logPath, cmd: cmd, done: make(chan struct{}),
		client: &http.Client{Timeout: 10 * time.Second}}
	go func() {
		b.waitErr = cmd.Wait()
		logf.Close()
		close(b.done)
	}()
	// Bounded polling: the process says where it listens in its log, then
	// /readyz says when it can take traffic.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if b.Base == "" {
			if m := listenLine.FindStringSubmatch(b.Logs()); m != nil {
				b.Base = "http://" + m[1]
			}
		}
		if b.Base != "" {
			if code, _, err := b.Ready(); err == nil && code == http.StatusOK {
				return b, nil
			}
		}
		select {
		case <-b.done:
			return nil, fmt.Errorf("upgradebot exited at start (%v)\n%s", b.waitErr, b.Logs())
		case <-ctx.Done():
			b.Kill()
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.Kill()
			return nil, fmt.Errorf("upgradebot not ready within 20 s\n%s", b.Logs())
		}
	}
}

// EventsURL is the bot's /slack/events.
func (b *Bot) EventsURL() string { return b.Base + "/slack/events" }

// Logs returns what the bot wrote so far (its last 4 MB).
func (b *Bot) Logs() string {
	f, err := os.Open(b.LogPath)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > 4<<20 {
		_, _ = f.Seek(st.Size()-4<<20, io.SeekStart)
	}
	data, _ := io.ReadAll(f)
	return string(data)
}

// Ready returns /readyz's status code and body.
func (b *Bot) Ready() (int, string, error) {
	resp, err := b.client.Get(b.Base + "/readyz")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), nil
}

// Running reports whether the process has not exited.
func (b *Bot) Running() bool {
	select {
	case <-b.done:
		return false
	default:
		return true
	}
}

// Signal sends a signal to the process.
func (b *Bot) Signal(sig os.Signal) error { return b.cmd.Process.Signal(sig) }

// Wait waits up to timeout for the process to exit and returns its exit
// code (-1 when killed by a signal); an error when it is still running.
func (b *Bot) Wait(timeout time.Duration) (int, error) {
	select {
	case <-b.done:
	case <-time.After(timeout):
		return 0, fmt.Errorf("upgradebot still running after %v", timeout)
	}
	var ee *exec.ExitError
	if errors.As(b.waitErr, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, b.waitErr
}

// Stop sends SIGTERM and waits up to timeout; it kills the process after that.
func (b *Bot) Stop(timeout time.Duration) (int, error) {
	_ = b.Signal(syscall.SIGTERM)
	code, err := b.Wait(timeout)
	if err != nil {
		b.Kill()
	}
	return code, err
}

// Kill ends the process at once.
func (b *Bot) Kill() {
	if b.Running() {
		_ = b.cmd.Process.Kill()
		<-b.done
	}
}

// Metric sums the samples of a metric family on /metrics whose labels
// include the given name, value pairs; a histogram's sample is its count.
func (b *Bot) Metric(name string, labels ...string) (float64, error) {
	resp, err := b.client.Get(b.Base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return 0, fmt.Errorf("/metrics: %w", err)
	}
	total := 0.0
next:
	for _, m := range families[name].GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			if !hasLabel(m.GetLabel(), labels[i], labels[i+1]) {
				continue next
			}
		}
		total += m.GetCounter().GetValue() + m.GetGauge().GetValue() + float64(m.GetHistogram().GetSampleCount())
	}
	return total, nil
}

func hasLabel(ls []*dto.LabelPair, name, value string) bool {
	for _, l := range ls {
		if l.GetName() == name && l.GetValue() == value {
			return true
		}
	}
	return false
}
