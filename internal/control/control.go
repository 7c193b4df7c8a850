// Package control defines what a harden control is: its metadata, the
// read-only Check, the journaled Apply and the Rollback that undoes one
// journaled write. Controls themselves live in package controls; the engine
// runs them.
package control

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/harden-dev/harden/internal/awsclient"
)

// Scope says where a control runs.
type Scope string

const (
	// Account controls run once per account, in the home region.
	Account Scope = "account"
	// Regional controls run in every selected region.
	Regional Scope = "regional"
)

// Info describes a control for the registry, plans and reports.
type Info struct {
	ID    string
	Title string
	Scope Scope
	// Desired is one line saying what compliant means.
	Desired     string
	SecurityHub []string
	CIS         []string
	// Destructive controls delete or disable something that existed.
	Destructive bool
	// DependsOn names controls that must be applied first: in the same
	// region, or in the home region for account-wide prerequisites.
	DependsOn []string
	// After names controls this one runs after when both are in a run (in
	// the same region, or the home region for account-wide ones), without
	// needing them: it is never held back when they fail.
	After []string
	// AfterHome names controls whose home-region target this one's
	// targets in the other regions run after, when both are in a run,
	// without needing them (as After): for a regional decision that reads
	// what the other makes account-wide in the home region (security-alerts
	// reads the finding aggregator securityhub makes there). The home
	// region's own target is not held (list the control in After too if
	// it must be).
	AfterHome []string
	// Stages are the named points of the control's apply that dependents
	// may wait for instead of its whole apply (see Stage).
	Stages []Stage
	// Needs names, for a control in DependsOn, After or AfterHome, the
	// one of its Stages this control waits for instead of its whole apply
	// and re-check: "security-alerts": "topic".
	Needs map[string]string
	// ReadActions are the IAM actions Check needs; WriteActions the extra
	// ones Apply and Rollback need.
	ReadActions  []string
	WriteActions []string
	// Service is the AWS service the control needs in each region (its
	// endpoint prefix, "guardduty"); a region where it is not offered is
	// not checked, never an error.
	Service string
	// Cost says what the control adds to the AWS bill.
	Cost Cost
}

// Cost is what a control adds to the AWS bill.
type Cost struct {
	// UsageBased is true when the service charges for use; false when the
	// control is free.
	UsageBased bool `json:"usage_based"`
	// Drivers says in one line what drives the charge ("events and GB
	// analysed"), or why it is free.
	Drivers string `json:"drivers"`
}

// Target is one place a control runs.
type Target struct {
	AccountID  string
	Region     string
	HomeRegion string
	// Excepted are the ids of resources in this target that an exception
	// in the configuration names (its `resources`), for controls with
	// several resources per region (VPCs, security groups): see Excepts.
	Excepted []string
	// Regions are the regions the run covers, when the engine runs the
	// target (empty otherwise, as in rollback): for a control whose
	// result depends on another region being covered (AWS Health's
	// global events arrive in us-east-1 only).
	Regions []string
}

// Covers reports whether the run covers region; true when the target
// does not say (Regions empty).
func (t Target) Covers(region string) bool {
	if len(t.Regions) == 0 {
		return true
	}
	for _, r := range t.Regions {
		if r == region {
			return true
		}
	}
	return false
}

// Excepts reports whether an exception names resource id in this target.
//
// Per-resource exceptions work so: the engine gives Check and Apply the
// ids every exception of the control and region lists (not expired). A
// control whose findings name resources (Finding.Resources) reads them:
//   - Check reports a non-compliant resource that t.Excepts in
//     Finding.Excepted, never in Resources, Changes or Destroys; a finding
//     whose only non-compliant resources are excepted has no Action and is
//     accepted (the report names the exception of each resource);
//   - Apply leaves every resource t.Excepts as it is: it makes no write to
//     it.
//
// A control that ignores Excepted keeps reporting the excepted ids in
// Resources; harden then leaves that whole target as it is (unmanaged,
// naming the exception), so an exception is never overridden.
func (t Target) Excepts(id string) bool {
	for _, x := range t.Excepted {
		if x == id {
			return true
		}
	}
	return false
}

// Foreseeing is a control whose plan depends on what controls it runs
// after (Info.After, Info.AfterHome) are planned to do in the same run.
// The engine calls CheckForeseeing in place of Check; planned gives those
// controls' findings, waiting for their checks on its first call (make
// the target's own reads before calling it, so they overlap the wait). Apply and the re-check after it read only what is there
// (by then those controls have applied).
type Foreseeing interface {
	CheckForeseeing(ctx context.Context, env *Env, t Target, planned Planned) (Finding, error)
}

