// Package waitqueue holds callers waiting for their turn, served in an
// order the owner defines (oldest call first for the AWS call pacer,
// highest priority first for the engine's slots). Each entry knows its
// place, so a caller that gives up (its context ended) leaves the queue
// without a scan. A Queue is not safe for concurrent use: its owner holds
// its own lock around it.
package waitqueue

import "container/heap"

// Entry is one waiting caller.
type Entry[T any] struct {
	Value T
	pos   int // index in the heap; -1 once popped or removed
}

// Queued reports whether the entry is still waiting in its queue.
func (e *Entry[T]) Queued() bool { return e.pos >= 0 }

// Queue is a heap of entries, the one that goes first on top.
type Queue[T any] struct {
	h entries[T]
}

// New returns an empty queue where a goes before b when first(a, b).
func New[T any](first func(a, b T) bool) *Queue[T] {
	return &Queue[T]{h: entries[T]{first: first}}
}

// Len is the number of entries waiting.
func (q *Queue[T]) Len() int { return len(q.h.items) }

// Push adds v and returns its entry.
func (q *Queue[T]) Push(v T) *Entry[T] {
	e := &Entry[T]{Value: v}
	heap.Push(&q.h, e)
	return e
}

// Head returns the entry that goes next, without taking it; nil when the
// queue is empty.
func (q *Queue[T]) Head() *Entry[T] {
	if len(q.h.items) == 0 {
		return nil
	}
	return q.h.items[0]
}

// Pop takes the entry that goes next; nil when the queue is empty.
func (q *Queue[T]) Pop() *Entry[T] {
	if len(q.h.items) == 0 {
		return nil
	}
	return heap.Pop(&q.h).(*Entry[T])
}

// Remove takes e out of the queue, and reports whether it was waiting
// (false once it was popped or removed).
func (q *Queue[T]) Remove(e *Entry[T]) bool {
	if !e.Queued() {
		return false
	}
	heap.Remove(&q.h, e.pos)
	return true
}

// entries implements heap.Interface.
type entries[T any] struct {
	items []*Entry[T]
	first func(a, b T) bool
}

func (h entries[T]) Len() int           { return len(h.items) }
func (h entries[T]) Less(i, j int) bool { return h.first(h.items[i].Value, h.items[j].Value) }
func (h entries[T]) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].pos, h.items[j].pos = i, j
}

func (h *entries[T]) Push(x any) {
	e := x.(*Entry[T])
	e.pos = len(h.items)
	h.items = append(h.items, e)
}

func (h *entries[T]) Pop() any {
	last := len(h.items) - 1
	e := h.items[last]
	h.items[last] = nil
	h.items = h.items[:last]
	e.pos = -1
	return e
}
