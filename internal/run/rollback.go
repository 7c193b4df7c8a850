package run

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/journal"
)

// StepStatus is what became of one journaled step in a rollback.
type StepStatus string

const (
	// StepPending: decided, not yet undone (the preview).
	StepPending StepStatus = "pending"
	// StepRestored: the prior state is back.
	StepRestored StepStatus = "restored"
	// StepDeleted: the resource harden created is gone.
	StepDeleted StepStatus = "deleted"
	// StepKept: kept on purpose (a key that encrypted logs, a bucket holding logs).
	StepKept StepStatus = "kept"
	// StepAlready: nothing was left to undo.
	StepAlready StepStatus = "already"
	// StepDrifted: changed since harden wrote it; left alone.
	StepDrifted StepStatus = "drifted"
	// StepOverwritten: drifted, and undone anyway under --force.
	StepOverwritten StepStatus = "overwritten"
	// StepHeld: not undone because a newer change to the same target, or a
	// control that depends on it, could not be undone.
	StepHeld StepStatus = "held"
	// StepError: reading or undoing failed.
	StepError StepStatus = "error"
	// StepNotRun: interrupted before its turn.
	StepNotRun StepStatus = "not-run"
)

// RollbackStep is one journaled write and what rollback decides and does
// about it.
type RollbackStep struct {
	Run       string          `json:"run"`
	Seq       int             `json:"seq"`
	Control   string          `json:"control"`
	Region    string          `json:"region"`
	Kind      string          `json:"step"`
	Confirmed bool            `json:"confirmed"`
	Verdict   control.Verdict `json:"verdict,omitempty"`
	// What says in words what rollback does or found.
	What   string     `json:"what,omitempty"`
	Status StepStatus `json:"status"`
	Error  string     `json:"error,omitempty"`

	undo   control.Undo
	step   control.Step
	target control.Target
	after  bool // the undo waits for every region of its control
}

// RollbackRun is one apply run a rollback touches.
type RollbackRun struct {
	ID          string `json:"run"`
	Path        string `json:"path"`
	HomeRegion  string `json:"home_region"`
	Interrupted bool   `json:"interrupted"`
}

// RollbackOptions choose what to undo.
type RollbackOptions struct {
	// RunID undoes one run; "" undoes every run with steps left, newest
	// first, as one stack.
	RunID string
	// Controls and Regions limit the steps undone; empty means all.
	Controls []string
	Regions  []string
	// Force undoes drifted steps anyway, overwriting the newer change
	// (never deleting a resource harden does not own), and undoes a run
	// whose resources a newer run still uses.
	Force       bool
	Concurrency int
}

// Rollback is a refreshed rollback: every step with its decision, ready
// to preview and then execute.
type Rollback struct {
	AccountID string         `json:"account_id"`
	Runs      []RollbackRun  `json:"runs"`
	Steps     []RollbackStep `json:"steps"`

	env      *control.Env
	byID     map[string]control.Control
	lock     *journal.Lock
	opts     RollbackOptions
	ordered  []string // control ids, prerequisites first
	executed bool
}

// DependencyError refuses a scoped rollback that would undo what a change
// that stays still uses.
type DependencyError struct {
	// Uses lists, per refused step, the steps that still use it.
	Uses []string
}

func (e *DependencyError) Error() string {
	return "refusing to undo what newer changes still use: " + strings.Join(e.Uses, "; ") +
		"; roll those back too (plain 'harden rollback' undoes every run), or pass --force"
}

// UnknownControlError names a control in a journal this harden does not know.
type UnknownControlError struct {
	Path, Control, Harden string
}

func (e *UnknownControlError) Error() string {
	return fmt.Sprintf("journal %s names control %q, which this harden does not know: use the harden version that wrote it (%s); nothing was changed",
		e.Path, e.Control, e.Harden)
}

