// Package engine runs controls over targets (control × region): Check for
// plan and audit, Apply for apply. It fans out with a bounded errgroup,
// never fails fast (one target's error never hides another's result),
// recovers panics, and applies a control only after its prerequisites
// succeeded.
package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
)

// Status is a target's outcome.
type Status string

const (
	// Compliant: the target is in the desired state (after apply: now is).
	Compliant Status = "compliant"
	// NonCompliant: the target differs from the desired state; apply will change it.
	NonCompliant Status = "noncompliant"
	// Unmanaged: not compliant, but harden will not change it (Reason says why).
	Unmanaged Status = "unmanaged"
	// Error: the target could not be checked or changed (Err, Reason).
	Error Status = "error"
	// NotChecked: the target was not verified; NotChecked says why (a
	// service control policy denies it, say). It is never "compliant".
	NotChecked Status = "not-checked"
	// Blocked: apply did not run because a prerequisite failed.
	Blocked Status = "blocked"
	// Deferred: the change cannot be made yet (Until says when; Note says
	// why). Neither a change nor an error: a later apply makes it.
	Deferred Status = "deferred"
	// Accepted: not compliant, and an exception in the configuration
	// accepts it (Acceptance says who, why and until when). It does not
	// fail an audit and apply leaves it as it is.
	Accepted Status = "accepted"
)

// Acceptance is the exception that accepts a finding.
type Acceptance struct {
	Reason  string `json:"reason"`
	Owner   string `json:"owner"`
	Expires string `json:"expires"`
	// Source locates the exception: "harden.yaml:12".
	Source string `json:"source"`
}

// Result is the outcome of one target.
type Result struct {
	Control control.Info
	Region  string
	Status  Status
	// Action and Changes: what apply would do (plan) for NonCompliant.
	Action  control.Action
	Changes []control.Change
	// Applied is what apply changed.
	Applied []control.Change
	Note    string
	// NotChecked is why a NotChecked target was not verified.
	NotChecked NotCheckedReason
	// Accepted is the exception that accepts an Accepted target's finding;
	// Expired, one that would have but has expired (the target is a
	// finding again).
	Accepted *Acceptance
	Expired  *Acceptance
	// Resources are the ids of the target's non-compliant resources, for
	// controls with several per region.
	Resources []string
	// Excepted are non-compliant resources an exception names, left as
	// they are (see control.Target.Excepts); By is filled by the run
	// layer, which knows the exceptions.
	Excepted []ExceptedResource
	// Destroys is what a NonCompliant target's change deletes or turns
	// off (see control.Loss); empty when the change is not destructive.
	Destroys []control.Loss
	// Withheld marks a NonCompliant target apply leaves as it is on
	// purpose (a destructive change not approved); Reason says why.
	Withheld bool
	// Until is when a Deferred target's change can be made, if known
	// (Reason says why it waits).
	Until time.Time
	// Reason says why a target is not checked, blocked or unmanaged, or
	// what to do about an error.
	Reason string
	Err    error
}

// ExceptedResource is a non-compliant resource an exception names.
type ExceptedResource struct {
	ID string `json:"resource"`
	// By is the exception; nil until the run layer fills it.
	By *Acceptance `json:"by,omitempty"`
}

// Destructive reports whether r is a change apply would make that deletes
// or turns off something that exists.
func (r Result) Destructive() bool { return r.Status == NonCompliant && len(r.Destroys) > 0 }

// NotCheckedReason is why a target was not verified.
type NotCheckedReason string

const (
	// RegionNotEnabled: the account has not enabled the target's region.
	RegionNotEnabled NotCheckedReason = "region-not-enabled"
	// ServiceNotOffered: the service does not exist in the target's region.
	ServiceNotOffered NotCheckedReason = "service-not-offered"
	// DeniedBySCP: a service control policy denies the calls.
	DeniedBySCP NotCheckedReason = "denied-by-scp"
)

// Expected reports whether a target not checked for this reason still
// lets an audit pass: the target does not exist in the account (a region
// it has not enabled, a service not offered there). Any other reason
// leaves the baseline unverified.
func (r NotCheckedReason) Expected() bool {
	return r == RegionNotEnabled || r == ServiceNotOffered
}

