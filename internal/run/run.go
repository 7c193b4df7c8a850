// Package run is harden's account layer: from the user's options to a
// connected Session (clients, who is calling, which account, which regions
// and controls), and from a Session to plan and apply results. It returns
// data; the cli package turns it into output and exit codes.
package run

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/harden-dev/harden/internal/awsclient"
	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/config"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/controls"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/parallel"
	"github.com/harden-dev/harden/internal/regions"
	"github.com/harden-dev/harden/internal/validate"
)

// Options are what the user asked for.
type Options struct {
	// Profile is the AWS shared config profile; "" means the default chain.
	Profile string
	// HomeRegion is where account-wide controls run; "" means the AWS
	// configuration's region, else us-east-1.
	HomeRegion string
	// Regions to cover; empty means every region enabled for the account.
	Regions []string
	// Controls to run (empty: all) and to Skip, by id.
	Controls, Skip []string
	// EndpointURL, when set, receives every AWS call.
	EndpointURL string
	// Concurrency is how many targets run at once; 0 means 64.
	Concurrency int
	// Timeouts bound every AWS call; zero fields take the defaults.
	Timeouts awsclient.Timeouts
	// ControlSettings are each configurable control's settings by id.
	ControlSettings map[string]control.ControlSettings
	// ExcludeRegions are never covered, even when enabled.
	ExcludeRegions []string
	// Exceptions accept findings; nil means none.
	Exceptions *config.Config
	// Now is the time exceptions expire against; zero means time.Now().
	Now time.Time
	// AccountOnly connects without discovering regions (Session.Regions
	// stays empty), for commands that need only the account.
	AccountOnly bool
}

// InputError is an error in what the user asked for (an unknown control,
// a region that does not exist or is not enabled, nothing left to check).
// Harden exits 64 on it.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

func inputf(format string, args ...any) error {
	return &InputError{fmt.Errorf(format, args...)}
}

// Check validates the options that need no AWS call.
func (o Options) Check() error {
	if o.HomeRegion != "" {
		if err := validate.RegionName(o.HomeRegion); err != nil {
			return &InputError{fmt.Errorf("--region: %w", err)}
		}
	}
	for _, r := range o.Regions {
		if err := validate.RegionName(r); err != nil {
			return &InputError{fmt.Errorf("--regions: %w", err)}
		}
	}
	for _, r := range o.ExcludeRegions {
		if err := validate.RegionName(r); err != nil {
			return &InputError{fmt.Errorf("--exclude-regions: %w", err)}
		}
	}
	_, err := SelectControls(o.Controls, o.Skip)
	return err
}

