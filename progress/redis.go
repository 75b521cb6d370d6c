package progress

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	jsonv1 "github.com/go-json-experiment/json/v1"
	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix is the key prefix when RedisOptions.Prefix is empty.
const DefaultRedisPrefix = "upgradebot"

// RedisOptions configure a RedisStore.
type RedisOptions struct {
	Prefix         string           // key prefix; "" means DefaultRedisPrefix
	Now            func() time.Time // clock; nil means time.Now
	IdempotencyTTL time.Duration    // how long change keys are remembered; 0 means IdempotencyTTL
	Logger         *slog.Logger     // says when OpenRedis's breaker opens and closes, and unreplicated journal entries; nil: silent
	historyLimit   int              // tests lower it; 0 means HistoryLimit
}

// RedisStore is a Store on Redis, safe for several replicas sharing one server.
//
// Keys, with W the workspace in braces (a Redis Cluster hash tag, so every
// key of a workspace lives in one slot and the scripts stay single-slot):
//
//	<prefix>:workspaces                     set of workspaces
//	<prefix>:{W}:#envs                      set of environment names
//	<prefix>:{W}:#channels                  set of channels following any environment
//	<prefix>:{W}:#ch:<channel>:envs         set of environments a channel follows
//	<prefix>:{W}:#ch:<channel>:settings     hash of channel settings
//	<prefix>:{W}:<env>:meta                 hash of the environment's fields
//	<prefix>:{W}:<env>:channels             set of channels following it
//	<prefix>:{W}:<env>:modules              hash of lowercase module name → JSON
//	<prefix>:{W}:<env>:order                sorted set of lowercase names in the order to act on
//	<prefix>:{W}:<env>:named                set of every module named since the last reset
//	<prefix>:{W}:<env>:owners               hash of module key → owner (Owners)
//	<prefix>:{W}:<env>:republished          hash of lowercase name → JSON, republished since the last reset
//	<prefix>:{W}:<env>:edges                set of "producer\nconsumer" (lowercase names) learned
//	<prefix>:{W}:<env>:history              list of JSON entries, oldest first
//	<prefix>:{W}:<env>:idem:<key>           applied change keys, expiring
//	<prefix>:{W}:<env>:undo:<key>           what a change replaced, expiring (undo.go)
//	<prefix>:{W}:#val:<key>                 values (Values), expiring
//	<prefix>:{W}:#list:<key>                lists of values (Values.AppendValue), expiring
//	<prefix>:{W}:#claim:<key>               claims (Claims), expiring; the digest's: <prefix>:claim:<key>
//	<prefix>:{W}:#journal                   the journal's stream (journal_redis.go)
//
// Environment names cannot start with "#", so they never collide with the
// workspace's own keys.
type RedisStore struct {
	client       redis.UniversalClient
	owned        bool
	prefix       string
	now          func() time.Time
	idemTTL      time.Duration
	historyLimit int
	track        *redis.Script
	untrack      *redis.Script
	apply        *redis.Script
	replicas     replicas     // which masters have a replica to WAIT for (redis_wait.go)
	log          *slog.Logger // says when a journal entry is not yet on a replica
	breaker      *breaker     // OpenRedis's; nil for a client the caller brought
}

var _ Store = (*RedisStore)(nil)

// NewRedisStore returns a store on client; the caller keeps ownership of client (Close does not close it).
func NewRedisStore(client redis.UniversalClient, opts RedisOptions) (*RedisStore, error) {
	if client == nil {
		return nil, errors.New("progress: redis client is nil")
	}
	if opts.Prefix == "" {
		opts.Prefix = DefaultRedisPrefix
	}
	if err := checkID("redis prefix", opts.Prefix); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.IdempotencyTTL <= 0 {
		opts.IdempotencyTTL = IdempotencyTTL
	}
	if opts.IdempotencyTTL < time.Second {
		// Redis expiries are given in whole seconds.
		opts.IdempotencyTTL = time.Second
	}
	if opts.historyLimit <= 0 {
		opts.historyLimit = HistoryLimit
	}
	return &RedisStore{
		client:       client,
		prefix:       opts.Prefix,
		now:          opts.Now,
		idemTTL:      opts.IdempotencyTTL,
		historyLimit: opts.historyLimit,
		log:          cmp.Or(opts.Logger, slog.New(slog.DiscardHandler)),
		track:        redis.NewScript(trackLua),
		untrack:      redis.NewScript(untrackLua),
		apply:        redis.NewScript(applyLua),
	}, nil
}