// Key identifies a target.
func (r Result) Key() string { return r.Control.ID + "@" + r.Region }

// JournalFor returns the journal a target's writes go through.
type JournalFor func(controlID, region string) control.Journal

// Run is one execution over an account.
type Run struct {
	// Controls in dependency order (see Order).
	Controls    []control.Control
	Env         *control.Env
	AccountID   string
	HomeRegion  string
	Regions     []string
	Concurrency int
	// CallTimeout is every AWS call's overall deadline, for hints.
	CallTimeout time.Duration
	// Progress, when set, is called after each target is done (checked,
	// or applied and checked again), from any goroutine.
	Progress ProgressFunc
	// Activity, when set, is told what Apply has in flight: each write as
	// it goes through the journal (its step kind) and each wait a control
	// announces (control.Waiting), with the target filled in.
	Activity control.Monitor
	// Excepted, when set, returns the resource ids the exceptions of a
	// control and region name (control.Target.Excepted).
	Excepted func(controlID, region string) []string
}

// ProgressFunc receives how many of a run's targets are done.
type ProgressFunc func(done, total int)

// tracker counts finished targets for Run.Progress.
type tracker struct {
	mu          sync.Mutex
	done, total int
	report      ProgressFunc
}

func (r *Run) tracker(total int) *tracker {
	if r.Progress == nil {
		return nil
	}
	return &tracker{total: total, report: r.Progress}
}

func (t *tracker) finish() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done++
	t.report(t.done, t.total)
}

type target struct {
	ctl    control.Control
	region string
}

// targets lists the run's targets in order: by control, then region.
// Account-wide controls have one target, in the home region.
func (r *Run) targets() []target {
	var ts []target
	for _, c := range r.Controls {
		if c.Info().Scope == control.Account {
			ts = append(ts, target{c, r.HomeRegion})
			continue
		}
		for _, reg := range r.Regions {
			ts = append(ts, target{c, reg})
		}
	}
	return ts
}

func (r *Run) controlTarget(controlID, region string) control.Target {
	t := control.Target{AccountID: r.AccountID, Region: region, HomeRegion: r.HomeRegion, Regions: r.Regions}
	if r.Excepted != nil && controlID != "" {
		t.Excepted = r.Excepted(controlID, region)
	}
	return t
}

// DefaultConcurrency is how many targets run at once unless told
// otherwise: enough for every target of the baseline on 18 regions to
// start together. AWS is protected by the clients' pacing per service and
// region (awsclient), not by this bound, which keeps a very wide run's
// goroutines and connections in check.
const DefaultConcurrency = 256

func (r *Run) limit() int {
	if r.Concurrency > 0 {
		return r.Concurrency
	}
	return DefaultConcurrency
}

// Check runs every target's Check and returns one result per target, in
// target order.
func (r *Run) Check(ctx context.Context) []Result {
	ts := r.targets()
	results := make([]Result, len(ts))
	progress := r.tracker(len(ts))
	// Targets start in priority order (see schedule.go); results keep
	// target order.
	h := heights(r.Controls)
	order := make([]int, len(ts))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		ta, tb := ts[order[a]], ts[order[b]]
		return r.priorityOf(h, ta.ctl.Info().ID, ta.region, order[a]).before(r.priorityOf(h, tb.ctl.Info().ID, tb.region, order[b]))
	})
	// A control.Foreseeing target reads the findings of the targets it
	// runs after: it makes its own reads first and waits for their checks
	// only when it asks (so the wait overlaps its reads). Those start
	// first (their chain is longer, see heights), so a waiting target
	// never holds a slot one of them needs.
	checked := newCheckedFindings(ts)
	var g errgroup.Group
	g.SetLimit(r.limit())
	for _, i := range order {
		t := ts[i]
		g.Go(func() error {
			var planned control.Planned
			if _, ok := t.ctl.(control.Foreseeing); ok {
				planned = checked.lazy(ctx, keysOf(r.runsAfter(t.ctl.Info(), t.region)))
			}
			results[i] = r.check(ctx, t, planned, func(f control.Finding) { checked.keep(i, f) })
			checked.finish(i)
			progress.finish()
			return nil
		})
	}
	_ = g.Wait()
	return results
}