// SelectControls returns the controls only and skip select, in dependency
// order. An unknown id is an *InputError naming the nearest known id; a
// selection that leaves no control is one too.
func SelectControls(only, skip []string) ([]control.Control, error) {
	all := controls.All()
	ids := make([]string, len(all))
	for i, c := range all {
		ids[i] = c.Info().ID
	}
	for _, l := range []struct {
		flag string
		ids  []string
	}{{"--controls", only}, {"--skip", skip}} {
		for _, id := range l.ids {
			if contains(ids, id) {
				continue
			}
			msg := fmt.Sprintf("%s: unknown control %q", l.flag, id)
			if near := validate.Nearest(id, ids); near != "" {
				msg += fmt.Sprintf(": did you mean %s?", near)
			}
			return nil, inputf("%s (run 'harden controls' for the list)", msg)
		}
	}
	sel, err := controls.Select(all, only, skip)
	if err != nil {
		return nil, &InputError{err}
	}
	if len(sel) == 0 {
		return nil, inputf("--controls and --skip leave no control to run: nothing would be checked")
	}
	return engine.Order(sel)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Session is a connection to one account, ready to plan and apply.
type Session struct {
	// Clients are the account's AWS clients.
	Clients *awsclient.Clients
	// AccountID is the account the credentials belong to.
	AccountID string
	// CallerARN is who is calling (sts:GetCallerIdentity's Arn).
	CallerARN string
	// AccountAlias is the account's IAM alias; "" when it has none or it
	// could not be read.
	AccountAlias string
	// HomeRegion is where account-wide controls run.
	HomeRegion string
	// Regions are the regions the run covers (Enabled) and those left out
	// (Skipped); empty with Options.AccountOnly.
	Regions regions.Set
	// Controls are the selected controls, in dependency order.
	Controls []control.Control
	// Env is what the controls use: clients and settings.
	Env *control.Env
	// Concurrency is how many targets run at once.
	Concurrency int
	// CallTimeout is each AWS call's overall deadline.
	CallTimeout time.Duration
	// Exceptions accept findings (nil: none); Now is when they are judged.
	Exceptions *config.Config
	Now        time.Time
	// Progress, when set, hears how many targets are done (see
	// engine.Run.Progress).
	Progress engine.ProgressFunc
	// Activity, when set, hears what an apply has in flight (see
	// engine.Run.Activity).
	Activity control.Monitor
}

// Connect validates opts, loads credentials, asks AWS who is calling and,
// unless opts.AccountOnly, which regions the account has enabled. Errors
// in the user's input are *InputError.
func Connect(ctx context.Context, opts Options) (*Session, error) {
	if err := opts.Check(); err != nil {
		return nil, err
	}
	sel, err := SelectControls(opts.Controls, opts.Skip)
	if err != nil {
		return nil, err
	}
	clients, err := awsclient.Load(ctx, awsclient.Options{Profile: opts.Profile, Region: opts.HomeRegion,
		EndpointURL: opts.EndpointURL, Timeouts: opts.Timeouts})
	if err != nil {
		return nil, err
	}
	home := clients.HomeRegion()
	if err := validate.RegionName(home); err != nil {
		return nil, &InputError{fmt.Errorf("home region from the AWS configuration: %w (choose one with --region)", err)}
	}
	// Who is calling, which regions are enabled and the account's alias
	// need nothing of each other: one round trip for the three.
	var id awsclient.Identity
	var idErr, regionsErr error
	var enabled regions.Set
	var alias string
	_ = parallel.Do(ctx,
		func(ctx context.Context) error { id, idErr = clients.CallerIdentity(ctx, home); return nil },
		func(ctx context.Context) error {
			if !opts.AccountOnly {
				enabled, regionsErr = regions.Discover(ctx, clients.EC2(home), home, opts.Regions)
			}
			return nil
		},
		// Only for showing: an identity that may not list aliases can
		// still harden the account.
		func(ctx context.Context) error { alias, _ = clients.AccountAlias(ctx); return nil })
	if idErr != nil {
		return nil, whyNoIdentity(ctx, clients, home, idErr)
	}
	timeouts := opts.Timeouts
	if timeouts.Call <= 0 {
		timeouts.Call = awsclient.DefaultTimeouts.Call
	}
	s := &Session{
		Clients:     clients,
		AccountID:   id.Account,
		CallerARN:   id.ARN,
		HomeRegion:  home,
		Controls:    sel,
		Env:         &control.Env{AWS: clients, ControlSettings: opts.ControlSettings},
		Concurrency: opts.Concurrency,
		CallTimeout: timeouts.Call,
		Exceptions:  opts.Exceptions,
		Now:         opts.Now,
	}
	if s.Now.IsZero() {
		s.Now = time.Now()
	}
	if !opts.AccountOnly {
		if err := s.selectRegions(enabled, regionsErr, opts.ExcludeRegions); err != nil {
			return nil, err
		}
	}
	s.AccountAlias = alias
	return s, nil
}

// whyNoIdentity explains a failed GetCallerIdentity in the home region. AWS
// answers "invalid token" both for bad credentials and in a region the
// account has not enabled: asking again in the partition's default region
// tells the two apart.
func whyNoIdentity(ctx context.Context, clients *awsclient.Clients, home string, err error) error {
	hint := fmt.Errorf("%w (check the credentials and network access to AWS)", err)
	if !awserror.IsCredentialsRejected(err) || ctx.Err() != nil {
		return hint
	}
	probe := partitionDefaultRegion(home)
	if probe == home {
		return hint
	}
	if _, perr := clients.CallerIdentity(ctx, probe); perr != nil {
		return hint
	}
	set, derr := regions.Discover(ctx, clients.EC2(probe), probe, nil)
	if derr != nil {
		return hint
	}
	if _, known := set.OptIn[home]; !known {
		return &InputError{&regions.UnknownRegionError{Region: home}}
	}
	if !set.IsEnabled(home) {
		return notEnabledHome(home, set.OptIn[home])
	}
	return hint
}

func notEnabledHome(home, status string) error {
	return inputf("home region %s is not enabled for this account (opt-in status %s): enable it with "+
		"'aws account enable-region --region-name %s', or choose another home region with --region", home, status, home)
}

// partitionDefaultRegion is a region every account of home's partition has.
func partitionDefaultRegion(home string) string {
	switch {
	case strings.HasPrefix(home, "us-gov-"):
		return "us-gov-west-1"
	case strings.HasPrefix(home, "cn-"):
		return "cn-north-1"
	case strings.HasPrefix(home, "us-iso"), strings.HasPrefix(home, "eu-iso"):
		return home
	}
	return "us-east-1"
}

// selectRegions takes the regions to cover from what region discovery
// found (set, err) and refuses a run that would check nothing.
func (s *Session) selectRegions(set regions.Set, err error, exclude []string) error {
	var unknown *regions.UnknownRegionError
	if errors.As(err, &unknown) {
		return &InputError{err}
	}
	if err != nil {
		return err
	}
	for _, r := range exclude {
		if _, known := set.OptIn[r]; !known {
			return &InputError{fmt.Errorf("excluded region: %w", &regions.UnknownRegionError{Region: r})}
		}
	}
	set = set.Exclude(exclude)
	s.Regions = set
	if _, known := set.OptIn[s.HomeRegion]; !known {
		return &InputError{&regions.UnknownRegionError{Region: s.HomeRegion}}
	}
	if !set.IsEnabled(s.HomeRegion) {
		return notEnabledHome(s.HomeRegion, set.OptIn[s.HomeRegion])
	}
	if s.Targets() == 0 {
		names := make([]string, len(set.Skipped))
		for i, sk := range set.Skipped {
			names[i] = sk.Region
		}
		sort.Strings(names)
		return inputf("nothing to check: --regions names only regions not enabled for account %s (%s); enable one with "+
			"'aws account enable-region --region-name %s', or name enabled regions", s.AccountID, strings.Join(names, ", "), firstOr(names, "REGION"))
	}
	return nil
}

func firstOr(list []string, def string) string {
	if len(list) > 0 {
		return list[0]
	}
	return def
}

// Targets is the number of control-region targets the session checks.
func (s *Session) Targets() int {
	n := 0
	for _, c := range s.Controls {
		if c.Info().Scope == control.Account {
			n++
		} else {
			n += len(s.Regions.Enabled)
		}
	}
	return n
}

// Engine is the engine run over the session's controls and regions.
func (s *Session) Engine() *engine.Run {
	return &engine.Run{
		Controls:    s.Controls,
		Env:         s.Env,
		AccountID:   s.AccountID,
		HomeRegion:  s.HomeRegion,
		Regions:     s.Regions.Enabled,
		Concurrency: s.Concurrency,
		CallTimeout: s.CallTimeout,
		Progress:    s.Progress,
		Activity:    s.Activity,
		Excepted:    s.excepted,
	}
}

// excepted lists the resources the exceptions of a control and region
// name (see control.Target.Excepts).
func (s *Session) excepted(controlID, region string) []string {
	if s.Exceptions == nil {
		return nil
	}
	return s.Exceptions.ExceptedResources(controlID, region, s.Now)
}

// Plan checks every target; it makes no change. A finding an exception
// accepts is Accepted; one whose exception expired stays a finding and
// says so.
func (s *Session) Plan(ctx context.Context) []engine.Result {
	return s.accept(s.Engine().Check(ctx))
}

// accept applies the exceptions to the findings of results.
func (s *Session) accept(results []engine.Result) []engine.Result {
	if s.Exceptions == nil {
		return results
	}
	for i := range results {
		r := &results[i]
		s.fillExcepted(r)
		if r.Status == engine.Accepted && r.Accepted == nil && len(r.Excepted) > 0 {
			// Every non-compliant resource is one an exception names.
			r.Accepted = r.Excepted[0].By
			continue
		}
		if r.Status != engine.NonCompliant && r.Status != engine.Unmanaged {
			continue
		}
		m := s.Exceptions.Match(r.Control.ID, r.Region, r.Resources, s.Now)
		if m.Accepted != nil {
			r.Status, r.Accepted = engine.Accepted, acceptance(s.Exceptions.Path, m.Accepted)
			continue
		}
		if m.Expired != nil {
			r.Expired = acceptance(s.Exceptions.Path, m.Expired)
		}
		s.keepIgnoredExceptions(r)
	}
	return results
}

// fillExcepted names the exception of each of r's excepted resources.
func (s *Session) fillExcepted(r *engine.Result) {
	for j := range r.Excepted {
		if r.Excepted[j].By != nil {
			continue
		}
		if e := s.Exceptions.ResourceException(r.Control.ID, r.Region, r.Excepted[j].ID, s.Now); e != nil {
			r.Excepted[j].By = acceptance(s.Exceptions.Path, e)
		}
	}
}

// keepIgnoredExceptions leaves as it is a target whose control still
// reports, among the resources it would change, one an exception names:
// the control does not read control.Target.Excepted, and its Apply could
// change the excepted resource with the others.
func (s *Session) keepIgnoredExceptions(r *engine.Result) {
	if r.Status != engine.NonCompliant {
		return
	}
	named := s.excepted(r.Control.ID, r.Region)
	var hit []string
	for _, id := range r.Resources {
		if contains(named, id) {
			hit = append(hit, id)
		}
	}
	if len(hit) == 0 {
		return
	}
	r.Status, r.Action, r.Destroys = engine.Unmanaged, control.ActionNone, nil
	r.Reason = fmt.Sprintf("kept as it is: an exception names %s, but %s cannot leave one of a region's resources out "+
		"(name all of %s in the exception to accept the target)", strings.Join(hit, ", "), r.Control.ID, strings.Join(r.Resources, ", "))
}

func acceptance(path string, e *config.Exception) *engine.Acceptance {
	return &engine.Acceptance{Reason: e.Reason, Owner: e.Owner, Expires: e.Expires, Source: e.Where(path)}
}

// StaleExceptions are the exceptions that accept nothing in results
// although the run covered their control and regions: they match no
// finding (the finding is fixed, or the exception is wrong).
func (s *Session) StaleExceptions(results []engine.Result) []engine.Acceptance {
	if s.Exceptions == nil {
		return nil
	}
	var out []engine.Acceptance
	for i := range s.Exceptions.Exceptions {
		e := &s.Exceptions.Exceptions[i]
		covered, used := false, false
		for _, r := range results {
			if r.Control.ID != e.Control || !inList(e.Regions, r.Region) {
				continue
			}
			covered = true
			where := e.Where(s.Exceptions.Path)
			if (r.Accepted != nil && r.Accepted.Source == where) || (r.Expired != nil && r.Expired.Source == where) {
				used = true
			}
			for _, x := range r.Excepted {
				if x.By != nil && x.By.Source == where {
					used = true
				}
			}
		}
		if covered && !used {
			out = append(out, *acceptance(s.Exceptions.Path, e))
		}
	}
	return out
}

func inList(list []string, s string) bool { return len(list) == 0 || contains(list, s) }

// Apply makes the changes plan lists, journaling each write through
// journal, and checks each changed target again. A target plan marks
// Withheld is left as it is.
func (s *Session) Apply(ctx context.Context, plan []engine.Result, journal engine.JournalFor) []engine.Result {
	results := s.Engine().Apply(ctx, plan, journal)
	if s.Exceptions != nil {
		for i := range results {
			r := &results[i]
			s.fillExcepted(r)
			if r.Status == engine.Accepted && r.Accepted == nil && len(r.Excepted) > 0 {
				r.Accepted = r.Excepted[0].By
			}
		}
	}
	return results
}

// Counts are what a plan would change, for the confirmation prompts.
type Counts struct {
	// Create, Update, Delete and Adopt count the changes that are not
	// destructive, by kind. Adopt counts existing resources harden takes
	// over (see control.ActionAdopt).
	Create, Update, Delete, Adopt int
	// Destructive counts the changes that delete or turn off something
	// that exists (engine.Result.Destructive): apply asks for them
	// apart.
	Destructive int
	// DestructiveControls names the controls of those changes.
	DestructiveControls []string
	// Losses are what they delete or turn off, one per resource.
	Losses []control.Loss
}

// Total is the number of changes.
func (c Counts) Total() int { return c.NotDestructive() + c.Destructive }

// NotDestructive is the number of changes that are not destructive.
func (c Counts) NotDestructive() int { return c.Create + c.Update + c.Delete + c.Adopt }

// Count counts plan's pending changes by kind; a withheld target is not
// pending.
func Count(plan []engine.Result) Counts {
	var c Counts
	seen := map[string]bool{}
	for _, r := range plan {
		if r.Status != engine.NonCompliant || r.Withheld {
			continue
		}
		if r.Destructive() {
			c.Destructive++
			c.Losses = append(c.Losses, r.Destroys...)
			if !seen[r.Control.ID] {
				seen[r.Control.ID] = true
				c.DestructiveControls = append(c.DestructiveControls, r.Control.ID)
			}
			continue
		}
		switch r.Action {
		case control.ActionCreate:
			c.Create++
		case control.ActionDelete:
			c.Delete++
		case control.ActionAdopt:
			c.Adopt++
		default:
			c.Update++
		}
	}
	return c
}

// Withhold returns plan with its destructive changes withheld: apply
// leaves them as they are, and reason says why.
func Withhold(plan []engine.Result, reason string) []engine.Result {
	out := append([]engine.Result(nil), plan...)
	for i := range out {
		if out[i].Destructive() {
			out[i].Withheld, out[i].Reason = true, reason
		}
	}
	return out
}