// OpenRedis opens a store on clusterURL (a Redis Cluster, ?addr= for more
// nodes) when it is set, else on rawURL: one server, or a Sentinel when it has
// ?master_name= (the master takes the sentinels' credentials unless it has
// its own username= or password=). go-redis parses the URLs; kind is "one
// server", "sentinel" or "cluster". The store owns the client and Close
// closes it. It does not contact Redis; use Ping for that. Errors never
// hold the URL, which may hold a password.
//
// A hung Redis must fail like a stopped one, within a second: callers'
// context deadlines are honoured (ContextTimeoutEnabled), dials, reads,
// writes and waits for a pooled connection give up after 500 ms, a refused
// dial is tried twice, and a command is retried once (go-redis resends it
// after a read timeout, when the first attempt may still land). The URL's
// dial_timeout, read_timeout, write_timeout, pool_timeout and max_retries
// override these. One retry is safe because no write does harm when it
// lands twice: the claim scripts and Apply compare the caller's token, so a
// resend finds its own claim or change; Track, Untrack, SetChannelSettings
// and SADD set a state, so a resend changes nothing (Track and Untrack may
// then answer "already"); whatever appends (a journal entry) must take a
// duplicate. After repeated outages a breaker (breaker.go) fails commands
// at once for a few seconds.
func OpenRedis(rawURL, clusterURL string, opts RedisOptions) (s *RedisStore, kind string, err error) {
	raw, kind := rawURL, "one server"
	if clusterURL != "" {
		raw, kind = clusterURL, "cluster"
	}
	if u, err := url.Parse(raw); err == nil && u.Hostname() == "" {
		// go-redis takes a missing host for localhost: a typo, more likely.
		return nil, "", &ValidationError{Field: "redis URL", Problem: "has no host"}
	} else if err == nil && kind != "cluster" && u.Query().Has("master_name") {
		if u.Query().Get("master_name") == "" {
			return nil, "", &ValidationError{Field: "redis URL", Problem: "has an empty master_name (the name the Sentinels know the master by)"}
		}
		kind = "sentinel"
	} else if err == nil && kind == "cluster" {
		// go-redis ignores a Cluster URL's path: a database there would be
		// taken for 0 without a word.
		if db := strings.Trim(u.Path, "/"); db != "" && db != "0" {
			return nil, "", clusterDB(db)
		}
	}
	var client redis.UniversalClient
	switch kind {
	case "cluster":
		var o *redis.ClusterOptions
		if o, err = redis.ParseClusterURL(raw); err == nil {
			o.ContextTimeoutEnabled = true
			redisDefaults(&o.Protocol, &o.PoolSize, &o.DialerRetries, &o.MaxRetries, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout)
			client = redis.NewClusterClient(o)
		}
	case "sentinel":
		var o *redis.FailoverOptions
		if o, err = redis.ParseFailoverURL(raw); err == nil && o.DB < 0 {
			return nil, "", negativeDB(o.DB)
		} else if err == nil {
			if o.Username == "" && o.Password == "" {
				o.Username, o.Password = o.SentinelUsername, o.SentinelPassword
			}
			o.ContextTimeoutEnabled = true
			redisDefaults(&o.Protocol, &o.PoolSize, &o.DialerRetries, &o.MaxRetries, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout)
			client = redis.NewFailoverClient(o)
		}
	default:
		var o *redis.Options
		if o, err = redis.ParseURL(raw); err == nil && o.DB < 0 {
			return nil, "", negativeDB(o.DB)
		} else if err == nil {
			o.ContextTimeoutEnabled = true
			redisDefaults(&o.Protocol, &o.PoolSize, &o.DialerRetries, &o.MaxRetries, &o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout, &o.PoolTimeout)
			client = redis.NewClient(o)
		}
	}
	if err != nil {
		return nil, "", redisURLError(err)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	br := newBreaker(now, opts.Logger)
	client.AddHook(br)
	if cc, ok := client.(*redis.ClusterClient); ok {
		// Writes that WAIT go to a node's client directly (redis_wait.go):
		// the breaker guards them too. A command through the cluster
		// client passes it once, marked as inside.
		cc.OnNewNode(func(n *redis.Client) { n.AddHook(br) })
	}
	if s, err = NewRedisStore(client, opts); err != nil {
		_ = client.Close()
		return nil, "", err
	}
	s.owned, s.breaker = true, br
	return s, kind, nil
}

// redisDefaults sets OpenRedis's defaults where the URL left an option
// unset. RESP2: the store uses no push messages, and on RESP3 go-redis
// looks for one before every command (2 % of the bot's CPU under load).
// At least 64 connections (go-redis gives 10 per CPU): the transport's 32
// workers and its acknowledgements must not wait for one, as a wait that
// times out counts as Redis failing.
func redisDefaults(protocol, poolSize, dialRetries, retries *int, dial, read, write, pool *time.Duration) {
	*protocol, *dialRetries, *retries = cmp.Or(*protocol, 2), cmp.Or(*dialRetries, 2), cmp.Or(*retries, 1)
	*poolSize = cmp.Or(*poolSize, max(64, 10*runtime.GOMAXPROCS(0)))
	for _, d := range []*time.Duration{dial, read, write, pool} {
		*d = cmp.Or(*d, redisTimeout)
	}
}

// redisTimeout bounds a dial, a read, a write and a wait for a connection.
const redisTimeout = 500 * time.Millisecond

// OpenRedisURL is OpenRedis for one server or a Sentinel.
func OpenRedisURL(rawURL string, opts RedisOptions) (*RedisStore, error) {
	s, _, err := OpenRedis(rawURL, "", opts)
	return s, err
}

// quoted matches what go-redis and net/url quote in their errors (%q, a
// quote inside escaped): a URL, or a mistyped parameter that may hold a password.
var quoted = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// redisURLError says why go-redis refused a URL, without what it quotes.
func redisURLError(err error) error {
	problem, ue := "is not usable: "+quoted.ReplaceAllString(strings.TrimPrefix(err.Error(), "redis: "), `"…"`), &url.Error{}
	if errors.As(err, &ue) {
		problem = "is not a valid URL (" + quoted.ReplaceAllString(ue.Err.Error(), `"…"`) + ")"
	}
	return &ValidationError{Field: "redis URL", Problem: problem}
}

// negativeDB refuses a database go-redis would take for 0 (it selects none below 1).
func negativeDB(db int) error {
	return &ValidationError{Field: "redis URL", Problem: fmt.Sprintf("names database %d: Redis numbers its databases from 0 (0 to 15 by default)", db)}
}

// clusterDB refuses a database in a Cluster URL (path is the URL's, without slashes).
func clusterDB(path string) error {
	what := "has a path"
	if _, err := strconv.Atoi(path); err == nil {
		what = "names database " + path
	}
	return &ValidationError{Field: "redis URL", Problem: what + ": a Redis Cluster has only database 0; leave the database out, and give each bot sharing the Cluster its own key prefix (UPGRADEBOT_REDIS_PREFIX)"}
}

// CheckPrefix says what is wrong with a key prefix; nil when it is usable.
func CheckPrefix(prefix string) error { return checkID("redis prefix", prefix) }

// Close closes the client when the store opened it (OpenRedis).
func (s *RedisStore) Close() error {
	if !s.owned {
		return nil
	}
	if err := s.client.Close(); err != nil && !errors.Is(err, redis.ErrClosed) {
		return fmt.Errorf("progress: close redis: %w", err)
	}
	return nil
}

// Ping reports whether Redis answers.
func (s *RedisStore) Ping(ctx context.Context) error {
	return s.wrap("ping", s.client.Ping(ctx).Err())
}

// CheckAccess reports whether the Redis user may run a script that
// writes the bot's keys: an ACL user limited to other keys or commands, or
// a read-only replica, answers PING but refuses every change (NOPERM,
// READONLY: see SettingsProblem).
func (s *RedisStore) CheckAccess(ctx context.Context) error {
	const probe = "return redis.call('SET', KEYS[1], '1', 'PX', 1)"
	return s.wrap("check access", s.client.Eval(ctx, probe, []string{s.wsKey("access-check")}).Err())
}

// SettingsProblem says what in the Redis URL a failed call points at (a
// refused login, a database Redis does not have, a server that is no
// Sentinel, a master name the Sentinels do not know); "" when the failure
// is not the settings' (Redis down).
func SettingsProblem(err error) string {
	switch msg := fmt.Sprint(err); {
	case err == nil:
		return ""
	case strings.Contains(msg, "WRONGPASS"), strings.Contains(msg, "NOAUTH"), strings.Contains(msg, "without any password configured"):
		return "Redis refused the login: check the user name and password in the URL"
	case strings.Contains(msg, "NOPERM"), strings.Contains(msg, "user executing the script can't run"):
		return "the Redis user may not run the commands the bot needs: grant it +@all on its keys (or use another user)"
	case strings.Contains(msg, "DB index is out of range"), strings.Contains(msg, "invalid DB index"):
		return "Redis has no such database: use a database number it has (0 to 15 by default)"
	case strings.Contains(msg, "cluster support disabled"):
		return "the address is not a Redis Cluster node: use REDIS_URL for one server (or a Sentinel) instead"
	case strings.Contains(msg, "READONLY"):
		return "the address is a read-only replica: name the master, or the Sentinels with master_name"
	case strings.Contains(msg, "unknown command 'sentinel'"):
		return "the address with master_name is not a Sentinel: name the Sentinels there, or drop master_name for one server"
	case strings.Contains(msg, "all sentinels specified in configuration are unreachable") && onlyNil(err):
		// Every one answered, with no address for that name (one that is
		// down may know it: that is an outage).
		return "the Sentinels know no master by the URL's master_name: check its spelling (SENTINEL MASTERS on a Sentinel lists the names)"
	}
	return ""
}

// onlyNil reports whether err, and each of the errors it joins, comes down to redis.Nil.
func onlyNil(err error) bool {
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range joined.Unwrap() {
			if !onlyNil(e) {
				return false
			}
		}
		return true
	}
	if next := errors.Unwrap(err); next != nil {
		return onlyNil(next)
	}
	return errors.Is(err, redis.Nil)
}

