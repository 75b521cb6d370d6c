// Package progress is the tracking model of upgradebot: which environments a
// Slack workspace follows, how far their Platform Server upgrade has come, the
// modules still to republish and the history of what people reported.
//
// Two stores implement Store with the same semantics: a Redis store (for
// several replicas) and an embedded bbolt store (one process). The package
// knows nothing about Slack; workspaces, channels and actors are plain ids.
package progress

import (
	"context"
	"time"
)

// InstallType says where a Platform Server runs.
type InstallType string

// Installation types; the zero value means unknown.
const (
	InstallUnknown     InstallType = ""
	InstallCloud       InstallType = "cloud"
	InstallSelfManaged InstallType = "self-managed"
)

// State is where an environment's upgrade stands (the life cycle: lifecycle.go).
type State string

// Preparation states.
const (
	// StateUnknown is how "following" was stored before the life cycle
	// named it; stores read it as StateFollowing (State.Normal).
	StateUnknown            State = "unknown"
	StatePreparing          State = "preparing"
	StateFinishedWithErrors State = "finished-with-errors"
	StateFailed             State = "failed"
	StateReady              State = "ready"
)

// Reason says why a module has to be republished.
type Reason string

// Reasons for republishing a module.
const (
	ReasonFailed              Reason = "failed"
	ReasonSkipped             Reason = "skipped"
	ReasonNotUpgraded         Reason = "not-upgraded"
	ReasonProducerNotPrepared Reason = "producer-not-prepared"
)

// Group is how counts group modules: Service Center's failed and skipped,
// and the modules other messages reported (a producer not prepared, a
// module not upgraded), which Service Center may count as either.
type Group string

// Groups of modules.
const (
	GroupFailed   Group = "failed"
	GroupSkipped  Group = "skipped"
	GroupReported Group = "reported"
)

// Group is the group of a module listed for reason r.
func (r Reason) Group() Group {
	switch r {
	case ReasonFailed:
		return GroupFailed
	case ReasonSkipped:
		return GroupSkipped
	}
	return GroupReported
}

// GroupCounts counts modules by group.
type GroupCounts struct {
	Failed   int `json:"failed,omitempty"`
	Skipped  int `json:"skipped,omitempty"`
	Reported int `json:"reported,omitempty"`
}

// Of is the count of group g.
func (c GroupCounts) Of(g Group) int {
	switch g {
	case GroupFailed:
		return c.Failed
	case GroupSkipped:
		return c.Skipped
	}
	return c.Reported
}

// Total is the count of every group.
func (c GroupCounts) Total() int { return c.Failed + c.Skipped + c.Reported }

func (c *GroupCounts) add(g Group, n int) {
	switch g {
	case GroupFailed:
		c.Failed += n
	case GroupSkipped:
		c.Skipped += n
	default:
		c.Reported += n
	}
}

// Edge says a consumer module needs a producer module: learned from a
// pasted Error Log row that names both. In a Status both are ModuleKeys.
type Edge struct {
	Producer string
	Consumer string
}

// Preparation is the progress Service Center shows while modules are prepared; nil fields are unknown.
type Preparation struct {
	Percent  *int
	Expected string // expected finish, as written by Service Center
	Current  *int   // "n" of "n of N"
	Total    *int   // "N" of "n of N"
	// At is when its latest news came: it began, or a banner or counter
	// showed where it is (a blocked publish says only that it runs).
	At time.Time
}

// Counts are the numbers of Service Center's preparation summary; nil fields are unknown (unknown is not 0).
type Counts struct {
	Prepared *int
	Failed   *int
	Skipped  *int
}

// Known reports whether any count is known.
func (c Counts) Known() bool { return c.Prepared != nil || c.Failed != nil || c.Skipped != nil }

// Environment is one tracked environment of a workspace.
type Environment struct {
	Workspace   string
	Name        string // lowercase
	Version     string // target Platform Server version, "" when unknown
	FromVersion string // Platform Server version upgraded from, "" when unknown
	InstallType InstallType
	Channels    []string // channels following it, sorted
	State       State
	Preparation Preparation // meaningful while State is StatePreparing
	Counts      Counts
	UpdatedAt   time.Time // zero until the first update
	UpdatedBy   string
	// FirstNews is when the upgrade's first change was recorded since it
	// was tracked or reset (zero: none yet, or recorded before it was kept).
	FirstNews time.Time
	// ResetAt is the time of its last reset (zero: none, or made before it
	// was kept): a change sent before it is refused (ErrStartedAgain).
	ResetAt time.Time
	// Revision counts the changes to the environment (each moves
	// UpdatedAt), for a write that holds only while none came between
	// (Change.IfRevision).
	Revision int64
}

