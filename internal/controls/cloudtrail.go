package controls

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	cttypes "github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/parallel"
)

// CloudTrail keeps one multi-region trail that logs all management events,
// with global service events, log file validation, the log-archive KMS key
// and delivery to the log-archive bucket, and that is logging.
//
// An existing multi-region trail of someone else (an organization trail
// included) that logs all management events and is logging counts, and is
// never modified: a second trail would bill every management event twice.
// A foreign trail that does not count is left alone too, and harden adds
// its own trail, controls.TrailName in the home region, tagged with
// control.Tags. When harden's own trail exists it is the one this control
// manages: drift on it is put back with the fewest writes, whatever other
// trails exist.
//
// A trail named controls.TrailName without harden's managed-by tag is
// someone else's: it is never modified or deleted. If it counts, fine; if
// no trail counts, the finding is unmanaged (the log-archive policies only
// let a trail of that name write, so harden cannot add one under another
// name): the user renames or deletes that trail, or tags it managed-by=harden
// to hand it to harden.
//
// Rollback deletes a trail harden created (its ARN and tags unchanged) and
// restores the recorded settings of one it changed, unless someone changed
// them since; it never touches the bucket, the logs or the key.
type CloudTrail struct{}

// trailFields are the settings of a trail that UpdateTrail changes and its
// rollback restores.
type trailFields struct {
	S3BucketName               string `json:"s3_bucket_name"`
	S3KeyPrefix                string `json:"s3_key_prefix,omitempty"`
	IsMultiRegionTrail         bool   `json:"is_multi_region_trail"`
	IncludeGlobalServiceEvents bool   `json:"include_global_service_events"`
	LogFileValidationEnabled   bool   `json:"log_file_validation_enabled"`
	KmsKeyID                   string `json:"kms_key_id,omitempty"`
}

// ctTrail is a trail as DescribeTrails shows it from the home region.
type ctTrail struct {
	ARN, Name, HomeRegion string
	Organization          bool // an organization trail, or one of another account
	Fields                trailFields
}

// ctSelectors are a trail's event selectors: classic or advanced.
type ctSelectors struct {
	Classic  []ctSelector         `json:"classic,omitempty"`
	Advanced []ctAdvancedSelector `json:"advanced,omitempty"`
}

type ctSelector struct {
	ReadWriteType                 string           `json:"read_write_type"`
	IncludeManagementEvents       bool             `json:"include_management_events"`
	DataResources                 []ctDataResource `json:"data_resources,omitempty"`
	ExcludeManagementEventSources []string         `json:"exclude_management_event_sources,omitempty"`
}

type ctDataResource struct {
	Type   string   `json:"type"`
	Values []string `json:"values,omitempty"`
}

type ctAdvancedSelector struct {
	Name   string            `json:"name,omitempty"`
	Fields []ctFieldSelector `json:"fields"`
}

type ctFieldSelector struct {
	Field         string   `json:"field"`
	Equals        []string `json:"equals,omitempty"`
	StartsWith    []string `json:"starts_with,omitempty"`
	EndsWith      []string `json:"ends_with,omitempty"`
	NotEquals     []string `json:"not_equals,omitempty"`
	NotStartsWith []string `json:"not_starts_with,omitempty"`
	NotEndsWith   []string `json:"not_ends_with,omitempty"`
}

// Kinds of write Apply journals (the strings are those older journals hold).
const (
	stepCreateTrail       control.StepKind = "CreateTrail"
	stepUpdateTrail       control.StepKind = "UpdateTrail"
	stepPutEventSelectors control.StepKind = "PutEventSelectors"
	stepStartLogging      control.StepKind = "StartLogging"
)

// Prior states journaled by Apply, one per kind of write; the after state
// of StartLogging and PutEventSelectors has the shape of their prior.
type (
	// trailCreatedPrior: no trail existed; the write creates this one.
	trailCreatedPrior struct {
		TrailARN string `json:"trail_arn"`
		Name     string `json:"name"`
	}
	trailLoggingPrior struct {
		TrailARN string `json:"trail_arn"`
		Logging  bool   `json:"logging"`
	}
	trailUpdatePrior struct {
		TrailARN string      `json:"trail_arn"`
		Fields   trailFields `json:"fields"`
	}
	trailSelectorsPrior struct {
		TrailARN  string      `json:"trail_arn"`
		Selectors ctSelectors `json:"selectors"`
	}
	// trailCreatedAfter: the trail CreateTrail makes and the settings it
	// gives it (logging and selectors are other steps').
	trailCreatedAfter struct {
		TrailARN string      `json:"trail_arn"`
		Name     string      `json:"name"`
		Fields   trailFields `json:"fields"`
	}
	trailCreatedResult struct {
		TrailARN string `json:"trail_arn"`
	}
	// trailUpdateAfter: the settings UpdateTrail set (Set names them, as
	// trailFieldChanges does) within the trail's fields after the write.
	trailUpdateAfter struct {
		TrailARN string      `json:"trail_arn"`
		Set      []string    `json:"set"`
		Fields   trailFields `json:"fields"`
	}
)

const trailDesired = "multi-region, validated, KMS-encrypted, logging"

func (CloudTrail) Info() control.Info {
	return control.Info{
		ID:    "cloudtrail",
		Title: "CloudTrail multi-region trail",
		Scope: control.Account,
		Desired: "a multi-region trail logs all management events and global service events, with log file validation, " +
			"the log-archive KMS key, and logging on (an existing such trail counts)",
		SecurityHub: []string{"CloudTrail.1", "CloudTrail.2", "CloudTrail.4"},
		CIS:         []string{"3.1", "3.2", "3.5"},
		DependsOn:   []string{"log-archive"},
		// Everything log-archive writes, not its re-check.
		Needs:       map[string]string{logArchiveID: control.Applied},
		ReadActions: []string{"cloudtrail:DescribeTrails", "cloudtrail:ListTags", "cloudtrail:GetTrailStatus", "cloudtrail:GetEventSelectors", "kms:DescribeKey"},
		WriteActions: []string{"cloudtrail:CreateTrail", "cloudtrail:UpdateTrail", "cloudtrail:PutEventSelectors",
			"cloudtrail:StartLogging", "cloudtrail:StopLogging", "cloudtrail:DeleteTrail", "cloudtrail:AddTags"},
		Cost: control.Cost{UsageBased: true, Drivers: "management events are free for an account's first trail; if another trail already records them this copy costs 2 USD per 100,000 events; log files are stored in the log archive"},
	}
}