// isUnavailable tells a storage outage (retry later) from a bug or bad data.
func isUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, redis.ErrClosed),
		errors.Is(err, ErrBreakerOpen),
		errors.Is(err, redis.ErrPoolTimeout),
		errors.Is(err, redis.ErrPoolExhausted):
		return true
	}
	msg := err.Error()
	if strings.Contains(msg, "redis: connection pool") || strings.Contains(msg, "connection refused") {
		return true
	}
	// Server states during start-up or failover: the data is fine but not served now.
	for _, p := range []string{"LOADING", "MASTERDOWN", "READONLY", "CLUSTERDOWN", "TRYAGAIN"} {
		if redis.HasErrorPrefix(err, p) {
			return true
		}
	}
	return false
}

func (s *RedisStore) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if isUnavailable(err) {
		return fmt.Errorf("progress: redis %s: %w: %w", op, ErrUnavailable, err)
	}
	return fmt.Errorf("progress: redis %s: %w", op, err)
}

// key helpers

func (s *RedisStore) workspacesKey() string          { return s.prefix + ":workspaces" }
func (s *RedisStore) wsKey(ws string) string         { return s.prefix + ":{" + ws + "}" }
func (s *RedisStore) wsEnvsKey(ws string) string     { return s.wsKey(ws) + ":#envs" }
func (s *RedisStore) wsChannelsKey(ws string) string { return s.wsKey(ws) + ":#channels" }
func (s *RedisStore) chanEnvsKey(ws, ch string) string {
	return s.wsKey(ws) + ":#ch:" + ch + ":envs"
}
func (s *RedisStore) chanSettingsKey(ws, ch string) string {
	return s.wsKey(ws) + ":#ch:" + ch + ":settings"
}
func (s *RedisStore) envKey(ws, env, part string) string {
	return s.wsKey(ws) + ":" + env + ":" + part
}