// Module is one module to republish.
type Module struct {
	Name       string // as first reported
	Reason     Reason
	ReportedBy string
	ReportedAt time.Time // first reported; orders the list
	Source     string    // message reference or command id of the first report
	Error      string    // the first line of the error that reported it, when known
	// Producer: a producer not prepared (its reason, or another message
	// showed it of a module listed as failed or skipped): it goes first.
	Producer bool
	// RepublishedBy and RepublishedAt are set on Status.RepublishedModules.
	RepublishedBy string
	RepublishedAt time.Time
}

// Status is a snapshot of one environment with the first modules to act on.
type Status struct {
	Environment
	// Modules holds at most the limit asked for, in the order to act on:
	// producers not prepared first, then oldest first, ties by name.
	Modules []Module
	// ModuleCount is the number of all modules to republish.
	ModuleCount int
	// NamedFailedSkipped is how many distinct modules were named since the
	// last reset, whatever the reason, republished ones included: Service
	// Center's failed and skipped counts do not go down as modules are fixed.
	NamedFailedSkipped int
	// Open counts the modules to republish by group, Republished those
	// republished since the last reset (a module named again leaves it).
	Open, Republished GroupCounts
	// UnnamedCovered is set by a done of all modules: the failed and
	// skipped Service Center counted but nobody named count as republished.
	UnnamedCovered bool
	// RepublishedModules lists, when every module is asked for (limit < 0),
	// the modules republished since the last reset, oldest report first.
	RepublishedModules []Module
	// Edges are the producer → consumer pairs learned in this environment
	// (kept across resets: they describe the modules, not the upgrade);
	// filled unless limit is 0.
	Edges []Edge
}

// Unnamed is how many failed or skipped modules Service Center counted beyond those named so far.
func (s Status) Unnamed() int {
	if s.UnnamedCovered || s.Counts.Failed == nil && s.Counts.Skipped == nil {
		return 0
	}
	n := deref(s.Counts.Failed) + deref(s.Counts.Skipped) - s.NamedFailedSkipped
	return max(n, 0)
}

// HistoryEntry is one recorded event of an environment.
type HistoryEntry struct {
	Time   time.Time
	Actor  string // user id
	Action string // a ChangeKind, or "track" / "untrack" / "take" / "release"
	Detail string
	Source string // message reference or command id
}

// History actions besides the change kinds.
const (
	ActionTrack   = "track"
	ActionUntrack = "untrack"
	ActionTake    = "take"
	ActionRelease = "release"
)

// ChangeKind selects what a Change does.
type ChangeKind string

// Change kinds.
const (
	// ChangePreparing sets the state to preparing with any subset of Preparation.
	ChangePreparing ChangeKind = "preparing"
	// ChangeSummary merges Counts and sets the state to finished-with-errors when failed+skipped > 0, else ready.
	ChangeSummary ChangeKind = "summary"
	// ChangeState sets State: StateFailed, StateReady or StateFinishedWithErrors.
	ChangeState ChangeKind = "state"
	// ChangeAddModules lists Modules with Reason.
	ChangeAddModules ChangeKind = "add"
	// ChangeDone removes Modules (or all of them with All) from the list;
	// All also covers the modules counted but not named (UnnamedCovered).
	ChangeDone ChangeKind = "done"
	// ChangeReset starts a new upgrade: clears state, counts and modules; history is kept.
	ChangeReset ChangeKind = "reset"
)

