package progress

import (
	"context"
	"testing"
	"time"
)

// BenchmarkJournal is what the journal adds to the ack path: Append on the
// local Redis against a PING in the same run (its floor: one round trip),
// and Append on the embedded store (a committed bbolt transaction).
// docs/performance-investigations.md gives the ratio.
func BenchmarkJournal(b *testing.B) {
	ctx := context.Background()
	e := Entry{Workspace: ws, Channel: "C0123456789", EventID: "Ev0123456789", Kind: "message",
		Payload: make([]byte, 1500), Findings: make([]byte, 200)}
	rs, c := newTestRedisStore(b, RedisOptions{})
	// PING and Append alternate, so that the shared machine's changing
	// speed weighs on both alike; the ratio is reported as append/ping.
	b.Run("redis-append-vs-ping", func(b *testing.B) {
		var ping, appended time.Duration
		var done []Entry
		for b.Loop() {
			t0 := time.Now()
			if err := c.Ping(ctx).Err(); err != nil {
				b.Fatal(err)
			}
			t1 := time.Now()
			id, err := rs.Append(ctx, "bench", e)
			if err != nil {
				b.Fatal(err)
			}
			appended += time.Since(t1)
			ping += t1.Sub(t0)
			done = append(done, Entry{Workspace: ws, ID: id})
		}
		b.ReportMetric(float64(ping.Nanoseconds())/float64(b.N), "ping-ns/op")
		b.ReportMetric(float64(appended.Nanoseconds())/float64(b.N), "append-ns/op")
		b.ReportMetric(float64(appended)/float64(ping), "append/ping")
		b.StopTimer()
		if err := rs.Done(ctx, done...); err != nil {
			b.Fatal(err)
		}
	})
	bs, err := OpenBoltStore(b.TempDir()+"/bench.db", BoltOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer bs.Close()
	b.Run("bolt-append", func(b *testing.B) {
		for b.Loop() {
			if _, err := bs.Append(ctx, "bench", e); err != nil {
				b.Fatal(err)
			}
		}
	})
}
