package bot

import (
	"context"
	"errors"
)

// ErrChannelGone means a post failed because the bot is no longer in the
// channel, or the channel no longer exists; retrying will not help.
var ErrChannelGone = errors.New("bot: not in the channel or channel not found")

// ErrMaybePosted means a post failed after the service may have made it
// (a server error, a broken connection, a timeout): trying again could
// post it twice, so it is not.
var ErrMaybePosted = errors.New("bot: the post failed, but it may have been made")

// ErrRefused means Slack refused a post for a reason that trying again
// within minutes will not change (the token, a scope, who may post there).
var ErrRefused = errors.New("bot: Slack refused the post")

// Poster posts the bot's messages to a channel (the Slack Web API in
// production, a fake in tests). Implementations retry rate limits and
// failures that are safe to retry themselves within a bound, wrap
// ErrChannelGone when the channel is out of reach for good,
// ErrMaybePosted when the post may have been made, and ErrRefused.
type Poster interface {
	Post(ctx context.Context, channel string, r *Reply) error
}