// ArchiveGrants: CloudTrail checks the archive bucket's ACL and writes log
// files and digests under AWSLogs/<account>/, and encrypts them with the
// archive key, all for harden's trail only.
func (CloudTrail) ArchiveGrants(t control.Target) []control.ArchiveGrant {
	acct, trail := t.AccountID, TrailARN(t)
	const svc = "cloudtrail.amazonaws.com"
	return []control.ArchiveGrant{
		{Sid: "CloudTrailAclCheck", Policy: control.BucketPolicy, Service: svc, Actions: []string{"s3:GetBucketAcl"},
			Condition: map[string]map[string]string{"StringEquals": {"aws:SourceArn": trail}}},
		{Sid: "CloudTrailWrite", Policy: control.BucketPolicy, Service: svc, Actions: []string{"s3:PutObject"},
			Objects: []string{"AWSLogs/" + acct + "/CloudTrail/*", "AWSLogs/" + acct + "/CloudTrail-Digest/*"},
			Condition: map[string]map[string]string{"StringEquals": {
				"aws:SourceArn": trail, "s3:x-amz-acl": "bucket-owner-full-control"}}},
		{Sid: "CloudTrailEncryptLogs", Policy: control.KeyPolicy, Service: svc, Actions: []string{"kms:GenerateDataKey*"},
			Condition: map[string]map[string]string{
				"StringEquals": {"aws:SourceArn": trail},
				"StringLike":   {"kms:EncryptionContext:aws:cloudtrail:arn": fmt.Sprintf("arn:aws:cloudtrail:*:%s:trail/*", acct)}}},
		{Sid: "CloudTrailDescribeKey", Policy: control.KeyPolicy, Service: svc, Actions: []string{"kms:DescribeKey"},
			Condition: map[string]map[string]string{"StringEquals": {"aws:SourceArn": trail}}},
	}
}

// trailState is what CloudTrail looks like from the home region.
type trailState struct {
	// Own is harden's trail, nil when it does not exist; OwnLogging and
	// OwnSelectors are its status, KeyARN the log-archive key ("" when
	// the alias does not exist).
	Own          *ctTrail
	OwnLogging   bool
	OwnSelectors ctSelectors
	KeyARN       string
	// KeyErr is why the key could not be read, when harden has no trail
	// (a check that finds another trail counting does not need the key).
	KeyErr error
	// Counting is a foreign trail that counts, when Own is nil; Note
	// says why it counts.
	Counting *ctTrail
	Note     string
	// Taken is a trail named TrailName that lacks harden's tag: someone
	// else's, in the way of harden's own.
	Taken *ctTrail
	// Rejected says, for each foreign trail that does not count, why.
	Rejected []string
}

func trailFromSDK(tr cttypes.Trail, acct string) ctTrail {
	arn := aws.ToString(tr.TrailARN)
	return ctTrail{
		ARN:          arn,
		Name:         aws.ToString(tr.Name),
		HomeRegion:   aws.ToString(tr.HomeRegion),
		Organization: aws.ToBool(tr.IsOrganizationTrail) || !strings.Contains(arn, ":"+acct+":trail/"),
		Fields: trailFields{
			S3BucketName:               aws.ToString(tr.S3BucketName),
			S3KeyPrefix:                aws.ToString(tr.S3KeyPrefix),
			IsMultiRegionTrail:         aws.ToBool(tr.IsMultiRegionTrail),
			IncludeGlobalServiceEvents: aws.ToBool(tr.IncludeGlobalServiceEvents),
			LogFileValidationEnabled:   aws.ToBool(tr.LogFileValidationEnabled),
			KmsKeyID:                   aws.ToString(tr.KmsKeyId),
		},
	}
}

func selectorsFromSDK(out *cloudtrail.GetEventSelectorsOutput) ctSelectors {
	var s ctSelectors
	for _, e := range out.EventSelectors {
		sel := ctSelector{
			ReadWriteType:                 string(e.ReadWriteType),
			IncludeManagementEvents:       e.IncludeManagementEvents == nil || *e.IncludeManagementEvents,
			ExcludeManagementEventSources: e.ExcludeManagementEventSources,
		}
		if sel.ReadWriteType == "" {
			sel.ReadWriteType = string(cttypes.ReadWriteTypeAll)
		}
		for _, d := range e.DataResources {
			sel.DataResources = append(sel.DataResources, ctDataResource{Type: aws.ToString(d.Type), Values: d.Values})
		}
		s.Classic = append(s.Classic, sel)
	}
	for _, a := range out.AdvancedEventSelectors {
		sel := ctAdvancedSelector{Name: aws.ToString(a.Name)}
		for _, f := range a.FieldSelectors {
			sel.Fields = append(sel.Fields, ctFieldSelector{Field: aws.ToString(f.Field), Equals: f.Equals,
				StartsWith: f.StartsWith, EndsWith: f.EndsWith, NotEquals: f.NotEquals,
				NotStartsWith: f.NotStartsWith, NotEndsWith: f.NotEndsWith})
		}
		s.Advanced = append(s.Advanced, sel)
	}
	return s
}

// putInput is the PutEventSelectors input that sets s on a trail.
func (s ctSelectors) putInput(trailARN string) *cloudtrail.PutEventSelectorsInput {
	in := &cloudtrail.PutEventSelectorsInput{TrailName: aws.String(trailARN)}
	if len(s.Advanced) > 0 {
		for _, a := range s.Advanced {
			sel := cttypes.AdvancedEventSelector{}
			if a.Name != "" {
				sel.Name = aws.String(a.Name)
			}
			for _, f := range a.Fields {
				sel.FieldSelectors = append(sel.FieldSelectors, cttypes.AdvancedFieldSelector{Field: aws.String(f.Field),
					Equals: f.Equals, StartsWith: f.StartsWith, EndsWith: f.EndsWith, NotEquals: f.NotEquals,
					NotStartsWith: f.NotStartsWith, NotEndsWith: f.NotEndsWith})
			}
			in.AdvancedEventSelectors = append(in.AdvancedEventSelectors, sel)
		}
		return in
	}
	in.EventSelectors = []cttypes.EventSelector{}
	for _, c := range s.Classic {
		sel := cttypes.EventSelector{
			ReadWriteType:                 cttypes.ReadWriteType(c.ReadWriteType),
			IncludeManagementEvents:       aws.Bool(c.IncludeManagementEvents),
			ExcludeManagementEventSources: c.ExcludeManagementEventSources,
		}
		for _, d := range c.DataResources {
			sel.DataResources = append(sel.DataResources, cttypes.DataResource{Type: aws.String(d.Type), Values: d.Values})
		}
		in.EventSelectors = append(in.EventSelectors, sel)
	}
	return in
}

func (s ctSelectors) empty() bool { return len(s.Classic) == 0 && len(s.Advanced) == 0 }