// Change is one update of an environment, applied atomically with its history entry.
type Change struct {
	Kind ChangeKind
	// Key makes the change idempotent: applying a key again (within a day)
	// changes nothing. Use the source message id or command id; when one
	// message yields several changes, give each its own key (e.g. "m1#2").
	Key    string
	Actor  string    // user id
	Source string    // message reference or command id; defaults to Key
	At     time.Time // when it happened; zero means now

	Preparation Preparation // ChangePreparing
	Counts      Counts      // ChangeSummary
	State       State       // ChangeState
	Reason      Reason      // ChangeAddModules
	Modules     []string    // ChangeAddModules, ChangeDone
	Edges       []Edge      // ChangeAddModules: producer → consumer, names as written
	// Errors holds, for ChangeAddModules, the first line of the error that
	// named a module (by its name in Modules), kept when it is newly listed.
	Errors map[string]string
	All    bool     // ChangeDone: every module
	Undoes []string // ChangeUndo: keys of the changes to take back, in the order they were applied

	// Version is the Platform Server version the message names as the
	// environment's, "" when none: a change naming another version than
	// the target is refused (VerdictOtherVersion).
	Version string
	// Force applies the change even when the life cycle would refuse it
	// ("Record anyway").
	Force bool
	// Correction: forced as an edit's correction of what its message
	// recorded, not recorded anyway: the history does not say so.
	Correction bool
	// IfRevision, when set, applies the change only while the environment
	// is at that Revision, else ErrChanged: a decision made on a read
	// (what is listed, republished, counted) is not applied once another
	// change has landed in between.
	IfRevision *int64
	// SentAt, when set, is when the message behind the change was sent: the
	// change is refused (ErrStartedAgain) when the environment was reset
	// after it, as the message is about the upgrade before.
	SentAt time.Time
}

// Result tells what an Apply did.
type Result struct {
	// Duplicate is true when the key was applied before; nothing changed
	// and the other fields are empty. (A resend of the same Apply call by
	// the Redis client after a lost reply is not a duplicate: it returns
	// the result of the run that happened.)
	Duplicate bool
	Added     []string // modules newly listed
	Updated   []string // modules already listed whose reason changed
	Removed   []string // modules taken off the list
	NotFound  []string // modules named in a done change that were not listed
	Remaining int      // modules listed after the change
	// BecameEmpty is true when a done change removed the last module, so
	// "all clear" is announced exactly once.
	BecameEmpty bool
	// BecameDone is true when the change moved the upgrade to done.
	BecameDone bool
	State      State // state after the change (as it stands, when refused)
	// Was is the state just before the change, read in the same atomic
	// write: a milestone is announced once, however many replicas change
	// the environment at once ("" from a store's reply of an older version).
	Was State
	// Refused says why the life cycle did not apply the change (nothing
	// changed, no history entry, the key stays free); "" when applied.
	Refused Verdict
	// An undo (ChangeUndo) lists the modules it put back in Added, took off
	// in Removed and gave their reason back in Updated; Kept are modules
	// changed since by someone else, left as they are, and KeptState says
	// the state was. Undid describes the changes undone.
	Kept      []string
	KeptState bool
	Undid     string
	// Reopened are the modules an add listed again after they were marked
	// republished in this upgrade, with who marked them and when
	// (RepublishedBy, RepublishedAt). A failed or skipped one keeps its group.
	Reopened []Module
	// Marked are modules already listed that an add changed without moving
	// them (shown to be a producer not prepared, the error that named them
	// learned): nothing new in the list, but undoing the add takes that back.
	Marked []string
	// NotReplicated is true when Redis recorded the change but its replica
	// did not confirm it in time (WAIT): a failover now could lose it, and
	// repeating it is safe.
	NotReplicated bool
}

// AllClear reports whether the change finished the upgrade's republishing,
// so the all-clear is posted once: it moved to done, or, with no outcome of
// the preparation known, it emptied the list.
func (r Result) AllClear() bool {
	return r.BecameDone || r.BecameEmpty && r.State.Normal() == StateFollowing
}

// TrackRequest asks to follow an environment from a channel.
type TrackRequest struct {
	Workspace   string
	Environment string
	Channel     string
	Version     string      // "" keeps the known version
	FromVersion string      // version upgraded from; "" keeps the known one
	InstallType InstallType // InstallUnknown keeps the known type
	Actor       string
	At          time.Time // zero means now
}

// TrackResult tells what a Track did.
type TrackResult struct {
	Created  bool // the environment is new
	Followed bool // the channel did not follow it before
	Updated  bool // version, from-version or installation type changed
	// NotReplicated: recorded, not yet confirmed by a Redis replica (as Result's).
	NotReplicated bool
}

