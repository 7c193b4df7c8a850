// Package control defines what a harden control is: its metadata, the
// read-only Check, the journaled Apply and the Rollback that undoes one
// journaled write. Controls themselves live in package controls; the engine
// runs them.
package control

import (
	"context"
	"encoding/json"
	"fmt"

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
	// ReadActions are the IAM actions Check needs; WriteActions the extra
	// ones Apply and Rollback need.
	ReadActions  []string
	WriteActions []string
}

// Target is one place a control runs.
type Target struct {
	AccountID  string
	Region     string
	HomeRegion string
}

// Env is what a control may use: the AWS clients and the run's settings.
type Env struct {
	AWS      *awsclient.Clients
	Settings Settings
}

// Settings are the user's choices that controls read.
type Settings struct {
	// LogBucket names the log-archive bucket; empty means
	// harden-logs-<account-id>-<home-region>.
	LogBucket string
	// LogRetentionDays is how long log objects are kept; 0 means 365.
	LogRetentionDays int
}

// RetainedError is what Rollback returns for something it keeps on purpose
// (a bucket holding logs, a KMS key that encrypted them): the step counts
// as handled, and the reason is shown to the user.
type RetainedError struct{ Reason string }

func (e *RetainedError) Error() string { return "kept: " + e.Reason }

// Retain returns a RetainedError.
func Retain(format string, args ...any) error {
	return &RetainedError{Reason: fmt.Sprintf(format, args...)}
}

// Action is the kind of change a non-compliant target needs.
type Action string

const (
	ActionNone   Action = ""
	ActionCreate Action = "create"
	ActionUpdate Action = "update"
	ActionDelete Action = "delete"
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
}

// Step is one write to AWS, as the journal keeps it.
type Step struct {
	// Action names the write, usually the AWS operation.
	Action string
	// Prior is the state before the write, enough to undo it.
	Prior json.RawMessage
	// Result is what the write returned (e.g. a created resource's id);
	// empty if it is not known to have completed.
	Result json.RawMessage
	// Done is true when AWS confirmed the write; false when it may or may
	// not have happened (interrupted, network error): Rollback must then
	// look before it acts.
	Done bool
}

// Journal records each write before it is made.
type Journal interface {
	// Write journals step (its Prior), runs write, then journals the
	// outcome and the result write returns. It does not run write when the
	// intent cannot be journaled or ctx is done.
	Write(ctx context.Context, action string, prior any, write func(context.Context) (result any, err error)) error
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
	// Rollback undoes one journaled step, restoring its Prior state. It is
	// idempotent: undoing a step twice, or a step that never happened, is
	// harmless.
	Rollback(ctx context.Context, env *Env, t Target, s Step) error
}

// DecodePrior decodes a step's prior state into v.
func DecodePrior(s Step, v any) error {
	if len(s.Prior) == 0 {
		return fmt.Errorf("journal step %s has no prior state", s.Action)
	}
	if err := json.Unmarshal(s.Prior, v); err != nil {
		return fmt.Errorf("journal step %s: decode prior state: %w", s.Action, err)
	}
	return nil
}
