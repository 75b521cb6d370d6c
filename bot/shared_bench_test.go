package bot

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// BenchmarkSharedErrorLog answers a shared Error Log of 2,000 and of
// 16,000 rows, each naming its own module, in a channel that follows no
// environment: the reply's cost grows with the rows (8× the rows, about 8×
// the time), not with their square, as it did (32 s for the larger one).
func BenchmarkSharedErrorLog(b *testing.B) {
	for _, rows := range []int{2000, 16000} {
		b.Run(fmt.Sprint(rows, "rows"), func(b *testing.B) {
			bot, _ := newTestBot(b)
			var sb strings.Builder
			sb.WriteString("Instant,Module_Name,Message\n")
			for i := range rows {
				fmt.Fprintf(&sb, "2026-12-01 10:00:00,X,Upgrade Failure: Upgrade failed for Mod_%d\n", i)
			}
			im := bot.ReadFile("log.csv", []byte(sb.String()))
			for i := 0; b.Loop(); i++ {
				bot.HandleMessage(context.Background(), Message{Workspace: "T1", Channel: "C1", User: "U1", TS: fmt.Sprint("1.", i), Text: "see file", Images: []ImageText{im}})
			}
		})
	}
}