// isManagementSelector reports whether an advanced selector picks
// management events (eventCategory Equals Management).
func (a ctAdvancedSelector) isManagementSelector() bool {
	for _, f := range a.Fields {
		if f.Field == "eventCategory" && slices.Contains(f.Equals, "Management") {
			return true
		}
	}
	return false
}

// logsManagement reports whether the selectors log management events,
// read and write. Strict (harden's own trail) also wants every event
// source: no excluded sources and no field filter beyond eventCategory.
func (s ctSelectors) logsManagement(strict bool) bool {
	if len(s.Advanced) > 0 {
		for _, a := range s.Advanced {
			if !a.isManagementSelector() {
				continue
			}
			ok := true
			for _, f := range a.Fields {
				if f.Field == "readOnly" || (strict && f.Field != "eventCategory") {
					ok = false
				}
			}
			if ok {
				return true
			}
		}
		return false
	}
	for _, c := range s.Classic {
		if c.IncludeManagementEvents && c.ReadWriteType == string(cttypes.ReadWriteTypeAll) &&
			(!strict || len(c.ExcludeManagementEventSources) == 0) {
			return true
		}
	}
	return false
}

// describeManagement says in a few words which management events the
// selectors log.
func (s ctSelectors) describeManagement() string {
	if len(s.Advanced) > 0 {
		for _, a := range s.Advanced {
			if a.isManagementSelector() {
				return "filtered (advanced selectors)"
			}
		}
		return "none"
	}
	var kinds []string
	for _, c := range s.Classic {
		if !c.IncludeManagementEvents {
			continue
		}
		k := c.ReadWriteType
		if len(c.ExcludeManagementEventSources) > 0 {
			k += " except " + strings.Join(c.ExcludeManagementEventSources, ", ")
		}
		kinds = append(kinds, k)
	}
	if len(kinds) == 0 {
		return "none"
	}
	return strings.Join(kinds, "; ")
}

// withAllManagement returns selectors that log all management events and
// keep the data events s logs.
func (s ctSelectors) withAllManagement() (ctSelectors, error) {
	if len(s.Advanced) > 0 {
		out := ctSelectors{}
		for _, a := range s.Advanced {
			if !a.isManagementSelector() {
				out.Advanced = append(out.Advanced, a)
			}
		}
		out.Advanced = append(out.Advanced, ctAdvancedSelector{Name: "Management events",
			Fields: []ctFieldSelector{{Field: "eventCategory", Equals: []string{"Management"}}}})
		return out, nil
	}
	out := ctSelectors{Classic: []ctSelector{{ReadWriteType: string(cttypes.ReadWriteTypeAll), IncludeManagementEvents: true}}}
	for _, c := range s.Classic {
		if len(c.DataResources) > 0 {
			c.IncludeManagementEvents, c.ExcludeManagementEventSources = false, nil
			out.Classic = append(out.Classic, c)
		}
	}
	if len(out.Classic) > 5 {
		return ctSelectors{}, fmt.Errorf("five data event selectors leave no room for a management event selector: fix the trail's event selectors by hand")
	}
	return out, nil
}

func ctClient(env *control.Env, t control.Target) *cloudtrail.Client {
	return env.AWS.CloudTrail(t.HomeRegion)
}

func (CloudTrail) describe(ctx context.Context, env *control.Env, t control.Target) ([]ctTrail, error) {
	out, err := ctClient(env, t).DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{IncludeShadowTrails: aws.Bool(true)})
	if err != nil {
		return nil, fmt.Errorf("cloudtrail: describe trails in %s: %w", t.HomeRegion, err)
	}
	var list []ctTrail
	for _, tr := range out.TrailList {
		list = append(list, trailFromSDK(tr, t.AccountID))
	}
	return list, nil
}

func (CloudTrail) isLogging(ctx context.Context, env *control.Env, t control.Target, arn string) (bool, error) {
	out, err := ctClient(env, t).GetTrailStatus(ctx, &cloudtrail.GetTrailStatusInput{Name: aws.String(arn)})
	if err != nil {
		return false, err
	}
	return aws.ToBool(out.IsLogging), nil
}

func (CloudTrail) selectors(ctx context.Context, env *control.Env, t control.Target, arn string) (ctSelectors, error) {
	out, err := ctClient(env, t).GetEventSelectors(ctx, &cloudtrail.GetEventSelectorsInput{TrailName: aws.String(arn)})
	if err != nil {
		return ctSelectors{}, err
	}
	return selectorsFromSDK(out), nil
}

// keyARN resolves the log-archive key; "" when its alias does not exist.
func (CloudTrail) keyARN(ctx context.Context, env *control.Env, t control.Target) (string, error) {
	key, err := env.AWS.KMS(t.HomeRegion).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(LogArchiveKeyAlias)})
	if awserror.Is(err, "NotFoundException") {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("cloudtrail: describe key %s in %s: %w", LogArchiveKeyAlias, t.HomeRegion, err)
	}
	return aws.ToString(key.KeyMetadata.Arn), nil
}

// trailUnreadable reports the answers AWS gives a member account that reads an
// organization trail's status or selectors it may not see.
func trailUnreadable(err error) bool {
	return awserror.Is(err, "TrailNotFoundException", "CloudTrailARNInvalidException") || awserror.IsAccessDenied(err)
}

// trailReads are one trail's status and selectors, read together.
type trailReads struct {
	logging      bool
	loggingErr   error
	selectors    ctSelectors
	selectorsErr error
}

func (c CloudTrail) readTrail(ctx context.Context, env *control.Env, t control.Target, arn string) *trailReads {
	r := &trailReads{}
	_ = parallel.Do(ctx,
		func(ctx context.Context) error { r.logging, r.loggingErr = c.isLogging(ctx, env, t, arn); return nil },
		func(ctx context.Context) error {
			r.selectors, r.selectorsErr = c.selectors(ctx, env, t, arn)
			return nil
		})
	return r
}

// read reads every trail and the log-archive key at once, then, when
// harden's trail is among them, its tags, status and selectors at once.
func (c CloudTrail) read(ctx context.Context, env *control.Env, t control.Target) (trailState, error) {
	var st trailState
	var trails []ctTrail
	var keyErr error // matters only for harden's trail: its own or the one apply creates
	err := parallel.Do(ctx,
		func(ctx context.Context) (err error) { trails, err = c.describe(ctx, env, t); return err },
		func(ctx context.Context) error { st.KeyARN, keyErr = c.keyARN(ctx, env, t); return nil })
	if err != nil {
		return st, err
	}
	st.KeyErr = keyErr
	for i := range trails {
		if trails[i].ARN != TrailARN(t) {
			continue
		}
		var owner trailOwnership
		var own *trailReads
		err := parallel.Do(ctx,
			func(ctx context.Context) (err error) {
				owner, err = c.ownership(ctx, env, t, trails[i].ARN)
				return err
			},
			func(ctx context.Context) error { own = c.readTrail(ctx, env, t, trails[i].ARN); return nil })
		if err != nil {
			return st, err
		}
		found := trails[i]
		if !owner.Harden {
			st.Taken = &found
			continue
		}
		if own.loggingErr != nil {
			return st, fmt.Errorf("cloudtrail: get status of trail %s in %s: %w", TrailName, t.HomeRegion, own.loggingErr)
		}
		if own.selectorsErr != nil {
			return st, fmt.Errorf("cloudtrail: get event selectors of trail %s in %s: %w", TrailName, t.HomeRegion, own.selectorsErr)
		}
		st.Own, st.OwnLogging, st.OwnSelectors = &found, own.logging, own.selectors
	}
	if st.Own != nil {
		return st, keyErr
	}
	return st, c.findCounting(ctx, env, t, trails, &st)
}

