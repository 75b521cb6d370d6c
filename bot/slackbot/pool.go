package slackbot

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// job is acknowledged work waiting for a worker.
type job struct {
	kind     string // message, command, action, home: the latency metric's label
	received time.Time
	run      func(ctx context.Context)
}

// pool runs jobs on a fixed number of workers. Its queue has no bound on
// purpose: a job is work Slack was already told is done (acknowledged), and
// Slack will not send it again, so when every worker is busy the job waits
// and is answered late rather than dropped. Submitting never blocks, so
// neither the Socket Mode reader nor an HTTP handler waits for slow work.
type pool struct {
	mu      sync.Mutex
	cond    *sync.Cond
	queue   []job
	closed  bool
	wg      sync.WaitGroup
	ctx     context.Context // jobs run with it; cancelled when shutdown runs out of time
	cancel  context.CancelFunc
	timeout time.Duration // for one job
	depth   func(int)
	done    func(job)
	warnAt  int
	warned  bool
	onWarn  func(int)

	running   atomic.Int64 // jobs being worked on
	completed atomic.Int64 // jobs finished
}

// newPool returns a pool; jobs run with base's values but outlive its
// cancellation (shutdown decides when they stop). The hooks may be nil.
func newPool(base context.Context, jobTimeout time.Duration, depth func(int), done func(job), onWarn func(int)) *pool {
	ctx, cancel := context.WithCancel(context.WithoutCancel(base))
	p := &pool{ctx: ctx, cancel: cancel, timeout: jobTimeout, depth: depth, done: done, warnAt: 1000, onWarn: onWarn}
	if p.depth == nil {
		p.depth = func(int) {}
	}
	if p.done == nil {
		p.done = func(job) {}
	}
	if p.onWarn == nil {
		p.onWarn = func(int) {}
	}
	p.cond = sync.NewCond(&p.mu)
	return p
}

// start starts the workers.
func (p *pool) start(workers int) {
	for range workers {
		p.wg.Go(p.work)
	}
}

// submit queues a job; false once the pool is shutting down.
func (p *pool) submit(j job) bool {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return false
	}
	p.queue = append(p.queue, j)
	n := len(p.queue)
	warn := n >= p.warnAt && !p.warned
	if warn {
		p.warned = true
	} else if n < p.warnAt/2 {
		p.warned = false
	}
	p.cond.Signal()
	p.mu.Unlock()
	p.depth(n)
	if warn {
		p.onWarn(n)
	}
	return true
}

func (p *pool) work() {
	for {
		p.mu.Lock()
		for len(p.queue) == 0 && !p.closed {
			p.cond.Wait()
		}
		if len(p.queue) == 0 {
			p.mu.Unlock()
			return
		}
		j := p.queue[0]
		p.queue[0] = job{}
		p.queue = p.queue[1:]
		n := len(p.queue)
		p.running.Add(1) // with the lock: pending never misses a job
		p.mu.Unlock()
		p.depth(n)
		p.runOne(j)
	}
}

func (p *pool) runOne(j job) {
	ctx, cancel := context.WithTimeout(p.ctx, p.timeout)
	defer func() {
		cancel()
		p.completed.Add(1) // before running ends: a job is always pending or completed
		p.running.Add(-1)
	}()
	j.run(ctx)
	p.done(j)
}

// pending is how many jobs are queued or running.
func (p *pool) pending() int {
	p.mu.Lock()
	n := len(p.queue)
	p.mu.Unlock()
	return n + int(p.running.Load())
}

// shutdown stops taking jobs, lets the workers finish the queued and
// running ones within grace, then cancels what is left. It returns how
// many queued jobs were abandoned.
func (p *pool) shutdown(grace time.Duration) int {
	p.mu.Lock()
	p.closed = true
	p.cond.Broadcast()
	p.mu.Unlock()
	finished := make(chan struct{})
	go func() {
		p.wg.Wait()
		close(finished)
	}()
	timer := time.NewTimer(grace)
	defer timer.Stop()
	abandoned := 0
	select {
	case <-finished:
	case <-timer.C:
		p.mu.Lock()
		abandoned = len(p.queue)
		p.queue = nil
		p.mu.Unlock()
		p.cancel()
		// A job that ignores its context must not hold the process forever.
		select {
		case <-finished:
		case <-time.After(2 * time.Second):
		}
	}
	p.cancel()
	return abandoned
}
