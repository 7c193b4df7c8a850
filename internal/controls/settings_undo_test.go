package controls

import (
	"context"
	"reflect"
	"testing"

	"github.com/harden-dev/harden/internal/control"
)

func TestSettingsVerdict(t *testing.T) {
	prior := []setting{{"MinimumPasswordLength", "8"}, {"RequireSymbols", "false"}}
	after := []setting{{"MinimumPasswordLength", "14"}, {"RequireSymbols", "true"}}
	for _, tc := range []struct {
		name    string
		current []setting
		want    control.Verdict
		changes []settingChange
	}{
		{"still what harden set", after, control.Restore, nil},
		{"prior already back", prior, control.Already, nil},
		{"one field raised", []setting{{"MinimumPasswordLength", "20"}, {"RequireSymbols", "true"}},
			control.Drifted, []settingChange{{"MinimumPasswordLength", "14", "20"}}},
		{"every field differs from both", []setting{{"MinimumPasswordLength", "20"}, {"RequireSymbols", "false"}},
			control.Drifted, []settingChange{{"MinimumPasswordLength", "14", "20"}, {"RequireSymbols", "true", "false"}}},
		{"configuration gone", []setting{{"MinimumPasswordLength", "unset"}, {"RequireSymbols", "unset"}},
			control.Drifted, []settingChange{{"MinimumPasswordLength", "14", "unset"}, {"RequireSymbols", "true", "unset"}}},
		{"a field missing counts as unset", []setting{{"MinimumPasswordLength", "14"}},
			control.Drifted, []settingChange{{"RequireSymbols", "true", "unset"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, changes := settingsVerdict(tc.current, after, prior)
			if got != tc.want || !reflect.DeepEqual(changes, tc.changes) {
				t.Fatalf("settingsVerdict = %s %+v, want %s %+v", got, changes, tc.want, tc.changes)
			}
		})
	}
}

func TestSettingsUndoWords(t *testing.T) {
	prior := []setting{{"MinimumPasswordLength", "8"}, {"RequireSymbols", "true"}}
	none := []setting{{"MinimumPasswordLength", "unset"}, {"RequireSymbols", "unset"}}
	after := []setting{{"MinimumPasswordLength", "14"}, {"RequireSymbols", "true"}}
	putBack := func(context.Context) error { return nil }
	for _, tc := range []struct {
		name           string
		prior, current []setting
		verdict        control.Verdict
		what           string
		do             bool
	}{
		{"restore", prior, after, control.Restore, "restore the policy (MinimumPasswordLength 14 → 8)", true},
		{"remove", none, after, control.Restore, "remove the policy (there was none before harden)", true},
		{"already", prior, prior, control.Already, "the policy is already as it was before harden's change", false},
		{"drift", prior, []setting{{"MinimumPasswordLength", "20"}, {"RequireSymbols", "false"}}, control.Drifted,
			"MinimumPasswordLength: harden set 14, now 20; RequireSymbols: harden set true, now false", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := settingsUndo("the policy", tc.current, after, tc.prior, putBack)
			if u.Verdict != tc.verdict || u.What != tc.what || (u.Do != nil) != tc.do {
				t.Fatalf("got %s %q do=%v, want %s %q do=%v", u.Verdict, u.What, u.Do != nil, tc.verdict, tc.what, tc.do)
			}
		})
	}
}