// checkedFindings are the findings of a run's checks as they end, for
// the controls that read what others plan (control.Foreseeing).
type checkedFindings struct {
	mu       sync.Mutex
	index    map[string]int // target key → index
	done     []chan struct{}
	findings []*control.Finding
}

func newCheckedFindings(ts []target) *checkedFindings {
	c := &checkedFindings{index: map[string]int{}, done: make([]chan struct{}, len(ts)), findings: make([]*control.Finding, len(ts))}
	for i, t := range ts {
		c.index[t.ctl.Info().ID+"@"+t.region] = i
		c.done[i] = make(chan struct{})
	}
	return c
}

func (c *checkedFindings) keep(i int, f control.Finding) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.findings[i] = &f
}

func (c *checkedFindings) finish(i int) { close(c.done[i]) }

// lazy is waitFor, waited for on the first call of the Planned it
// returns, not before.
func (c *checkedFindings) lazy(ctx context.Context, keys []string) control.Planned {
	var once sync.Once
	var planned control.Planned
	return func(id, region string) (control.Finding, bool) {
		once.Do(func() { planned = c.waitFor(ctx, keys) })
		return planned(id, region)
	}
}

// waitFor waits until the checks of keys (those in the run) have ended
// and returns their findings; it answers for those keys only.
func (c *checkedFindings) waitFor(ctx context.Context, keys []string) control.Planned {
	waited := map[string]bool{}
	for _, k := range keys {
		if i, ok := c.index[k]; ok {
			select {
			case <-c.done[i]:
				waited[k] = true
			case <-ctx.Done():
			}
		}
	}
	return func(id, region string) (control.Finding, bool) {
		i, ok := c.index[id+"@"+region]
		if !ok || !waited[id+"@"+region] {
			return control.Finding{}, false
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.findings[i] == nil {
			return control.Finding{}, false
		}
		return *c.findings[i], true
	}
}

// need is a target another one waits for: its key, and the stage of its
// apply that is needed ("" for its whole apply and re-check).
type need struct {
	key, stage string
}

// runsAfter are the targets a target of info in region runs after
// (Info.After; Info.AfterHome outside the home region), whether or not
// they are in the run.
func (r *Run) runsAfter(info control.Info, region string) []need {
	var out []need
	for _, dep := range info.After {
		out = append(out, r.needOf(info, dep, region, false))
	}
	if region != r.HomeRegion {
		for _, dep := range info.AfterHome {
			out = append(out, r.needOf(info, dep, region, true))
		}
	}
	return out
}

// needOf is what a target of info in region waits for of control dep:
// its target in region, or in the home region for an account-wide
// control, a home-region stage (control.Stage.Home) or home (AfterHome);
// and the stage info.Needs names.
func (r *Run) needOf(info control.Info, dep, region string, home bool) need {
	n := need{stage: info.Needs[dep]}
	depRegion := r.depRegion(dep, region)
	if c := r.find(dep); c != nil && n.stage != "" {
		if s, ok := c.Info().Stage(n.stage); ok && s.Home {
			depRegion = r.HomeRegion
		}
	}
	if home {
		depRegion = r.HomeRegion
	}
	n.key = dep + "@" + depRegion
	return n
}

func keysOf(needs []need) []string {
	keys := make([]string, len(needs))
	for i, n := range needs {
		keys[i] = n.key
	}
	return keys
}

// check checks one target; keep receives the control's finding when the
// check succeeded. planned, when not nil, goes to a control.Foreseeing.
func (r *Run) check(ctx context.Context, t target, planned control.Planned, keep func(control.Finding)) (res Result) {
	info := t.ctl.Info()
	res = Result{Control: info, Region: t.region}
	defer recoverInto(&res)
	if err := ctx.Err(); err != nil {
		return r.failed(res, err, false)
	}
	ct := r.controlTarget(info.ID, t.region)
	var f control.Finding
	var err error
	if fc, ok := t.ctl.(control.Foreseeing); ok && planned != nil {
		f, err = fc.CheckForeseeing(ctx, r.Env, ct, planned)
	} else {
		f, err = t.ctl.Check(ctx, r.Env, ct)
	}
	if err != nil {
		return r.failed(res, err, false)
	}
	keep(f)
	res.Note = f.Note
	res.Resources = f.Resources
	res.Excepted = excepted(f.Excepted)
	switch {
	case f.Compliant:
		res.Status = Compliant
	case onlyExcepted(f):
		res.Status = Accepted
		res.Changes = f.Changes
	case f.Deferred != "":
		res.Status, res.Reason, res.Until = Deferred, f.Deferred, f.DeferredUntil
		res.Changes = f.Changes
	case f.Unmanaged != "":
		res.Status, res.Reason = Unmanaged, f.Unmanaged
		res.Changes = f.Changes
	default:
		res.Status, res.Action, res.Changes = NonCompliant, f.Action, f.Changes
		res.Destroys = f.Destroys
		if f.Action == control.ActionDelete && len(f.Destroys) == 0 {
			// A delete is destructive, whether or not the control
			// says what goes.
			res.Destroys = []control.Loss{{Verb: "delete", Kind: "resource", Resource: strings.Join(f.Resources, ", "),
				What: "deletes " + changesText(f.Changes)}}
		}
	}
	return res
}

// onlyExcepted reports whether f's only non-compliant resources are
// excepted: nothing to change, accepted.
func onlyExcepted(f control.Finding) bool {
	return !f.Compliant && len(f.Excepted) > 0 && f.Action == control.ActionNone && f.Unmanaged == "" &&
		f.Deferred == "" && len(f.Resources) == 0
}

func excepted(ids []string) []ExceptedResource {
	if len(ids) == 0 {
		return nil
	}
	out := make([]ExceptedResource, len(ids))
	for i, id := range ids {
		out[i] = ExceptedResource{ID: id}
	}
	return out
}

func changesText(cs []control.Change) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Field + " (" + c.Current + ")"
	}
	return strings.Join(parts, ", ")
}