// Planned returns the finding of control id's target in region as the
// run's check made it; false when that target is not part of the run or
// its check failed.
type Planned func(id, region string) (Finding, bool)

// Env is what a control may use: the AWS clients and the run's settings.
type Env struct {
	AWS *awsclient.Clients
	// ControlSettings holds each configurable control's settings by
	// control id (see SettingsOf).
	ControlSettings map[string]ControlSettings
}

// RetainedError is what an Undo's Do returns when it finds it must keep
// something on purpose (a bucket that holds logs by the time it would be
// deleted): the step counts as handled, and the reason is shown.
type RetainedError struct{ Reason string }

func (e *RetainedError) Error() string { return "kept: " + e.Reason }

// Retain returns a RetainedError.
func Retain(format string, args ...any) error {
	return &RetainedError{Reason: fmt.Sprintf(format, args...)}
}

// DeferredError is what Apply returns when AWS refused the change for a
// reason that passes with time (Detective before GuardDuty's first 48
// hours, where AWS still enforces them): the target is deferred, as a
// Check's Finding.Deferred would make it, not an error.
type DeferredError struct {
	Reason string
	Until  time.Time
}

func (e *DeferredError) Error() string { return e.Reason }

// Action is the kind of change a non-compliant target needs.
type Action string

const (
	ActionNone   Action = ""
	ActionCreate Action = "create"
	ActionUpdate Action = "update"
	ActionDelete Action = "delete"
	// ActionAdopt: an existing resource harden did not create becomes
	// harden's to manage; it keeps everything harden does not need to
	// change, and the Changes list each change.
	ActionAdopt Action = "adopt"
)

// Change is one field that differs between the current and desired state.
type Change struct {
	Field   string `json:"field"`
	Current string `json:"current"`
	Desired string `json:"desired"`
}

// Finding is the result of a Check.
type Finding struct {
	Compliant bool
	// Action and Changes say what Apply would do when not compliant.
	Action  Action
	Changes []Change
	// Note explains a compliant or non-compliant result in one line,
	// e.g. "an existing ACCOUNT analyzer \"x\" counts".
	Note string
	// Unmanaged, when set, says why harden will not change this target
	// although it is not compliant (e.g. a recorder owned by Control Tower).
	Unmanaged string
	// Resources are the ids of the non-compliant resources, for controls
	// with several per region (VPCs, trails): an exception can name them.
	Resources []string
	// Excepted are the ids of non-compliant resources Target.Excepted
	// names: left as they are, accepted by their exception.
	Excepted []string
	// Destroys says what the planned change deletes or turns off that
	// exists now, one Loss per resource: apply asks for it separately (see
	// Loss). Empty for a change that only creates or changes settings.
	Destroys []Loss
	// Deferred, when set, says why the change cannot be made yet
	// (Detective waits for GuardDuty's first 48 hours): the target is
	// deferred, neither a change nor an error, and a later apply makes it.
	// DeferredUntil says from when, if that is known.
	Deferred      string
	DeferredUntil time.Time
}

// Loss is one thing a destructive change deletes or turns off.
//
// A change is destructive when it deletes something that exists and that
// rollback cannot give back as it was (a default VPC: rollback recreates
// one under new ids; log objects a retention rule expires), or turns off a
// protection that is on (a GuardDuty feature). Creating something, or
// changing a setting rollback restores exactly (a password policy, the
// rules of a default security group), is not. A control whose Check can
// report a Loss is marked Info.Destructive; a control marked destructive
// whose change for a target only creates (GuardDuty enabling a detector)
// reports no Loss for it.
type Loss struct {
	// Verb and Kind name the loss for the prompt, "delete" and "default
	// VPC": "Type 3 to delete 3 default VPCs". Kind takes an "s" in the
	// plural.
	Verb string `json:"verb"`
	Kind string `json:"kind"`
	// Resource is the resource's id ("vpc-0abc", "s3://bucket/AWSLogs/").
	Resource string `json:"resource"`
	// What is the blast radius in words: what goes, with what, and what
	// rollback cannot bring back.
	What string `json:"what"`
}

// StepKind names one kind of write a control makes, usually after the AWS
// operation ("CreateAnalyzer"). Each control declares its kinds as typed
// constants and registers each kind's undo beside the code that writes it
// (see Steps).
type StepKind string