// PrepareRollback loads the runs to undo under lock, selects their pending
// steps, and refreshes each one: it reads the current state of everything
// a step changed (concurrently) and decides restore, delete, keep,
// nothing, or drift. It never writes.
func PrepareRollback(ctx context.Context, env *control.Env, accountID string, all []control.Control,
	store *journal.Store, lock *journal.Lock, opts RollbackOptions) (*Rollback, error) {
	ordered, err := engine.Order(all)
	if err != nil {
		return nil, err
	}
	rb := &Rollback{AccountID: accountID, Runs: []RollbackRun{}, Steps: []RollbackStep{}, env: env,
		byID: map[string]control.Control{}, lock: lock, opts: opts}
	for _, c := range ordered {
		rb.byID[c.Info().ID] = c
		rb.ordered = append(rb.ordered, c.Info().ID)
	}
	logs, err := loadLogs(store, opts.RunID)
	if err != nil {
		return nil, err
	}
	inScope := scopeFilter(opts)
	var outOfScope []RollbackStep
	homes := map[string]string{}
	for _, l := range logs { // newest first
		steps := l.Pending()
		if len(steps) == 0 {
			continue
		}
		took := false
		for _, p := range steps {
			if _, ok := rb.byID[p.Control]; !ok {
				return nil, &UnknownControlError{Path: l.Path, Control: p.Control, Harden: l.Header.Harden}
			}
			s := RollbackStep{Run: l.Header.RunID, Seq: p.Seq, Control: p.Control, Region: p.Region,
				Kind: string(p.Step.Kind), Confirmed: p.Step.Done, Status: StepPending, step: p.Step}
			if !inScope(s) {
				outOfScope = append(outOfScope, s)
				continue
			}
			rb.Steps = append(rb.Steps, s)
			took = true
		}
		if took {
			homes[l.Header.RunID] = l.Header.HomeRegion
			rb.Runs = append(rb.Runs, RollbackRun{ID: l.Header.RunID, Path: l.Path, HomeRegion: l.Header.HomeRegion, Interrupted: l.Interrupted()})
		}
	}
	if opts.RunID != "" {
		// Newer runs stay: anything of theirs that depends on this run's
		// changes is out of scope too.
		newer, err := newerPending(store, opts.RunID)
		if err != nil {
			return nil, err
		}
		outOfScope = append(outOfScope, newer...)
	}
	if !opts.Force {
		if err := rb.checkDependents(outOfScope); err != nil {
			return nil, err
		}
	}
	rb.refresh(ctx, homes)
	return rb, nil
}

// loadLogs returns the run to undo, or every run newest first.
func loadLogs(store *journal.Store, runID string) ([]*journal.Log, error) {
	if runID != "" {
		l, err := store.Load(runID)
		if err != nil {
			return nil, err
		}
		return []*journal.Log{l}, nil
	}
	runs, err := store.Runs()
	if err != nil {
		return nil, err
	}
	var logs []*journal.Log
	for i := len(runs) - 1; i >= 0; i-- {
		l, err := store.Load(runs[i].ID)
		if err != nil {
			return nil, err
		}
		logs = append(logs, l)
	}
	return logs, nil
}

// newerPending lists the pending steps of the runs newer than runID.
func newerPending(store *journal.Store, runID string) ([]RollbackStep, error) {
	runs, err := store.Runs()
	if err != nil {
		return nil, err
	}
	var out []RollbackStep
	seen := false
	for _, r := range runs {
		if r.ID == runID {
			seen = true
			continue
		}
		if !seen {
			continue
		}
		l, err := store.Load(r.ID)
		if err != nil {
			return nil, err
		}
		for _, p := range l.Pending() {
			out = append(out, RollbackStep{Run: r.ID, Seq: p.Seq, Control: p.Control, Region: p.Region, Kind: string(p.Step.Kind)})
		}
	}
	return out, nil
}

func scopeFilter(opts RollbackOptions) func(RollbackStep) bool {
	set := func(list []string) map[string]bool {
		if len(list) == 0 {
			return nil
		}
		m := map[string]bool{}
		for _, x := range list {
			m[x] = true
		}
		return m
	}
	ctls, regs := set(opts.Controls), set(opts.Regions)
	return func(s RollbackStep) bool {
		return (ctls == nil || ctls[s.Control]) && (regs == nil || regs[s.Region])
	}
}

// dependsOn reports whether control a depends on control b, directly or
// through others.
func (rb *Rollback) dependsOn(a, b string) bool {
	seen := map[string]bool{}
	var walk func(id string) bool
	walk = func(id string) bool {
		if seen[id] {
			return false
		}
		seen[id] = true
		c, ok := rb.byID[id]
		if !ok {
			return false
		}
		for _, d := range c.Info().DependsOn {
			if d == b || walk(d) {
				return true
			}
		}
		return false
	}
	return walk(a)
}