// wire formats

type wireEntry struct {
	T      int64  `json:"t"`
	Actor  string `json:"actor,omitempty"`
	Action string `json:"action"`
	Detail string `json:"detail,omitempty"`
	Source string `json:"source,omitempty"`
}

func (w wireEntry) entry() HistoryEntry {
	return HistoryEntry{Time: fromMillis(w.T), Actor: w.Actor, Action: w.Action, Detail: w.Detail, Source: w.Source}
}

func encodeEntry(e HistoryEntry) (string, error) {
	b, err := json.Marshal(wireEntry{T: toMillis(e.Time), Actor: e.Actor, Action: e.Action, Detail: e.Detail, Source: e.Source})
	return string(b), err
}

type wireModule struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
	By     string `json:"by"`
	At     int64  `json:"at"`
	Source string `json:"source"`
	Error  string `json:"error,omitempty"`
	// Producer: listed as failed or skipped, and shown to be a producer not prepared.
	Producer bool   `json:"producer,omitempty"`
	DoneBy   string `json:"done_by,omitempty"`
	DoneAt   int64  `json:"done_at,omitempty"`
	// Also counts the reports by others after the first while it is
	// listed: undoing the first leaves a module someone else reported since.
	Also int `json:"also,omitempty"`
}

// decodeModule reads a stored module with the json/v2 project's
// encoding/json-compatible decoder: a status decodes every listed module,
// and it takes about 40 % of encoding/json's time (BenchmarkDecodeModule).
func decodeModule(v []byte) (wireModule, error) {
	var w wireModule
	err := jsonv1.Unmarshal(v, &w)
	return w, err
}

func (w wireModule) module() Module {
	return Module{Name: w.Name, Reason: Reason(w.Reason), ReportedBy: w.By, ReportedAt: fromMillis(w.At), Source: w.Source, Error: w.Error,
		Producer:      w.Producer || Reason(w.Reason) == ReasonProducerNotPrepared,
		RepublishedBy: w.DoneBy, RepublishedAt: fromMillis(w.DoneAt)}
}

// sortRepublished orders republished modules as the list was: oldest report first, ties by name.
func sortRepublished(mods []Module) {
	slices.SortFunc(mods, func(a, b Module) int {
		return cmp.Or(a.ReportedAt.Compare(b.ReportedAt), cmp.Compare(moduleKey(a.Name), moduleKey(b.Name)))
	})
}

// parseEdge reads an edge stored as "producer\nconsumer" (ModuleKeys).
func parseEdge(s string) (Edge, bool) {
	p, c, ok := strings.Cut(s, "\n")
	return Edge{Producer: p, Consumer: c}, ok
}

type wireChange struct {
	Kind     ChangeKind         `json:"kind"`
	Percent  *int               `json:"percent,omitempty"`
	Expected string             `json:"expected,omitempty"`
	Current  *int               `json:"current,omitempty"`
	Total    *int               `json:"total,omitempty"`
	Prepared *int               `json:"prepared,omitempty"`
	Failed   *int               `json:"failed,omitempty"`
	Skipped  *int               `json:"skipped,omitempty"`
	State    State              `json:"state,omitempty"`
	Reason   Reason             `json:"reason,omitempty"`
	Source   string             `json:"source"`
	All      bool               `json:"all,omitempty"`
	Modules  []normalizedModule `json:"modules,omitempty"`
	Edges    []string           `json:"edges,omitempty"` // "producer\nconsumer", ModuleKeys
	IfRev    string             `json:"ifrev,omitempty"` // Change.IfRevision
	Sent     int64              `json:"sent,omitempty"`  // Change.SentAt, Unix ms
}

// The keys of the changes an undo takes back travel as KEYS (see applyLua).

// Track follows an environment from a channel, creating it if new.
func (s *RedisStore) Track(ctx context.Context, req TrackRequest) (TrackResult, error) {
	req, err := normalizeTrack(req, s.now())
	if err != nil {
		return TrackResult{}, err
	}
	entry, err := encodeEntry(HistoryEntry{Time: req.At, Actor: req.Actor, Action: ActionTrack, Detail: describeTrack(req)})
	if err != nil {
		return TrackResult{}, fmt.Errorf("progress: encode history: %w", err)
	}
	ws, env := req.Workspace, req.Environment
	// Indexed first: a workspace with data is then always listed. Outside
	// the script because this key lies outside the workspace's hash slot.
	if err := s.client.SAdd(ctx, s.workspacesKey(), ws).Err(); err != nil {
		return TrackResult{}, s.wrap("track", err)
	}
	keys := []string{
		s.envKey(ws, env, "meta"), s.envKey(ws, env, "channels"), s.wsEnvsKey(ws),
		s.chanEnvsKey(ws, req.Channel), s.wsChannelsKey(ws), s.envKey(ws, env, "history"),
	}
	cmd, notReplicated := s.runScript(ctx, nil, s.track, keys, env, req.Channel, req.Version, string(req.InstallType),
		toMillis(req.At), req.Actor, entry, s.historyLimit, req.FromVersion)
	vals, err := cmd.Int64Slice()
	if err != nil {
		return TrackResult{}, s.wrap("track", err)
	}
	if len(vals) != 3 {
		return TrackResult{}, fmt.Errorf("progress: redis track: unexpected reply %v", vals)
	}
	return TrackResult{Created: vals[0] == 1, Followed: vals[1] == 1, Updated: vals[2] == 1, NotReplicated: notReplicated}, nil
}

