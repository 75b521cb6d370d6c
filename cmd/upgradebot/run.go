package main

import (
	"context"
	"errors"

	"github.com/upgradebot/upgradebot/config"
)

func cmdRun(ctx context.Context, args []string, flags *config.Flags, e env) error {
	if len(args) > 0 {
		return usageError{"run takes no arguments; settings come from flags before the command, the environment or --config"}
	}
	if _, err := config.Load(config.ForRun, config.Sources{Flags: flags, LookupEnv: e.lookupEnv}); err != nil {
		return err
	}
	return errors.New("the Slack connection is not built into this version yet; try `upgradebot shell`")
}
