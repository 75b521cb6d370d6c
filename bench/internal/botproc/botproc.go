// Package botproc runs `upgradebot run` as a real process for the load tool
// and the fault tests: it builds the binary, starts it in HTTP mode against
// a fake Slack Web API and a Redis server, waits until it is ready, samples
// its memory from /proc, reads its metrics and stops it with a signal. It
// also starts private redis-server processes on free loopback ports.
//
// Everything it starts listens on 127.0.0.1 only.
package botproc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ModuleRoot is the directory holding the repository's go.mod.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the upgradebot module (go env GOMOD is empty): run from the repository")
	}
	return filepath.Dir(mod), nil
}

// Build compiles ./cmd/upgradebot into dir and returns the binary's path.
func Build(dir string) (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "upgradebot")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/upgradebot")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/upgradebot: %w\n%s", err, out)
	}
	return bin, nil
}

// Config says how to start the bot.
type Config struct {
	Bin        string // the built binary
	Dir        string // HOME, the embedded store and the log file
	BotToken   string // SLACK_BOT_TOKEN; "" means xoxb-test
	Secret     string // SLACK_SIGNING_SECRET
	APIURL     string // SLACK_API_URL, ending in /
	RedisURL   string // REDIS_URL; "" uses the embedded store in Dir
	Prefix     string // UPGRADEBOT_REDIS_PREFIX
	Env        map[string]string
	ReadyAfter time.Duration // how long to wait for /readyz; 0 means 20 s
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

// Start runs the bot and waits until /readyz answers 200.
func Start(ctx context.Context, c Config) (*Bot, error) {
	if c.BotToken == "" {
		c.BotToken = "xoxb-test"
	}
	if c.ReadyAfter <= 0 {
		c.ReadyAfter = 20 * time.Second
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + c.Dir,
		"SLACK_BOT_TOKEN=" + c.BotToken,
		"SLACK_SIGNING_SECRET=" + c.Secret,
		"SLACK_API_URL=" + c.APIURL,
		"UPGRADEBOT_ADDR=127.0.0.1:0",
		"UPGRADEBOT_OCR=off",
	}
	if c.RedisURL != "" {
		env = append(env, "REDIS_URL="+c.RedisURL)
		if c.Prefix != "" {
			env = append(env, "UPGRADEBOT_REDIS_PREFIX="+c.Prefix)
		}
	} else {
		env = append(env, "UPGRADEBOT_DATA="+filepath.Join(c.Dir, "upgradebot.db"))
	}
	for k, v := range c.Env {
		env = append(env, k+"="+v)
	}
	logPath := filepath.Join(c.Dir, "upgradebot.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(c.Bin, "run")
	cmd.Env = env
	cmd.Dir = c.Dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = dieWithParent()
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
	deadline := time.Now().Add(c.ReadyAfter)
	for b.Base == "" {
		if m := listenLine.FindStringSubmatch(b.Logs()); m != nil {
			b.Base = "http://" + m[1]
			break
		}
		if err := b.wait(ctx, deadline, 20*time.Millisecond); err != nil {
			return nil, fmt.Errorf("upgradebot logged no listening address: %w\n%s", err, b.Logs())
		}
	}
	for {
		code, _, err := b.Ready()
		if err == nil && code == http.StatusOK {
			return b, nil
		}
		if err := b.wait(ctx, deadline, 20*time.Millisecond); err != nil {
			return nil, fmt.Errorf("upgradebot not ready: %w\n%s", err, b.Logs())
		}
	}
}

// wait sleeps d unless the process ended, ctx is done or deadline passed.
func (b *Bot) wait(ctx context.Context, deadline time.Time, d time.Duration) error {
	select {
	case <-b.done:
		return fmt.Errorf("the process exited (%v)", b.waitErr)
	case <-ctx.Done():
		b.Kill()
		return ctx.Err()
	case <-time.After(d):
	}
	if time.Now().After(deadline) {
		b.Kill()
		return errors.New("timed out")
	}
	return nil
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
	if b.waitErr == nil {
		return 0, nil
	}
	var ee *exec.ExitError
	if errors.As(b.waitErr, &ee) {
		return ee.ExitCode(), nil
	}
	return 0, b.waitErr
}

// Stop sends SIGTERM and waits up to timeout; it kills the process after that.
func (b *Bot) Stop(timeout time.Duration) (int, error) {
	if !b.Running() {
		return b.Wait(0)
	}
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

// Memory is the process's resident memory from /proc/PID/status, in KiB.
type Memory struct {
	RSS, HWM int64 // VmRSS, VmHWM (peak)
}

// Memory reads the process's resident set size and its peak.
func (b *Bot) Memory() (Memory, error) { return ProcMemory(b.PID) }

// ProcMemory reads VmRSS and VmHWM of a process.
func ProcMemory(pid int) (Memory, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return Memory{}, err
	}
	var m Memory
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		for _, f := range []struct {
			name string
			dst  *int64
		}{{"VmRSS:", &m.RSS}, {"VmHWM:", &m.HWM}} {
			if rest, ok := strings.CutPrefix(line, f.name); ok {
				fields := strings.Fields(rest)
				if len(fields) > 0 {
					*f.dst, _ = strconv.ParseInt(fields[0], 10, 64)
				}
			}
		}
	}
	return m, nil
}

// Metric sums the samples of a metric from /metrics whose labels include
// the given name=value pairs.
func (b *Bot) Metric(name string, labels ...string) (float64, error) {
	resp, err := b.client.Get(b.Base + "/metrics")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("/metrics: %s", resp.Status)
	}
	return SumMetric(resp.Body, name, labels...)
}

