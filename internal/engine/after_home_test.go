package engine_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/engine"
)

// applyLog records when stub controls' applies end.
type applyLog struct {
	mu   sync.Mutex
	done map[string]time.Time
	// started: when each reader target's apply began.
	started map[string]time.Time
}

func (l *applyLog) mark(m map[string]time.Time, key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m[key] = time.Now()
}

func (l *applyLog) has(m map[string]time.Time, key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !m[key].IsZero()
}

// maker is a regional control whose home target makes something
// account-wide (slowly) that reader decides on.
type maker struct{ log *applyLog }

func (maker) Info() control.Info {
	return control.Info{ID: "maker", Scope: control.Regional}
}

func (m maker) Check(_ context.Context, _ *control.Env, t control.Target) (control.Finding, error) {
	if m.log.has(m.log.done, t.Region) {
		return control.Finding{Compliant: true}, nil
	}
	f := control.Finding{Action: control.ActionCreate, Changes: []control.Change{{Field: "thing in " + t.Region, Current: "none", Desired: "made"}}}
	if t.Region == t.HomeRegion {
		f.Changes = append(f.Changes, control.Change{Field: "account-wide thing", Current: "none", Desired: "made"})
	}
	return f, nil
}

func (m maker) Apply(_ context.Context, _ *control.Env, t control.Target, _ control.Journal) ([]control.Change, error) {
	if t.Region == t.HomeRegion {
		time.Sleep(50 * time.Millisecond) // long enough for another region to overtake it, were it not waited for
	}
	m.log.mark(m.log.done, t.Region)
	return nil, nil
}

func (maker) Steps() control.Steps { return control.Steps{} }

// reader runs after maker's home target in every region and reads
// maker's home plan.
type reader struct{ log *applyLog }

func (reader) Info() control.Info {
	return control.Info{ID: "reader", Scope: control.Regional, AfterHome: []string{"maker"}}
}

func (r reader) Check(_ context.Context, _ *control.Env, t control.Target) (control.Finding, error) {
	if r.log.has(r.log.started, t.Region) {
		return control.Finding{Compliant: true}, nil
	}
	return control.Finding{Action: control.ActionCreate, Changes: []control.Change{{Field: "x", Current: "a", Desired: "b"}}, Note: "unforeseen"}, nil
}

func (r reader) CheckForeseeing(_ context.Context, _ *control.Env, t control.Target, planned control.Planned) (control.Finding, error) {
	f, _ := r.Check(context.Background(), nil, t)
	home, ok := planned("maker", t.HomeRegion)
	f.Note = fmt.Sprintf("maker@home planned: %v, %d changes", ok, len(home.Changes))
	return f, nil
}

func (r reader) Apply(_ context.Context, _ *control.Env, t control.Target, _ control.Journal) ([]control.Change, error) {
	r.log.mark(r.log.started, t.Region)
	return nil, nil
}

func (reader) Steps() control.Steps { return control.Steps{} }