// Apply changes every NonCompliant target of plan, each after its
// prerequisites are compliant (or have reached the stage it needs, see
// control.Stage), then checks it again. Other results are returned as
// they are. The result order is the plan's.
func (r *Run) Apply(ctx context.Context, plan []Result, journal JournalFor) []Result {
	byID := map[string]control.Control{}
	for _, c := range r.Controls {
		byID[c.Info().ID] = c
	}
	out := make([]Result, len(plan))
	progressOf := make(map[string]*targetProgress, len(plan))
	index := make(map[string]int, len(plan))
	for i, p := range plan {
		progressOf[p.Key()] = newTargetProgress(p.Control)
		index[p.Key()] = i
	}
	journal = r.announcing(journal)
	prereqs := r.startPrerequisites(ctx, plan, byID, journal)
	var mu sync.Mutex
	var wg sync.WaitGroup
	// Every target waits for its prerequisites holding no slot, then for
	// a slot in priority order (see schedule.go): no deadlock whatever
	// the limit, and the chain of dependents goes first.
	free := newSlots(r.limit())
	h := heights(r.Controls)
	pending := 0
	for _, p := range plan {
		if p.Status == NonCompliant && !p.Withheld {
			pending++
		}
	}
	progress := r.tracker(pending)
	// wait waits until the target of n.key has reached stage n.stage or
	// has ended; ok is false when the target is not part of the run,
	// reached true when its stage was reached (res is then empty).
	wait := func(n need) (res Result, reached, ok bool) {
		tp, ok := progressOf[n.key]
		if !ok {
			return Result{}, false, false
		}
		stage := tp.stage(n.stage)
		select {
		case <-stage:
			return Result{}, true, true
		case <-tp.done:
		case <-ctx.Done():
			return Result{Status: Error, Err: ctx.Err()}, false, true
		}
		select {
		case <-stage: // reached before the target ended
			return Result{}, true, true
		default:
		}
		mu.Lock()
		defer mu.Unlock()
		return out[index[n.key]], false, true
	}
	for i, p := range plan {
		tp := progressOf[p.Key()]
		if p.Status != NonCompliant || p.Withheld {
			out[i] = p
			close(tp.done)
			continue
		}
		prio := r.priorityOf(h, p.Control.ID, p.Region, i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(tp.done)
			defer progress.finish()
			res := r.applyAfterPrerequisites(ctx, p, byID[p.Control.ID], prereqs[p.Control.ID], free, prio, wait, tp.reach, journal)
			mu.Lock()
			out[i] = res
			mu.Unlock()
		}()
	}
	wg.Wait()
	return out
}