// Step is one write to AWS, as the journal keeps it.
type Step struct {
	// Kind names the write.
	Kind StepKind
	// Prior is the state before the write, enough to undo it.
	Prior json.RawMessage
	// After is the state the write left, as far as harden governs it: what
	// rollback compares the current state with before undoing (anything
	// else is drift). Empty in journals of format 1.
	After json.RawMessage
	// Result is what the write returned (e.g. a created resource's id);
	// empty if it is not known to have completed.
	Result json.RawMessage
	// Done is true when AWS confirmed the write; false when it may or may
	// not have happened (interrupted, network error): the undo must then
	// look for what the write may have made (by harden's tags) before it
	// acts.
	Done bool
	// RunID is the apply run that made the write; resources harden creates
	// carry it in their TagRun tag.
	RunID string
}

// Tags harden puts on every resource it creates, where the service
// supports tags: rollback deletes a resource only when it carries them.
const (
	TagManagedBy   = "managed-by"
	TagManagedByID = "harden"
	TagRun         = "harden-run"
)

// Tags returns harden's tags for a resource created by run runID.
func Tags(runID string) map[string]string {
	return map[string]string{TagManagedBy: TagManagedByID, TagRun: runID}
}

// Journal records each write before it is made.
type Journal interface {
	// RunID names the apply run the writes belong to.
	RunID() string
	// Write journals the step's kind, its prior state and the state it is
	// meant to leave (after), runs write, then journals the outcome and
	// the result write returns. It does not run write when the intent
	// cannot be journaled or ctx is done.
	Write(ctx context.Context, kind StepKind, prior, after any, write func(context.Context) (result any, err error)) error
}

// Verdict is what rollback decided for one journaled step after reading
// the current state of what the step changed.
type Verdict string

const (
	// Restore: the state is still what harden left; rollback puts the
	// prior state back.
	Restore Verdict = "restore"
	// Delete: the resource is the one harden created, unchanged since;
	// rollback deletes it.
	Delete Verdict = "delete"
	// Keep: harden keeps what the step made on purpose (a KMS key that
	// encrypted logs, a bucket holding logs).
	Keep Verdict = "kept"
	// Already: nothing is left to undo (the prior state is back, the
	// resource is gone, or the write never happened).
	Already Verdict = "already"
	// Drifted: someone changed what harden left, or the resource is not
	// the one harden created. Rollback leaves it alone and reports it.
	Drifted Verdict = "drifted"
)

// Undo is rollback's decision for one step, made by reading the current
// state (never writing).
type Undo struct {
	Verdict Verdict
	// What says in words a person understands what rollback will do or
	// found: "restore the password policy: minimum length 14 -> unset",
	// "MinimumPasswordLength: harden set 14, now 20".
	What string
	// Do makes the undo for Restore and Delete. For Drifted it is what
	// --force would do, overwriting the newer change; nil when even
	// --force must leave it (a resource harden does not own).
	Do func(ctx context.Context) error
	// AfterAllRegions makes rollback undo this step only after every
	// region's other steps of the control (a role shared by all regions).
	AfterAllRegions bool
	// Resource, when set, names the one resource the step changed and
	// declares the step independent of every step of its control and
	// region that names another resource: rollback undoes such steps
	// together, keeping in order only those that name the same resource.
	// Empty means the step is ordered against every other step of its
	// control and region. Set it with Keyed.
	Resource string
}

// UndoFunc reads the current state of what step s changed, compares it
// with what the step left (s.After, s.Result) and says how to undo it. It
// never writes; the returned Undo.Do does.
type UndoFunc func(ctx context.Context, env *Env, t Target, s Step) (Undo, error)

// Steps maps every kind of write a control makes to its undo.
type Steps map[StepKind]UndoFunc

// Undo looks up s's kind and returns its undo decision.
func (st Steps) Undo(ctx context.Context, controlID string, env *Env, t Target, s Step) (Undo, error) {
	f, ok := st[s.Kind]
	if !ok {
		return Undo{}, fmt.Errorf("%s: journal step %q is not one this control writes", controlID, s.Kind)
	}
	return f(ctx, env, t, s)
}

// Keyed wraps an undo so that its decisions name the resource that key
// finds in the step (see Undo.Resource). key returns "" when it cannot
// tell, which keeps the step in order with every other.
func Keyed(key func(Step) string, f UndoFunc) UndoFunc {
	return func(ctx context.Context, env *Env, t Target, s Step) (Undo, error) {
		u, err := f(ctx, env, t, s)
		if err == nil {
			u.Resource = key(s)
		}
		return u, err
	}
}

// Restored returns a Restore decision.
func Restored(what string, do func(context.Context) error) Undo {
	return Undo{Verdict: Restore, What: what, Do: do}
}

// Deleted returns a Delete decision.
func Deleted(what string, do func(context.Context) error) Undo {
	return Undo{Verdict: Delete, What: what, Do: do}
}

