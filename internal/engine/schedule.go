package engine

import (
	"context"
	"sync"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/waitqueue"
)

// A run's round trips are its longest chain of calls: a control that
// others wait for (log-archive before cloudtrail before cloudtrail-alarms,
// security-alerts before health-alerts) is on that chain, a leaf is not.
// So targets are served in order of priority: the longer the chain of
// controls waiting on a target's control, the sooner the target gets a
// slot; then home-region targets (where account-wide work is); then plan
// order. A target that waits for a prerequisite holds no slot while it
// waits: the slots (Run.Concurrency) bound the targets talking to AWS, not
// the ones waiting for each other.

// heights returns, for every control id, the length of the longest chain
// of controls that depend on it (DependsOn, After or AfterHome), itself included: 1
// for a control nothing waits for.
func heights(controls []control.Control) map[string]int {
	dependents := map[string][]string{}
	for _, c := range controls {
		info := c.Info()
		for _, d := range append(append(append([]string(nil), info.DependsOn...), info.After...), info.AfterHome...) {
			dependents[d] = append(dependents[d], info.ID)
		}
	}
	h := map[string]int{}
	var height func(id string, seen map[string]bool) int
	height = func(id string, seen map[string]bool) int {
		if v, ok := h[id]; ok {
			return v
		}
		if seen[id] { // a cycle: Order refuses it; do not loop here
			return 1
		}
		seen[id] = true
		best := 0
		for _, d := range dependents[id] {
			best = max(best, height(d, seen))
		}
		h[id] = best + 1
		return best + 1
	}
	for _, c := range controls {
		height(c.Info().ID, map[string]bool{})
	}
	return h
}

// priority orders targets: a higher one is served first.
type priority struct {
	height int
	home   bool
	index  int // plan order: lower first
}

func (p priority) before(q priority) bool {
	if p.height != q.height {
		return p.height > q.height
	}
	if p.home != q.home {
		return p.home
	}
	return p.index < q.index
}

// priorityOf is the priority of the index-th target, of control id in region.
func (r *Run) priorityOf(h map[string]int, id, region string, index int) priority {
	return priority{height: h[id], home: region == r.HomeRegion, index: index}
}

// slots is a counting semaphore whose freed slots go to the waiting
// target of highest priority.
type slots struct {
	mu      sync.Mutex
	free    int
	waiting *waitqueue.Queue[*waiter]
}

func newSlots(n int) *slots {
	return &slots{free: n, waiting: waitqueue.New(func(a, b *waiter) bool { return a.prio.before(b.prio) })}
}

type waiter struct {
	prio  priority
	ready chan struct{}
}

// acquire waits for a slot. It fails only when ctx ends first.
func (s *slots) acquire(ctx context.Context, p priority) error {
	s.mu.Lock()
	if s.free > 0 && s.waiting.Len() == 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	w := &waiter{prio: p, ready: make(chan struct{})}
	e := s.waiting.Push(w)
	s.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.waiting.Remove(e) { // served meanwhile: hand the slot on
			s.releaseLocked()
		}
		return ctx.Err()
	}
}

// release frees a slot, giving it to the highest waiter if any.
func (s *slots) release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.releaseLocked()
}

func (s *slots) releaseLocked() {
	e := s.waiting.Pop()
	if e == nil {
		s.free++
		return
	}
	close(e.Value.ready)
}
