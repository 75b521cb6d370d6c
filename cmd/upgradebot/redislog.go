package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
)

// redisLogger passes the lines go-redis logs on its own (a failed dial, a
// Sentinel failover) to the process's slog logger, so that they follow
// UPGRADEBOT_LOG_FORMAT and UPGRADEBOT_LOG_LEVEL instead of being printed
// to standard error as plain text. main installs it with redis.SetLogger.
type redisLogger struct{ logger *slog.Logger }

// Printf logs one go-redis line at the level redisLogLevel gives it.
func (r redisLogger) Printf(ctx context.Context, format string, v ...any) {
	msg := strings.TrimSpace(strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "))
	r.logger.Log(ctx, redisLogLevel(msg), msg, "component", "go-redis")
}

// redisLogLevel is Info for a Sentinel failover, Debug for the routine
// lines of Sentinel and Cluster discovery, and Warn for the rest: go-redis
// logs only what went wrong or changed, and a failed dial is worth seeing.
func redisLogLevel(msg string) slog.Level {
	switch {
	case strings.HasPrefix(msg, "sentinel: new master"):
		return slog.LevelInfo
	case strings.HasPrefix(msg, "sentinel: selected addr"),
		strings.HasPrefix(msg, "sentinel: discovered new sentinel"),
		strings.HasPrefix(msg, "sentinel: ignore addr"),
		strings.HasPrefix(msg, "cluster: slots"),
		strings.HasPrefix(msg, "pubsub: reconnecting"):
		return slog.LevelDebug
	}
	return slog.LevelWarn
}
