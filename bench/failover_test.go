package bench

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/upgradebot/upgradebot/bench/internal/botproc"
	"github.com/upgradebot/upgradebot/bench/internal/load"
	"github.com/upgradebot/upgradebot/bot/slackbot/slackfake"
	"github.com/upgradebot/upgradebot/internal/redistest"
	"github.com/upgradebot/upgradebot/progress"
)

// failoverModule is a module name the failover test's commands report.
var failoverModule = regexp.MustCompile(`Fo[12]n\d{4}`)

// Two bot processes on one Redis behind Sentinel (a master, its replica,
// three sentinels calling the master down after 1 s), under steady
// tracking traffic (/upgrade failed … from a user, 10 a second per bot):
// kill -9 the master. Sentinel promotes the replica; both bots carry on
// without a restart within a few seconds; every change a user saw
// acknowledged is in the store afterwards, and none was applied twice;
// pasted errors sent meanwhile are acknowledged in time and answered once.
// A change acknowledged as "not yet on a replica" is repeated, as the
// reply says is safe, and must then be there too.
func TestFaultSentinelFailover(t *testing.T) {
	faultsOn(t)
	t.Parallel()
	sent, err := redistest.NewSentinel(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sent.Kill)
	r := newRig(t, rigOptions{redisURL: func(*redistest.Server) string { return sent.URL(1) }})
	if !strings.Contains(r.bot.Logs(), `kind=sentinel`) {
		t.Errorf("the start-up log does not say it connected through Sentinel")
	}
	const ch = "C0FAILOVER"
	r.track(ch, "prod")
	first := r.bot
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	r.startBot(ctx) // the second process, on the same Redis and fake Slack
	cancel()
	bots := []*botproc.Bot{first, r.bot}

	// Steady traffic: each bot gets a command every 100 ms until stop.
	type sentCmd struct {
		module string
		at     time.Time
		code   int
	}
	var mu sync.Mutex
	var cmds []sentCmd
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 2 {
		wg.Go(func() {
			tick := time.NewTicker(100 * time.Millisecond)
			defer tick.Stop()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				case <-tick.C:
				}
				mod := fmt.Sprintf("Fo%dn%04d", i+1, n)
				at := time.Now()
				req := slackfake.FormRequest(bots[i].EventsURL(), faultSecret, slackfake.SlashCommand(ch, faultUser, "failed prod: "+mod, r.fake.ResponseURL("fo-"+mod), "fo-"+mod))
				code := 0
				if resp, err := r.client.Do(req); err == nil {
					code = resp.StatusCode
					resp.Body.Close()
				}
				mu.Lock()
				cmds = append(cmds, sentCmd{mod, at, code})
				mu.Unlock()
			}
		})
	}
	// acked are the modules whose announcement was posted, with its time and
	// whether it said the change is not yet on a replica.
	type ack struct {
		at            time.Time
		posts         int
		notReplicated bool
	}
	acked := func() map[string]*ack {
		out := map[string]*ack{}
		for _, p := range r.posts(ch, "-") {
			seen := map[string]bool{} // a name may show in the text and the blocks
			for _, m := range failoverModule.FindAllString(text(p), -1) {
				if seen[m] {
					continue
				}
				seen[m] = true
				a := out[m]
				if a == nil {
					a = &ack{at: p.At}
					out[m] = a
				}
				a.posts++
				a.notReplicated = a.notReplicated || strings.Contains(text(p), "not yet on a replica")
			}
		}
		return out
	}
	r.waitFor("changes acknowledged by both bots before the failover", 20*time.Second, func() bool {
		a := acked()
		return a["Fo1n0010"] != nil && a["Fo2n0010"] != nil
	})

	// Chat and pasted errors to the second bot too (journaled before their
	// ack): each is acknowledged in time and answered once. No Slack
	// re-deliveries: one that arrives while the store is down is answered
	// again, by design (deduplication needs the store, and the bot answers
	// rather than stay silent).
	bgDone := make(chan *load.Result, 1)
	go func() {
		res, err := load.Run(context.Background(), load.Options{URL: r.bot.EventsURL(), Secret: faultSecret,
			Rate: 50, Duration: 12 * time.Second, Concurrency: 16, ErrorShare: 0.2})
		if err != nil {
			t.Error(err)
		}
		bgDone <- res
	}()
	// The bots' writes wait for the replica (WAIT on the master).
	mc := redis.NewClient(&redis.Options{Addr: sent.Master.Addr})
	stats, err := mc.Info(context.Background(), "commandstats").Result()
	mc.Close()
	if err != nil || !strings.Contains(stats, "cmdstat_wait:calls=") {
		t.Errorf("no WAIT on the master before the failover (%v)", err)
	}
	killed := time.Now()
	sent.Master.Kill()
	// Each bot carries on: a command sent after the kill is acknowledged.
	carried := [2]time.Duration{}
	r.waitFor("both bots acknowledging changes again after the kill", 30*time.Second, func() bool {
		mu.Lock()
		sentAt := map[string]time.Time{}
		for _, c := range cmds {
			sentAt[c.module] = c.at
		}
		mu.Unlock()
		for m, a := range acked() {
			i := int(m[2] - '1')
			if sentAt[m].After(killed) && (carried[i] == 0 || a.at.Sub(killed) < carried[i]) {
				carried[i] = a.at.Sub(killed)
			}
		}
		return carried[0] > 0 && carried[1] > 0
	})
	time.Sleep(2 * time.Second) // more traffic on the new master
	close(stop)
	wg.Wait()
	if addr, err := sent.MasterAddr(context.Background()); err != nil || addr != sent.Replica.Addr {
		t.Errorf("master after the failover: %s, %v; want the promoted replica %s", addr, err, sent.Replica.Addr)
	}
	for i, b := range bots {
		if !b.Running() {
			t.Errorf("bot %d exited during the failover", i+1)
		}
	}
	for i, d := range carried {
		t.Logf("bot %d acknowledged changes again %v after the master was killed", i+1, d.Round(10*time.Millisecond))
		if d > 10*time.Second {
			t.Errorf("bot %d carried on only %v after the kill; want within a few seconds", i+1, d)
		}
	}

	res := <-bgDone
	checkAcks(t, res, false)
	r.waitFor("an answer to every acknowledged pasted error", 30*time.Second, func() bool {
		missing, _ := r.answeredOnce(res.Pastes)
		return missing == 0
	})
	if _, dup := r.answeredOnce(res.Pastes); dup > 0 || len(res.Pastes) == 0 {
		t.Errorf("of %d acknowledged pasted errors, %d answered twice", len(res.Pastes), dup)
	}

	// Wait until every command sent has its answer (an announcement or the
	// "unavailable" message), then check the store.
	mu.Lock()
	all := append([]sentCmd{}, cmds...)
	mu.Unlock()
	r.waitFor("an answer to every command", 30*time.Second, func() bool {
		a := acked()
		for _, c := range all {
			if a[c.module] == nil && len(r.responses("fo-"+c.module)) == 0 && c.code == http.StatusOK {
				return false
			}
		}
		return true
	})
	final := acked()
	var unconfirmed []string
	for m, a := range final {
		if a.notReplicated {
			unconfirmed = append(unconfirmed, m)
		}
	}
	// The user repeats what was not yet on a replica: a new command each.
	for _, m := range unconfirmed {
		id := "fo-again-" + m
		r.slash(ch, "failed prod: "+m, id)
		r.waitFor("the repeated "+m, 15*time.Second, func() bool {
			return len(r.responses(id)) > 0 || acked()[m].posts > 1
		})
	}
	store, err := progress.OpenRedisURL(sent.URL(1), progress.RedisOptions{Prefix: r.prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	st, err := store.Status(context.Background(), "T0FAKE", "prod", -1)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, m := range st.Modules {
		have[m.Name] = true
	}
	hist, err := store.History(context.Background(), "T0FAKE", "prod")
	if err != nil {
		t.Fatal(err)
	}
	applied := map[string]int{}
	for _, e := range hist {
		for _, m := range failoverModule.FindAllString(e.Detail, -1) {
			applied[m]++
		}
	}
	lost, twice := 0, 0
	for m, a := range final {
		if !have[m] {
			lost++
			t.Errorf("%s was acknowledged (not-replicated note: %v) but is not in the store after the failover", m, a.notReplicated)
		}
		if applied[m] > 1 || a.posts > 1 && !a.notReplicated {
			twice++
			t.Errorf("%s applied %d times, announced %d times", m, applied[m], a.posts)
		}
	}
	failed, refused := 0, 0
	for _, c := range all {
		switch {
		case c.code != http.StatusOK:
			refused++
		case final[c.module] == nil:
			failed++
		}
	}
	t.Logf("%d commands in all, %d acknowledged as recorded (%d of them not yet on a replica, repeated), %d answered 'unavailable' during the failover, %d not acknowledged; after it: %d lost, %d applied twice; %d pasted errors, each answered once",
		len(all), len(final), len(unconfirmed), failed, refused, lost, twice, len(res.Pastes))
}

// The binary on a Redis Cluster (REDIS_CLUSTER_URL): it says so at
// start-up, /readyz says ok, and a pasted error and a command are recorded
// and journaled across the Cluster's nodes (a script or transaction across
// hash slots would fail here).
func TestFaultClusterStore(t *testing.T) {
	faultsOn(t)
	t.Parallel()
	cluster, err := redistest.NewCluster(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Kill)
	r := newRig(t, rigOptions{redisURL: func(*redistest.Server) string { return "" },
		env: map[string]string{"REDIS_CLUSTER_URL": cluster.URL()}})
	if !strings.Contains(r.bot.Logs(), "kind=cluster") {
		t.Errorf("the start-up log does not say it connected to a Cluster")
	}
	if code, status := r.readiness(); code != http.StatusOK || status != "ok" {
		t.Errorf("/readyz: %d %q, want 200 ok", code, status)
	}
	const ch = "C0CLUSTER"
	r.track(ch, "prod")
	r.message(ch, "1700300000.000100", producerPaste("Orders_CS"))
	r.slash(ch, "failed prod: Billing_UI", "cluster-failed")
	r.waitFor("the paste answered and the command announced", 20*time.Second, func() bool {
		return len(r.posts(ch, "1700300000.000100")) == 1 && len(r.posts(ch, "-")) >= 2
	})
	store, _, err := progress.OpenRedis("", cluster.URL(), progress.RedisOptions{Prefix: r.prefix})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	st, err := store.Status(context.Background(), "T0FAKE", "prod", -1)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range st.Modules {
		names = append(names, m.Name)
	}
	if got := strings.Join(names, ","); !strings.Contains(got, "Orders_CS") || !strings.Contains(got, "Billing_UI") {
		t.Errorf("modules on the Cluster: %s; want Orders_CS and Billing_UI", got)
	}
}
