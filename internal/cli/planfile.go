package cli

import (
	"fmt"
	"strings"
	"time"

	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/planfile"
	"github.com/harden-dev/harden/internal/version"
)

// savePlan writes plan's results to path (plan -out). A plan with a target
// that errored or was not verified is not saved: apply could not compare
// that target.
func (g *globals) savePlan(s *session, results []engine.Result, path string) error {
	if why := planfile.Unsaveable(results); why != "" {
		return &exitError{code: ExitError, err: fmt.Errorf("the plan was not saved to %s: %s", path, why)}
	}
	cfg, err := g.loadConfig()
	if err != nil {
		return err
	}
	f, err := planfile.New(version.String(), g.now().UTC().Format(time.RFC3339), s.AccountID, s.HomeRegion,
		s.Regions, s.Controls, cfg.Settings, results)
	if err != nil {
		return err
	}
	return planfile.Write(path, f)
}

// usePlan makes the run's options the plan file's: its controls, regions,
// home region and settings. Flags that choose them are refused with a
// plan file: the file decides.
func (g *globals) usePlan(f planfile.File) error {
	for _, name := range []string{"controls", "skip", "regions", "all-regions", "exclude-regions", "region", "log-bucket", "log-retention-days"} {
		if g.flags.Changed(name) {
			return usagef("--%s cannot be used with a plan file: the plan fixes the controls, regions and settings", name)
		}
	}
	g.only = f.Controls
	g.skip = nil
	g.regions = f.Regions
	g.region = f.HomeRegion
	g.exclude = nil
	cfg, err := g.loadConfig()
	if err != nil {
		return err
	}
	cfg.Exclude, cfg.Include = nil, nil
	// Controls the file's configuration disabled are the plan's to decide.
	for _, id := range f.Controls {
		cfg.Enabled[id] = true
	}
	if err := f.ApplySettings(cfg.Settings); err != nil {
		return &exitError{code: ExitError, err: err}
	}
	return nil
}

// checkPlan refuses a plan made for another account or by another harden,
// or that the account no longer matches.
func checkPlan(f planfile.File, path string, s *session, now []engine.Result) error {
	switch {
	case f.AccountID != s.AccountID:
		return &exitError{code: ExitError, err: fmt.Errorf("plan file %s is for account %s, not %s: nothing was changed", path, f.AccountID, s.AccountID)}
	case f.Harden != version.String():
		return &exitError{code: ExitError, err: fmt.Errorf("plan file %s was made by harden %s, this is %s: make the plan again with this version; nothing was changed", path, f.Harden, version.String())}
	}
	if stale := f.Stale(now); len(stale) > 0 {
		return &exitError{code: ExitError, err: fmt.Errorf("%w: %d target(s) changed since %s was made, nothing was changed: %s; run 'harden plan -out %s' again and review it",
			planfile.ErrStale, len(stale), path, strings.Join(stale, "; "), path)}
	}
	return nil
}
