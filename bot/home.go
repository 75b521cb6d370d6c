package bot

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/upgradebot/upgradebot/progress"
)

// HomeChart gives App Home the picture of env's burn-down chart for the
// user viewing it, env being followed in channels; false when that user
// may not see it there or it is not ready (the transport's to judge).
type HomeChart func(ctx context.Context, env string, channels []string) (Image, bool)

// Home is the App Home view: every environment's state and modules to
// republish, and the chart of each that chart (nil: none) gives.
func (b *Bot) Home(ctx context.Context, workspace string, chart HomeChart) *Reply {
	r := &Reply{Summary: "upgradebot"}
	r.Header("Upgrades in this workspace")
	envs, err := b.store.Environments(ctx, workspace)
	if err != nil {
		r.Blocks = append(r.Blocks, b.storeError("home", err).Blocks...)
		return r
	}
	if len(envs) == 0 {
		r.Section(Line{T("No environment is tracked yet. In a channel, "), C(b.cmd + " track prod 11.31.0"), T(" starts following one.")})
		return r
	}
	// Upgrades under way first, then finished ones: months of finished
	// upgrades must not push the live one out of the view. Environments no
	// channel follows any more are only named.
	underWayFirst(envs)
	var unfollowed []string
	for len(envs) > 0 && homeRank(envs[len(envs)-1]) == 2 {
		unfollowed, envs = append([]string{envs[len(envs)-1].Name}, unfollowed...), envs[:len(envs)-1]
	}
	// Ten modules per environment, and the environments that fit the
	// view's 100 blocks; the rest are named.
	var more []string
	for i, e := range envs {
		if len(more) > 0 {
			more = append(more, e.Name)
			continue
		}
		st, err := b.store.Status(ctx, workspace, e.Name, 10)
		if err != nil {
			r.Blocks = append(r.Blocks, b.storeError("home", err).Blocks...)
			return r
		}
		part := &Reply{}
		b.statusBlocks(part, st, b.extra(ctx, workspace, e.Name))
		if chart != nil && len(st.Channels) > 0 {
			if img, ok := chart(ctx, st.Name, st.Channels); ok {
				part.Picture(img)
			}
		}
		if len(r.Blocks)+1+len(part.Blocks) > homeBlocks-1 {
			more = append(more, e.Name)
			continue
		}
		if i > 0 {
			r.Divider()
		}
		r.Blocks = append(r.Blocks, part.Blocks...)
	}
	if len(more) > 0 {
		r.Context(notShown(fmt.Sprintf("… and %s not shown here: ", plural(len(more), "more environment", "more environments")), more,
			C(b.cmd+" status <env>"), T(" in a channel shows one.")))
	}
	if len(unfollowed) > 0 {
		r.Context(notShown("No channel follows these any more: ", unfollowed, C(b.cmd+" status <env>"), T(" shows one; "), C(b.cmd+" track <env>"), T(" follows it again.")))
	}
	return r
}

// underWayFirst sorts envs by homeRank, keeping their order within each.
func underWayFirst(envs []progress.Environment) {
	slices.SortStableFunc(envs, func(a, b progress.Environment) int { return cmp.Compare(homeRank(a), homeRank(b)) })
}

// homeRank orders lists of environments: upgrades under way, finished ones, environments no channel follows.
func homeRank(e progress.Environment) int {
	switch {
	case len(e.Channels) == 0:
		return 2
	case e.State == progress.StateDone:
		return 1
	}
	return 0
}
