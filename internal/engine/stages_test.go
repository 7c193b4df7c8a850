package engine_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/control/controltest"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/fakeaws"
	"github.com/harden-dev/harden/internal/fakeawstest"
)

// events is the order in which stub controls did things, as
// "control@region what".
type events struct {
	mu   sync.Mutex
	list []string
	// applied targets are compliant at their re-check.
	applied map[string]bool
}

func newEvents() *events { return &events{applied: map[string]bool{}} }

func (e *events) add(what string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.list = append(e.list, what)
}

func (e *events) index(what string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return slices.Index(e.list, what)
}

// waitFor waits (bounded) until what has happened; false when it did not.
func (e *events) waitFor(what string) bool {
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if e.index(what) >= 0 {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

// stager is a stub control: its Apply runs apply (nil: it just succeeds),
// and its re-check is compliant once an Apply succeeded.
type stager struct {
	info  control.Info
	ev    *events
	apply func(ctx context.Context, t control.Target) error
}

func (s stager) Info() control.Info { return s.info }

func (s stager) key(t control.Target) string { return s.info.ID + "@" + t.Region }

func (s stager) Check(_ context.Context, _ *control.Env, t control.Target) (control.Finding, error) {
	s.ev.mu.Lock()
	defer s.ev.mu.Unlock()
	if s.ev.applied[s.key(t)] {
		return control.Finding{Compliant: true}, nil
	}
	return control.Finding{Action: control.ActionCreate, Changes: []control.Change{{Field: "thing", Current: "none", Desired: "made"}}}, nil
}

func (s stager) Apply(ctx context.Context, _ *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	s.ev.add(s.key(t) + " apply")
	if err := j.Write(ctx, "Make", "none", "made", func(context.Context) (any, error) { return nil, nil }); err != nil {
		return nil, err
	}
	if s.apply != nil {
		if err := s.apply(ctx, t); err != nil {
			s.ev.add(s.key(t) + " failed")
			return nil, err
		}
	}
	s.ev.mu.Lock()
	s.ev.applied[s.key(t)] = true
	s.ev.mu.Unlock()
	s.ev.add(s.key(t) + " done")
	return nil, nil
}

func (stager) Steps() control.Steps { return control.Steps{"Make": nil, "MakeEarly": nil} }

// reach reports stage and records it.
func (s stager) reach(ctx context.Context, t control.Target, stage string) {
	s.ev.add(s.key(t) + " reached " + stage)
	control.Reached(ctx, stage)
}

// earlyStager is a stager with an early part (control.EarlyApply).
type earlyStager struct {
	stager
	early func(ctx context.Context, t control.Target) error
}

func (s earlyStager) ApplyEarly(ctx context.Context, _ *control.Env, t control.Target, j control.Journal) error {
	s.ev.add(s.key(t) + " early")
	if err := j.Write(ctx, "MakeEarly", "none", "made", func(context.Context) (any, error) { return nil, nil }); err != nil {
		return err
	}
	return s.early(ctx, t)
}

func stubRun(concurrency int, regions []string, cs ...control.Control) *engine.Run {
	return &engine.Run{Controls: cs, Env: &control.Env{}, AccountID: "123456789012", HomeRegion: regions[0], Regions: regions, Concurrency: concurrency}
}

func applyAll(t *testing.T, run *engine.Run) (map[string]engine.Result, *controltest.MemJournal) {
	t.Helper()
	ordered, err := engine.Order(run.Controls)
	if err != nil {
		t.Fatal(err)
	}
	run.Controls = ordered
	j := &controltest.MemJournal{}
	done := make(chan []engine.Result)
	go func() { done <- run.Apply(context.Background(), run.Check(context.Background()), j.For) }()
	select {
	case res := <-done:
		return byKey(res), j
	case <-time.After(5 * time.Second):
		t.Fatal("apply did not end: deadlock")
		return nil, nil
	}
}

// A dependent that needs a stage starts as soon as it is reached, while
// its prerequisite is still applying.
func TestStageStartsDependentBeforePrerequisiteEnds(t *testing.T) {
	ev := newEvents()
	var producer stager
	producer = stager{ev: ev, info: control.Info{ID: "producer", Scope: control.Regional, Stages: []control.Stage{{Name: "part", What: "the part"}}},
		apply: func(ctx context.Context, tg control.Target) error {
			producer.reach(ctx, tg, "part")
			// The rest of the apply goes on until the dependent has
			// started: it would never start were the whole apply waited for.
			if !ev.waitFor("dependent@" + tg.Region + " apply") {
				return errors.New("dependent did not start before the prerequisite ended")
			}
			return nil
		}}
	dependent := stager{ev: ev, info: control.Info{ID: "dependent", Scope: control.Regional, DependsOn: []string{"producer"}, Needs: map[string]string{"producer": "part"}}}
	res, _ := applyAll(t, stubRun(4, []string{"r1", "r2"}, dependent, producer))
	for k, r := range res {
		if r.Status != engine.Compliant {
			t.Fatalf("%s: %s %v", k, r.Status, r.Err)
		}
	}
	for _, reg := range []string{"r1", "r2"} {
		if ev.index("dependent@"+reg+" apply") < ev.index("producer@"+reg+" reached part") {
			t.Fatalf("dependent@%s started before the stage was reached: %v", reg, ev.list)
		}
	}
}

// A prerequisite that fails before it reaches the stage blocks the
// dependent, as without stages; one that reaches it and fails later
// leaves the dependent that went ahead alone.
func TestStageFailureBeforeAndAfter(t *testing.T) {
	for _, concurrency := range []int{1, 4} {
		t.Run(fmt.Sprint(concurrency), func(t *testing.T) {
			ev := newEvents()
			var producer stager
			producer = stager{ev: ev, info: control.Info{ID: "producer", Scope: control.Regional, Stages: []control.Stage{{Name: "part"}}},
				apply: func(ctx context.Context, tg control.Target) error {
					if tg.Region == "before" {
						return errors.New("refused before the stage")
					}
					producer.reach(ctx, tg, "part")
					return errors.New("refused after the stage")
				}}
			dependent := stager{ev: ev, info: control.Info{ID: "dependent", Scope: control.Regional, DependsOn: []string{"producer"}, Needs: map[string]string{"producer": "part"}}}
			res, j := applyAll(t, stubRun(concurrency, []string{"before", "after"}, dependent, producer))
			if r := res["producer@before"]; r.Status != engine.Error {
				t.Fatalf("producer@before: %s", r.Status)
			}
			if r := res["dependent@before"]; r.Status != engine.Blocked || r.Reason != "prerequisite producer in before is error" {
				t.Fatalf("dependent@before: %s %q, want blocked", r.Status, r.Reason)
			}
			if r := res["producer@after"]; r.Status != engine.Error {
				t.Fatalf("producer@after: %s", r.Status)
			}
			if r := res["dependent@after"]; r.Status != engine.Compliant {
				t.Fatalf("dependent@after: %s %v, want compliant: its stage was reached", r.Status, r.Err)
			}
			// Every write is journaled under its own target.
			var got []string
			for _, e := range j.Entries {
				got = append(got, e.Control+"@"+e.Region)
			}
			slices.Sort(got)
			if want := []string{"dependent@after", "producer@after", "producer@before"}; !slices.Equal(got, want) {
				t.Fatalf("journal %v, want %v", got, want)
			}
		})
	}
}

// A prerequisite that ends without reaching the stage (nothing to do
// there) lets its dependent go once settled; one already compliant in the
// plan does not hold it at all.
func TestStageNotReachedWaitsForWholeApply(t *testing.T) {
	ev := newEvents()
	producer := stager{ev: ev, info: control.Info{ID: "producer", Scope: control.Regional, Stages: []control.Stage{{Name: "part"}}},
		apply: func(context.Context, control.Target) error { time.Sleep(20 * time.Millisecond); return nil }}
	dependent := stager{ev: ev, info: control.Info{ID: "dependent", Scope: control.Regional, DependsOn: []string{"producer"}, Needs: map[string]string{"producer": "part"}}}
	res, _ := applyAll(t, stubRun(1, []string{"r1"}, dependent, producer))
	if r := res["dependent@r1"]; r.Status != engine.Compliant {
		t.Fatalf("dependent: %s %v", r.Status, r.Err)
	}
	if ev.index("dependent@r1 apply") < ev.index("producer@r1 done") {
		t.Fatalf("dependent started before its prerequisite ended: %v", ev.list)
	}
}

// A home stage (control.Stage.Home) is waited for in the home region's
// target, from every region; the prerequisite's own target in the region
// does not hold the dependent back, even when it fails.
func TestHomeStage(t *testing.T) {
	for _, concurrency := range []int{1, 8} {
		t.Run(fmt.Sprint(concurrency), func(t *testing.T) {
			ev := newEvents()
			var producer stager
			producer = stager{ev: ev, info: control.Info{ID: "producer", Scope: control.Regional, Stages: []control.Stage{{Name: "topic", Home: true}}},
				apply: func(ctx context.Context, tg control.Target) error {
					if tg.Region != tg.HomeRegion {
						return errors.New("refused outside home")
					}
					producer.reach(ctx, tg, "topic")
					return nil
				}}
			dependent := stager{ev: ev, info: control.Info{ID: "dependent", Scope: control.Regional, DependsOn: []string{"producer"}, Needs: map[string]string{"producer": "topic"}}}
			regions := []string{"home", "r1", "r2"}
			res, _ := applyAll(t, stubRun(concurrency, regions, dependent, producer))
			for _, reg := range regions {
				if r := res["dependent@"+reg]; r.Status != engine.Compliant {
					t.Fatalf("dependent@%s: %s %q %v", reg, r.Status, r.Reason, r.Err)
				}
				if ev.index("dependent@"+reg+" apply") < ev.index("producer@home reached topic") {
					t.Fatalf("dependent@%s started before the home stage: %v", reg, ev.list)
				}
			}
		})
	}
	// The home target failing before the stage blocks every region's
	// dependent, naming the home region.
	ev := newEvents()
	producer := stager{ev: ev, info: control.Info{ID: "producer", Scope: control.Regional, Stages: []control.Stage{{Name: "topic", Home: true}}},
		apply: func(_ context.Context, tg control.Target) error {
			if tg.Region == tg.HomeRegion {
				return errors.New("refused")
			}
			return nil
		}}
	dependent := stager{ev: ev, info: control.Info{ID: "dependent", Scope: control.Regional, DependsOn: []string{"producer"}, Needs: map[string]string{"producer": "topic"}}}
	res, _ := applyAll(t, stubRun(2, []string{"home", "r1"}, dependent, producer))
	for _, reg := range []string{"home", "r1"} {
		if r := res["dependent@"+reg]; r.Status != engine.Blocked || r.Reason != "prerequisite producer in home is error" {
			t.Fatalf("dependent@%s: %s %q, want blocked behind the home target", reg, r.Status, r.Reason)
		}
	}
}

// An ordering-only dependency (AfterHome) on a stage waits for that stage,
// not for the whole apply, and a failure never holds it back.
func TestAfterHomeStage(t *testing.T) {
	ev := newEvents()
	var producer stager
	producer = stager{ev: ev, info: control.Info{ID: "producer", Scope: control.Regional, Stages: []control.Stage{{Name: "linked"}}},
		apply: func(ctx context.Context, tg control.Target) error {
			if tg.Region != tg.HomeRegion {
				return nil
			}
			producer.reach(ctx, tg, "linked")
			if !ev.waitFor("reader@r1 apply") {
				return errors.New("reader did not start before the home target ended")
			}
			return errors.New("refused after the stage")
		}}
	reader := stager{ev: ev, info: control.Info{ID: "reader", Scope: control.Regional, AfterHome: []string{"producer"}, Needs: map[string]string{"producer": "linked"}}}
	res, _ := applyAll(t, stubRun(4, []string{"home", "r1"}, reader, producer))
	if r := res["reader@r1"]; r.Status != engine.Compliant {
		t.Fatalf("reader@r1: %s %v", r.Status, r.Err)
	}
	if r := res["producer@home"]; r.Status != engine.Error || !strings.Contains(r.Err.Error(), "refused after the stage") {
		t.Fatalf("producer@home: %s %v", r.Status, r.Err)
	}
}

// An early part (control.EarlyApply) runs at the start of apply, before
// the prerequisites it does not need, and reaches a stage its own
// dependents start on; the rest of its apply waits for its prerequisites,
// and is blocked when one fails, with the early part's write journaled.
func TestEarlyApply(t *testing.T) {
	for _, concurrency := range []int{1, 8} {
		for _, baseFails := range []bool{false, true} {
			t.Run(fmt.Sprint(concurrency, baseFails), func(t *testing.T) {
				ev := newEvents()
				base := stager{ev: ev, info: control.Info{ID: "base", Scope: control.Regional},
					apply: func(_ context.Context, tg control.Target) error {
						// The early part and its dependent run first.
						if !ev.waitFor("consumer@" + tg.Region + " done") {
							return errors.New("consumer did not apply before base ended")
						}
						if baseFails {
							return errors.New("base refused")
						}
						return nil
					}}
				var mid earlyStager
				mid = earlyStager{stager: stager{ev: ev, info: control.Info{ID: "mid", Scope: control.Regional, DependsOn: []string{"base"},
					Stages: []control.Stage{{Name: "first"}}}}}
				mid.early = func(ctx context.Context, tg control.Target) error {
					mid.reach(ctx, tg, "first")
					return nil
				}
				consumer := stager{ev: ev, info: control.Info{ID: "consumer", Scope: control.Regional, DependsOn: []string{"mid"}, Needs: map[string]string{"mid": "first"}}}
				if concurrency == 1 {
					// With one slot, base must not hold it while it waits:
					// base waits for consumer only when others can run.
					base.apply = func(context.Context, control.Target) error {
						if baseFails {
							return errors.New("base refused")
						}
						return nil
					}
				}
				res, j := applyAll(t, stubRun(concurrency, []string{"r1", "r2"}, consumer, mid, base))
				for _, reg := range []string{"r1", "r2"} {
					if r := res["consumer@"+reg]; r.Status != engine.Compliant {
						t.Fatalf("consumer@%s: %s %q %v", reg, r.Status, r.Reason, r.Err)
					}
					mr := res["mid@"+reg]
					if baseFails {
						if mr.Status != engine.Blocked || mr.Reason != "prerequisite base in "+reg+" is error" {
							t.Fatalf("mid@%s: %s %q, want blocked", reg, mr.Status, mr.Reason)
						}
						if ev.index("mid@"+reg+" apply") >= 0 {
							t.Fatalf("mid@%s applied after base failed: %v", reg, ev.list)
						}
					} else if mr.Status != engine.Compliant {
						t.Fatalf("mid@%s: %s %v", reg, mr.Status, mr.Err)
					}
					if !baseFails && ev.index("mid@"+reg+" apply") < ev.index("base@"+reg+" done") {
						t.Fatalf("mid@%s applied before base: %v", reg, ev.list)
					}
					if ev.index("consumer@"+reg+" apply") < ev.index("mid@"+reg+" reached first") {
						t.Fatalf("consumer@%s applied before mid's stage: %v", reg, ev.list)
					}
				}
				early := 0
				for _, e := range j.Entries {
					if e.Step.Kind == "MakeEarly" {
						early++
						if e.Control != "mid" {
							t.Fatalf("early step journaled under %s", e.Control)
						}
					}
				}
				if early != 2 {
					t.Fatalf("%d early steps journaled, want 2", early)
				}
			})
		}
	}
}

// A failed early part fails its target: Apply does not run, and the
// dependents that need its stage are blocked.
func TestEarlyApplyFails(t *testing.T) {
	ev := newEvents()
	mid := earlyStager{stager: stager{ev: ev, info: control.Info{ID: "mid", Scope: control.Regional, Stages: []control.Stage{{Name: "first"}}}},
		early: func(context.Context, control.Target) error { return errors.New("early refused") }}
	consumer := stager{ev: ev, info: control.Info{ID: "consumer", Scope: control.Regional, DependsOn: []string{"mid"}, Needs: map[string]string{"mid": "first"}}}
	res, _ := applyAll(t, stubRun(1, []string{"r1"}, consumer, mid))
	if r := res["mid@r1"]; r.Status != engine.Error || !strings.Contains(r.Err.Error(), "early refused") {
		t.Fatalf("mid: %s %v", r.Status, r.Err)
	}
	if ev.index("mid@r1 apply") >= 0 {
		t.Fatalf("Apply ran after a failed early part: %v", ev.list)
	}
	if r := res["consumer@r1"]; r.Status != engine.Blocked {
		t.Fatalf("consumer: %s, want blocked", r.Status)
	}
}

// With the real controls: when the log archive cannot be made,
// config-recorder is blocked (its delivery channel needs the bucket), but
// its early part has put each region's recorder, so securityhub, which
// needs only the recorder, is applied, and so are the alert controls that
// wait for its aggregator.
func TestRecorderStageWithoutLogArchive(t *testing.T) {
	env := fakeawstest.Start(t)
	env.Server.AddFault(fakeaws.Fault{Service: "s3", Action: "CreateBucket", Error: fakeaws.AccessDenied})
	run := realRun(env, "us-east-1", "eu-west-1")
	run.Concurrency = 1
	j := &controltest.MemJournal{}
	res := byKey(run.Apply(ctx, run.Check(ctx), j.For))
	if r := res["log-archive@us-east-1"]; r.Status != engine.Error {
		t.Fatalf("log-archive: %s", r.Status)
	}
	for _, reg := range []string{"us-east-1", "eu-west-1"} {
		if r := res["config-recorder@"+reg]; r.Status != engine.Blocked {
			t.Fatalf("config-recorder@%s: %s %v, want blocked", reg, r.Status, r.Err)
		}
		for _, id := range []string{"securityhub", "security-alerts", "health-alerts"} {
			if r := res[id+"@"+reg]; r.Status != engine.Compliant {
				t.Fatalf("%s@%s: %s %q %v", id, reg, r.Status, r.Reason, r.Err)
			}
		}
	}
	recorders := 0
	for _, e := range j.Entries {
		if e.Control == "config-recorder" && !e.Failed {
			if e.Step.Kind != "PutConfigurationRecorder" && e.Step.Kind != "CreateServiceLinkedRole" {
				t.Fatalf("config-recorder wrote %s without the log archive", e.Step.Kind)
			}
			if e.Step.Kind == "PutConfigurationRecorder" {
				recorders++
			}
		}
	}
	if recorders != 2 {
		t.Fatalf("%d recorders journaled, want 2", recorders)
	}
}

// checkFails is a stager whose re-check after a successful Apply still
// finds it not compliant.
type checkFails struct{ stager }

func (c checkFails) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	f, err := c.stager.Check(ctx, env, t)
	f.Compliant = false
	return f, err
}

// Every control has the stage control.Applied, reached when its Apply
// returns without error, before its re-check: a dependent that needs it
// goes on even when the re-check then finds the prerequisite not
// compliant; one that needs the whole apply is blocked; a failed Apply
// blocks both.
func TestAppliedStage(t *testing.T) {
	for _, concurrency := range []int{1, 4} {
		t.Run(fmt.Sprint(concurrency), func(t *testing.T) {
			ev := newEvents()
			base := checkFails{stager{ev: ev, info: control.Info{ID: "base", Scope: control.Regional},
				apply: func(_ context.Context, tg control.Target) error {
					if tg.Region == "refused" {
						return errors.New("refused")
					}
					return nil
				}}}
			applied := stager{ev: ev, info: control.Info{ID: "applied", Scope: control.Regional, DependsOn: []string{"base"}, Needs: map[string]string{"base": control.Applied}}}
			whole := stager{ev: ev, info: control.Info{ID: "whole", Scope: control.Regional, DependsOn: []string{"base"}}}
			res, _ := applyAll(t, stubRun(concurrency, []string{"ok", "refused"}, whole, applied, base))
			if r := res["base@ok"]; r.Status != engine.Error || !strings.Contains(r.Err.Error(), "still not compliant") {
				t.Fatalf("base@ok: %s %v", r.Status, r.Err)
			}
			if r := res["applied@ok"]; r.Status != engine.Compliant {
				t.Fatalf("applied@ok: %s %q", r.Status, r.Reason)
			}
			for _, k := range []string{"whole@ok", "whole@refused", "applied@refused"} {
				if r := res[k]; r.Status != engine.Blocked {
					t.Fatalf("%s: %s, want blocked", k, r.Status)
				}
			}
		})
	}
}

// preEarly is an earlyStager with account-wide Prerequisites that take a
// while (and fail when told).
type preEarly struct {
	earlyStager
	fail bool
}

func (p preEarly) Prerequisites(ctx context.Context, _ *control.Env, _ control.Target, _ control.Journal) error {
	time.Sleep(30 * time.Millisecond)
	p.ev.add("prerequisites done")
	if p.fail {
		return errors.New("role refused")
	}
	return nil
}

// The early part starts at once with the control's Prerequisites: its
// reads overlap them, its writes wait for them (control.AwaitPrerequisites),
// holding no slot meanwhile; failed Prerequisites fail it before any write.
func TestEarlyApplyOverlapsPrerequisites(t *testing.T) {
	for _, concurrency := range []int{1, 8} {
		for _, fail := range []bool{false, true} {
			t.Run(fmt.Sprint(concurrency, fail), func(t *testing.T) {
				ev := newEvents()
				var c preEarly
				c = preEarly{fail: fail, earlyStager: earlyStager{stager: stager{ev: ev, info: control.Info{ID: "c", Scope: control.Regional, Stages: []control.Stage{{Name: "first"}}}}}}
				c.early = func(ctx context.Context, tg control.Target) error {
					ev.add("c@" + tg.Region + " read")
					made, err := control.AwaitPrerequisites(ctx)
					if err != nil {
						return err
					}
					if !made {
						return errors.New("prerequisites not reported")
					}
					ev.add("c@" + tg.Region + " write")
					c.reach(ctx, tg, "first")
					return nil
				}
				// The early part journals before its reads in this stub;
				// what matters is the order of reads, prerequisites, writes.
				res, _ := applyAll(t, stubRun(concurrency, []string{"r1", "r2"}, c))
				done := ev.index("prerequisites done")
				for _, reg := range []string{"r1", "r2"} {
					if read := ev.index("c@" + reg + " read"); read < 0 || read > done {
						t.Fatalf("c@%s read after the prerequisites: %v", reg, ev.list)
					}
					write := ev.index("c@" + reg + " write")
					r := res["c@"+reg]
					if fail {
						if write >= 0 || r.Status != engine.Error || !strings.Contains(r.Err.Error(), "shared prerequisite") {
							t.Fatalf("c@%s: %s %v, writes at %d: %v", reg, r.Status, r.Err, write, ev.list)
						}
						continue
					}
					if write < done || r.Status != engine.Compliant {
						t.Fatalf("c@%s: %s %v, write before the prerequisites: %v", reg, r.Status, r.Err, ev.list)
					}
				}
			})
		}
	}
}
