package run_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/journal"
	"github.com/harden-dev/harden/internal/run"
)

const account = "123456789012"

// world is the fake account the fake controls change: one value per
// control and region, and the order undos happened in.
type world struct {
	mu     sync.Mutex
	values map[string]string
	undone []string
	// waitFor, when set, holds the undo of each key it names until its
	// channel is closed (or a second has passed).
	waitFor map[string]chan struct{}
}

func newWorld() *world { return &world{values: map[string]string{}} }

func (w *world) get(k string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.values[k]
}

func (w *world) set(k, v string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.values[k] = v
}

// setting is a fake control that sets "<id>@<region>" to "on". Its undo
// compares with the journaled after state like a real control.
type setting struct {
	id     string
	scope  control.Scope
	deps   []string
	w      *world
	shared bool // its undo waits for every region
}

type value struct {
	V string `json:"v"`
}

func (s setting) Info() control.Info {
	return control.Info{ID: s.id, Scope: s.scope, DependsOn: s.deps}
}

func (s setting) key(t control.Target) string { return s.id + "@" + t.Region }

func (s setting) Check(_ context.Context, _ *control.Env, t control.Target) (control.Finding, error) {
	return control.Finding{Compliant: s.w.get(s.key(t)) == "on"}, nil
}

func (s setting) Apply(ctx context.Context, _ *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	cur := s.w.get(s.key(t))
	err := j.Write(ctx, "Set", value{cur}, value{"on"}, func(context.Context) (any, error) {
		s.w.set(s.key(t), "on")
		return nil, nil
	})
	return nil, err
}

func (s setting) Steps() control.Steps {
	return control.Steps{"Set": func(_ context.Context, _ *control.Env, t control.Target, st control.Step) (control.Undo, error) {
		var prior, after value
		if err := control.DecodePrior(st, &prior); err != nil {
			return control.Undo{}, err
		}
		if _, err := control.DecodeAfter(st, &after); err != nil {
			return control.Undo{}, err
		}
		k := s.key(t)
		restore := func(context.Context) error {
			if ch := s.w.waitFor[k]; ch != nil {
				select {
				case <-ch:
				case <-time.After(time.Second):
				}
			}
			s.w.mu.Lock()
			defer s.w.mu.Unlock()
			s.w.values[k] = prior.V
			s.w.undone = append(s.w.undone, k)
			return nil
		}
		var u control.Undo
		switch cur := s.w.get(k); cur {
		case after.V:
			u = control.Restored("set "+k+" back to "+prior.V, restore)
		case prior.V:
			u = control.Nothing("already %s", prior.V)
		default:
			u = control.Drift(restore, "%s: harden set %s, now %s", k, after.V, cur)
		}
		u.AfterAllRegions = s.shared
		return u, nil
	}}
}

type fixture struct {
	w     *world
	store *journal.Store
	all   []control.Control
}

func newFixture(t *testing.T, ctls ...func(*world) control.Control) *fixture {
	t.Helper()
	w := newWorld()
	store, err := journal.Open(t.TempDir(), account)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{w: w, store: store}
	for _, mk := range ctls {
		f.all = append(f.all, mk(w))
	}
	return f
}

func base(w *world) control.Control { return setting{id: "base", scope: control.Account, w: w} }
func user(w *world) control.Control {
	return setting{id: "user", scope: control.Regional, deps: []string{"base"}, w: w}
}
func other(w *world) control.Control { return setting{id: "other", scope: control.Regional, w: w} }