// uses reports whether dependent step d (of a control that depends on
// p's control) uses what p changed: in the same region, or anywhere when
// p's control is account-wide.
func (rb *Rollback) uses(d, p RollbackStep) bool {
	if !rb.dependsOn(d.Control, p.Control) {
		return false
	}
	return d.Region == p.Region || rb.byID[p.Control].Info().Scope == control.Account
}

// checkDependents refuses when a selected step is still used by a change
// that stays.
func (rb *Rollback) checkDependents(staying []RollbackStep) error {
	var uses []string
	seen := map[string]bool{}
	for _, p := range rb.Steps {
		key := p.Control + "@" + p.Region + "/" + p.Run
		if seen[key] {
			continue
		}
		var users []string
		userSeen := map[string]bool{}
		for _, d := range staying {
			if rb.uses(d, p) {
				k := fmt.Sprintf("%s in %s (run %s)", d.Control, d.Region, d.Run)
				if !userSeen[k] {
					userSeen[k] = true
					users = append(users, k)
				}
			}
		}
		if len(users) > 0 {
			seen[key] = true
			sort.Strings(users)
			uses = append(uses, fmt.Sprintf("%s in %s (run %s) is used by %s", p.Control, p.Region, p.Run, strings.Join(users, ", ")))
		}
	}
	if len(uses) > 0 {
		return &DependencyError{Uses: uses}
	}
	return nil
}

// stepsPerTarget bounds how many steps of one control-region target are
// read or undone at once.
const stepsPerTarget = 16

func (rb *Rollback) limit() int {
	if rb.opts.Concurrency > 0 {
		return rb.opts.Concurrency
	}
	return engine.DefaultConcurrency
}

func (rb *Rollback) target(s RollbackStep, homes map[string]string) control.Target {
	return control.Target{AccountID: rb.AccountID, Region: s.Region, HomeRegion: homes[s.Run]}
}

// refresh decides every step concurrently. A step that cannot be read is
// an error and is never undone blindly.
func (rb *Rollback) refresh(ctx context.Context, homes map[string]string) {
	// Like apply, at most --concurrency control-region targets at once;
	// the steps of one target are read together.
	byTarget := map[string][]*RollbackStep{}
	var order []string
	for i := range rb.Steps {
		s := &rb.Steps[i]
		s.target = rb.target(*s, homes)
		key := s.Control + "@" + s.Region
		if byTarget[key] == nil {
			order = append(order, key)
		}
		byTarget[key] = append(byTarget[key], s)
	}
	var g errgroup.Group
	g.SetLimit(rb.limit())
	for _, key := range order {
		g.Go(func() error {
			var steps errgroup.Group
			steps.SetLimit(stepsPerTarget)
			for _, s := range byTarget[key] {
				steps.Go(func() error {
					rb.decideStep(ctx, s)
					return nil
				})
			}
			return steps.Wait()
		})
	}
	_ = g.Wait()
	// A step after another undo of the same target is decided again once
	// that undo is made: say so in the preview.
	// Steps naming distinct resources are independent (Undo.Resource).
	seen := map[string]map[string]bool{}
	for i := range rb.Steps {
		s := &rb.Steps[i]
		key := s.Control + "@" + s.Region
		res := s.resource()
		changed := seen[key]
		if s.Status == StepPending && !s.after &&
			(changed[""] || (res == "" && len(changed) > 0) || (res != "" && changed[res])) {
			s.What += " (checked again after the newer change above is undone)"
		}
		if s.Verdict == control.Restore || s.Verdict == control.Delete || s.Verdict == control.Drifted {
			if changed == nil {
				changed = map[string]bool{}
				seen[key] = changed
			}
			changed[res] = true
		}
	}
}

// decideStep reads the current state of what s changed and records the
// decision, or the error that prevents one.
func (rb *Rollback) decideStep(ctx context.Context, s *RollbackStep) {
	c := rb.byID[s.Control]
	u, err := decide(ctx, c, rb.env, s.target, s.step)
	if err != nil {
		s.Status, s.Error = StepError, oneLine(awserror.Clean(err))
		return
	}
	s.undo, s.Verdict, s.What, s.after = u, u.Verdict, u.What, u.AfterAllRegions
}

