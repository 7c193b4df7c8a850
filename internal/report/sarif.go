package report

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/owenrumney/go-sarif/v3/pkg/report/v210/sarif"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/engine"
	"github.com/harden-dev/harden/internal/report/severity"
)

// informationURI is harden's home page, for SARIF's tool driver.
const informationURI = "https://github.com/harden-dev/harden"

// FingerprintKey names harden's fingerprint in a SARIF result's
// fingerprints; the same value is the partial fingerprint GitHub code
// scanning matches alerts by (primaryLocationLineHash).
const FingerprintKey = "harden/v1"

// writeSARIF writes r as SARIF 2.1.0 (see docs/sarif.md): one rule per
// control, one result per target that is not compliant, errored, was not
// verified or was blocked; an accepted finding is a result with an
// external, accepted suppression.
func writeSARIF(w io.Writer, r Report, o Options) error {
	doc := sarif.NewReport()
	run := sarif.NewRunWithInformationURI("harden", informationURI)
	if o.Version != "" {
		run.Tool.Driver.WithVersion(o.Version)
	}
	for _, in := range r.controls {
		run.Tool.Driver.AddRule(sarifRule(in))
	}
	inv := sarif.NewInvocation().WithExecutionSuccessful(r.Error == "")
	if r.Error != "" {
		inv.AddToolExecutionNotification(sarif.NewNotification().WithLevel(sarif.LevelError).
			WithMessage(sarif.NewTextMessage(clean(r.Error))))
	}
	for _, e := range r.StaleExceptions {
		inv.AddToolConfigurationNotification(sarif.NewNotification().WithLevel(sarif.LevelWarning).
			WithMessage(sarif.NewTextMessage(clean(fmt.Sprintf("the exception at %s (%s, expires %s) matches no finding: remove it, or fix what it names",
				e.Source, e.Owner, e.Expires)))))
	}
	run.AddInvocation(inv)
	for _, res := range r.Results {
		if sr := sarifResult(r, res, run); sr != nil {
			run.AddResult(sr)
		}
	}
	doc.AddRun(run)
	// harden's own JSON writer rather than doc.PrettyWrite: the same
	// indentation, without escaping <, > and & ("->" stays readable). The
	// run has no artifacts, so PrettyWrite's de-duplication has nothing to do.
	return writeJSON(w, doc)
}

func sarifRule(in control.Info) *sarif.ReportingDescriptor {
	sev := severity.OfControl(in.ID, in.SecurityHub)
	tags := []string{"security", "aws"}
	for _, id := range in.SecurityHub {
		tags = append(tags, "security-hub/"+id)
	}
	for _, id := range in.CIS {
		tags = append(tags, "cis-aws/"+id)
	}
	props := sarif.NewPropertyBag()
	props.Add("security-severity", sev.Score())
	props.Add("precision", "very-high")
	props.WithTags(tags)
	help := fmt.Sprintf("%s\n\nDesired state: %s\n\nFix: run `harden apply --controls %s`. Security Hub: %s. CIS AWS Foundations v3.0: %s. Documentation: %s",
		in.Title, in.Desired, in.ID, orDash(in.SecurityHub), orDash(in.CIS), DocURL(in.ID))
	return sarif.NewRule(in.ID).
		WithName(ruleName(in.ID)).
		WithDescription(in.Title).
		WithFullDescription(sarif.NewMultiformatMessageString().WithText(in.Desired)).
		WithHelp(sarif.NewMultiformatMessageString().WithText(help).WithMarkdown(help)).
		WithHelpURI(DocURL(in.ID)).
		WithDefaultConfiguration(sarif.NewReportingConfiguration().WithLevel(sarifLevel(sev))).
		WithProperties(props)
}

func orDash(ids []string) string {
	if len(ids) == 0 {
		return "-"
	}
	return strings.Join(ids, ", ")
}

// ruleName is a rule id in CamelCase ("IamPasswordPolicy"), as SARIF
// rule names are.
func ruleName(id string) string {
	var b strings.Builder
	for _, p := range strings.Split(id, "-") {
		if p != "" {
			b.WriteString(strings.ToUpper(p[:1]) + p[1:])
		}
	}
	return b.String()
}