// targetProgress is how far a target's apply has got: done is closed when
// it has ended (its result is in), each declared stage's channel when the
// stage is reached (control.Reached).
type targetProgress struct {
	done   chan struct{}
	mu     sync.Mutex
	stages map[string]chan struct{}
}

func newTargetProgress(info control.Info) *targetProgress {
	tp := &targetProgress{done: make(chan struct{}), stages: map[string]chan struct{}{control.Applied: make(chan struct{})}}
	for _, s := range info.Stages {
		tp.stages[s.Name] = make(chan struct{})
	}
	return tp
}

// stage returns the channel closed when stage is reached; nil (never
// ready) for "" or a stage the control does not declare, so that the
// whole apply is waited for.
func (tp *targetProgress) stage(name string) chan struct{} {
	return tp.stages[name]
}

// reach marks stage reached; again, or a stage not declared, does nothing.
func (tp *targetProgress) reach(name string) {
	tp.mu.Lock()
	defer tp.mu.Unlock()
	ch, ok := tp.stages[name]
	if !ok {
		return
	}
	select {
	case <-ch:
	default:
		close(ch)
	}
}

// sharedPrerequisite is a control's Prerequisites run: done is closed
// when it has ended, with err.
type sharedPrerequisite struct {
	done chan struct{}
	err  error
}

// startPrerequisites starts, for every control with a target to change
// that implements control.Prerequisites, its Prerequisites in the home
// region, once, at once with the rest of the apply; the control's targets
// wait for it before they apply.
func (r *Run) startPrerequisites(ctx context.Context, plan []Result, byID map[string]control.Control, journal JournalFor) map[string]*sharedPrerequisite {
	out := map[string]*sharedPrerequisite{}
	for _, p := range plan {
		pre, ok := byID[p.Control.ID].(control.Prerequisites)
		if !ok || p.Status != NonCompliant || p.Withheld || out[p.Control.ID] != nil {
			continue
		}
		sp := &sharedPrerequisite{done: make(chan struct{})}
		out[p.Control.ID] = sp
		go func() {
			defer close(sp.done)
			defer func() {
				if v := recover(); v != nil {
					sp.err = fmt.Errorf("internal error: %v", v)
				}
			}()
			sp.err = pre.Prerequisites(r.monitored(ctx, p.Control.ID, r.HomeRegion), r.Env, r.controlTarget("", r.HomeRegion), journal(p.Control.ID, r.HomeRegion))
		}()
	}
	return out
}

