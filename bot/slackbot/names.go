package slackbot

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

const (
	// maxNameLookups bounds the Slack calls one export makes for names:
	// more people than that keep their ids.
	maxNameLookups = 200
	// nameTTL is how long a name is reused: people rename themselves and channels.
	nameTTL = time.Hour
	// maxNames bounds the names kept; the cache starts over when full.
	maxNames = 10000
	// nameLookupTime bounds the time one export spends asking.
	nameLookupTime = 15 * time.Second
)

// nameCache caches the names of users and channels by id.
type nameCache struct {
	mu sync.Mutex
	by map[string]cachedName
	// unscoped is when Slack last refused users.info for a missing scope:
	// announcements ask for their actor's name, and would each be refused.
	unscoped time.Time
}

type cachedName struct {
	name     string
	departed bool // a user deactivated in the workspace
	at       time.Time
}

// Names returns the names of user and channel ids (bot.Names): a user's
// real name (users.info, the users:read scope), a channel's #name
// (conversations.info). An id Slack does not name keeps its id; a
// missing scope or a rate limit stops the asking, so an export waits on
// Slack at most nameLookupTime.
func (a *API) Names(ctx context.Context, workspace string, ids []string) map[string]string {
	out := map[string]string{}
	for id, c := range a.lookup(ctx, workspace, ids) {
		if c.name != "" {
			out[id] = c.name
		}
	}
	return out
}

// Departed returns which user ids are of people deactivated in the
// workspace, or whose accounts Slack no longer finds (bot.Names), from
// users.info as Names asks it.
func (a *API) Departed(ctx context.Context, workspace string, ids []string) map[string]bool {
	out := map[string]bool{}
	for id, c := range a.lookup(ctx, workspace, ids) {
		out[id] = c.departed
	}
	return out
}

// lookup returns what Slack says of ids, from the cache or asked.
func (a *API) lookup(ctx context.Context, workspace string, ids []string) map[string]cachedName {
	ctx, cancel := context.WithTimeout(ctx, nameLookupTime)
	defer cancel()
	out := map[string]cachedName{}
	a.names.mu.Lock()
	if a.names.by == nil || len(a.names.by) >= maxNames {
		a.names.by = map[string]cachedName{}
	}
	var ask []string
	unscoped := time.Since(a.names.unscoped) < nameTTL
	for _, id := range ids {
		if c, ok := a.names.by[workspace+"/"+id]; ok && time.Since(c.at) < nameTTL {
			out[id] = c
		} else if len(ask) < maxNameLookups && !(unscoped && isUser(id)) { // ids come once each (withNames)
			ask = append(ask, id)
		}
	}
	a.names.mu.Unlock()
	for _, id := range ask {
		c, err := a.lookupName(ctx, id)
		var ae *APIError
		if errors.As(err, &ae) && (ae.Code == "missing_scope" || ae.RetryAfter > 0 || ae.refused) || ctx.Err() != nil {
			if ae != nil && ae.Code == "missing_scope" && isUser(id) {
				a.names.mu.Lock()
				a.names.unscoped = time.Now()
				a.names.mu.Unlock()
			}
			break // logged by fail; asking again would only fail again
		}
		if err == nil || errors.As(err, &ae) && ae.Code == "user_not_found" {
			// Also what Slack has no name for (a channel kind it does not name,
			// a user gone): not asked again while a name would be kept.
			if err != nil {
				// Not found in a workspace of its own: the account is gone
				// (Departed is asked of owners, who ran commands here; another
				// organization's people in a Slack Connect channel cannot). In
				// an Enterprise Grid organization, people of its other
				// workspaces run commands in channels shared with them, and this
				// token may not find them while they are still there: unknown there.
				c.departed = a.notFoundGone.Load()
			}
			c.at = time.Now()
			a.names.mu.Lock()
			a.names.by[workspace+"/"+id] = c
			a.names.mu.Unlock()
			out[id] = c
		}
	}
	return out
}

// isUser reports whether id is a person's (users.info names them).
func isUser(id string) bool { return strings.HasPrefix(id, "U") || strings.HasPrefix(id, "W") }

// lookupName asks Slack the name of a user or channel id (no name for another kind of id).
func (a *API) lookupName(ctx context.Context, id string) (cachedName, error) {
	switch {
	case isUser(id):
		var u *slack.User
		err := a.do(ctx, "users.info", "", func(ctx context.Context) (err error) {
			u, err = a.client.GetUserInfoContext(ctx, id)
			return err
		})
		if err != nil {
			return cachedName{}, err
		}
		for _, n := range []string{u.Profile.RealName, u.RealName, u.Profile.DisplayName, u.Name} {
			if n = strings.TrimSpace(n); n != "" {
				return cachedName{name: n, departed: u.Deleted}, nil
			}
		}
		return cachedName{departed: u.Deleted}, nil
	case strings.HasPrefix(id, "C") || strings.HasPrefix(id, "G"):
		var ch *slack.Channel
		err := a.do(ctx, "conversations.info", id, func(ctx context.Context) (err error) {
			ch, err = a.client.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: id})
			return err
		})
		if err != nil {
			return cachedName{}, err
		}
		if ch.Name != "" {
			return cachedName{name: "#" + ch.Name}, nil
		}
	}
	return cachedName{}, nil
}