// decide runs a step's undo decision, turning a panic into an error.
func decide(ctx context.Context, c control.Control, env *control.Env, t control.Target, s control.Step) (u control.Undo, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("%s: internal error deciding the undo of %s: %v (a bug in harden; please report it)", c.Info().ID, s.Kind, v)
		}
	}()
	return c.Steps().Undo(ctx, c.Info().ID, env, t, s)
}

// Counts says how many steps ended in each status.
func (rb *Rollback) Counts() map[StepStatus]int {
	m := map[StepStatus]int{}
	for _, s := range rb.Steps {
		m[s.Status]++
	}
	return m
}

// Failed reports whether anything was left undone for a reason the user
// must act on: an error, a drift left alone, a held or not-run step.
func (rb *Rollback) Failed() bool {
	for _, s := range rb.Steps {
		switch s.Status {
		case StepError, StepDrifted, StepHeld, StepNotRun:
			return true
		case StepPending:
			if rb.executed {
				return true
			}
		}
	}
	return false
}

// Progress is told when a step starts (done steps so far, the total, the
// step in flight) and when the rollback ends (done == total).
type Progress func(done, total int, current string)

// group is one control in one region: its steps are undone newest first.
type group struct {
	control, region string
	steps           []*RollbackStep
	done            chan struct{}
	// clean is set when every step of the group was undone or needed
	// nothing; read after done is closed.
	clean bool
}

// Execute undoes the decided steps: groups of one control in one region
// run concurrently, a control's groups after those of every control that
// depends on it, each group newest step first. Undone steps are journaled
// as undone in their run's journal.
func (rb *Rollback) Execute(ctx context.Context, progress Progress) error {
	if rb.executed {
		return errors.New("rollback already executed")
	}
	rb.executed = true
	runs := map[string]*journal.Run{}
	for _, r := range rb.Runs {
		jr, err := rb.lock.Resume(r.ID)
		if err != nil {
			for _, o := range runs {
				_ = o.Close()
			}
			return err
		}
		runs[r.ID] = jr
	}
	defer func() {
		for _, jr := range runs {
			_ = jr.Close()
		}
	}()

	groups, final := rb.groups()
	total := len(rb.Steps)
	var mu sync.Mutex
	done := 0
	report := func(current string) {
		if progress == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		progress(done, total, current)
	}
	finish := func(n int) {
		mu.Lock()
		done += n
		mu.Unlock()
	}

	// A group waits for its dependents before it takes one of the
	// --concurrency slots, so that waiting never holds a slot.
	slots := make(chan struct{}, rb.limit())
	var wg sync.WaitGroup
	for _, gr := range groups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(gr.done)
			held := rb.waitDependents(ctx, gr, groups)
			select {
			case slots <- struct{}{}:
				defer func() { <-slots }()
			case <-ctx.Done():
				// undoGroup marks the steps not run.
			}
			gr.clean = rb.undoGroup(ctx, gr.steps, held, runs, report, finish)
		}()
	}
	// Steps that must wait for every region of their control (a role
	// shared by all regions) go once that control's groups, and those of
	// the controls that use it, are done, not after every group: the
	// Config service-linked role need not wait for an IAM role of
	// security-alerts. A control's such steps go newest first, after
	// those of the controls that depend on it, and of no other: the
	// Config service-linked role does not wait for the alert forwarder
	// role either.
	var finalControls []string
	finalSteps := map[string][]*RollbackStep{}
	for _, s := range final {
		if finalSteps[s.Control] == nil {
			finalControls = append(finalControls, s.Control)
		}
		finalSteps[s.Control] = append(finalSteps[s.Control], s)
	}
	finalDone := map[string]chan struct{}{}
	for _, c := range finalControls {
		finalDone[c] = make(chan struct{})
	}
	for _, c := range finalControls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(finalDone[c])
			for _, d := range finalControls {
				if d != c && rb.dependsOn(d, c) {
					select {
					case <-finalDone[d]:
					case <-ctx.Done():
					}
				}
			}
			held := ""
			for _, gr := range groups {
				// What a shared step changed is account-wide: a
				// dependent's groups in every region count.
				if gr.control != c && !rb.dependsOn(gr.control, c) {
					continue
				}
				select {
				case <-gr.done:
				case <-ctx.Done():
				}
				if gr.control == c && !gr.clean && held == "" {
					held = fmt.Sprintf("%s in %s still has changes that were not undone", gr.control, gr.region)
				}
			}
			for _, s := range finalSteps[c] {
				rb.undoGroup(ctx, []*RollbackStep{s}, held, runs, report, finish)
			}
		}()
	}
	wg.Wait()
	if progress != nil {
		progress(total, total, "")
	}
	return nil
}