// SumMetric sums the samples of a metric in Prometheus text format.
func SumMetric(r io.Reader, name string, labels ...string) (float64, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	total := 0.0
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		var lbls string
		switch {
		case strings.HasPrefix(rest, "{"):
			end := strings.Index(rest, "}")
			if end < 0 {
				continue
			}
			lbls, rest = rest[1:end], rest[end+1:]
		case strings.HasPrefix(rest, " "):
		default:
			continue // a longer name
		}
		ok := true
		for i := 0; i+1 < len(labels); i += 2 {
			if !strings.Contains(","+lbls+",", ","+labels[i]+`="`+labels[i+1]+`",`) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			continue
		}
		total += v
	}
	return total, sc.Err()
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// Redis is a private redis-server on a loopback port (--save "" --appendonly no).
type Redis struct {
	Addr string
	Port int
	Dir  string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// HaveRedisServer reports whether redis-server is on PATH.
func HaveRedisServer() bool {
	_, err := exec.LookPath("redis-server")
	return err == nil
}

// StartRedis starts a redis-server of its own in dir on a free loopback port.
func StartRedis(dir string) (*Redis, error) {
	var lastErr error
	for range 5 {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		r := &Redis{Addr: fmt.Sprintf("127.0.0.1:%d", port), Port: port, Dir: dir}
		if lastErr = r.Start(); lastErr == nil {
			return r, nil
		}
	}
	return nil, lastErr
}

// URL is the server's redis:// URL for database db.
func (r *Redis) URL(db int) string { return fmt.Sprintf("redis://%s/%d", r.Addr, db) }

// Start (re)starts the server on its port and directory; a dump.rdb left
// there by Stop is loaded.
func (r *Redis) Start() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		return errors.New("redis-server already running")
	}
	logf, err := os.OpenFile(filepath.Join(r.Dir, "redis.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", strconv.Itoa(r.Port),
		"--save", "", "--appendonly", "no", "--dir", r.Dir, "--dbfilename", "dump.rdb",
		"--protected-mode", "yes", "--daemonize", "no", "--loglevel", "warning")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = dieWithParent()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("redis-server: %w", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := redisPing(r.Addr); err == nil {
			r.cmd, r.done = cmd, done
			return nil
		}
		select {
		case <-done:
			return fmt.Errorf("redis-server on %s exited at start (port taken?)", r.Addr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			return fmt.Errorf("redis-server on %s did not answer", r.Addr)
		}
	}
}

// Stop shuts the server down, saving its data to dump.rdb first (SHUTDOWN
// SAVE), so that Start brings the same data back, as a restarted server
// with persistence would.
func (r *Redis) Stop() error {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.cmd = nil
	r.mu.Unlock()
	if cmd == nil {
		return nil
	}
	_ = redisCommand(r.Addr, "SHUTDOWN", "SAVE")
	select {
	case <-done:
		return nil
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		return errors.New("redis-server did not shut down; killed")
	}
}

// Kill ends the server without saving.
func (r *Redis) Kill() {
	r.mu.Lock()
	cmd, done := r.cmd, r.done
	r.cmd = nil
	r.mu.Unlock()
	if cmd != nil {
		_ = cmd.Process.Kill()
		<-done
	}
}

// FlushAll empties the server (it is this process's own).
func (r *Redis) FlushAll() error { return redisCommand(r.Addr, "FLUSHALL") }

func redisPing(addr string) error { return redisCommand(addr, "PING") }

// redisCommand sends one command in RESP and reads the first reply line.
func redisCommand(addr string, args ...string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		if len(args) > 0 && args[0] == "SHUTDOWN" && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
			return nil // the server closed the connection as it went away
		}
		return err
	}
	if strings.HasPrefix(line, "-") {
		return errors.New(strings.TrimSpace(line[1:]))
	}
	return nil
}

// ProcCPU is the CPU time (user + system) a process used so far.
func ProcCPU(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count fields after its ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, errors.New("unreadable /proc stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64) // field 14
	st, _ := strconv.ParseInt(f[12], 10, 64) // field 15
	const ticks = 100                        // USER_HZ on Linux
	return time.Duration(ut+st) * time.Second / ticks, nil
}

// SelfCPU is the CPU time this process used so far.
func SelfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// PID is the redis-server's process id (0 when stopped).
func (r *Redis) PID() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return 0
	}
	return r.cmd.Process.Pid
}

// dieWithParent has the child killed when this process dies, so that a
// test that panics (and skips its cleanups) leaves no bot or redis-server
// behind.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
