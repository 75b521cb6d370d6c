package bot

import "context"

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
	// Ten modules per environment keeps a workspace of many environments within the view's 100 blocks.
	for i, e := range envs {
		if i > 0 {
			r.Divider()
		}
		st, err := b.store.Status(ctx, workspace, e.Name, 10)
		if err != nil {
			r.Blocks = append(r.Blocks, b.storeError("home", err).Blocks...)
			return r
		}
		b.statusBlocks(r, st, b.extra(ctx, workspace, e.Name))
		if chart != nil && len(st.Channels) > 0 {
			if img, ok := chart(ctx, st.Name, st.Channels); ok {
				r.Picture(img)
			}
		}
	}
	return r
}