// Untrack stops a channel following an environment.
func (s *RedisStore) Untrack(ctx context.Context, workspace, env, channel, actor string) (bool, error) {
	env, err := envRef(workspace, env)
	if err != nil {
		return false, err
	}
	if err := checkID("channel", channel); err != nil {
		return false, err
	}
	if err := checkText("actor", actor, maxID); err != nil {
		return false, err
	}
	entry, err := encodeEntry(HistoryEntry{Time: s.now(), Actor: actor, Action: ActionUntrack, Detail: describeUntrack(channel)})
	if err != nil {
		return false, fmt.Errorf("progress: encode history: %w", err)
	}
	keys := []string{
		s.envKey(workspace, env, "meta"), s.envKey(workspace, env, "channels"),
		s.chanEnvsKey(workspace, channel), s.wsChannelsKey(workspace), s.envKey(workspace, env, "history"),
	}
	cmd, _ := s.runScript(ctx, nil, s.untrack, keys, env, channel, entry, s.historyLimit) // its reply has no room for the note
	n, err := cmd.Int64()
	if err != nil {
		if redis.HasErrorPrefix(err, "NOTFOUND") {
			return false, notFound(workspace, env)
		}
		return false, s.wrap("untrack", err)
	}
	return n == 1, nil
}

// Apply makes one change atomically with its history entry; a repeated key changes nothing.
func (s *RedisStore) Apply(ctx context.Context, workspace, env string, c Change) (Result, error) {
	env, err := envRef(workspace, env)
	if err != nil {
		return Result{}, err
	}
	c, mods, err := normalizeChange(c, s.now())
	if err != nil {
		return Result{}, err
	}
	var edges []string
	for _, e := range c.Edges {
		edges = append(edges, e.Producer+"\n"+e.Consumer)
	}
	// The script writes the detail of an add or done: it depends on what they did.
	entry, err := encodeEntry(HistoryEntry{Time: c.At, Actor: c.Actor, Action: string(c.Kind), Detail: describeChange(c, mods), Source: c.Source})
	if err != nil {
		return Result{}, fmt.Errorf("progress: encode history: %w", err)
	}
	keys := []string{
		s.envKey(workspace, env, "meta"), s.envKey(workspace, env, "modules"), s.envKey(workspace, env, "order"),
		s.envKey(workspace, env, "history"), s.envKey(workspace, env, "idem:"+c.Key), s.envKey(workspace, env, "named"),
		s.envKey(workspace, env, "undo:"+c.Key), s.envKey(workspace, env, "republished"), s.envKey(workspace, env, "edges"),
	}
	for _, k := range c.Undoes {
		keys = append(keys, s.envKey(workspace, env, "undo:"+k))
	}
	// go-redis resends a command whose reply was lost (MaxRetries); the token
	// lets the script tell that resend from a second Apply with the same key.
	token := rand.Text()
	// Next decides on what it read; the script applies that only while what
	// Next read has not moved (guarded), else it is read again.
	var wc []byte
	for attempt := range applyAttempts {
		var metaCmd *redis.MapStringStringCmd
		var stored *redis.StringSliceCmd // the module keys, to find records stored under legacy keys
		if _, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
			metaCmd = p.HGetAll(ctx, keys[0])
			if attempt == 0 && len(mods) > 0 {
				stored = p.HKeys(ctx, keys[1])
			}
			return nil
		}); err != nil {
			return Result{}, s.wrap("apply", err)
		}
		meta := metaCmd.Val()
		if len(meta) == 0 {
			return Result{}, notFound(workspace, env)
		}
		if c.IfRevision != nil && revision(meta) != *c.IfRevision {
			return Result{}, ErrChanged
		}
		if attempt == 0 {
			if stored != nil {
				withLegacyKeys(mods, stored.Val())
			}
			if wc, err = json.Marshal(wireChange{
				Kind: c.Kind, Percent: c.Preparation.Percent, Expected: c.Preparation.Expected,
				Current: c.Preparation.Current, Total: c.Preparation.Total,
				Prepared: c.Counts.Prepared, Failed: c.Counts.Failed, Skipped: c.Counts.Skipped,
				State: c.State, Reason: c.Reason, Source: c.Source, All: c.All, Modules: mods, Edges: edges,
				IfRev: ifRevision(c), Sent: sentMillis(c),
			}); err != nil {
				return Result{}, fmt.Errorf("progress: encode change: %w", err)
			}
		}
		snap := Status{Environment: parseMeta(workspace, meta, nil), NamedFailedSkipped: atoi(meta["named_fs"]), UnnamedCovered: meta["covered"] == "1"}
		next := Next(snap, c)
		if next.Refused != "" {
			if dup, err := s.client.Exists(ctx, keys[4]).Result(); err != nil || dup == 1 {
				return Result{Duplicate: dup == 1}, s.wrap("apply", err)
			}
			return Result{State: next.State, Refused: next.Refused}, nil
		}
		args := []any{string(wc), entry, int64(s.idemTTL / time.Second), s.historyLimit, toMillis(c.At), c.Actor, token,
			string(next.State), string(next.IfEmpty), int64(UndoTTL / time.Second)}
		for _, f := range guarded(c, snap) {
			args = append(args, f, meta[f])
		}
		cmd, notReplicated := s.runScript(ctx, nil, s.apply, keys, args...)
		reply, err := cmd.Slice()
		if err != nil {
			if redis.HasErrorPrefix(err, "NOTFOUND") {
				return Result{}, notFound(workspace, env)
			}
			if redis.HasErrorPrefix(err, "NOUNDO") {
				return Result{}, ErrNothingToUndo
			}
			return Result{}, s.wrap("apply", err)
		}
		if len(reply) == 1 && reply[0] == int64(2) {
			continue // changed since it was read: decide again
		}
		if len(reply) == 1 && reply[0] == int64(3) {
			return Result{}, ErrChanged
		}
		if len(reply) == 1 && reply[0] == int64(4) {
			return Result{}, ErrStartedAgain
		}
		res, err := parseApplyReply(reply)
		res.NotReplicated = notReplicated && err == nil
		return res, err
	}
	return Result{}, fmt.Errorf("progress: redis apply: %s/%s changed under %d attempts in a row; try again", workspace, env, applyAttempts)
}

