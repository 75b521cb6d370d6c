package bot

import (
	"context"
	"errors"
)

// ErrChannelGone means a post failed because the bot is no longer in the
// channel, or the channel no longer exists; retrying will not help.
var ErrChannelGone = errors.New("bot: not in the channel or channel not found")

// Poster posts the bot's messages to a channel (the Slack Web API in
// production, a fake in tests). Implementations retry rate limits and
// transient failures themselves within a bound, and wrap ErrChannelGone
// when the channel is out of reach for good.
type Poster interface {
	Post(ctx context.Context, channel string, r *Reply) error
}