// findCounting looks, when harden has no trail, for another one that
// counts; a verified one is preferred to an organization trail that
// cannot be read from here. Every multi-region trail is read at once.
func (c CloudTrail) findCounting(ctx context.Context, env *control.Env, t control.Target, trails []ctTrail, st *trailState) error {
	reads := make([]*trailReads, len(trails))
	var fns []func(context.Context) error
	for i := range trails {
		if trails[i].Fields.IsMultiRegionTrail {
			fns = append(fns, func(ctx context.Context) error { reads[i] = c.readTrail(ctx, env, t, trails[i].ARN); return nil })
		}
	}
	if err := parallel.Do(ctx, fns...); err != nil {
		return err
	}
	var unverified *ctTrail
	for i := range trails {
		tr := &trails[i]
		if !tr.Fields.IsMultiRegionTrail {
			st.Rejected = append(st.Rejected, fmt.Sprintf("trail %q does not count (single-region)", tr.Name))
			continue
		}
		r := reads[i]
		err := r.loggingErr
		if err == nil && !r.logging {
			st.Rejected = append(st.Rejected, fmt.Sprintf("trail %q does not count (not logging)", tr.Name))
			continue
		}
		if err == nil {
			err = r.selectorsErr
		}
		switch {
		case err == nil && r.selectors.logsManagement(false):
			st.Counting = tr
			st.Note = fmt.Sprintf("existing trail %q counts (not managed by harden)", tr.Name)
			return nil
		case err == nil:
			st.Rejected = append(st.Rejected, fmt.Sprintf("trail %q does not count (management events: %s)", tr.Name, r.selectors.describeManagement()))
		case tr.Organization && trailUnreadable(err):
			if unverified == nil {
				unverified = tr
			}
		case awserror.Is(err, "TrailNotFoundException"):
			// deleted since DescribeTrails
		default:
			return fmt.Errorf("cloudtrail: read trail %s from %s: %w", tr.ARN, t.HomeRegion, err)
		}
	}
	if unverified != nil {
		st.Counting = unverified
		st.Note = fmt.Sprintf("organization trail %q counts (not managed by harden); its status cannot be verified from this account", unverified.Name)
	}
	return nil
}

// want is harden's trail as it should be.
func (st trailState) want(env *control.Env, t control.Target) trailFields {
	return trailFields{S3BucketName: LogBucketName(env, t), IsMultiRegionTrail: true,
		IncludeGlobalServiceEvents: true, LogFileValidationEnabled: true, KmsKeyID: st.KeyARN}
}

// trailFieldChanges lists the fields of harden's trail that differ from want,
// and the UpdateTrail input that sets them (nil when none differs).
func trailFieldChanges(name string, cur, want trailFields) ([]control.Change, *cloudtrail.UpdateTrailInput) {
	var ch []control.Change
	in := &cloudtrail.UpdateTrailInput{Name: aws.String(name)}
	flag := func(field string, cur, want bool, set **bool) {
		if cur != want {
			ch = append(ch, control.Change{Field: field, Current: fmt.Sprint(cur), Desired: fmt.Sprint(want)})
			*set = aws.Bool(want)
		}
	}
	text := func(field, cur, want string, set **string) {
		if cur != want {
			ch = append(ch, control.Change{Field: field, Current: ctOrNone(cur), Desired: ctOrNone(want)})
			*set = aws.String(want)
		}
	}
	text("S3 bucket", cur.S3BucketName, want.S3BucketName, &in.S3BucketName)
	text("S3 key prefix", cur.S3KeyPrefix, want.S3KeyPrefix, &in.S3KeyPrefix)
	flag("multi-region", cur.IsMultiRegionTrail, want.IsMultiRegionTrail, &in.IsMultiRegionTrail)
	flag("global service events", cur.IncludeGlobalServiceEvents, want.IncludeGlobalServiceEvents, &in.IncludeGlobalServiceEvents)
	flag("log file validation", cur.LogFileValidationEnabled, want.LogFileValidationEnabled, &in.EnableLogFileValidation)
	text("KMS key", cur.KmsKeyID, want.KmsKeyID, &in.KmsKeyId)
	if len(ch) == 0 {
		return nil, nil
	}
	return ch, in
}

func ctOrNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

const trailManagementDesired = "all, read and write"

// ownChanges lists what differs on harden's own trail.
func (st trailState) ownChanges(env *control.Env, t control.Target) []control.Change {
	want := st.want(env, t)
	if st.KeyARN == "" {
		want.KmsKeyID = LogArchiveKeyAlias
	}
	ch, _ := trailFieldChanges(TrailARN(t), st.Own.Fields, want)
	if !st.OwnSelectors.logsManagement(true) {
		ch = append(ch, control.Change{Field: "management events", Current: st.OwnSelectors.describeManagement(), Desired: trailManagementDesired})
	}
	if !st.OwnLogging {
		ch = append(ch, control.Change{Field: "logging", Current: "false", Desired: "true"})
	}
	return ch
}

var trailCreateChange = control.Change{Field: "trail " + TrailName, Current: "none", Desired: trailDesired}

func (st trailState) createNote() string {
	if len(st.Rejected) == 0 {
		return ""
	}
	return strings.Join(st.Rejected, "; ") + "; harden adds its own trail and leaves it as it is"
}