// guarded are the meta fields Next read to decide on c in st: the script
// applies the decision only while they hold what was read, so concurrent
// changes that do not bear on it (modules added by two replicas at once)
// do not make each other decide again. (Modules named since only add to
// how many are named: counts covered stay covered.)
func guarded(c Change, st Status) []string {
	switch c.Kind {
	case ChangeReset, ChangeUndo:
		return nil
	case ChangeDone:
		fields := []string{"state", "failed", "skipped"}
		if st.Unnamed() > 0 {
			fields = append(fields, "named_fs")
		}
		if c.All {
			fields = append(fields, "from")
		}
		return fields
	case ChangePreparing:
		return []string{"state", "version", "percent", "current", "total"}
	case ChangeSummary:
		return []string{"state", "version", "failed", "skipped"}
	}
	return []string{"state", "version"}
}

// revision is an environment's Revision, from its meta hash (none before the first change).
func revision(meta map[string]string) int64 {
	n, _ := strconv.ParseInt(meta["rev"], 10, 64)
	return n
}

// sentMillis is c.SentAt in Unix ms, 0 when unset.
func sentMillis(c Change) int64 {
	if c.SentAt.IsZero() {
		return 0
	}
	return toMillis(c.SentAt)
}

// ifRevision is c.IfRevision as the script compares it, "" when unset.
func ifRevision(c Change) string {
	if c.IfRevision == nil {
		return ""
	}
	return strconv.FormatInt(*c.IfRevision, 10)
}

// applyAttempts bounds how often Apply decides again when the environment
// changed between its read and its write.
const applyAttempts = 8

func parseApplyReply(reply []any) (Result, error) {
	bad := fmt.Errorf("progress: redis apply: unexpected reply %.200v", reply)
	if len(reply) == 0 {
		return Result{}, bad
	}
	if dup, _ := reply[0].(int64); dup == 1 {
		return Result{Duplicate: true}, nil
	}
	if len(reply) < 12 || len(reply) > 15 { // 12, 13, 14: recorded before Reopened, Marked, Was were
		return Result{}, bad
	}
	state, ok1 := reply[1].(string)
	remaining, ok2 := reply[2].(int64)
	became, ok3 := reply[3].(int64)
	done, ok4 := reply[8].(int64)
	keptState, ok5 := reply[10].(int64)
	undid, ok6 := reply[11].(string)
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 {
		return Result{}, bad
	}
	lists := make([][]string, 5) // added, updated, removed, not found, kept
	for i, at := range []int{4, 5, 6, 7, 9} {
		str, ok := reply[at].(string)
		if !ok {
			return Result{}, bad
		}
		if str != "" {
			lists[i] = strings.Split(str, "\n")
		}
	}
	var reopened []Module
	var marked []string
	var was string
	if len(reply) == 15 {
		was, _ = reply[14].(string)
	}
	if len(reply) >= 14 {
		if str, _ := reply[13].(string); str != "" {
			marked = strings.Split(str, "\n")
		}
	}
	if len(reply) >= 13 {
		str, _ := reply[12].(string)
		for _, r := range strings.Split(str, "\n") {
			if f := strings.Split(r, "\t"); len(f) == 3 {
				ms, _ := strconv.ParseInt(f[2], 10, 64)
				reopened = append(reopened, Module{Name: f[0], RepublishedBy: f[1], RepublishedAt: fromMillis(ms)})
			}
		}
	}
	return Result{
		Added: lists[0], Updated: lists[1], Removed: lists[2], NotFound: lists[3],
		Remaining: int(remaining), BecameEmpty: became == 1, BecameDone: done == 1, State: State(state),
		Kept: lists[4], KeptState: keptState == 1, Undid: undid, Reopened: reopened, Marked: marked, Was: State(was),
	}, nil
}

// Environment reads one environment and its channels in one round trip.
func (s *RedisStore) Environment(ctx context.Context, workspace, env string) (Environment, error) {
	env, err := envRef(workspace, env)
	if err != nil {
		return Environment{}, err
	}
	envs, err := s.loadEnvironments(ctx, workspace, []string{env})
	if err != nil {
		return Environment{}, err
	}
	if len(envs) == 0 {
		return Environment{}, notFound(workspace, env)
	}
	return envs[0], nil
}

