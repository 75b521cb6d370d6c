package slackbot

import (
	"context"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// class is how a job is admitted above the bound.
type class int

const (
	// classEvent is refused above the bound: Slack resends an event it was
	// not acknowledged for (three times over about five minutes).
	classEvent class = iota
	// classInteractive (slash commands, clicks) is never resent by Slack, so
	// it has a reserve above the bound; refused beyond that (the user is told).
	classInteractive
	// classOwed is work already acknowledged (a screenshot read late, a
	// recovered event): never refused. It stays bounded because each comes
	// from a job that was admitted.
	classOwed
)

// job is one piece of work: what a message, command or click does.
type job struct {
	key      string // its lane: workspace/channel; "" for read-only work, which waits in no lane
	bytes    int64  // what it holds in memory, for the bound
	kind     string // message, command, action, home: metrics and logs
	class    class
	received time.Time
	run      func(ctx context.Context)
	done     func(ran bool) // optional: after run (ran, even if it panicked), or when shutdown drops the job
}

// laneOptions are the lanes' sizes and hooks; hooks may be nil.
type laneOptions struct {
	workers     int                         // serve the lanes
	freeWorkers int                         // serve read-only work
	maxJobs     int                         // the bound on jobs held (queued, running or admitted and not yet queued)
	maxBytes    int64                       // and on their bytes
	reserve     float64                     // the share above the bound interactive jobs may use
	timeout     time.Duration               // for one job
	depth       func(jobs int, bytes int64) // called with the lock held: quick, and no calls back
	finished    func(j job)
	refused     func(j job)
	panicked    func(j job, p any, stack []byte)
	episode     func(start bool, refused int) // refusing began (start) or ended, once per episode
}

// lanes run jobs in order per lane, lanes in parallel: a lane is a FIFO per
// (workspace, channel), served by at most one worker at a time, so what a
// channel records is applied in the order received; a fixed number of
// workers serves the lanes with work, round robin. Jobs with no lane
// (read-only commands, App Home) have their own few workers and wait
// behind no channel. What is held is bounded in jobs and bytes.
type lanes struct {
	o      laneOptions
	ctx    context.Context // jobs run with it; cancelled when shutdown runs out of time
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	laneCond *sync.Cond
	freeCond *sync.Cond
	byKey    map[string]*lane // lanes with jobs queued or running
	ready    []*lane          // lanes with jobs queued and none running, in turn
	free     []job
	jobs     int // held: queued, running, or admitted and not yet queued
	bytes    int64
	closed   bool
	refusing bool
	nRefused int // in this episode

	running   atomic.Int64
	completed atomic.Int64 // jobs run to the end (or panicked)
}

type lane struct {
	key     string
	jobs    []job
	running bool
}

// newLanes returns lanes whose jobs run with base's values but outlive its
// cancellation (shutdown decides when they stop); start starts the workers.
func newLanes(base context.Context, o laneOptions) *lanes {
	ctx, cancel := context.WithCancel(context.WithoutCancel(base))
	if o.depth == nil {
		o.depth = func(int, int64) {}
	}
	if o.finished == nil {
		o.finished = func(job) {}
	}
	if o.refused == nil {
		o.refused = func(job) {}
	}
	if o.panicked == nil {
		o.panicked = func(job, any, []byte) {}
	}
	if o.episode == nil {
		o.episode = func(bool, int) {}
	}
	l := &lanes{o: o, ctx: ctx, cancel: cancel, byKey: map[string]*lane{}}
	l.laneCond, l.freeCond = sync.NewCond(&l.mu), sync.NewCond(&l.mu)
	return l
}

func (l *lanes) start() {
	for range l.o.workers {
		l.wg.Go(func() { l.serve(l.laneCond, l.takeLane) })
	}
	for range l.o.freeWorkers {
		l.wg.Go(func() { l.serve(l.freeCond, l.takeFree) })
	}
}

// submit admits and queues j; false when the bound refuses it or the
// lanes are shutting down.
func (l *lanes) submit(j job) bool {
	if !l.admit(j) {
		return false
	}
	l.queue(j)
	return true
}

// admit counts j against the bound, before it can run (a message whose
// screenshots are still being read); false when refused. An admitted job
// must then be queued.
func (l *lanes) admit(j job) bool {
	l.mu.Lock()
	limit, limitBytes := l.o.maxJobs, l.o.maxBytes
	if j.class == classInteractive {
		limit += int(float64(l.o.maxJobs) * l.o.reserve)
		limitBytes += int64(float64(l.o.maxBytes) * l.o.reserve)
	}
	closed := l.closed
	ok := !closed && (j.class == classOwed || (l.jobs+1 <= limit && l.bytes+j.bytes <= limitBytes))
	start := false
	switch {
	case ok:
		l.jobs++
		l.bytes += j.bytes
		l.o.depth(l.jobs, l.bytes) // under the lock: the gauge is never left stale
	case !closed:
		start = !l.refusing
		l.refusing = true
		l.nRefused++
	}
	l.mu.Unlock()
	if !ok && !closed {
		l.o.refused(j)
		if start {
			l.o.episode(true, 0)
		}
	}
	return ok
}

// queue places an admitted job at the end of its lane (or the read-only
// queue). After shutdown it is dropped (done(false)).
func (l *lanes) queue(j job) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		l.release(j)
		if j.done != nil {
			j.done(false)
		}
		return
	}
	if j.key == "" {
		l.free = append(l.free, j)
		l.freeCond.Signal()
		l.mu.Unlock()
		return
	}
	ln := l.byKey[j.key]
	if ln == nil {
		ln = &lane{key: j.key}
		l.byKey[j.key] = ln
	}
	ln.jobs = append(ln.jobs, j)
	if !ln.running && len(ln.jobs) == 1 {
		l.ready = append(l.ready, ln)
		l.laneCond.Signal()
	}
	l.mu.Unlock()
}