func (c CloudTrail) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	st, err := c.read(ctx, env, t)
	if err != nil {
		return control.Finding{}, err
	}
	switch {
	case st.Own != nil:
		ch := st.ownChanges(env, t)
		if len(ch) == 0 {
			return control.Finding{Compliant: true, Note: fmt.Sprintf("trail %s logs to %s", TrailName, st.Own.Fields.S3BucketName)}, nil
		}
		f := control.Finding{Action: control.ActionUpdate, Changes: ch}
		if st.KeyARN == "" {
			f.Note = "the log-archive KMS key " + LogArchiveKeyAlias + " is missing: apply the log-archive control first"
		}
		return f, nil
	case st.Counting != nil:
		return control.Finding{Compliant: true, Note: st.Note}, nil
	case st.Taken != nil:
		return control.Finding{Changes: []control.Change{trailCreateChange}, Note: strings.Join(st.Rejected, "; "), Unmanaged: st.takenReason()}, nil
	}
	return control.Finding{Action: control.ActionCreate, Changes: []control.Change{trailCreateChange}, Note: st.createNote()}, nil
}

func (c CloudTrail) Apply(ctx context.Context, env *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	st, err := c.read(ctx, env, t)
	if err != nil {
		return nil, err
	}
	switch {
	case st.Own != nil:
		return c.repair(ctx, env, t, j, st)
	case st.Counting != nil, st.Taken != nil:
		return nil, nil
	}
	if st.KeyErr != nil {
		return nil, st.KeyErr
	}
	return c.create(ctx, env, t, j, st.KeyARN)
}

// takenReason says why harden cannot add its trail: the name is taken by a
// trail it did not create.
func (st trailState) takenReason() string {
	return fmt.Sprintf("a trail named %q exists without harden's tag %s=%s, so it is not harden's and harden will not change it; "+
		"the log-archive bucket and key only admit a trail of that name: rename or delete that trail, or tag it %s=%s to let harden manage it",
		st.Taken.Name, control.TagManagedBy, control.TagManagedByID, control.TagManagedBy, control.TagManagedByID)
}

func trailKeyMissing(t control.Target) error {
	return fmt.Errorf("cloudtrail: KMS key %s not found in %s: the log-archive control must be applied first", LogArchiveKeyAlias, t.HomeRegion)
}

// ctTags is harden's tags for a trail created by run runID, in key order.
func ctTags(runID string) []cttypes.Tag {
	tags := control.Tags(runID)
	keys := make([]string, 0, len(tags))
	for k := range tags {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]cttypes.Tag, 0, len(keys))
	for _, k := range keys {
		out = append(out, cttypes.Tag{Key: aws.String(k), Value: aws.String(tags[k])})
	}
	return out
}

// create makes harden's trail with the log-archive key keyARN, then at
// once starts logging (CreateTrail alone does not) and gives it all
// management events if AWS did not.
func (c CloudTrail) create(ctx context.Context, env *control.Env, t control.Target, j control.Journal, keyARN string) ([]control.Change, error) {
	if keyARN == "" {
		return nil, trailKeyMissing(t)
	}
	ct := ctClient(env, t)
	arn := TrailARN(t)
	bucket := LogBucketName(env, t)
	fields := trailFields{S3BucketName: bucket, IsMultiRegionTrail: true, IncludeGlobalServiceEvents: true,
		LogFileValidationEnabled: true, KmsKeyID: keyARN}
	after := trailCreatedAfter{TrailARN: arn, Name: TrailName, Fields: fields}
	err := j.Write(ctx, stepCreateTrail, trailCreatedPrior{TrailARN: arn, Name: TrailName}, after, func(ctx context.Context) (any, error) {
		out, err := ct.CreateTrail(ctx, &cloudtrail.CreateTrailInput{
			Name:                       aws.String(TrailName),
			S3BucketName:               aws.String(fields.S3BucketName),
			IsMultiRegionTrail:         aws.Bool(fields.IsMultiRegionTrail),
			IncludeGlobalServiceEvents: aws.Bool(fields.IncludeGlobalServiceEvents),
			EnableLogFileValidation:    aws.Bool(fields.LogFileValidationEnabled),
			KmsKeyId:                   aws.String(fields.KmsKeyID),
			TagsList:                   ctTags(j.RunID()),
		})
		if err != nil {
			return nil, err
		}
		arn = aws.ToString(out.TrailARN)
		return trailCreatedResult{TrailARN: arn}, nil
	})
	if awserror.Is(err, "S3BucketDoesNotExistException", "InsufficientS3BucketPolicyException",
		"KmsKeyNotFoundException", "InsufficientEncryptionPolicyException") {
		return nil, fmt.Errorf("cloudtrail: create trail %s in %s: bucket %s or key %s is missing or does not let CloudTrail write: apply the log-archive control first: %w",
			TrailName, t.HomeRegion, bucket, LogArchiveKeyAlias, err)
	}
	if awserror.Is(err, "TrailAlreadyExistsException") {
		return nil, fmt.Errorf("cloudtrail: create trail %s in %s: a trail of that name exists in another region: %w", TrailName, t.HomeRegion, err)
	}
	if err != nil {
		return nil, fmt.Errorf("cloudtrail: create trail %s in %s: %w", TrailName, t.HomeRegion, err)
	}
	err = parallel.All(ctx,
		func(ctx context.Context) error { return c.startLogging(ctx, env, t, j, arn) },
		func(ctx context.Context) error {
			sel, err := c.selectors(ctx, env, t, arn)
			if err != nil {
				return fmt.Errorf("cloudtrail: get event selectors of trail %s in %s: %w", TrailName, t.HomeRegion, err)
			}
			return c.putManagement(ctx, env, t, j, arn, sel)
		})
	if err != nil {
		return nil, err
	}
	return []control.Change{trailCreateChange}, nil
}

// repair puts harden's drifted trail back: UpdateTrail for its settings,
// PutEventSelectors for its selectors, StartLogging last.
func (c CloudTrail) repair(ctx context.Context, env *control.Env, t control.Target, j control.Journal, st trailState) ([]control.Change, error) {
	changes := st.ownChanges(env, t)
	if len(changes) == 0 {
		return nil, nil
	}
	if st.KeyARN == "" {
		return nil, trailKeyMissing(t)
	}
	arn := st.Own.ARN
	want := st.want(env, t)
	if set, in := trailFieldChanges(arn, st.Own.Fields, want); in != nil {
		after := trailUpdateAfter{TrailARN: arn, Set: changedFieldNames(set), Fields: want}
		err := j.Write(ctx, stepUpdateTrail, trailUpdatePrior{TrailARN: arn, Fields: st.Own.Fields}, after, func(ctx context.Context) (any, error) {
			_, err := ctClient(env, t).UpdateTrail(ctx, in)
			return nil, err
		})
		if err != nil {
			return nil, fmt.Errorf("cloudtrail: update trail %s in %s: %w", TrailName, t.HomeRegion, err)
		}
	}
	if err := c.putManagement(ctx, env, t, j, arn, st.OwnSelectors); err != nil {
		return nil, err
	}
	if !st.OwnLogging {
		if err := c.startLogging(ctx, env, t, j, arn); err != nil {
			return nil, err
		}
	}
	return changes, nil
}

