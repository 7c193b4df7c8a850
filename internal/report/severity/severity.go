// Package severity holds the severity of each AWS Security Hub control
// (the AWS Foundational Security Best Practices standard, FSBP), and from
// it the severity of a harden control: the highest of its Security Hub ids.
//
// The table is keyed by Security Hub control id, not by harden control, so
// that controls never need to declare a severity of their own; a test
// checks that every registered control's ids are in it.
package severity

import (
	"fmt"
	"strings"
)

// Severity is a finding's severity, as Security Hub rates its controls.
type Severity string

const (
	Critical Severity = "critical"
	High     Severity = "high"
	Medium   Severity = "medium"
	Low      Severity = "low"
	// None is the severity of a control with no Security Hub id.
	None Severity = ""
)

// Levels lists the severities from the highest down.
var Levels = []Severity{Critical, High, Medium, Low}

// Rank orders severities: Critical 4 … Low 1, None 0.
func (s Severity) Rank() int {
	switch s {
	case Critical:
		return 4
	case High:
		return 3
	case Medium:
		return 2
	case Low:
		return 1
	}
	return 0
}

// AtLeast reports whether s is t or higher. A finding of no severity
// counts as Low: it is still a finding.
func (s Severity) AtLeast(t Severity) bool {
	r := s.Rank()
	if r == 0 {
		r = Low.Rank()
	}
	return r >= t.Rank()
}

// Score is the CVSS-like number GitHub code scanning reads from a SARIF
// rule's "security-severity" property: over 9.0 is critical, 7.0 to 8.9
// high, 4.0 to 6.9 medium, 0.1 to 3.9 low.
func (s Severity) Score() string {
	switch s {
	case Critical:
		return "9.5"
	case High:
		return "8.0"
	case Medium:
		return "5.5"
	case Low:
		return "3.0"
	}
	return "0.0"
}

// Parse parses a --fail-on value.
func Parse(v string) (Severity, error) {
	s := Severity(strings.ToLower(strings.TrimSpace(v)))
	for _, l := range Levels {
		if s == l {
			return s, nil
		}
	}
	return None, fmt.Errorf("unknown severity %q: want one of critical, high, medium, low", v)
}

// securityHub is the FSBP severity of Security Hub controls: those harden's
// controls name, and those of the services the baseline is growing into
// (from the Security Hub controls reference).
var securityHub = map[string]Severity{
	"Account.1":     Medium,
	"Account.2":     High,
	"CloudTrail.1":  High,
	"CloudTrail.2":  Medium,
	"CloudTrail.3":  High,
	"CloudTrail.4":  Low,
	"CloudTrail.5":  Low,
	"CloudTrail.6":  Critical,
	"CloudTrail.7":  Low,
	"CloudWatch.1":  Low,
	"CloudWatch.2":  Low,
	"CloudWatch.3":  Low,
	"CloudWatch.4":  Low,
	"CloudWatch.5":  Low,
	"CloudWatch.6":  Low,
	"CloudWatch.7":  Low,
	"CloudWatch.8":  Low,
	"CloudWatch.9":  Low,
	"CloudWatch.10": Low,
	"CloudWatch.11": Low,
	"CloudWatch.12": Low,
	"CloudWatch.13": Low,
	"CloudWatch.14": Low,
	"Config.1":      Critical,
	"EC2.2":         High,
	"EC2.6":         Medium,
	"EC2.7":         Medium,
	"EC2.8":         High,
	"EC2.15":        Medium,
	"EC2.21":        Medium,
	"EC2.53":        High,
	"EC2.54":        High,
	"GuardDuty.1":   High,
	"IAM.1":         High,
	"IAM.2":         Low,
	"IAM.3":         Medium,
	"IAM.4":         Critical,
	"IAM.5":         Medium,
	"IAM.6":         Critical,
	"IAM.7":         Medium,
	"IAM.8":         Medium,
	"IAM.9":         Critical,
	"IAM.10":        Medium,
	"IAM.11":        Medium,
	"IAM.12":        Medium,
	"IAM.13":        Medium,
	"IAM.14":        Medium,
	"IAM.15":        Medium,
	"IAM.16":        Low,
	"IAM.17":        Low,
	"IAM.18":        Low,
	"IAM.19":        Medium,
	"IAM.22":        Medium,
	"IAM.26":        Medium,
	"IAM.27":        Medium,
	"IAM.28":        High,
	"Inspector.1":   High,
	"KMS.4":         Medium,
	"Macie.1":       Medium,
	"S3.1":          Medium,
	"S3.5":          Medium,
	"S3.8":          High,
	"S3.9":          Medium,
	"SecurityHub.1": High,
}

// OfSecurityHub is the severity of one Security Hub control id, and
// whether the table knows it.
func OfSecurityHub(id string) (Severity, bool) {
	s, ok := securityHub[id]
	return s, ok
}

// Of is the severity of a harden control that maps to the Security Hub
// controls ids: the highest of theirs, None when it has none the table
// knows.
func Of(ids []string) Severity {
	best := None
	for _, id := range ids {
		if s := securityHub[id]; s.Rank() > best.Rank() {
			best = s
		}
	}
	return best
}

// withoutSecurityHub is the severity of harden controls no Security Hub
// control covers: the severity of what their absence leaves undetected.
var withoutSecurityHub = map[string]Severity{
	"securityhub": High, // SecurityHub.1: Security Hub should be enabled
	"detective":   Low,
	// Nobody hears of a finding: every other control's alert is lost.
	"security-alerts": High,
	"health-alerts":   Medium,
	// A bill nobody watches: money, not a breach.
	"budget-alarm":           Low,
	"cost-anomaly-detection": Low,
}

// OfControl is the severity of harden control id that maps to the
// Security Hub controls ids (see Of), or its own when it maps to none.
func OfControl(id string, ids []string) Severity {
	if s := Of(ids); s != None {
		return s
	}
	return withoutSecurityHub[id]
}
