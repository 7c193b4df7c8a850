// Package controls holds harden's controls, one file each, and the
// registry that lists them. Each file has the control's whole behaviour:
// its metadata (scope, Security Hub and CIS ids, IAM actions), Check, Apply
// and Rollback.
package controls

import (
	"fmt"
	"sort"
	"strings"

	"github.com/harden-dev/harden/internal/control"
)

// All returns every control, in the order harden runs and reports them.
// The list is explicit: adding a control means adding it here.
func All() []control.Control {
	return []control.Control{
		IAMPasswordPolicy{},
		S3PublicAccessBlock{},
		LogArchive{},
		CloudTrail{},
		ConfigRecorder{},
		EBSEncryption{},
		AccessAnalyzer{},
		GuardDuty{},
		SecurityHub{},
		Detective{},
		DefaultVPC{},
		DefaultSecurityGroup{},
		VPCFlowLogs{},
		SecurityAlerts{},
		HealthAlerts{},
		CloudTrailAlarms{},
		BudgetAlarm{},
		CostAnomalyDetection{},
		AlternateContacts{},
	}
}

// UnknownControlError names ids that are not in the registry.
type UnknownControlError struct{ IDs []string }

func (e *UnknownControlError) Error() string {
	return fmt.Sprintf("unknown control %s: run 'harden controls' for the list", strings.Join(e.IDs, ", "))
}

// Select returns the controls named in only (all when empty) minus those in
// skip, in registry order.
func Select(all []control.Control, only, skip []string) ([]control.Control, error) {
	known := map[string]bool{}
	for _, c := range all {
		known[c.Info().ID] = true
	}
	var unknown []string
	for _, id := range append(append([]string(nil), only...), skip...) {
		if !known[id] {
			unknown = append(unknown, id)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, &UnknownControlError{IDs: unknown}
	}
	in := func(list []string, id string) bool {
		for _, x := range list {
			if x == id {
				return true
			}
		}
		return false
	}
	var out []control.Control
	for _, c := range all {
		id := c.Info().ID
		if (len(only) == 0 || in(only, id)) && !in(skip, id) {
			out = append(out, c)
		}
	}
	return out, nil
}