func changedFieldNames(ch []control.Change) []string {
	names := make([]string, 0, len(ch))
	for _, c := range ch {
		names = append(names, c.Field)
	}
	return names
}

// putManagement makes the trail log all management events, unless it does.
func (CloudTrail) putManagement(ctx context.Context, env *control.Env, t control.Target, j control.Journal, arn string, cur ctSelectors) error {
	if cur.logsManagement(true) {
		return nil
	}
	next, err := cur.withAllManagement()
	if err != nil {
		return fmt.Errorf("cloudtrail: put event selectors of trail %s in %s: %w", TrailName, t.HomeRegion, err)
	}
	prior := trailSelectorsPrior{TrailARN: arn, Selectors: cur}
	after := trailSelectorsPrior{TrailARN: arn, Selectors: next}
	err = j.Write(ctx, stepPutEventSelectors, prior, after, func(ctx context.Context) (any, error) {
		_, err := ctClient(env, t).PutEventSelectors(ctx, next.putInput(arn))
		return nil, err
	})
	if err != nil {
		return fmt.Errorf("cloudtrail: put event selectors of trail %s in %s: %w", TrailName, t.HomeRegion, err)
	}
	return nil
}

func (CloudTrail) startLogging(ctx context.Context, env *control.Env, t control.Target, j control.Journal, arn string) error {
	prior := trailLoggingPrior{TrailARN: arn, Logging: false}
	after := trailLoggingPrior{TrailARN: arn, Logging: true}
	err := j.Write(ctx, stepStartLogging, prior, after, func(ctx context.Context) (any, error) {
		_, err := ctClient(env, t).StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(arn)})
		return nil, err
	})
	if err != nil {
		return fmt.Errorf("cloudtrail: start logging of trail %s in %s: %w", TrailName, t.HomeRegion, err)
	}
	return nil
}

// trailGone reports that a trail no longer exists: nothing left to undo.
func trailGone(err error) bool {
	return awserror.Is(err, "TrailNotFoundException", "ResourceNotFoundException")
}

// trailOwnership is what a trail's tags say about who made it.
type trailOwnership struct {
	Exists bool
	// Harden: the trail carries managed-by=harden; RunID is its
	// harden-run tag ("" on trails of older versions, which had none).
	Harden bool
	RunID  string
}

// ownership reads a trail's tags; a trail that is gone does not exist.
func (CloudTrail) ownership(ctx context.Context, env *control.Env, t control.Target, arn string) (trailOwnership, error) {
	out, err := ctClient(env, t).ListTags(ctx, &cloudtrail.ListTagsInput{ResourceIdList: []string{arn}})
	if trailGone(err) {
		return trailOwnership{}, nil
	}
	if err != nil {
		return trailOwnership{}, fmt.Errorf("cloudtrail: list tags of trail %s in %s: %w", arn, t.HomeRegion, err)
	}
	o := trailOwnership{Exists: true}
	for _, rt := range out.ResourceTagList {
		for _, tag := range rt.TagsList {
			switch aws.ToString(tag.Key) {
			case control.TagManagedBy:
				o.Harden = aws.ToString(tag.Value) == control.TagManagedByID
			case control.TagRun:
				o.RunID = aws.ToString(tag.Value)
			}
		}
	}
	return o, nil
}

// notCreatedBy says why a trail is not the one run runID created, "" when
// it is. A trail without a run tag (made before harden tagged runs) is
// taken on its managed-by tag alone.
func (o trailOwnership) notCreatedBy(runID string) string {
	switch {
	case !o.Harden:
		return fmt.Sprintf("it lacks harden's tag %s=%s", control.TagManagedBy, control.TagManagedByID)
	case o.RunID != "" && runID != "" && o.RunID != runID:
		return fmt.Sprintf("it was created by harden run %s, not %s", o.RunID, runID)
	}
	return ""
}

// stepField is one setting a step wrote: its value before the step, the
// value the step left, and its value now.
type stepField struct{ Name, Prior, After, Now string }

// fieldsState is where a step's settings are now.
type fieldsState int

const (
	// fieldsAsLeft: every setting is as the step left it.
	fieldsAsLeft fieldsState = iota
	// fieldsAsBefore: every setting has its value before the step (also
	// when the step left it so): nothing to undo.
	fieldsAsBefore
	// fieldsDrifted: someone changed a setting since, to something else
	// than its prior value or only some of them back.
	fieldsDrifted
)

// compareStepFields says where a step's settings are now and, when they
// drifted, how, one "name: harden set X, now Y" per changed setting.
func compareStepFields(fields []stepField) (fieldsState, string) {
	asLeft, asBefore := true, true
	var drift []string
	for _, f := range fields {
		if f.Now != f.After {
			asLeft = false
			drift = append(drift, fmt.Sprintf("%s: harden set %s, now %s", f.Name, f.After, f.Now))
		}
		if f.Now != f.Prior {
			asBefore = false
		}
	}
	switch {
	case asBefore:
		return fieldsAsBefore, ""
	case asLeft:
		return fieldsAsLeft, ""
	}
	return fieldsDrifted, strings.Join(drift, "; ")
}

// Trail setting names, as trailFieldChanges names them.
const (
	trailFieldBucket     = "S3 bucket"
	trailFieldPrefix     = "S3 key prefix"
	trailFieldMulti      = "multi-region"
	trailFieldGlobal     = "global service events"
	trailFieldValidation = "log file validation"
	trailFieldKey        = "KMS key"
)

var trailFieldNames = []string{trailFieldBucket, trailFieldPrefix, trailFieldMulti, trailFieldGlobal, trailFieldValidation, trailFieldKey}

// value returns one setting by name, in words.
func (f trailFields) value(name string) string {
	switch name {
	case trailFieldBucket:
		return ctOrNone(f.S3BucketName)
	case trailFieldPrefix:
		return ctOrNone(f.S3KeyPrefix)
	case trailFieldMulti:
		return fmt.Sprint(f.IsMultiRegionTrail)
	case trailFieldGlobal:
		return fmt.Sprint(f.IncludeGlobalServiceEvents)
	case trailFieldValidation:
		return fmt.Sprint(f.LogFileValidationEnabled)
	case trailFieldKey:
		return ctOrNone(f.KmsKeyID)
	}
	return ""
}

// withFields returns f with the named settings taken from src.
func (f trailFields) withFields(src trailFields, names []string) trailFields {
	for _, n := range names {
		switch n {
		case trailFieldBucket:
			f.S3BucketName = src.S3BucketName
		case trailFieldPrefix:
			f.S3KeyPrefix = src.S3KeyPrefix
		case trailFieldMulti:
			f.IsMultiRegionTrail = src.IsMultiRegionTrail
		case trailFieldGlobal:
			f.IncludeGlobalServiceEvents = src.IncludeGlobalServiceEvents
		case trailFieldValidation:
			f.LogFileValidationEnabled = src.LogFileValidationEnabled
		case trailFieldKey:
			f.KmsKeyID = src.KmsKeyID
		}
	}
	return f
}