// release gives back what a job held; the end of an episode of refusals
// is when half the bound is free again, so it is logged once.
func (l *lanes) release(j job) {
	l.mu.Lock()
	l.jobs--
	l.bytes -= j.bytes
	end, n := false, 0
	if l.refusing && l.jobs <= l.o.maxJobs/2 && l.bytes <= l.o.maxBytes/2 {
		end, n = true, l.nRefused
		l.refusing, l.nRefused = false, 0
	}
	l.o.depth(l.jobs, l.bytes)
	l.mu.Unlock()
	if end {
		l.o.episode(false, n)
	}
}

// serve is a worker: it takes the next job (take, under the lock) and
// runs it, until the lanes are closed and nothing is left to take.
func (l *lanes) serve(cond *sync.Cond, take func() (job, *lane, bool)) {
	for {
		l.mu.Lock()
		j, ln, ok := take()
		for !ok && !l.closed {
			cond.Wait()
			j, ln, ok = take()
		}
		if !ok {
			l.mu.Unlock()
			return
		}
		l.running.Add(1) // with the lock: pending never misses a job
		l.mu.Unlock()
		l.runOne(j)
		if ln != nil {
			l.mu.Lock()
			ln.running = false
			if len(ln.jobs) > 0 {
				l.ready = append(l.ready, ln) // to the back: channels take turns
				l.laneCond.Signal()
			} else {
				delete(l.byKey, ln.key)
			}
			l.mu.Unlock()
		}
		l.finish(j)
	}
}

// takeLane takes the first job of the lane whose turn it is; the lane is
// running until that job ends.
func (l *lanes) takeLane() (job, *lane, bool) {
	if len(l.ready) == 0 {
		return job{}, nil, false
	}
	ln := l.ready[0]
	l.ready = l.ready[1:]
	j := ln.jobs[0]
	ln.jobs[0] = job{}
	ln.jobs = ln.jobs[1:]
	ln.running = true
	return j, ln, true
}

// takeFree takes the first read-only job.
func (l *lanes) takeFree() (job, *lane, bool) {
	if len(l.free) == 0 {
		return job{}, nil, false
	}
	j := l.free[0]
	l.free[0] = job{}
	l.free = l.free[1:]
	return j, nil, true
}

// runOne runs a job within its timeout; a panic is reported, and the
// worker goes on.
func (l *lanes) runOne(j job) {
	ctx, cancel := context.WithTimeout(l.ctx, l.o.timeout)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			l.o.panicked(j, p, debug.Stack())
		}
	}()
	j.run(ctx)
}

func (l *lanes) finish(j job) {
	l.release(j)
	if j.done != nil {
		j.done(true)
	}
	l.o.finished(j)
	l.completed.Add(1) // before running ends: a job is always pending or completed
	l.running.Add(-1)
}

// pending is how many jobs are queued or running.
func (l *lanes) pending() int {
	l.mu.Lock()
	n := len(l.free)
	for _, ln := range l.byKey {
		n += len(ln.jobs)
	}
	l.mu.Unlock()
	return n + int(l.running.Load())
}

// shutdown stops taking jobs, lets the workers finish the queued and
// running ones within grace, then cancels what is running and drops what
// is queued (done(false)). It returns how many jobs were dropped.
func (l *lanes) shutdown(grace time.Duration) int {
	l.mu.Lock()
	l.closed = true
	l.laneCond.Broadcast()
	l.freeCond.Broadcast()
	l.mu.Unlock()
	finished := make(chan struct{})
	go func() {
		l.wg.Wait()
		close(finished)
	}()
	timer := time.NewTimer(grace)
	defer timer.Stop()
	var dropped []job
	select {
	case <-finished:
	case <-timer.C:
		l.mu.Lock()
		dropped = l.free
		for _, ln := range l.byKey {
			dropped = append(dropped, ln.jobs...)
			ln.jobs = nil
		}
		l.free, l.ready = nil, nil
		l.mu.Unlock()
		l.cancel()
		// A job that ignores its context must not hold the process forever.
		select {
		case <-finished:
		case <-time.After(2 * time.Second):
		}
	}
	l.cancel()
	for _, j := range dropped {
		l.release(j)
		if j.done != nil {
			j.done(false)
		}
	}
	return len(dropped)
}

// laneKey is the lane of a channel's work.
func laneKey(workspace, channel string) string { return fmt.Sprintf("%s/%s", workspace, channel) }
