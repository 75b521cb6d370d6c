package bot

import "context"

// Home is the App Home view: every environment's state and modules to republish.
func (b *Bot) Home(ctx context.Context, workspace string) *Reply {
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
	}
	return r
}