// sarifLevel maps a severity to a SARIF level: critical and high are
// errors, medium a warning, low a note.
func sarifLevel(s severity.Severity) string {
	switch s {
	case severity.Critical, severity.High:
		return sarif.LevelError
	case severity.Low:
		return sarif.LevelNote
	}
	return sarif.LevelWarning
}

func sarifResult(r Report, res Result, run *sarif.Run) *sarif.Result {
	var what string
	level := sarifLevel(res.Severity)
	switch engine.Status(res.Status) {
	case engine.NonCompliant:
		what = "not compliant"
		if c := changes(res.Changes); c != "" {
			what += ": " + c
		}
	case engine.Unmanaged:
		what = "not compliant and not managed by harden: " + res.Reason
	case engine.Accepted:
		what = "not compliant (accepted by an exception)"
		if c := changes(res.Changes); c != "" {
			what += ": " + c
		}
	case engine.Error:
		what, level = "could not be checked: "+join(res.Error, res.Reason), sarif.LevelWarning
	case engine.Blocked:
		what, level = "blocked: "+res.Reason, sarif.LevelWarning
	case engine.NotChecked:
		if engine.NotCheckedReason(res.NotChecked).Expected() {
			return nil
		}
		what, level = "not checked: "+res.Reason, sarif.LevelWarning
	default:
		return nil
	}
	if e := res.ExpiredException; e != nil {
		what += fmt.Sprintf(" (the exception at %s, owner %s, expired on %s)", e.Source, e.Owner, e.Expires)
	}
	msg := fmt.Sprintf("%s in %s (account %s) is %s. %s", res.Title, res.Region, r.AccountID, what, res.Remediation)
	fqn := strings.Join([]string{r.AccountID, res.Region, res.Control}, "/")
	props := sarif.NewPropertyBag()
	props.Add("account", r.AccountID)
	props.Add("region", res.Region)
	props.Add("status", res.Status)
	props.Add("severity", string(res.Severity))
	if len(res.SecurityHub) > 0 {
		props.Add("security_hub", res.SecurityHub)
	}
	if len(res.Resources) > 0 {
		props.Add("resources", res.Resources)
	}
	loc := sarif.NewLocationWithPhysicalLocation(sarif.NewPhysicalLocation().
		WithArtifactLocation(sarif.NewSimpleArtifactLocation(SARIFLocation(r.AccountID, res.Region, res.Control))).
		WithRegion(sarif.NewSimpleRegion(1, 1))).
		AddLogicalLocation(sarif.NewLogicalLocation().WithName(res.Control).WithKind("resource").WithFullyQualifiedName(fqn))
	fp := Fingerprint(r.AccountID, res.Region, res.Control, res.Resources)
	sr := run.CreateResultForRule(res.Control).
		WithLevel(level).
		WithMessage(sarif.NewTextMessage(clean(msg))).
		AddLocation(loc).
		WithFingerprints(map[string]string{FingerprintKey: fp}).
		WithPartialFingerprints(map[string]string{"primaryLocationLineHash": fp}).
		WithProperties(props)
	if a := res.Accepted; a != nil {
		sr.AddSuppression(sarif.NewSuppression().WithKind("external").WithStatus("accepted").
			WithJustification(fmt.Sprintf("%s (owner %s, expires %s, %s)", a.Reason, a.Owner, a.Expires, a.Source)))
	}
	return sr
}

// SARIFLocation is the artifact location of a target in SARIF: a
// repository-relative path that names the account, region and control,
// "aws/123456789012/us-east-1/iam-password-policy" (see docs/sarif.md).
func SARIFLocation(account, region, controlID string) string {
	return "aws/" + account + "/" + region + "/" + controlID
}

// Fingerprint identifies a finding across runs: the same account, region,
// control and resources give the same value.
func Fingerprint(account, region, controlID string, resources []string) string {
	key, _ := json.Marshal([]any{account, region, controlID, resources})
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:16])
}