// apply journals one run that applies each (control, region).
func (f *fixture) apply(t *testing.T, targets ...string) string {
	t.Helper()
	r, err := f.store.Begin("us-east-1", "test")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, tg := range targets {
		id, region, _ := strings.Cut(tg, "@")
		c := f.find(id)
		if _, err := c.Apply(context.Background(), nil, control.Target{AccountID: account, Region: region, HomeRegion: "us-east-1"}, r.For(id, region)); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Finish(journal.OutcomeCompleted); err != nil {
		t.Fatal(err)
	}
	return r.ID()
}

func (f *fixture) find(id string) control.Control {
	for _, c := range f.all {
		if c.Info().ID == id {
			return c
		}
	}
	panic("no control " + id)
}

func (f *fixture) rollback(t *testing.T, opts run.RollbackOptions) (*run.Rollback, error) {
	t.Helper()
	lock, err := f.store.Lock()
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	rb, err := run.PrepareRollback(context.Background(), &control.Env{}, account, f.all, f.store, lock, opts)
	if err != nil {
		return nil, err
	}
	for _, s := range rb.Steps {
		if s.Status != run.StepPending && s.Status != run.StepError {
			t.Fatalf("prepare changed a step's status: %+v", s)
		}
	}
	if err := rb.Execute(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	return rb, nil
}

func statuses(rb *run.Rollback) map[string]run.StepStatus {
	m := map[string]run.StepStatus{}
	for _, s := range rb.Steps {
		m[s.Control+"@"+s.Region+"/"+s.Run] = s.Status
	}
	return m
}

// A step that waits for every region of its control (AfterAllRegions)
// waits for that control's groups and their dependents, not for every
// group of the rollback: here an unrelated control's undo is held until
// the shared step is undone, which would stall for a second were the
// shared step last of all.
func TestRollbackSharedStepWaitsOnlyForItsControl(t *testing.T) {
	shared := func(w *world) control.Control {
		return setting{id: "shared", scope: control.Account, w: w, shared: true}
	}
	f := newFixture(t, shared, other)
	f.apply(t, "shared@us-east-1", "other@eu-west-1")
	gate := make(chan struct{})
	f.w.waitFor = map[string]chan struct{}{"other@eu-west-1": gate}
	go func() {
		for f.w.get("shared@us-east-1") == "on" {
			time.Sleep(time.Millisecond)
		}
		close(gate)
	}()
	start := time.Now()
	rb, err := f.rollback(t, run.RollbackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rb.Failed() || f.w.get("shared@us-east-1") != "" || f.w.get("other@eu-west-1") != "" {
		t.Fatalf("not undone: %v %v", statuses(rb), f.w.values)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("rollback took %s: the shared step waited for the unrelated control", d)
	}
	if strings.Join(f.w.undone, ",") != "shared@us-east-1,other@eu-west-1" {
		t.Fatalf("undo order %v", f.w.undone)
	}
}

func TestRollbackUndoesEveryPendingRunNewestFirst(t *testing.T) {
	f := newFixture(t, base, user)
	f.w.set("user@eu-west-1", "legacy")
	older := f.apply(t, "base@us-east-1", "user@eu-west-1")
	f.w.set("user@eu-west-1", "manual") // someone changes it, then a second apply
	newer := f.apply(t, "user@eu-west-1")

	rb, err := f.rollback(t, run.RollbackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rb.Runs) != 2 || rb.Runs[0].ID != newer || rb.Runs[1].ID != older {
		t.Fatalf("runs %+v, want newer then older", rb.Runs)
	}
	// The newer run restores "manual"; the older run's step then finds
	// "manual", not the "on" it left: drift, left alone.
	if got := f.w.get("user@eu-west-1"); got != "manual" {
		t.Errorf("user@eu-west-1 = %q, want the user's manual value kept", got)
	}
	st := statuses(rb)
	if st["user@eu-west-1/"+newer] != run.StepRestored || st["user@eu-west-1/"+older] != run.StepDrifted {
		t.Errorf("statuses %v", st)
	}
	// base is used by user in eu-west-1, whose older change stays: held.
	if st["base@us-east-1/"+older] != run.StepHeld || f.w.get("base@us-east-1") != "on" {
		t.Errorf("base: status %s value %q, want held and still on", st["base@us-east-1/"+older], f.w.get("base@us-east-1"))
	}
	if !rb.Failed() {
		t.Errorf("a drift left alone must fail the rollback")
	}
	// The undone step is journaled; the others stay pending.
	l, err := f.store.Load(newer)
	if err != nil || len(l.Pending()) != 0 {
		t.Errorf("newer run pending %v (%v), want none", l.Pending(), err)
	}
	l, _ = f.store.Load(older)
	if len(l.Pending()) != 2 {
		t.Errorf("older run pending %d, want 2 (drifted and held)", len(l.Pending()))
	}
}

func TestRollbackForceOverwritesDrift(t *testing.T) {
	f := newFixture(t, base, user)
	id := f.apply(t, "base@us-east-1", "user@eu-west-1")
	f.w.set("user@eu-west-1", "manual")
	rb, err := f.rollback(t, run.RollbackOptions{Force: true})
	if err != nil {
		t.Fatal(err)
	}
	st := statuses(rb)
	if st["user@eu-west-1/"+id] != run.StepOverwritten || st["base@us-east-1/"+id] != run.StepRestored || rb.Failed() {
		t.Fatalf("statuses %v failed %v", st, rb.Failed())
	}
	if f.w.get("user@eu-west-1") != "" || f.w.get("base@us-east-1") != "" {
		t.Errorf("values %v, want both back to unset", f.w.values)
	}
	l, _ := f.store.Load(id)
	forced := 0
	for _, s := range l.Steps {
		if s.Forced {
			forced++
		}
	}
	if forced != 1 || len(l.Pending()) != 0 {
		t.Errorf("journal: %d forced, %d pending; want 1 and 0", forced, len(l.Pending()))
	}
}

func TestRollbackDependentsFirst(t *testing.T) {
	f := newFixture(t, base, user)
	f.apply(t, "base@us-east-1", "user@eu-west-1", "user@ap-south-1", "user@us-east-1")
	if _, err := f.rollback(t, run.RollbackOptions{Concurrency: 4}); err != nil {
		t.Fatal(err)
	}
	if len(f.w.undone) != 4 || f.w.undone[3] != "base@us-east-1" {
		t.Errorf("undo order %v: base must come after every region's user", f.w.undone)
	}
}

func TestRollbackRunRefusedWhileNewerRunUsesIt(t *testing.T) {
	f := newFixture(t, base, user)
	older := f.apply(t, "base@us-east-1")
	f.apply(t, "user@eu-west-1")
	_, err := f.rollback(t, run.RollbackOptions{RunID: older})
	var de *run.DependencyError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "user in eu-west-1") {
		t.Fatalf("rollback --run older = %v, want a DependencyError naming user in eu-west-1", err)
	}
	if f.w.get("base@us-east-1") != "on" {
		t.Errorf("a refused rollback changed base")
	}
	rb, err := f.rollback(t, run.RollbackOptions{RunID: older, Force: true})
	if err != nil || statuses(rb)["base@us-east-1/"+older] != run.StepRestored {
		t.Fatalf("forced: %v %v", err, rb)
	}
}

func TestRollbackScopeRefusesPrerequisiteAlone(t *testing.T) {
	f := newFixture(t, base, user, other)
	id := f.apply(t, "base@us-east-1", "user@eu-west-1", "other@eu-west-1", "other@us-east-2")
	if _, err := f.rollback(t, run.RollbackOptions{Controls: []string{"base"}}); err == nil {
		t.Fatal("undoing base while user stays must be refused")
	}
	rb, err := f.rollback(t, run.RollbackOptions{Controls: []string{"other"}, Regions: []string{"us-east-2"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rb.Steps) != 1 || statuses(rb)["other@us-east-2/"+id] != run.StepRestored {
		t.Fatalf("scoped rollback steps %+v", rb.Steps)
	}
	if f.w.get("other@eu-west-1") != "on" || f.w.get("other@us-east-2") != "" {
		t.Errorf("scope not honoured: %v", f.w.values)
	}
}

// A step shared by every region (AfterAllRegions) is undone after every
// region's steps of its control and of the controls that depend on it.
func TestRollbackSharedStepGoesAfterItsControlAndDependents(t *testing.T) {
	w := newWorld()
	f := newFixture(t)
	f.w = w
	f.all = []control.Control{
		setting{id: "role", scope: control.Regional, w: w, shared: true},
		setting{id: "rec", scope: control.Regional, w: w},
		setting{id: "user", scope: control.Regional, deps: []string{"role"}, w: w},
	}
	// One run: the shared step was journaled first (in us-east-1), then
	// the regional steps of another step of its control and of a
	// dependent.
	f.apply(t, "role@us-east-1", "role@eu-west-1", "user@eu-west-1", "user@us-east-1")
	// The dependent's undo in us-east-1 takes a while: the shared step
	// waits for it.
	slow := make(chan struct{})
	time.AfterFunc(100*time.Millisecond, func() { close(slow) })
	w.waitFor = map[string]chan struct{}{"user@us-east-1": slow}
	rb, err := f.rollback(t, run.RollbackOptions{})
	if err != nil || rb.Failed() {
		t.Fatalf("%v %+v", err, rb)
	}
	pos := map[string]int{}
	for i, k := range w.undone {
		pos[k] = i
	}
	for _, k := range []string{"role@eu-west-1", "user@eu-west-1", "user@us-east-1"} {
		if pos[k] > pos["role@us-east-1"] {
			t.Errorf("undo order %v: the shared step must come after %s", w.undone, k)
		}
	}
}

func TestRollbackNothingLeft(t *testing.T) {
	f := newFixture(t, base)
	f.apply(t, "base@us-east-1")
	if _, err := f.rollback(t, run.RollbackOptions{}); err != nil {
		t.Fatal(err)
	}
	rb, err := f.rollback(t, run.RollbackOptions{})
	if err != nil || len(rb.Steps) != 0 || rb.Failed() {
		t.Fatalf("second rollback: %v %+v", err, rb)
	}
}

func TestRollbackInterrupted(t *testing.T) {
	f := newFixture(t, base, other)
	f.apply(t, "other@eu-west-1", "other@us-east-2", "base@us-east-1")
	lock, err := f.store.Lock()
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	rb, err := run.PrepareRollback(context.Background(), &control.Env{}, account, f.all, f.store, lock, run.RollbackOptions{Concurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	steps := 0
	if err := rb.Execute(ctx, func(done, total int, current string) {
		if current != "" {
			steps++
			if steps == 1 {
				cancel()
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	c := rb.Counts()
	if c[run.StepNotRun] == 0 || !rb.Failed() {
		t.Errorf("counts %v: an interrupted rollback leaves steps not run and fails", c)
	}

}

// parts is a fake control that writes a base (a step naming no resource)
// and then one part per name (steps naming their part). Undoing a part
// waits, up to a deadline, until every part's undo has started: it only
// succeeds when rollback undoes independent parts together.
type parts struct {
	w     *world
	names []string
	met   *sync.WaitGroup
}

func (p parts) Info() control.Info { return control.Info{ID: "parts", Scope: control.Regional} }

func (p parts) Check(context.Context, *control.Env, control.Target) (control.Finding, error) {
	return control.Finding{}, nil
}

func (p parts) Apply(ctx context.Context, _ *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	write := func(kind control.StepKind, name string) error {
		k := "parts/" + name + "@" + t.Region
		return j.Write(ctx, kind, value{p.w.get(k)}, value{name}, func(context.Context) (any, error) {
			p.w.set(k, "on")
			return nil, nil
		})
	}
	if err := write("Base", "base"); err != nil {
		return nil, err
	}
	for _, n := range p.names {
		if err := write("Part", n); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (p parts) Steps() control.Steps {
	undo := func(together bool) control.UndoFunc {
		return func(_ context.Context, _ *control.Env, t control.Target, st control.Step) (control.Undo, error) {
			var prior, after value
			if err := control.DecodePrior(st, &prior); err != nil {
				return control.Undo{}, err
			}
			if _, err := control.DecodeAfter(st, &after); err != nil {
				return control.Undo{}, err
			}
			k := "parts/" + after.V + "@" + t.Region
			if p.w.get(k) != "on" {
				return control.Drift(nil, "%s changed", k), nil
			}
			return control.Restored("undo "+k, func(context.Context) error {
				if together {
					p.met.Done()
					done := make(chan struct{})
					go func() { p.met.Wait(); close(done) }()
					select {
					case <-done:
					case <-time.After(5 * time.Second):
						return errors.New("the parts were undone one after another")
					}
				}
				p.w.mu.Lock()
				defer p.w.mu.Unlock()
				p.w.values[k] = prior.V
				p.w.undone = append(p.w.undone, after.V)
				return nil
			}), nil
		}
	}
	part := func(s control.Step) string {
		var after value
		_, _ = control.DecodeAfter(s, &after)
		return after.V
	}
	return control.Steps{"Base": undo(false), "Part": control.Keyed(part, undo(true))}
}

func TestRollbackUndoesIndependentStepsTogether(t *testing.T) {
	met := &sync.WaitGroup{}
	met.Add(3)
	f := newFixture(t, func(w *world) control.Control { return parts{w: w, names: []string{"a", "b", "c"}, met: met} })
	f.apply(t, "parts@us-east-1")
	rb, err := f.rollback(t, run.RollbackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rb.Steps {
		if s.Status != run.StepRestored {
			t.Fatalf("step %s %s: %s %s", s.Kind, s.What, s.Status, s.Error)
		}
	}
	// The base names no resource: it is undone only after every part.
	if got := f.w.undone; len(got) != 4 || got[3] != "base" {
		t.Fatalf("undo order %v, want the three parts (any order) then base", got)
	}
}

func TestRollbackHoldsOlderStepsBehindADriftedPart(t *testing.T) {
	met := &sync.WaitGroup{}
	met.Add(1) // only part a is undone; b has drifted
	f := newFixture(t, func(w *world) control.Control { return parts{w: w, names: []string{"a", "b"}, met: met} })
	f.apply(t, "parts@us-east-1")
	f.w.set("parts/b@us-east-1", "someone else's")
	rb, err := f.rollback(t, run.RollbackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, s := range rb.Steps {
		kinds = append(kinds, string(s.Kind)+":"+string(s.Status))
	}
	// Newest first: b (drifted), a (restored: independent of b), base
	// (held: it is older than the drifted part).
	if strings.Join(kinds, " ") != "Part:drifted Part:restored Base:held" {
		t.Fatalf("statuses %v", kinds)
	}
	if v := f.w.get("parts/base@us-east-1"); v != "on" {
		t.Fatalf("base was undone behind a drifted part: %q", v)
	}
}

// Shared steps (AfterAllRegions) of unrelated controls do not wait for
// one another; a dependent's shared step still goes before the shared
// step of the control it depends on. Here beta's undo is held until
// alpha's is made, which would stall for a second were alpha's shared
// step to wait for beta's.
func TestRollbackSharedStepsOfUnrelatedControlsGoTogether(t *testing.T) {
	w := newWorld()
	f := newFixture(t)
	f.w = w
	f.all = []control.Control{
		setting{id: "alpha", scope: control.Account, w: w, shared: true},
		setting{id: "beta", scope: control.Account, w: w, shared: true},
		setting{id: "gamma", scope: control.Account, deps: []string{"alpha"}, w: w, shared: true},
	}
	f.apply(t, "alpha@us-east-1", "beta@us-east-1", "gamma@us-east-1")
	gate := make(chan struct{})
	w.waitFor = map[string]chan struct{}{"beta@us-east-1": gate}
	go func() {
		for w.get("alpha@us-east-1") == "on" {
			time.Sleep(time.Millisecond)
		}
		close(gate)
	}()
	start := time.Now()
	rb, err := f.rollback(t, run.RollbackOptions{})
	if err != nil || rb.Failed() {
		t.Fatalf("%v %v", err, statuses(rb))
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Fatalf("rollback took %s: alpha's shared step waited for unrelated beta's", d)
	}
	if strings.Join(w.undone, ",") != "gamma@us-east-1,alpha@us-east-1,beta@us-east-1" {
		t.Fatalf("undo order %v: gamma (which uses alpha) first, beta last (it waits for alpha here)", w.undone)
	}
}

// crowd is a fake control that journals a chain of two steps on one
// resource, then 16 steps each on its own. A single step's undo waits (up
// to a second) until the chain's first undo is made.
type crowd struct {
	w       *world
	started chan struct{}
	once    *sync.Once
}

func (c crowd) Info() control.Info { return control.Info{ID: "crowd", Scope: control.Regional} }

func (c crowd) Check(context.Context, *control.Env, control.Target) (control.Finding, error) {
	return control.Finding{}, nil
}

func (c crowd) Apply(ctx context.Context, _ *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	write := func(kind control.StepKind, name string) error {
		return j.Write(ctx, kind, value{""}, value{name}, func(context.Context) (any, error) {
			c.w.set("crowd/"+name, "on")
			return nil, nil
		})
	}
	for _, n := range []string{"chain-1", "chain-2"} {
		if err := write("Chain", n); err != nil {
			return nil, err
		}
	}
	for i := range 16 {
		if err := write("Single", fmt.Sprintf("single-%d", i)); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

func (c crowd) Steps() control.Steps {
	undo := func(single bool) control.UndoFunc {
		return func(_ context.Context, _ *control.Env, _ control.Target, st control.Step) (control.Undo, error) {
			var after value
			if _, err := control.DecodeAfter(st, &after); err != nil {
				return control.Undo{}, err
			}
			k := "crowd/" + after.V
			if c.w.get(k) != "on" {
				return control.Nothing("%s already undone", k), nil
			}
			return control.Restored("undo "+k, func(context.Context) error {
				if single {
					select {
					case <-c.started:
					case <-time.After(time.Second):
						return errors.New("the chain waited behind the single steps")
					}
				} else {
					c.once.Do(func() { close(c.started) })
				}
				c.w.set(k, "")
				return nil
			}), nil
		}
	}
	key := func(s control.Step) string {
		var after value
		_, _ = control.DecodeAfter(s, &after)
		if strings.HasPrefix(after.V, "chain") {
			return "chain"
		}
		return after.V
	}
	return control.Steps{"Chain": control.Keyed(key, undo(false)), "Single": control.Keyed(key, undo(true))}
}

// Of more independent chains than run at once (16 a target), the one
// with the most writes starts first: a chain of two steps does not wait
// for a slot behind 16 single steps.
func TestRollbackStartsTheLongestChainsFirst(t *testing.T) {
	f := newFixture(t, func(w *world) control.Control {
		return crowd{w: w, started: make(chan struct{}), once: &sync.Once{}}
	})
	f.apply(t, "crowd@us-east-1")
	rb, err := f.rollback(t, run.RollbackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range rb.Steps {
		if s.Status != run.StepRestored {
			t.Fatalf("step %s %s: %s %s", s.Kind, s.What, s.Status, s.Error)
		}
	}
}
