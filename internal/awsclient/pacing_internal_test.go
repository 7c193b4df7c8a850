package awsclient

import (
	"testing"
	"time"

	"golang.org/x/time/rate"
)

func TestBudgetLowersOnceForCallsSentTogether(t *testing.T) {
	b := newPacer().budget("EC2", "eu-west-1")
	if b.limit() != rate.Inf {
		t.Fatalf("a new budget is limited: %v", b.limit())
	}
	sent := time.Now()
	b.throttled(sent)
	first := b.limit()
	if first != paceFirst*paceBackoff {
		t.Fatalf("first throttling answer: rate %v, want %v", first, paceFirst*paceBackoff)
	}
	// Another answer to a call sent before the rate was lowered says
	// nothing new.
	b.throttled(sent)
	if b.limit() != first {
		t.Fatalf("an answer to a call sent at the old rate lowered it again: %v", b.limit())
	}
	b.throttled(time.Now())
	if b.limit() >= first {
		t.Fatalf("a call sent at the lowered rate was throttled: rate %v, want below %v", b.limit(), first)
	}
}

func TestBudgetRisesWithSuccessesAndKeepsTheAcceptedRate(t *testing.T) {
	b := newPacer().budget("Config", "eu-west-1")
	b.throttled(time.Now())
	low := b.limit()
	time.Sleep(20 * time.Millisecond)
	b.succeeded()
	if b.limit() <= low {
		t.Fatalf("a success did not raise the rate: %v", b.limit())
	}
	for range 10 {
		b.succeeded()
	}
	before := b.limit()
	b.throttled(time.Now())
	if b.limit() != before {
		t.Fatalf("AWS accepted 11 calls in the last second at %v a second, yet a throttling answer lowered the rate to %v", before, b.limit())
	}
}

func TestBudgetFloor(t *testing.T) {
	b := newPacer().budget("EC2", "eu-west-1")
	for range 50 {
		b.throttled(time.Now())
	}
	if b.limit() != paceFloor {
		t.Fatalf("rate %v, want the floor %v", b.limit(), paceFloor)
	}
}
