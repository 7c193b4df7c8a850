package controls

import (
	"context"
	"fmt"
	"strings"

	"github.com/harden-dev/harden/internal/control"
)

// setting is one field of a configuration that a single write replaces
// whole (the password policy, Block Public Access, EBS encryption by
// default), as words a person reads: {"MinimumPasswordLength", "14"}.
// Every state of such a configuration lists the same names in the same
// order; an absent configuration lists every field as "unset".
type setting struct{ Name, Value string }

// settingChange is one field that differs between two states.
type settingChange struct{ Name, From, To string }

// changedSettings lists the fields whose value differs from from to to,
// in from's order; a field only one side lists counts as "unset" on the
// other.
func changedSettings(from, to []setting) []settingChange {
	toValue := map[string]string{}
	for _, s := range to {
		toValue[s.Name] = s.Value
	}
	var out []settingChange
	seen := map[string]bool{}
	for _, s := range from {
		seen[s.Name] = true
		v, ok := toValue[s.Name]
		if !ok {
			v = "unset"
		}
		if v != s.Value {
			out = append(out, settingChange{Name: s.Name, From: s.Value, To: v})
		}
	}
	for _, s := range to {
		if !seen[s.Name] && s.Value != "unset" {
			out = append(out, settingChange{Name: s.Name, From: "unset", To: s.Value})
		}
	}
	return out
}

// settingsVerdict decides the undo of a write that replaced a whole
// configuration: still what harden left → Restore; already what was there
// before → Already; anything else → Drifted, with the fields that differ
// from what harden left.
func settingsVerdict(current, after, prior []setting) (control.Verdict, []settingChange) {
	if len(changedSettings(after, current)) == 0 {
		return control.Restore, nil
	}
	if len(changedSettings(prior, current)) == 0 {
		return control.Already, nil
	}
	return control.Drifted, changedSettings(after, current)
}

// driftText says what changed since harden's write, one field after the
// other: "MinimumPasswordLength: harden set 14, now 20".
func driftText(changes []settingChange) string {
	parts := make([]string, len(changes))
	for i, c := range changes {
		parts[i] = fmt.Sprintf("%s: harden set %s, now %s", c.Name, c.From, c.To)
	}
	return strings.Join(parts, "; ")
}

// restoreText says what a restore changes: "MinimumPasswordLength 14 → 8".
func restoreText(changes []settingChange) string {
	parts := make([]string, len(changes))
	for i, c := range changes {
		parts[i] = fmt.Sprintf("%s %s → %s", c.Name, c.From, c.To)
	}
	return strings.Join(parts, ", ")
}

// settingsUndo is the undo of a write that replaced the configuration
// named by subject ("the account password policy"): putBack writes prior
// again, for a restore and for a forced drift.
func settingsUndo(subject string, current, after, prior []setting, putBack func(context.Context) error) control.Undo {
	verdict, drift := settingsVerdict(current, after, prior)
	switch verdict {
	case control.Restore:
		if allUnset(prior) {
			return control.Restored(fmt.Sprintf("remove %s (there was none before harden)", subject), putBack)
		}
		return control.Restored(fmt.Sprintf("restore %s (%s)", subject, restoreText(changedSettings(after, prior))), putBack)
	case control.Already:
		return control.Nothing("%s is already as it was before harden's change", subject)
	}
	return control.Drift(putBack, "%s", driftText(drift))
}

// allUnset reports whether settings describe an absent configuration.
func allUnset(settings []setting) bool {
	for _, s := range settings {
		if s.Value != "unset" {
			return false
		}
	}
	return true
}