// trailStepFields pairs the named settings' prior, after and current values.
func trailStepFields(names []string, prior, after, now trailFields) []stepField {
	out := make([]stepField, 0, len(names))
	for _, n := range names {
		out = append(out, stepField{Name: n, Prior: prior.value(n), After: after.value(n), Now: now.value(n)})
	}
	return out
}

// describeFieldChanges says "log file validation true → false, …" for the
// named settings going from one state to another.
func describeFieldChanges(names []string, from, to trailFields) string {
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %s → %s", n, from.value(n), to.value(n)))
	}
	return strings.Join(parts, ", ")
}

// harden's trail as it is now, for an undo: nil when it is gone.
type trailNow struct {
	Trail ctTrail
	Owner trailOwnership
}

// trailForUndo reads the trail a step names: its tags and, when it is
// harden's, its settings. Two calls.
func (c CloudTrail) trailForUndo(ctx context.Context, env *control.Env, t control.Target, arn string) (*trailNow, error) {
	owner, err := c.ownership(ctx, env, t, arn)
	if err != nil || !owner.Exists {
		return nil, err
	}
	now := &trailNow{Owner: owner}
	out, err := ctClient(env, t).DescribeTrails(ctx, &cloudtrail.DescribeTrailsInput{
		TrailNameList: []string{arn}, IncludeShadowTrails: aws.Bool(false)})
	if trailGone(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cloudtrail: describe trail %s in %s: %w", arn, t.HomeRegion, err)
	}
	for _, tr := range out.TrailList {
		if aws.ToString(tr.TrailARN) == arn {
			now.Trail = trailFromSDK(tr, t.AccountID)
			return now, nil
		}
	}
	return nil, nil
}

// undoCreate deletes the trail CreateTrail made, only while it is that
// trail (same ARN, harden's tags, this run's) with the settings CreateTrail
// gave it. A trail someone else put under the name is never deleted.
func (c CloudTrail) undoCreate(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var p trailCreatedPrior
	if err := control.DecodePrior(s, &p); err != nil {
		return control.Undo{}, err
	}
	arn := p.TrailARN
	var res trailCreatedResult
	if _, err := control.DecodeResult(s, &res); err != nil {
		return control.Undo{}, err
	}
	if res.TrailARN != "" && res.TrailARN != arn {
		return control.Drift(nil, "journal step CreateTrail names trail %s but its result %s: left alone", arn, res.TrailARN), nil
	}
	now, err := c.trailForUndo(ctx, env, t, arn)
	if err != nil {
		return control.Undo{}, err
	}
	if now == nil {
		if !s.Done {
			return control.Nothing("trail %s was never created", p.Name), nil
		}
		return control.Nothing("trail %s is gone already", p.Name), nil
	}
	if why := now.Owner.notCreatedBy(s.RunID); why != "" {
		if !s.Done {
			return control.Nothing("the write never happened: trail %s exists but %s; left alone", p.Name, why), nil
		}
		return control.Drift(nil, "trail %s is not the one harden created: %s; left alone", p.Name, why), nil
	}
	if !s.Done && now.Owner.RunID == "" {
		return control.Nothing("the write never happened: trail %s exists but carries no harden-run tag of run %s; left alone", p.Name, s.RunID), nil
	}
	deleteTrail := func(ctx context.Context) error {
		_, err := ctClient(env, t).DeleteTrail(ctx, &cloudtrail.DeleteTrailInput{Name: aws.String(arn)})
		if err != nil && !trailGone(err) {
			return fmt.Errorf("cloudtrail: delete trail %s in %s: %w", p.Name, t.HomeRegion, err)
		}
		return nil
	}
	var after trailCreatedAfter
	hasAfter, err := control.DecodeAfter(s, &after)
	if err != nil {
		return control.Undo{}, err
	}
	if hasAfter {
		// Compared with the settings CreateTrail gave; with none before
		// the trail, every one of them was set.
		none := trailFields{}
		state, drift := compareStepFields(trailStepFields(trailFieldNames, none, after.Fields, now.Trail.Fields))
		if state != fieldsAsLeft {
			return control.Drift(deleteTrail, "trail %s changed since harden created it: %s", p.Name, drift), nil
		}
	}
	return control.Deleted(fmt.Sprintf("delete trail %s (the bucket, its logs and the key stay)", p.Name), deleteTrail), nil
}

// undoUpdate puts back the settings UpdateTrail changed, while they are
// as it left them.
func (c CloudTrail) undoUpdate(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var p trailUpdatePrior
	if err := control.DecodePrior(s, &p); err != nil {
		return control.Undo{}, err
	}
	if p.TrailARN != TrailARN(t) {
		return control.Drift(nil, "journal step UpdateTrail names trail %s, not harden's %s: left alone", p.TrailARN, TrailARN(t)), nil
	}
	after, err := c.updateAfter(ctx, env, t, s, p)
	if err != nil {
		return control.Undo{}, err
	}
	now, err := c.trailForUndo(ctx, env, t, p.TrailARN)
	if err != nil {
		return control.Undo{}, err
	}
	if now == nil {
		return control.Nothing("trail %s is gone", TrailName), nil
	}
	if why := now.Owner.notCreatedBy(""); why != "" {
		return control.Drift(nil, "trail %s is not harden's: %s; left alone", TrailName, why), nil
	}
	cur := now.Trail.Fields
	restored := cur.withFields(p.Fields, after.Set)
	restore := func(ctx context.Context) error {
		_, in := trailFieldChanges(p.TrailARN, cur, restored)
		if in == nil {
			return nil
		}
		_, err := ctClient(env, t).UpdateTrail(ctx, in)
		if err != nil && !trailGone(err) {
			return fmt.Errorf("cloudtrail: restore settings of trail %s in %s: %w", TrailName, t.HomeRegion, err)
		}
		return nil
	}
	state, drift := compareStepFields(trailStepFields(after.Set, p.Fields, after.Fields, cur))
	switch state {
	case fieldsAsBefore:
		return control.Nothing("trail %s has its earlier settings already", TrailName), nil
	case fieldsDrifted:
		return control.Drift(restore, "trail %s: %s", TrailName, drift), nil
	}
	return control.Restored(fmt.Sprintf("restore trail %s (%s)", TrailName, describeFieldChanges(after.Set, cur, p.Fields)), restore), nil
}