// A control with Info.AfterHome is checked, outside the home region, once
// the home target it runs after is checked (and reads its finding), and
// applies after that target has applied; its home target is not held; without the other control in the run it
// neither waits nor reads anything. Concurrency 1 shows the wait holds no
// slot the awaited target needs.
func TestAfterHomeWaitsForTheHomeTarget(t *testing.T) {
	regions := []string{"eu-west-1", "ap-south-1", "us-east-1", "sa-east-1"}
	for _, conc := range []int{1, 8} {
		t.Run(fmt.Sprintf("concurrency-%d", conc), func(t *testing.T) {
			log := &applyLog{done: map[string]time.Time{}, started: map[string]time.Time{}}
			ordered, err := engine.Order([]control.Control{reader{log}, maker{log}})
			if err != nil || ordered[0].Info().ID != "maker" {
				t.Fatalf("order: %v %v", ordered, err)
			}
			run := &engine.Run{Controls: ordered, Env: &control.Env{}, AccountID: "123456789012", HomeRegion: "us-east-1", Regions: regions, Concurrency: conc}
			plan := run.Check(ctx)
			for _, p := range plan {
				want := "maker@home planned: true, 2 changes"
				if p.Region == "us-east-1" {
					want = "maker@home planned: false, 0 changes" // the home target waits for nothing
				}
				if p.Control.ID == "reader" && p.Note != want {
					t.Fatalf("%s: note %q, want %q", p.Key(), p.Note, want)
				}
			}
			j := &controltest.MemJournal{}
			for _, r := range run.Apply(ctx, plan, j.For) {
				if r.Status == engine.Error {
					t.Fatalf("%s: %v", r.Key(), r.Err)
				}
			}
			home := log.done["us-east-1"]
			for _, r := range regions {
				if s := log.started[r]; s.IsZero() || r != "us-east-1" && s.Before(home) {
					t.Errorf("reader@%s started at %v, before maker@us-east-1 ended at %v", r, s, home)
				}
			}
		})
	}
	t.Run("without maker", func(t *testing.T) {
		log := &applyLog{done: map[string]time.Time{}, started: map[string]time.Time{}}
		run := &engine.Run{Controls: []control.Control{reader{log}}, Env: &control.Env{}, AccountID: "123456789012", HomeRegion: "us-east-1", Regions: regions, Concurrency: 2}
		plan := run.Check(ctx)
		for _, p := range plan {
			if p.Note != "maker@home planned: false, 0 changes" {
				t.Fatalf("%s: note %q", p.Key(), p.Note)
			}
		}
		for _, r := range run.Apply(ctx, plan, (&controltest.MemJournal{}).For) {
			if r.Status == engine.Error || log.started[r.Region].IsZero() {
				t.Fatalf("%s: %s %v", r.Key(), r.Status, r.Err)
			}
		}
	})
}

// slowMaker's check of the home region ends only once every reader has
// begun its own reads (or a second has passed).
type slowMaker struct {
	maker
	readersStarted *sync.WaitGroup
}

func (m slowMaker) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	if t.Region == t.HomeRegion {
		done := make(chan struct{})
		go func() { m.readersStarted.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(time.Second):
			return control.Finding{}, fmt.Errorf("no reader began its reads while the home check ran")
		}
	}
	return m.maker.Check(ctx, env, t)
}

// eagerReader makes its own reads (marks readersStarted) before it asks
// what the home target plans.
type eagerReader struct {
	reader
	readersStarted *sync.WaitGroup
}

func (r eagerReader) CheckForeseeing(ctx context.Context, env *control.Env, t control.Target, planned control.Planned) (control.Finding, error) {
	r.readersStarted.Done()
	return r.reader.CheckForeseeing(ctx, env, t, planned)
}

// A foreseeing target's own reads run while the check it waits for is
// still running: the wait begins only when it asks what was planned.
func TestForeseeingReadsOverlapTheWait(t *testing.T) {
	regions := []string{"eu-west-1", "ap-south-1", "us-east-1"}
	log := &applyLog{done: map[string]time.Time{}, started: map[string]time.Time{}}
	started := &sync.WaitGroup{}
	started.Add(len(regions))
	ordered, err := engine.Order([]control.Control{eagerReader{reader{log}, started}, slowMaker{maker{log}, started}})
	if err != nil {
		t.Fatal(err)
	}
	run := &engine.Run{Controls: ordered, Env: &control.Env{}, AccountID: "123456789012", HomeRegion: "us-east-1", Regions: regions, Concurrency: 8}
	for _, p := range run.Check(ctx) {
		if p.Status == engine.Error {
			t.Fatalf("%s: %v", p.Key(), p.Err)
		}
		if p.Control.ID == "reader" && p.Region != "us-east-1" && p.Note != "maker@home planned: true, 2 changes" {
			t.Fatalf("%s: note %q", p.Key(), p.Note)
		}
	}
}