// ChannelSettings are per-channel options for the reminder scheduler.
type ChannelSettings struct {
	Schedule    string // reminder schedule; "" means the default
	Paused      bool
	PauseReason string
	UpdatedAt   time.Time
	UpdatedBy   string
}

// ChannelFollow lists the environments one channel follows, and its settings.
type ChannelFollow struct {
	Channel      string
	Environments []string // sorted
	Settings     ChannelSettings
}

// Store keeps the tracking data. Implementations are safe for concurrent use.
type Store interface {
	// Track follows an environment from a channel, creating the environment if new.
	Track(ctx context.Context, req TrackRequest) (TrackResult, error)
	// Untrack stops a channel following an environment; false when it did not follow it.
	// The environment, its modules and history stay.
	Untrack(ctx context.Context, workspace, env, channel, actor string) (bool, error)
	// Environments lists a workspace's environments by name.
	Environments(ctx context.Context, workspace string) ([]Environment, error)
	// ChannelEnvironments lists the environments a channel follows, by name.
	ChannelEnvironments(ctx context.Context, workspace, channel string) ([]Environment, error)
	// Status returns one environment with at most limit modules (limit < 0: all).
	Status(ctx context.Context, workspace, env string, limit int) (Status, error)
	// Environment reads one environment without its modules, whose reading
	// grows with the list: for what needs only its state or channels.
	Environment(ctx context.Context, workspace, env string) (Environment, error)
	// Apply makes one change and records one history entry, atomically and idempotently.
	Apply(ctx context.Context, workspace, env string, c Change) (Result, error)
	// History returns an environment's history, oldest first.
	History(ctx context.Context, workspace, env string) ([]HistoryEntry, error)
	// ChannelSettings returns a channel's settings; zero settings when never set.
	ChannelSettings(ctx context.Context, workspace, channel string) (ChannelSettings, error)
	// SetChannelSettings replaces a channel's settings.
	SetChannelSettings(ctx context.Context, workspace, channel string, s ChannelSettings) error
	// FollowedChannels lists the channels following any environment of a
	// workspace with their settings, in one read.
	FollowedChannels(ctx context.Context, workspace string) ([]ChannelFollow, error)
	// Workspaces lists every workspace with data, sorted.
	Workspaces(ctx context.Context) ([]string, error)
	// Ping reports whether the storage answers; errors wrap ErrUnavailable.
	Ping(ctx context.Context) error
	// Close releases what the store opened.
	Close() error
	Claims
	Journal
	Values
	Owners
}

// HistoryLimit is how many history entries an environment keeps; older ones
// are dropped so a long-lived environment does not grow without bound.
// History returns at most as many, and when it returns that many, readers
// take it that older ones were dropped (an environment with exactly
// HistoryLimit entries is told so too: the store keeps no count of them).
const HistoryLimit = 10000

// IdempotencyTTL is how long an applied change key is remembered by default.
const IdempotencyTTL = 24 * time.Hour

func deref(p *int) int {
	if p == nil {
		return 0
	}
	return *p
}

// toMillis keeps times at millisecond precision in UTC so both stores, and
// Redis sorted-set scores, agree on ordering and equality.
func toMillis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Claims coordinate replicas and retries: a key is held by the holder of a
// token (NewToken) until it expires, and only that holder renews or
// releases it. A claim belongs to a workspace, as the rest of its data
// does; workspace "" is for what belongs to none (the digest). The Redis
// store shares claims between replicas; the embedded store keeps them in
// its file for its one process.
type Claims interface {
	// Claim takes key for ttl under token; false when another token holds
	// it. A claim token already holds is won again, unchanged, so a
	// command resent after a lost reply finds its own claim.
	Claim(ctx context.Context, workspace, key, token string, ttl time.Duration) (bool, error)
	// Renew holds key for ttl from now (e.g. a long ttl for "done") when
	// token holds it; false when it does not (expired or taken).
	Renew(ctx context.Context, workspace, key, token string, ttl time.Duration) (bool, error)
	// Release frees key when token holds it, so a retry may claim it.
	Release(ctx context.Context, workspace, key, token string) error
	// Held reports whether anyone holds key, without claiming it.
	Held(ctx context.Context, workspace, key string) (bool, error)
}
