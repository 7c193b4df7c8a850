package control

import "context"

// Stages let a dependent wait for only the part of a prerequisite's apply
// that it needs, not for the prerequisite's whole apply and re-check.
//
// A control declares its stages (Info.Stages): named points of its Apply
// (and of its EarlyApply) after which something others need exists, as
// "topic": the alert topic, its key and policy are in place. Its Apply
// says when it has reached one with Reached. A dependent names the stage
// it needs in Info.Needs, keyed by the control it lists in DependsOn,
// After or AfterHome; the engine then starts it as soon as that stage is
// reached, or, when the prerequisite ends without reaching it (nothing to
// do there, or it failed first), as it does without a stage: a settled
// prerequisite lets it go, a failed one blocks it (DependsOn).
//
// A stage reached stays reached: a later failure of the same target does
// not stop dependents that already went ahead (each one's re-check says
// whether it is compliant). A target waiting for a stage holds no slot.
type Stage struct {
	// Name is the stage's name, unique within the control ("topic").
	Name string
	// What says in words what exists once the stage is reached.
	What string
	// Home marks a stage that only the home region's target reaches (an
	// account-wide resource a regional control makes there, as
	// security-alerts' topic): a dependent in any region waits for the
	// home region's target.
	Home bool
}

// Applied is the stage every control has without declaring it: its Apply
// has returned without error, before the re-check that confirms it. A
// dependent that needs everything a prerequisite writes, but not that
// re-check, names it (config-recorder's delivery channel needs the log
// archive's bucket and policies, all written once log-archive's Apply
// has returned).
const Applied = "applied"

// Stage returns the control's stage named name, and whether it has one
// (declared in Stages, or Applied).
func (i Info) Stage(name string) (Stage, bool) {
	if name == Applied {
		return Stage{Name: Applied, What: "its apply has made every write it planned, before its re-check"}, true
	}
	for _, s := range i.Stages {
		if s.Name == name {
			return s, true
		}
	}
	return Stage{}, false
}

// Reporter is told each stage a target's Apply reaches.
type Reporter func(stage string)

type reporterKey struct{}

// WithReporter returns ctx carrying r: Reached under it reports to r. A
// nil r leaves ctx as it is.
func WithReporter(ctx context.Context, r Reporter) context.Context {
	if r == nil {
		return ctx
	}
	return context.WithValue(ctx, reporterKey{}, r)
}

// Reached says that the target's Apply (or EarlyApply) has reached stage,
// one of its control's Info.Stages: what the stage names exists, and
// dependents that need only it may start. Call it only once the writes
// of the stage are confirmed (or were not needed). Calling it again, or
// outside a run that listens (a test calling Apply), does nothing.
func Reached(ctx context.Context, stage string) {
	if r, _ := ctx.Value(reporterKey{}).(Reporter); r != nil {
		r(stage)
	}
}

type prerequisitesKey struct{}

// WithPrerequisites returns ctx carrying wait, which waits for the
// control's Prerequisites of this apply: AwaitPrerequisites under it calls
// it.
func WithPrerequisites(ctx context.Context, wait func(context.Context) error) context.Context {
	return context.WithValue(ctx, prerequisitesKey{}, wait)
}

// AwaitPrerequisites waits until the control's Prerequisites, which the
// engine runs once per apply at once with every EarlyApply, have ended.
// It reports whether they ran and succeeded (what they ensure exists
// now), or their error. An EarlyApply makes its reads first, then calls it
// before its first write, so that the reads overlap the Prerequisites.
// Outside a run that has them it returns false and nil at once.
func AwaitPrerequisites(ctx context.Context) (bool, error) {
	if wait, _ := ctx.Value(prerequisitesKey{}).(func(context.Context) error); wait != nil {
		if err := wait(ctx); err != nil {
			return false, err
		}
		return true, nil
	}
	return false, nil
}

// EarlyApply is implemented by a control whose Apply has a first part that
// needs none of the controls it depends on (config-recorder's recorder,
// which needs only the service-linked role its Prerequisites make, not the
// log archive that its delivery channel needs). The engine runs it for
// each target to change at the start of apply, at once with the control's
// Prerequisites (call AwaitPrerequisites before the first write), without
// waiting for DependsOn or After; it usually
// reaches a stage (Reached) that dependents wait for. Apply runs later as
// usual, once the prerequisites are settled, and must still do the whole
// job when EarlyApply did not run. A failed EarlyApply fails the target:
// Apply does not run. Every write goes through j, as in Apply.
type EarlyApply interface {
	ApplyEarly(ctx context.Context, env *Env, t Target, j Journal) error
}
