package waitqueue_test

import (
	"testing"

	"github.com/harden-dev/harden/internal/waitqueue"
)

// Entries come out in the owner's order; a removed one never does, and
// removing it again, or removing a popped one, reports false.
func TestOrderAndRemove(t *testing.T) {
	q := waitqueue.New(func(a, b int) bool { return a < b })
	entries := map[int]*waitqueue.Entry[int]{}
	for _, v := range []int{5, 1, 4, 2, 3} {
		entries[v] = q.Push(v)
	}
	if !q.Remove(entries[4]) || q.Remove(entries[4]) || entries[4].Queued() {
		t.Fatal("removing 4 once should succeed and leave it unqueued")
	}
	if h := q.Head(); h == nil || h.Value != 1 || q.Len() != 4 {
		t.Fatalf("head %v, len %d", h, q.Len())
	}
	var got []int
	for q.Len() > 0 {
		got = append(got, q.Pop().Value)
	}
	if want := []int{1, 2, 3, 5}; len(got) != len(want) || got[0] != 1 || got[1] != 2 || got[2] != 3 || got[3] != 5 {
		t.Fatalf("popped %v, want %v", got, want)
	}
	if q.Pop() != nil || q.Head() != nil || q.Remove(entries[1]) {
		t.Fatal("an empty queue has nothing to pop, and a popped entry cannot be removed")
	}
}