// Status reads one environment in one round trip: the environment, its
// channels, the order of the modules, every module listed and republished
// (the counts by group come from them) and the edges.
func (s *RedisStore) Status(ctx context.Context, workspace, env string, limit int) (Status, error) {
	env, err := envRef(workspace, env)
	if err != nil {
		return Status{}, err
	}
	var (
		meta, mods, repub *redis.MapStringStringCmd
		chans, names      *redis.StringSliceCmd
		edges             *redis.StringSliceCmd
	)
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		meta = p.HGetAll(ctx, s.envKey(workspace, env, "meta"))
		chans = p.SMembers(ctx, s.envKey(workspace, env, "channels"))
		mods = p.HGetAll(ctx, s.envKey(workspace, env, "modules"))
		repub = p.HGetAll(ctx, s.envKey(workspace, env, "republished"))
		if limit != 0 { // 0: the counts only
			stop := int64(limit) - 1 // -1: all
			if limit < 0 {
				stop = -1
			}
			names = p.ZRange(ctx, s.envKey(workspace, env, "order"), 0, stop)
			edges = p.SMembers(ctx, s.envKey(workspace, env, "edges"))
		}
		return nil
	})
	if err != nil {
		return Status{}, s.wrap("status", err)
	}
	if len(meta.Val()) == 0 {
		return Status{}, notFound(workspace, env)
	}
	m := meta.Val()
	st := Status{Environment: parseMeta(workspace, m, chans.Val()), NamedFailedSkipped: atoi(m["named_fs"]), UnnamedCovered: m["covered"] == "1"}
	listed := make(map[string]wireModule, len(mods.Val()))
	for k, v := range mods.Val() {
		w, err := decodeModule([]byte(v))
		if err != nil {
			return Status{}, fmt.Errorf("progress: redis status: decode module: %w", err)
		}
		listed[k] = w
	}
	if err := st.tally(listed, repub.Val(), limit < 0); err != nil {
		return Status{}, err
	}
	if limit == 0 {
		return st, nil
	}
	for _, k := range names.Val() {
		if w, ok := listed[k]; ok {
			st.Modules = append(st.Modules, w.module())
		}
	}
	members := edges.Val()
	slices.Sort(members) // as bbolt lists its keys
	for _, e := range members {
		if e, ok := parseEdge(e); ok {
			st.Edges = append(st.Edges, e)
		}
	}
	return st, nil
}

func atoi(s string) int {
	n, _ := strconv.Atoi(s)
	return n
}

func optInt(m map[string]string, field string) *int {
	v, ok := m[field]
	if !ok {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return nil
	}
	return &n
}

func parseMeta(workspace string, m map[string]string, channels []string) Environment {
	if len(channels) == 0 {
		channels = nil
	}
	slices.Sort(channels)
	e := Environment{
		Workspace:   workspace,
		Name:        m["name"],
		Version:     m["version"],
		FromVersion: m["from"],
		InstallType: InstallType(m["install"]),
		Channels:    channels,
		State:       State(m["state"]),
		Counts:      Counts{Prepared: optInt(m, "prepared"), Failed: optInt(m, "failed"), Skipped: optInt(m, "skipped")},
		UpdatedBy:   m["updated_by"],
		Revision:    revision(m),
	}
	e.State = e.State.Normal()
	if e.State == StatePreparing {
		e.Preparation = Preparation{Percent: optInt(m, "percent"), Expected: m["expected"], Current: optInt(m, "current"), Total: optInt(m, "total")}
		if ms, err := strconv.ParseInt(m["prep_at"], 10, 64); err == nil {
			e.Preparation.At = fromMillis(ms)
		}
	}
	if ms, err := strconv.ParseInt(m["updated_at"], 10, 64); err == nil {
		e.UpdatedAt = fromMillis(ms)
	}
	if ms, err := strconv.ParseInt(m["news_at"], 10, 64); err == nil {
		e.FirstNews = fromMillis(ms)
	}
	if ms, err := strconv.ParseInt(m["reset_at"], 10, 64); err == nil {
		e.ResetAt = fromMillis(ms)
	}
	return e
}

// Environments lists a workspace's environments by name.
func (s *RedisStore) Environments(ctx context.Context, workspace string) ([]Environment, error) {
	if err := checkID("workspace", workspace); err != nil {
		return nil, err
	}
	names, err := s.client.SMembers(ctx, s.wsEnvsKey(workspace)).Result()
	if err != nil {
		return nil, s.wrap("environments", err)
	}
	return s.loadEnvironments(ctx, workspace, names)
}

// ChannelEnvironments lists the environments a channel follows, by name.
func (s *RedisStore) ChannelEnvironments(ctx context.Context, workspace, channel string) ([]Environment, error) {
	if err := checkID("workspace", workspace); err != nil {
		return nil, err
	}
	if err := checkID("channel", channel); err != nil {
		return nil, err
	}
	names, err := s.client.SMembers(ctx, s.chanEnvsKey(workspace, channel)).Result()
	if err != nil {
		return nil, s.wrap("channel environments", err)
	}
	return s.loadEnvironments(ctx, workspace, names)
}

