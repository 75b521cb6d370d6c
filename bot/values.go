package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/upgradebot/upgradebot/progress"
)

// getJSON reads the JSON document kept under key; found is false when
// there is none (or it expired). A document that does not decode is an error.
func getJSON[T any](ctx context.Context, s progress.Values, workspace, key string) (v T, found bool, err error) {
	js, found, err := s.Value(ctx, workspace, key)
	if err != nil || !found {
		return v, false, err
	}
	if err := json.Unmarshal(js, &v); err != nil {
		return v, false, fmt.Errorf("bot: value %s: %w", key, err)
	}
	return v, true, nil
}

// putJSON keeps v as JSON under key for ttl.
func putJSON(ctx context.Context, s progress.Values, workspace, key string, v any, ttl time.Duration) error {
	p, err := jsonPut(key, v, ttl)
	if err != nil {
		return err
	}
	return s.PutValues(ctx, workspace, p)
}

// jsonPut is v as JSON under key for ttl, for PutValues.
func jsonPut(key string, v any, ttl time.Duration) (progress.Put, error) {
	js, err := json.Marshal(v)
	if err != nil {
		return progress.Put{}, fmt.Errorf("bot: value %s: %w", key, err)
	}
	return progress.Put{Key: key, Value: js, TTL: ttl}, nil
}