// waitShared waits for the control's shared prerequisite, if any, and
// returns its error.
func (r *Run) waitShared(ctx context.Context, id string, shared *sharedPrerequisite) error {
	if shared == nil {
		return nil
	}
	select {
	case <-shared.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if shared.err != nil {
		return fmt.Errorf("%s: shared prerequisite in %s: %w", id, r.HomeRegion, shared.err)
	}
	return nil
}

func (r *Run) applyAfterPrerequisites(ctx context.Context, p Result, c control.Control, shared *sharedPrerequisite, free *slots, prio priority,
	wait func(need) (Result, bool, bool), reach control.Reporter, journal JournalFor) (res Result) {
	res = Result{Control: p.Control, Region: p.Region, Action: p.Action, Changes: p.Changes, Destroys: p.Destroys}
	defer recoverInto(&res)
	t := r.controlTarget(p.Control.ID, p.Region)
	// The control's ctx: its waits are announced, its stages reported.
	actx := control.WithReporter(r.monitored(ctx, p.Control.ID, p.Region), reach)
	if early, ok := c.(control.EarlyApply); ok {
		// The part that needs none of the controls this one depends
		// on, at once with the control's shared prerequisite, which it
		// waits for (control.AwaitPrerequisites) holding no slot.
		if err := free.acquire(ctx, prio); err != nil {
			return r.failed(res, err, true)
		}
		var mu sync.Mutex // the early part may wait from any goroutine
		held := true
		ectx := actx
		if shared != nil {
			ectx = control.WithPrerequisites(actx, func(context.Context) error {
				mu.Lock()
				defer mu.Unlock()
				if held {
					free.release()
					held = false
				}
				err := r.waitShared(ctx, p.Control.ID, shared)
				if aerr := free.acquire(ctx, prio); aerr != nil {
					return errors.Join(err, aerr)
				}
				held = true
				return err
			})
		}
		err := early.ApplyEarly(ectx, r.Env, t, journal(p.Control.ID, p.Region))
		mu.Lock()
		if held {
			free.release()
		}
		mu.Unlock()
		if err != nil {
			return r.failed(res, err, true)
		}
	}
	// Controls this one only runs after (Info.After, Info.AfterHome) are
	// waited for, never a reason to hold it back.
	for _, n := range r.runsAfter(p.Control, p.Region) {
		wait(n)
	}
	for _, dep := range p.Control.DependsOn {
		n := r.needOf(p.Control, dep, p.Region, false)
		d, reached, ok := wait(n)
		if !ok || reached {
			continue // not part of this run, or its stage this one needs is reached
		}
		if !settled(d.Status) {
			res.Status = Blocked
			_, depRegion, _ := strings.Cut(n.key, "@")
			res.Reason = fmt.Sprintf("prerequisite %s in %s is %s", dep, depRegion, d.Status)
			return res
		}
	}
	if err := r.waitShared(ctx, p.Control.ID, shared); err != nil {
		return r.failed(res, err, true)
	}
	if err := free.acquire(ctx, prio); err != nil {
		return r.failed(res, err, true)
	}
	defer free.release()
	if err := ctx.Err(); err != nil {
		return r.failed(res, err, true)
	}
	applied, err := c.Apply(actx, r.Env, t, journal(p.Control.ID, p.Region))
	res.Applied = applied
	var deferred *control.DeferredError
	if errors.As(err, &deferred) {
		res.Status, res.Reason, res.Until = Deferred, deferred.Reason, deferred.Until
		return res
	}
	if err != nil {
		return r.failed(res, err, true)
	}
	// Every write is made: dependents that need no more than that go.
	reach(control.Applied)
	f, err := c.Check(ctx, r.Env, t)
	if err != nil {
		return r.failed(res, fmt.Errorf("re-check after apply: %w", err), false)
	}
	if onlyExcepted(f) {
		// Done but for the resources an exception keeps.
		res.Status, res.Note, res.Excepted, res.Destroys = Accepted, f.Note, excepted(f.Excepted), nil
		return res
	}
	if !f.Compliant && f.Unmanaged != "" {
		// Apply made what it could; the rest is the user's to give (a
		// setting harden cannot invent): a finding, not an error.
		res.Status, res.Reason, res.Changes, res.Note, res.Destroys = Unmanaged, f.Unmanaged, f.Changes, f.Note, nil
		return res
	}
	if !f.Compliant {
		res.Status = Error
		res.Changes = f.Changes
		res.Err = fmt.Errorf("%s in %s: still not compliant after apply", p.Control.ID, p.Region)
		res.Reason = "run 'harden plan' to see what differs; something may be changing it back"
		return res
	}
	res.Status, res.Note, res.Destroys = Compliant, f.Note, nil
	return res
}

// depRegion is where dependency dep of a target in region runs: there, or
// in the home region for an account-wide control.
func (r *Run) depRegion(dep, region string) string {
	if c := r.find(dep); c != nil && c.Info().Scope == control.Account {
		return r.HomeRegion
	}
	return region
}

// settled reports whether a prerequisite in this status lets its
// dependents go ahead: it is compliant, or harden leaves it as it is on
// purpose (unmanaged: someone else's; accepted by an exception; deferred).
// An error, a block, a target not checked or still not compliant holds
// them back.
func settled(s Status) bool {
	return s == Compliant || s == Unmanaged || s == Accepted || s == Deferred
}

func (r *Run) find(id string) control.Control {
	for _, c := range r.Controls {
		if c.Info().ID == id {
			return c
		}
	}
	return nil
}

// failed turns an error into a result. A service the region does not
// offer and a service control policy denial are not checked; everything else, an invalid-token answer in a region the
// run covers included, is an error with a hint. Region state comes from
// DescribeRegions before the run, never from an error code.
func (r *Run) failed(res Result, err error, writing bool) Result {
	res.Err = cleanError{err}
	res.Status = Error
	switch {
	case awserror.IsServiceNotOffered(err):
		res.Status = NotChecked
		res.NotChecked = ServiceNotOffered
		res.Reason = serviceNotOffered(res)
		res.Err = nil
	case awserror.IsBlockedByPolicy(err):
		res.Status = NotChecked
		res.NotChecked = DeniedBySCP
		res.Reason = "denied by a service control policy: ask the organization's administrators, or --skip " + res.Control.ID
		res.Err = nil
	case awserror.IsCredentialsRejected(err):
		res.Reason = "AWS did not accept the credentials in " + res.Region + " (" + awserror.Code(err) +
			"): check that they are valid and not expired, and that the region was not disabled since the run started"
	case awserror.IsAccessDenied(err):
		res.Reason = accessHint(res, err, writing)
	case errors.Is(err, context.Canceled):
		res.Reason = "interrupted"
	case awserror.IsThrottled(err):
		res.Reason = "still throttled after retries: run again later, lower --concurrency, or raise --timeout"
	case awserror.IsTimeout(err):
		limit := "the per-call deadline"
		if r.CallTimeout > 0 {
			limit = r.CallTimeout.String()
		}
		res.Reason = "AWS did not answer within " + limit + ": check network access to the service's endpoint, or raise --timeout"
	}
	return res
}

// serviceNotOffered says the region lacks the control's service.
func serviceNotOffered(res Result) string {
	return "service not offered in " + res.Region
}

// accessHint names the action AWS says was denied, else every action the
// target needs.
func accessHint(res Result, err error, writing bool) string {
	if a := awserror.DeniedAction(err); a != "" {
		return "access denied: allow " + a + " for this identity in " + res.Region
	}
	actions := res.Control.ReadActions
	if writing {
		actions = append(append([]string(nil), actions...), res.Control.WriteActions...)
	}
	return "access denied: allow " + strings.Join(actions, ", ") + " for this identity in " + res.Region
}

// cleanError shows an AWS error as one short line (see awserror.Clean)
// while keeping the original for errors.Is and errors.As.
type cleanError struct{ err error }

func (e cleanError) Error() string { return awserror.Clean(e.err) }
func (e cleanError) Unwrap() error { return e.err }

func recoverInto(res *Result) {
	if v := recover(); v != nil {
		res.Status = Error
		res.Err = fmt.Errorf("%s in %s: internal error: %v", res.Control.ID, res.Region, v)
		res.Reason = "this is a bug in harden; please report it with the command you ran"
	}
}

// Order sorts controls so that every control comes after the controls it
// depends on, keeping the given order otherwise. A dependency on a control
// not in the list is ignored (it is checked elsewhere); a cycle is an error.
func Order(controls []control.Control) ([]control.Control, error) {
	pos := map[string]int{}
	for i, c := range controls {
		pos[c.Info().ID] = i
	}
	var out []control.Control
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(c control.Control, path []string) error
	visit = func(c control.Control, path []string) error {
		id := c.Info().ID
		switch state[id] {
		case 2:
			return nil
		case 1:
			return fmt.Errorf("control dependency cycle: %s", strings.Join(append(path, id), " -> "))
		}
		state[id] = 1
		deps := append(append(append([]string(nil), c.Info().DependsOn...), c.Info().After...), c.Info().AfterHome...)
		sort.Slice(deps, func(i, j int) bool { return pos[deps[i]] < pos[deps[j]] })
		for _, d := range deps {
			if i, ok := pos[d]; ok {
				if err := visit(controls[i], append(path, id)); err != nil {
					return err
				}
			}
		}
		state[id] = 2
		out = append(out, c)
		return nil
	}
	for _, c := range controls {
		if err := visit(c, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}