func (s *RedisStore) loadEnvironments(ctx context.Context, workspace string, names []string) ([]Environment, error) {
	if len(names) == 0 {
		return nil, nil
	}
	slices.Sort(names)
	metas := make([]*redis.MapStringStringCmd, len(names))
	chans := make([]*redis.StringSliceCmd, len(names))
	_, err := s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, n := range names {
			metas[i] = p.HGetAll(ctx, s.envKey(workspace, n, "meta"))
			chans[i] = p.SMembers(ctx, s.envKey(workspace, n, "channels"))
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("environments", err)
	}
	envs := make([]Environment, 0, len(names))
	for i := range names {
		if len(metas[i].Val()) == 0 {
			continue
		}
		envs = append(envs, parseMeta(workspace, metas[i].Val(), chans[i].Val()))
	}
	return envs, nil
}

// History returns an environment's history, oldest first.
func (s *RedisStore) History(ctx context.Context, workspace, env string) ([]HistoryEntry, error) {
	env, err := envRef(workspace, env)
	if err != nil {
		return nil, err
	}
	var exists *redis.IntCmd
	var list *redis.StringSliceCmd
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		exists = p.Exists(ctx, s.envKey(workspace, env, "meta"))
		list = p.LRange(ctx, s.envKey(workspace, env, "history"), 0, -1)
		return nil
	})
	if err != nil {
		return nil, s.wrap("history", err)
	}
	if exists.Val() == 0 {
		return nil, notFound(workspace, env)
	}
	entries := make([]HistoryEntry, 0, len(list.Val()))
	for _, v := range list.Val() {
		var w wireEntry
		if err := json.Unmarshal([]byte(v), &w); err != nil {
			return nil, fmt.Errorf("progress: redis history: decode entry: %w", err)
		}
		entries = append(entries, w.entry())
	}
	return entries, nil
}

// ChannelSettings returns a channel's settings; zero settings when never set.
func (s *RedisStore) ChannelSettings(ctx context.Context, workspace, channel string) (ChannelSettings, error) {
	if err := checkID("workspace", workspace); err != nil {
		return ChannelSettings{}, err
	}
	if err := checkID("channel", channel); err != nil {
		return ChannelSettings{}, err
	}
	m, err := s.client.HGetAll(ctx, s.chanSettingsKey(workspace, channel)).Result()
	if err != nil {
		return ChannelSettings{}, s.wrap("channel settings", err)
	}
	return decodeSettings(m), nil
}

func decodeSettings(m map[string]string) ChannelSettings {
	cs := ChannelSettings{Schedule: m["schedule"], Paused: m["paused"] == "1", PauseReason: m["reason"], UpdatedBy: m["updated_by"]}
	if ms, err := strconv.ParseInt(m["updated_at"], 10, 64); err == nil {
		cs.UpdatedAt = fromMillis(ms)
	}
	return cs
}

// SetChannelSettings replaces a channel's settings; a zero UpdatedAt means now.
func (s *RedisStore) SetChannelSettings(ctx context.Context, workspace, channel string, cs ChannelSettings) error {
	cs, err := normalizeSettings(workspace, channel, cs, s.now())
	if err != nil {
		return err
	}
	paused := "0"
	if cs.Paused {
		paused = "1"
	}
	key := s.chanSettingsKey(workspace, channel)
	// Indexed first, as in Track: the set lies outside the workspace's slot,
	// and a Cluster refuses a transaction across slots.
	if err := s.client.SAdd(ctx, s.workspacesKey(), workspace).Err(); err != nil {
		return s.wrap("set channel settings", err)
	}
	_, err = s.client.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, key)
		p.HSet(ctx, key, "schedule", cs.Schedule, "paused", paused, "reason", cs.PauseReason,
			"updated_at", toMillis(cs.UpdatedAt), "updated_by", cs.UpdatedBy)
		return nil
	})
	return s.wrap("set channel settings", err)
}

// FollowedChannels lists the channels following any environment of a
// workspace with their settings, in one pipeline.
func (s *RedisStore) FollowedChannels(ctx context.Context, workspace string) ([]ChannelFollow, error) {
	if err := checkID("workspace", workspace); err != nil {
		return nil, err
	}
	chans, err := s.client.SMembers(ctx, s.wsChannelsKey(workspace)).Result()
	if err != nil {
		return nil, s.wrap("followed channels", err)
	}
	if len(chans) == 0 {
		return nil, nil
	}
	slices.Sort(chans)
	cmds := make([]*redis.StringSliceCmd, len(chans))
	settings := make([]*redis.MapStringStringCmd, len(chans))
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, ch := range chans {
			cmds[i] = p.SMembers(ctx, s.chanEnvsKey(workspace, ch))
			settings[i] = p.HGetAll(ctx, s.chanSettingsKey(workspace, ch))
		}
		return nil
	})
	if err != nil {
		return nil, s.wrap("followed channels", err)
	}
	out := make([]ChannelFollow, 0, len(chans))
	for i, ch := range chans {
		envs := cmds[i].Val()
		if len(envs) == 0 {
			continue
		}
		slices.Sort(envs)
		out = append(out, ChannelFollow{Channel: ch, Environments: envs, Settings: decodeSettings(settings[i].Val())})
	}
	return out, nil
}

// Workspaces lists every workspace with data, sorted.
func (s *RedisStore) Workspaces(ctx context.Context) ([]string, error) {
	ws, err := s.client.SMembers(ctx, s.workspacesKey()).Result()
	if err != nil {
		return nil, s.wrap("workspaces", err)
	}
	slices.Sort(ws)
	return ws, nil
}