// Nothing returns an Already decision.
func Nothing(format string, args ...any) Undo {
	return Undo{Verdict: Already, What: fmt.Sprintf(format, args...)}
}

// Kept returns a Keep decision.
func Kept(format string, args ...any) Undo {
	return Undo{Verdict: Keep, What: fmt.Sprintf(format, args...)}
}

// Drift returns a Drifted decision; force is what --force does (nil: never
// undone, not even with --force).
func Drift(force func(context.Context) error, format string, args ...any) Undo {
	return Undo{Verdict: Drifted, What: fmt.Sprintf(format, args...), Do: force}
}

// Control is one baseline setting harden can check, apply and roll back.
type Control interface {
	Info() Info
	// Check reads the current state and compares it with the desired
	// state. It never writes.
	Check(ctx context.Context, env *Env, t Target) (Finding, error)
	// Apply makes the smallest change that reaches the desired state,
	// every write through j, and returns what it changed. Applying a
	// compliant target makes no write.
	Apply(ctx context.Context, env *Env, t Target, j Journal) ([]Change, error)
	// Steps lists every kind of write Apply makes, each with its undo.
	Steps() Steps
}

// Prerequisites is implemented by a regional control that needs an
// account-wide resource before any region is applied (the Config
// service-linked role). The engine runs it once per apply, in the home
// region, before the control's first regional Apply, journaled under the
// control and the home region, so that regions never race to create it.
// It reads first and writes only what is missing; its steps are in Steps
// (their undo usually AfterAllRegions).
//
// A control may also use it for a long part of its work that needs none of
// the controls it depends on (cloudtrail-alarms' log group and its filters,
// which CloudWatch Logs takes one at a time): the engine starts it at the
// start of apply, at once with those controls, instead of after them. Apply
// must still do the whole job when Prerequisites did not run.
type Prerequisites interface {
	Prerequisites(ctx context.Context, env *Env, t Target, j Journal) error
}

// DecodePrior decodes a step's prior state into v.
func DecodePrior(s Step, v any) error {
	if len(s.Prior) == 0 {
		return fmt.Errorf("journal step %s has no prior state", s.Kind)
	}
	if err := json.Unmarshal(s.Prior, v); err != nil {
		return fmt.Errorf("journal step %s: decode prior state: %w", s.Kind, err)
	}
	return nil
}

// DecodeAfter decodes a step's after state into v and reports whether the
// journal holds one (journals of format 1 do not).
func DecodeAfter(s Step, v any) (bool, error) {
	if len(s.After) == 0 || string(s.After) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(s.After, v); err != nil {
		return false, fmt.Errorf("journal step %s: decode after state: %w", s.Kind, err)
	}
	return true, nil
}

// DecodeResult decodes a step's result into v and reports whether the
// journal holds one.
func DecodeResult(s Step, v any) (bool, error) {
	if len(s.Result) == 0 || string(s.Result) == "null" {
		return false, nil
	}
	if err := json.Unmarshal(s.Result, v); err != nil {
		return false, fmt.Errorf("journal step %s: decode result: %w", s.Kind, err)
	}
	return true, nil
}

// ArchiveWriter is a control whose AWS service delivers logs to the log
// archive (the log-archive control's bucket, encrypted with its KMS key).
// The log archive's bucket and key policies grant exactly what the
// registered archive writers declare, so that each writer can deliver
// whichever controls a run selects.
type ArchiveWriter interface {
	// ArchiveGrants returns the statements the control's service needs in
	// the archive's policies for target t (t.HomeRegion is the archive's
	// region). Their Sids never change: the log archive merges its
	// statements into an existing bucket policy by Sid.
	ArchiveGrants(t Target) []ArchiveGrant
}

// ArchivePolicy names the archive policy a grant goes in.
type ArchivePolicy string

const (
	// BucketPolicy is the log-archive bucket's policy.
	BucketPolicy ArchivePolicy = "bucket"
	// KeyPolicy is the log-archive KMS key's policy.
	KeyPolicy ArchivePolicy = "key"
)

// ArchiveGrant is one Allow statement for an AWS service principal in the
// log archive's bucket or key policy.
type ArchiveGrant struct {
	Sid    string
	Policy ArchivePolicy
	// Service is the service principal ("delivery.logs.amazonaws.com").
	Service string
	Actions []string
	// Objects are the object keys the statement covers, as patterns under
	// the bucket ("AWSLogs/123456789012/CloudTrail/*"); none means the
	// bucket itself in a bucket policy, and "*" (the key) in a key policy.
	Objects []string
	// Condition is the statement's condition block: operator, then key,
	// then value.
	Condition map[string]map[string]string
}