// groups splits the steps into groups by control and region, in launch
// order (dependents first, so that a group waiting for its dependents
// only ever waits for groups started before it), and returns the steps
// that wait for every region.
func (rb *Rollback) groups() ([]*group, []*RollbackStep) {
	rank := map[string]int{}
	for i, id := range rb.ordered {
		rank[id] = i
	}
	byKey := map[string]*group{}
	var out []*group
	var final []*RollbackStep
	for i := range rb.Steps {
		s := &rb.Steps[i]
		if s.after {
			final = append(final, s)
			continue
		}
		key := s.Control + "@" + s.Region
		gr := byKey[key]
		if gr == nil {
			gr = &group{control: s.Control, region: s.Region, done: make(chan struct{})}
			byKey[key] = gr
			out = append(out, gr)
		}
		gr.steps = append(gr.steps, s) // rb.Steps is newest run first, newest step first
	}
	sort.SliceStable(out, func(i, j int) bool {
		if rank[out[i].control] != rank[out[j].control] {
			return rank[out[i].control] > rank[out[j].control]
		}
		return out[i].region < out[j].region
	})
	return out, final
}

// waitDependents waits for every group of a control that depends on gr's
// control (and uses it) and returns why gr must be held, or "".
func (rb *Rollback) waitDependents(ctx context.Context, gr *group, all []*group) string {
	probe := RollbackStep{Control: gr.control, Region: gr.region}
	for _, d := range all {
		if d == gr || !rb.uses(RollbackStep{Control: d.control, Region: d.region}, probe) {
			continue
		}
		select {
		case <-d.done:
		case <-ctx.Done():
			return ""
		}
		if !d.clean {
			return fmt.Sprintf("%s in %s, which uses it, still has changes that were not undone", d.control, d.region)
		}
	}
	return ""
}

// undoGroup undoes a group's steps, newest first, and reports whether all
// of them ended undone or with nothing to do. Steps that name distinct
// resources (Undo.Resource) and follow one another form a batch whose
// chains, one per resource, run together; any other step is a batch of
// its own. Once one step is left in place (drift, error, held), the rest
// of its chain and every later batch are held: undoing them would pull
// the ground from under it.
func (rb *Rollback) undoGroup(ctx context.Context, steps []*RollbackStep, held string,
	runs map[string]*journal.Run, report func(string), finish func(int)) bool {
	clean := true
	// changed records which resources a newer undo of the group changed
	// ("" for steps naming none, which may have changed anything).
	changed := map[string]bool{}
	for _, batch := range batches(steps) {
		chains := chainsOf(batch)
		results := make([]chainResult, len(chains))
		var g errgroup.Group
		g.SetLimit(stepsPerTarget)
		for _, i := range rb.launchOrder(chains) {
			chain := chains[i]
			res := chain[0].resource()
			before := changed[""] || (res == "" && len(changed) > 0) || (res != "" && changed[res])
			g.Go(func() error {
				results[i] = rb.undoChain(ctx, chain, held, before, runs, report, finish)
				return nil
			})
		}
		_ = g.Wait()
		for i, r := range results {
			clean = clean && r.clean
			if r.changed {
				changed[chains[i][0].resource()] = true
			}
			if held == "" {
				held = r.held
			}
		}
	}
	return clean
}

// launchOrder returns the indexes of chains in the order to start them:
// at most stepsPerTarget run at once, so the chains with the most writes
// to make (each a round trip, and one more to read again before the next
// step) go first, rather than wait for a slot behind chains with nothing
// to write; ties keep the chains' order.
func (rb *Rollback) launchOrder(chains [][]*RollbackStep) []int {
	writes := make([]int, len(chains))
	order := make([]int, len(chains))
	for i, chain := range chains {
		order[i] = i
		for _, s := range chain {
			if s.Verdict == control.Restore || s.Verdict == control.Delete || (rb.opts.Force && s.Verdict == control.Drifted) {
				writes[i]++
			}
		}
	}
	sort.SliceStable(order, func(a, b int) bool { return writes[order[a]] > writes[order[b]] })
	return order
}

