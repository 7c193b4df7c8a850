// Package planfile is harden's saved plan (`harden plan -out FILE`): what
// plan saw in every target and what apply would change, so that `harden
// apply FILE` applies exactly the reviewed plan, and refuses when the
// account no longer matches it (a stale plan), as Terraform does.
package planfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/regions"
)

// Schema identifies the plan file format.
const Schema = "harden.plan/v1"

// File is a saved plan.
type File struct {
	Schema string `json:"schema"`
	// Harden is the version that made the plan; apply refuses a plan made
	// by another version.
	Harden         string         `json:"harden"`
	Created        string         `json:"created"`
	AccountID      string         `json:"account_id"`
	HomeRegion     string         `json:"home_region"`
	Regions        []string       `json:"regions"`
	SkippedRegions []regions.Skip `json:"skipped_regions"`
	// Controls are the controls planned, in run order.
	Controls []string `json:"controls"`
	// Settings are the controls' settings the plan was made with, as
	// JSON of each control's settings type.
	Settings map[string]json.RawMessage `json:"settings"`
	// Targets are every target's state as plan saw it: for one that
	// apply changes, Changes say current and desired.
	Targets []Target `json:"targets"`
}

// Target is one target as the plan saw it.
type Target struct {
	Control   string           `json:"control"`
	Region    string           `json:"region"`
	Status    string           `json:"status"`
	Action    string           `json:"action,omitempty"`
	Changes   []control.Change `json:"changes,omitempty"`
	Note      string           `json:"note,omitempty"`
	Resources []string         `json:"resources,omitempty"`
}

func (t Target) key() string { return t.Control + " in " + t.Region }

// New makes the plan file of results.
func New(harden, created, account, home string, set regions.Set, ctls []control.Control,
	settings map[string]control.ControlSettings, results []engine.Result) (File, error) {
	f := File{
		Schema: Schema, Harden: harden, Created: created, AccountID: account, HomeRegion: home,
		Regions: append([]string{}, set.Enabled...), SkippedRegions: append([]regions.Skip{}, set.Skipped...),
		Settings: map[string]json.RawMessage{},
	}
	for _, c := range ctls {
		id := c.Info().ID
		f.Controls = append(f.Controls, id)
		if s, ok := settings[id]; ok && s != nil {
			b, err := json.Marshal(s)
			if err != nil {
				return File{}, fmt.Errorf("plan file: settings of %s: %w", id, err)
			}
			f.Settings[id] = b
		}
	}
	for _, r := range results {
		f.Targets = append(f.Targets, target(r))
	}
	return f, nil
}

func target(r engine.Result) Target {
	return Target{Control: r.Control.ID, Region: r.Region, Status: string(r.Status), Action: string(r.Action),
		Changes: r.Changes, Note: r.Note, Resources: r.Resources}
}

// Unsaveable says why results cannot be saved as a plan (a target errored
// or was not verified), or "" when they can.
func Unsaveable(results []engine.Result) string {
	var bad []string
	for _, r := range results {
		if r.Status == engine.Error || (r.Status == engine.NotChecked && !r.NotChecked.Expected()) {
			bad = append(bad, r.Control.ID+" in "+r.Region)
		}
	}
	if len(bad) == 0 {
		return ""
	}
	return fmt.Sprintf("%d target(s) errored or were not checked (%s): a plan file must show every target", len(bad), strings.Join(bad, ", "))
}

// Write writes f to path, whole or not at all.
func Write(path string, f File) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(f); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write plan file: %w", err)
	}
	_, werr := tmp.Write(b.Bytes())
	if cerr := tmp.Close(); werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write plan file %s: %w", path, werr)
	}
	return nil
}

// Read reads and checks a plan file.
func Read(path string) (File, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return File{}, fmt.Errorf("read plan file: %w", err)
	}
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return File{}, fmt.Errorf("plan file %s is not a harden plan: %w", path, err)
	}
	switch {
	case f.Schema != Schema:
		return File{}, fmt.Errorf("plan file %s has schema %q, want %q", path, f.Schema, Schema)
	case f.AccountID == "" || f.HomeRegion == "" || len(f.Controls) == 0 || len(f.Regions) == 0:
		return File{}, fmt.Errorf("plan file %s lacks its account, home region, regions or controls", path)
	}
	return f, nil
}

// ApplySettings sets each control's settings in settings to the plan's.
func (f File) ApplySettings(settings map[string]control.ControlSettings) error {
	ids := make([]string, 0, len(f.Settings))
	for id := range f.Settings {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		s, ok := settings[id]
		if !ok {
			return fmt.Errorf("plan file: control %s has no settings in this harden", id)
		}
		if err := json.Unmarshal(f.Settings[id], s); err != nil {
			return fmt.Errorf("plan file: settings of %s: %w", id, err)
		}
		if err := s.Validate(); err != nil {
			return fmt.Errorf("plan file: settings of %s: %w", id, err)
		}
	}
	return nil
}

// ErrStale is the error of a plan the account no longer matches.
var ErrStale = errors.New("stale plan")

// Stale compares what plan saw with what a new check sees and names every
// target that differs: its status, its action, a change (current or
// desired), or a target only one of them has.
func (f File) Stale(now []engine.Result) []string {
	cur := map[string]Target{}
	for _, r := range now {
		t := target(r)
		cur[t.key()] = t
	}
	var out []string
	seen := map[string]bool{}
	for _, p := range f.Targets {
		seen[p.key()] = true
		c, ok := cur[p.key()]
		switch {
		case !ok:
			out = append(out, p.key()+": planned, no longer checked")
		case c.Status != p.Status:
			out = append(out, fmt.Sprintf("%s: was %s, now %s", p.key(), p.Status, c.Status))
		case c.Action != p.Action || !sameChanges(c.Changes, p.Changes):
			out = append(out, fmt.Sprintf("%s: was %s, now %s", p.key(), describe(p), describe(c)))
		}
	}
	for _, r := range now {
		if t := target(r); !seen[t.key()] {
			out = append(out, t.key()+": not in the plan")
		}
	}
	return out
}

func sameChanges(a, b []control.Change) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func describe(t Target) string {
	parts := make([]string, len(t.Changes))
	for i, c := range t.Changes {
		parts[i] = c.Field + ": " + c.Current + " -> " + c.Desired
	}
	s := t.Action
	if len(parts) > 0 {
		s += " (" + strings.Join(parts, "; ") + ")"
	}
	if s == "" {
		s = t.Status
	}
	return s
}
