package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/upgradebot/upgradebot/config"
)

// TestRedisLogger: go-redis's lines become slog records, at a level that fits.
func TestRedisLogger(t *testing.T) {
	tests := []struct {
		name, format string
		args         []any
		level        slog.Level
		msg          string
	}{
		{"failed dial", "redis: connection pool: failed to dial after %d attempts: %v", []any{2, "connection refused"}, slog.LevelWarn,
			"connection pool: failed to dial after 2 attempts: connection refused"},
		{"failover", "sentinel: new master=%q addr=%q", []any{"m", "10.0.0.2:6379"}, slog.LevelInfo, `sentinel: new master="m" addr="10.0.0.2:6379"`},
		{"discovery", "sentinel: discovered new sentinel=%q for master=%q", []any{"s4", "m"}, slog.LevelDebug, `sentinel: discovered new sentinel="s4" for master="m"`},
		{"anything else", "Conn has unread data (not push notification), removing it", nil, slog.LevelWarn, "Conn has unread data (not push notification), removing it"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			redisLogger{slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}.Printf(context.Background(), tc.format, tc.args...)
			var rec struct{ Level, Msg, Component string }
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("%v: %q", err, buf.String())
			}
			if rec.Level != tc.level.String() || rec.Msg != tc.msg || rec.Component != "go-redis" {
				t.Errorf("got %+v, want level %v, msg %q", rec, tc.level, tc.msg)
			}
		})
	}
}

// stdRedisLogger prints as go-redis's default logger does; tests put it back.
type stdRedisLogger struct{ *log.Logger }

func (l stdRedisLogger) Printf(_ context.Context, format string, v ...any) {
	l.Logger.Printf(format, v...)
}

// TestRedisLinesFollowLogFormat: with main's wiring, go-redis's own lines
// (a dial to a Redis that is down) come out as the process's JSON log lines,
// not as plain "redis: 2026/…" text.
func TestRedisLinesFollowLogFormat(t *testing.T) {
	t.Cleanup(func() { redis.SetLogger(stdRedisLogger{log.New(os.Stderr, "redis: ", log.LstdFlags|log.Lshortfile)}) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	var out bytes.Buffer
	errOut := &lockedBuffer{} // (run_test.go) go-redis may still log from its pool's goroutines
	e := env{stdin: strings.NewReader("/upgrade status\n"), stdout: &out, stderr: errOut,
		environ: map[string]string{"REDIS_URL": "redis://" + addr + "/8", "UPGRADEBOT_LOG_FORMAT": "json", "HOME": t.TempDir(),
			"UPGRADEBOT_DATA": filepath.Join(t.TempDir(), "u.db")},
		useLogger: func(l *slog.Logger) { redis.SetLogger(redisLogger{l}) }}
	if code := runMain(context.Background(), []string{"shell"}, e); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var fromRedis int
	logged := errOut.String()
	for line := range strings.Lines(logged) {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("not a JSON log line: %q", line)
		}
		if rec["component"] == "go-redis" && strings.Contains(line, "failed to dial") {
			fromRedis++
		}
	}
	if fromRedis == 0 {
		t.Errorf("no go-redis line about the failed dial in the log:\n%s", logged)
	}
}

// JSON logs write durations as text logs do ("1h0m0s"), not in nanoseconds.
func TestJSONLogDurations(t *testing.T) {
	var out strings.Builder
	cfg := &config.Config{LogFormat: config.LogJSON, LogLevel: slog.LevelInfo}
	newLogger(cfg, &out).Info("grace", "grace", time.Hour)
	if !strings.Contains(out.String(), `"grace":"1h0m0s"`) {
		t.Errorf("JSON log: %s", out.String())
	}
}