// chainResult is what undoing one chain of steps left.
type chainResult struct {
	clean, changed bool
	// held is why older steps must be left, when one was left in place.
	held string
}

// undoChain undoes steps that must go one after another. changed says
// whether a newer undo already changed what the first step compares with.
func (rb *Rollback) undoChain(ctx context.Context, steps []*RollbackStep, held string, changed bool,
	runs map[string]*journal.Run, report func(string), finish func(int)) chainResult {
	r := chainResult{clean: true}
	for _, s := range steps {
		switch {
		case ctx.Err() != nil:
			if s.Status == StepPending {
				s.Status = StepNotRun
			}
		case s.Status == StepError:
			// The refresh failed: never undone blindly.
		case held != "":
			s.Status, s.Error = StepHeld, held
		default:
			report(fmt.Sprintf("%s %s in %s", s.Kind, s.Control, s.Region))
			if changed || s.after {
				// A newer undo (or every region's) changed what this
				// step is compared with: decide on what is there now.
				rb.decideStep(ctx, s)
				if s.Status == StepError {
					break
				}
			}
			rb.undoStep(ctx, s, runs[s.Run])
			if s.Status == StepRestored || s.Status == StepDeleted || s.Status == StepOverwritten {
				changed, r.changed = true, true
			}
		}
		finish(1)
		switch s.Status {
		case StepRestored, StepDeleted, StepKept, StepAlready, StepOverwritten:
		default:
			r.clean = false
			if held == "" {
				held = fmt.Sprintf("a newer change to %s in %s (%s, run %s step %d) was not undone", s.Control, s.Region, s.Kind, s.Run, s.Seq)
				r.held = held
			}
		}
	}
	return r
}

// resource is the resource the step's undo names, or "".
func (s *RollbackStep) resource() string { return s.undo.Resource }

// batches splits steps (newest first) into batches run one after
// another: consecutive steps naming resources form one batch, and a step
// naming none is a batch of its own.
func batches(steps []*RollbackStep) [][]*RollbackStep {
	var out [][]*RollbackStep
	for _, s := range steps {
		n := len(out)
		if s.resource() != "" && n > 0 && out[n-1][0].resource() != "" {
			out[n-1] = append(out[n-1], s)
			continue
		}
		out = append(out, []*RollbackStep{s})
	}
	return out
}

// chainsOf splits a batch into chains of steps naming the same resource,
// each newest first, in the order their first steps appear.
func chainsOf(batch []*RollbackStep) [][]*RollbackStep {
	index := map[string]int{}
	var out [][]*RollbackStep
	for _, s := range batch {
		i, ok := index[s.resource()]
		if !ok {
			i = len(out)
			index[s.resource()] = i
			out = append(out, nil)
		}
		out[i] = append(out[i], s)
	}
	return out
}

// undoStep makes one step's undo and journals it.
func (rb *Rollback) undoStep(ctx context.Context, s *RollbackStep, jr *journal.Run) {
	forced := false
	var status StepStatus
	switch s.Verdict {
	case control.Restore:
		status = StepRestored
	case control.Delete:
		status = StepDeleted
	case control.Keep:
		status = StepKept
	case control.Already:
		status = StepAlready
	case control.Drifted:
		if !rb.opts.Force {
			s.Status = StepDrifted
			return
		}
		if s.undo.Do == nil {
			s.Status = StepDrifted
			s.Error = "not harden's: left alone even with --force"
			return
		}
		forced, status = true, StepOverwritten
	default:
		s.Status, s.Error = StepError, fmt.Sprintf("unknown verdict %q", s.Verdict)
		return
	}
	if s.undo.Do != nil && (s.Verdict == control.Restore || s.Verdict == control.Delete || forced) {
		err := s.undo.Do(ctx)
		var kept *control.RetainedError
		switch {
		case errors.As(err, &kept):
			status, s.What = StepKept, kept.Reason
		case err != nil:
			s.Status, s.Error = StepError, oneLine(awserror.Clean(err))
			if ctx.Err() != nil {
				s.Status = StepNotRun
			}
			return
		}
	}
	if err := jr.MarkUndone(s.Seq, forced); err != nil {
		s.Status, s.Error = StepError, oneLine(err.Error())
		return
	}
	s.Status = status
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", " ") }
