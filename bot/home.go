package bot

import (
	"context"
	"fmt"
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
	return r
}