// updateAfter is what an UpdateTrail step left. Journals of format 1 did
// not say: it is what harden sets, harden's trail as the baseline wants it
// with the log-archive key as it is now.
func (c CloudTrail) updateAfter(ctx context.Context, env *control.Env, t control.Target, s control.Step, p trailUpdatePrior) (trailUpdateAfter, error) {
	var after trailUpdateAfter
	ok, err := control.DecodeAfter(s, &after)
	if err != nil || ok {
		return after, err
	}
	keyARN, err := c.keyARN(ctx, env, t)
	if err != nil {
		return after, err
	}
	want := trailState{KeyARN: keyARN}.want(env, t)
	set, _ := trailFieldChanges(p.TrailARN, p.Fields, want)
	return trailUpdateAfter{TrailARN: p.TrailARN, Set: changedFieldNames(set), Fields: want}, nil
}

// undoSelectors puts back the event selectors PutEventSelectors replaced,
// while they are as it left them.
func (c CloudTrail) undoSelectors(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var p trailSelectorsPrior
	if err := control.DecodePrior(s, &p); err != nil {
		return control.Undo{}, err
	}
	after := trailSelectorsPrior{TrailARN: p.TrailARN}
	hasAfter, err := control.DecodeAfter(s, &after)
	if err != nil {
		return control.Undo{}, err
	}
	if !hasAfter {
		if after.Selectors, err = p.Selectors.withAllManagement(); err != nil {
			return control.Undo{}, err
		}
	}
	if u, err := c.unlessOwned(ctx, env, t, p.TrailARN); u != nil || err != nil {
		return *u, err
	}
	cur, err := c.selectors(ctx, env, t, p.TrailARN)
	if trailGone(err) {
		return control.Nothing("trail %s is gone", p.TrailARN), nil
	}
	if err != nil {
		return control.Undo{}, fmt.Errorf("cloudtrail: get event selectors of trail %s in %s: %w", p.TrailARN, t.HomeRegion, err)
	}
	state, _ := compareStepFields([]stepField{{Name: "event selectors", Prior: mustJSON(p.Selectors), After: mustJSON(after.Selectors), Now: mustJSON(cur)}})
	restore := func(ctx context.Context) error {
		_, err := ctClient(env, t).PutEventSelectors(ctx, p.Selectors.putInput(p.TrailARN))
		if err != nil && !trailGone(err) {
			return fmt.Errorf("cloudtrail: restore event selectors of trail %s in %s: %w", p.TrailARN, t.HomeRegion, err)
		}
		return nil
	}
	switch {
	case state == fieldsAsBefore:
		return control.Nothing("trail %s has its earlier event selectors already", TrailName), nil
	case p.Selectors.empty():
		return control.Kept("trail %s had no event selectors, and AWS cannot set none: harden's stay", TrailName), nil
	case state == fieldsDrifted:
		return control.Drift(restore, "trail %s event selectors: harden set management events %s, now %s (%s)", TrailName,
			after.Selectors.describeManagement(), cur.describeManagement(), mustJSON(cur)), nil
	}
	return control.Restored(fmt.Sprintf("restore the event selectors of trail %s (management events %s → %s)", TrailName,
		cur.describeManagement(), p.Selectors.describeManagement()), restore), nil
}

// unlessOwned returns the undo decision for a trail that is gone (nothing
// to do) or not harden's (drift, never touched), or nil when the trail is
// harden's and the step's own comparison decides.
func (c CloudTrail) unlessOwned(ctx context.Context, env *control.Env, t control.Target, arn string) (*control.Undo, error) {
	owner, err := c.ownership(ctx, env, t, arn)
	if err != nil {
		return &control.Undo{}, err
	}
	if !owner.Exists {
		u := control.Nothing("trail %s is gone", arn)
		return &u, nil
	}
	if why := owner.notCreatedBy(""); why != "" {
		u := control.Drift(nil, "trail %s is not harden's: %s; left alone", arn, why)
		return &u, nil
	}
	return nil, nil
}

// undoLogging stops the logging StartLogging started, while the trail is
// harden's and logging; a trail someone stopped since needs nothing.
func (c CloudTrail) undoLogging(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var p trailLoggingPrior
	if err := control.DecodePrior(s, &p); err != nil {
		return control.Undo{}, err
	}
	after := trailLoggingPrior{TrailARN: p.TrailARN, Logging: true}
	if _, err := control.DecodeAfter(s, &after); err != nil {
		return control.Undo{}, err
	}
	if u, err := c.unlessOwned(ctx, env, t, p.TrailARN); u != nil || err != nil {
		return *u, err
	}
	logging, err := c.isLogging(ctx, env, t, p.TrailARN)
	if trailGone(err) {
		return control.Nothing("trail %s is gone", p.TrailARN), nil
	}
	if err != nil {
		return control.Undo{}, fmt.Errorf("cloudtrail: get status of trail %s in %s: %w", p.TrailARN, t.HomeRegion, err)
	}
	state, drift := compareStepFields([]stepField{{Name: "logging", Prior: fmt.Sprint(p.Logging), After: fmt.Sprint(after.Logging), Now: fmt.Sprint(logging)}})
	restore := func(ctx context.Context) error { return c.setLogging(ctx, env, t, p.TrailARN, p.Logging) }
	switch {
	case state == fieldsAsBefore || p.Logging == after.Logging:
		return control.Nothing("trail %s logging is %t already", TrailName, logging), nil
	case state == fieldsDrifted:
		return control.Drift(restore, "trail %s %s", TrailName, drift), nil
	}
	what := "stop logging of trail " + TrailName
	if p.Logging {
		what = "start logging of trail " + TrailName
	}
	return control.Restored(what, restore), nil
}

// setLogging starts or stops a trail's logging; a trail that is gone needs
// nothing.
func (CloudTrail) setLogging(ctx context.Context, env *control.Env, t control.Target, arn string, on bool) error {
	var err error
	if on {
		_, err = ctClient(env, t).StartLogging(ctx, &cloudtrail.StartLoggingInput{Name: aws.String(arn)})
	} else {
		_, err = ctClient(env, t).StopLogging(ctx, &cloudtrail.StopLoggingInput{Name: aws.String(arn)})
	}
	if err != nil && !trailGone(err) {
		return fmt.Errorf("cloudtrail: set logging=%t of trail %s in %s: %w", on, arn, t.HomeRegion, err)
	}
	return nil
}

// Steps lists the writes Apply makes, each with its undo. The bucket, the
// logs and the key are never touched.
func (c CloudTrail) Steps() control.Steps {
	return control.Steps{
		stepCreateTrail:       c.undoCreate,
		stepUpdateTrail:       c.undoUpdate,
		stepPutEventSelectors: c.undoSelectors,
		stepStartLogging:      c.undoLogging,
	}
}
