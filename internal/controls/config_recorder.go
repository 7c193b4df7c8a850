package controls

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/configservice"
	cstypes "github.com/aws/aws-sdk-go-v2/service/configservice/types"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/parallel"
)

// ConfigRecorder keeps AWS Config recording in every region: a customer
// managed configuration recorder for all supported resource types (global
// IAM types in the home region only) that uses the AWS Config
// service-linked role, a delivery channel to the log-archive bucket
// encrypted with the log-archive key, and the recorder started.
//
// There is one customer managed recorder and one delivery channel per
// region and neither can be renamed, so existing ones are reused under
// their own names; a channel delivering to another bucket is the user's
// logging destination and counts as it is. A recorder owned by AWS Control
// Tower is reported, never changed. Rollback never deletes recorded
// configuration items or delivered files.
type ConfigRecorder struct{}

const (
	// ConfigRoleName is the AWS Config service-linked role.
	ConfigRoleName = "AWSServiceRoleForConfig"
	configService  = "config.amazonaws.com"
	// configDefaultName names the recorder and channel harden creates
	// when the region has none.
	configDefaultName = "default"
	// controlTowerPrefix starts the names of what Control Tower installs.
	controlTowerPrefix = "aws-controltower-"
)

// ConfigRoleARN is the ARN of the AWS Config service-linked role.
func ConfigRoleARN(t control.Target) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/aws-service-role/%s/%s", t.AccountID, configService, ConfigRoleName)
}

func (ConfigRecorder) Info() control.Info {
	return control.Info{
		ID:    "config-recorder",
		Title: "AWS Config recorder",
		Scope: control.Regional,
		Desired: "AWS Config records all supported resource types (global types in the home region only) with its " +
			"service-linked role and delivers to the log-archive bucket",
		SecurityHub: []string{"Config.1"},
		CIS:         []string{"3.3"},
		// The delivery channel and the recording need the log archive;
		// the recorder does not (ApplyEarly puts it at the start of
		// apply), and it is what securityhub needs (stage "recorder").
		DependsOn: []string{"log-archive"},
		// Everything log-archive writes, not its re-check.
		Needs:  map[string]string{"log-archive": control.Applied},
		Stages: []control.Stage{{Name: configRecorderStage, What: "the region's configuration recorder exists (not yet delivering or recording)"}},
		ReadActions: []string{"config:DescribeConfigurationRecorders", "config:DescribeConfigurationRecorderStatus",
			"config:DescribeDeliveryChannels", "kms:DescribeKey", "s3:ListBucket", "iam:GetRole"},
		WriteActions: []string{"config:PutConfigurationRecorder", "config:PutDeliveryChannel",
			"config:StartConfigurationRecorder", "config:StopConfigurationRecorder", "config:DeleteDeliveryChannel",
			"config:DeleteConfigurationRecorder", "iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole",
			"iam:GetServiceLinkedRoleDeletionStatus", "iam:PassRole"},
		Cost: control.Cost{UsageBased: true, Drivers: "configuration items recorded (0.003 USD each, every resource change in the region) and their delivery to the log archive"},
	}
}

// ArchiveGrants: AWS Config checks the archive bucket's ACL, lists it and
// writes under AWSLogs/<account>/Config/, and encrypts deliveries with the
// archive key, for this account only.
func (ConfigRecorder) ArchiveGrants(t control.Target) []control.ArchiveGrant {
	acct := t.AccountID
	const svc = "config.amazonaws.com"
	return []control.ArchiveGrant{
		{Sid: "ConfigAclCheck", Policy: control.BucketPolicy, Service: svc, Actions: []string{"s3:GetBucketAcl", "s3:ListBucket"},
			Condition: map[string]map[string]string{"StringEquals": {"aws:SourceAccount": acct}}},
		{Sid: "ConfigWrite", Policy: control.BucketPolicy, Service: svc, Actions: []string{"s3:PutObject"},
			Objects: []string{"AWSLogs/" + acct + "/Config/*"},
			Condition: map[string]map[string]string{"StringEquals": {
				"aws:SourceAccount": acct, "s3:x-amz-acl": "bucket-owner-full-control"}}},
		{Sid: "ConfigEncryptDeliveries", Policy: control.KeyPolicy, Service: svc, Actions: []string{"kms:Decrypt", "kms:GenerateDataKey"},
			Condition: map[string]map[string]string{"StringEquals": {"aws:SourceAccount": acct}}},
	}
}

// configRecorderSpec is a recorder as the journal keeps it: what
// PutConfigurationRecorder takes.
type configRecorderSpec struct {
	Name           string                `json:"name"`
	RoleARN        string                `json:"role_arn"`
	RecordingGroup *configRecordingGroup `json:"recording_group,omitempty"`
	RecordingMode  *configRecordingMode  `json:"recording_mode,omitempty"`
}

// configRecordingGroup is a recorder's recording group as the journal keeps
// it. The json names are the Go field names of cstypes.RecordingGroup,
// which journals of format 1 held as it marshals: they decode unchanged.
type configRecordingGroup struct {
	AllSupported               bool                     `json:"AllSupported"`
	IncludeGlobalResourceTypes bool                     `json:"IncludeGlobalResourceTypes"`
	ResourceTypes              []string                 `json:"ResourceTypes,omitempty"`
	ExclusionByResourceTypes   *configExclusion         `json:"ExclusionByResourceTypes,omitempty"`
	RecordingStrategy          *configRecordingStrategy `json:"RecordingStrategy,omitempty"`
}

type configExclusion struct {
	ResourceTypes []string `json:"ResourceTypes,omitempty"`
}

type configRecordingStrategy struct {
	UseOnly string `json:"UseOnly,omitempty"`
}

// configRecordingMode is cstypes.RecordingMode as the journal keeps it,
// under the same Go field names.
type configRecordingMode struct {
	RecordingFrequency     string                        `json:"RecordingFrequency,omitempty"`
	RecordingModeOverrides []configRecordingModeOverride `json:"RecordingModeOverrides,omitempty"`
}

type configRecordingModeOverride struct {
	Description        string   `json:"Description,omitempty"`
	RecordingFrequency string   `json:"RecordingFrequency,omitempty"`
	ResourceTypes      []string `json:"ResourceTypes,omitempty"`
}

// configDefaultFrequency is the recording frequency AWS reports for a
// recorder put without a recording mode.
const configDefaultFrequency = string(cstypes.RecordingFrequencyContinuous)

func groupFromSDK(g *cstypes.RecordingGroup) *configRecordingGroup {
	if g == nil {
		return nil
	}
	out := &configRecordingGroup{AllSupported: g.AllSupported, IncludeGlobalResourceTypes: g.IncludeGlobalResourceTypes,
		ResourceTypes: resourceTypeNames(g.ResourceTypes)}
	if e := g.ExclusionByResourceTypes; e != nil && len(e.ResourceTypes) > 0 {
		out.ExclusionByResourceTypes = &configExclusion{ResourceTypes: resourceTypeNames(e.ResourceTypes)}
	}
	if r := g.RecordingStrategy; r != nil && r.UseOnly != "" {
		out.RecordingStrategy = &configRecordingStrategy{UseOnly: string(r.UseOnly)}
	}
	return out
}

func (g *configRecordingGroup) input() *cstypes.RecordingGroup {
	if g == nil {
		return nil
	}
	out := &cstypes.RecordingGroup{AllSupported: g.AllSupported, IncludeGlobalResourceTypes: g.IncludeGlobalResourceTypes,
		ResourceTypes: sdkResourceTypes(g.ResourceTypes)}
	if g.ExclusionByResourceTypes != nil {
		out.ExclusionByResourceTypes = &cstypes.ExclusionByResourceTypes{ResourceTypes: sdkResourceTypes(g.ExclusionByResourceTypes.ResourceTypes)}
	}
	if g.RecordingStrategy != nil {
		out.RecordingStrategy = &cstypes.RecordingStrategy{UseOnly: cstypes.RecordingStrategyType(g.RecordingStrategy.UseOnly)}
	}
	return out
}

func modeFromSDK(m *cstypes.RecordingMode) *configRecordingMode {
	if m == nil {
		return nil
	}
	out := &configRecordingMode{RecordingFrequency: string(m.RecordingFrequency)}
	for _, o := range m.RecordingModeOverrides {
		out.RecordingModeOverrides = append(out.RecordingModeOverrides, configRecordingModeOverride{
			Description: aws.ToString(o.Description), RecordingFrequency: string(o.RecordingFrequency),
			ResourceTypes: resourceTypeNames(o.ResourceTypes)})
	}
	return out
}

func (m *configRecordingMode) input() *cstypes.RecordingMode {
	if m == nil {
		return nil
	}
	out := &cstypes.RecordingMode{RecordingFrequency: cstypes.RecordingFrequency(m.RecordingFrequency)}
	for _, o := range m.RecordingModeOverrides {
		sdk := cstypes.RecordingModeOverride{RecordingFrequency: cstypes.RecordingFrequency(o.RecordingFrequency),
			ResourceTypes: sdkResourceTypes(o.ResourceTypes)}
		if o.Description != "" {
			sdk.Description = aws.String(o.Description)
		}
		out.RecordingModeOverrides = append(out.RecordingModeOverrides, sdk)
	}
	return out
}

func resourceTypeNames(types []cstypes.ResourceType) []string {
	var out []string
	for _, t := range types {
		out = append(out, string(t))
	}
	return out
}

func sdkResourceTypes(names []string) []cstypes.ResourceType {
	var out []cstypes.ResourceType
	for _, n := range names {
		out = append(out, cstypes.ResourceType(n))
	}
	return out
}

// withDefaults returns the spec as AWS reports it once put: a recorder put
// without a recording mode records continuously.
func (s configRecorderSpec) withDefaults() configRecorderSpec {
	if s.RecordingMode == nil {
		s.RecordingMode = &configRecordingMode{RecordingFrequency: configDefaultFrequency}
	}
	return s
}

// configChannelSpec is a delivery channel as the journal keeps it.
type configChannelSpec struct {
	Name              string `json:"name"`
	S3BucketName      string `json:"s3_bucket_name"`
	S3KeyPrefix       string `json:"s3_key_prefix,omitempty"`
	S3KmsKeyArn       string `json:"s3_kms_key_arn,omitempty"`
	SnsTopicARN       string `json:"sns_topic_arn,omitempty"`
	DeliveryFrequency string `json:"delivery_frequency,omitempty"`
}

// configState is one region's recording setup.
type configState struct {
	Recorder  *configRecorderSpec // nil: none
	Recording bool
	// LastStatus and LastError describe the recorder's last delivery.
	LastStatus, LastError string
	Channel               *configChannelSpec // nil: none
}

func recorderSpec(r cstypes.ConfigurationRecorder) *configRecorderSpec {
	return &configRecorderSpec{Name: aws.ToString(r.Name), RoleARN: aws.ToString(r.RoleARN),
		RecordingGroup: groupFromSDK(r.RecordingGroup), RecordingMode: modeFromSDK(r.RecordingMode)}
}

func (s *configRecorderSpec) input() *cstypes.ConfigurationRecorder {
	return &cstypes.ConfigurationRecorder{Name: aws.String(s.Name), RoleARN: aws.String(s.RoleARN),
		RecordingGroup: s.RecordingGroup.input(), RecordingMode: s.RecordingMode.input()}
}

func channelSpec(c cstypes.DeliveryChannel) *configChannelSpec {
	s := &configChannelSpec{Name: aws.ToString(c.Name), S3BucketName: aws.ToString(c.S3BucketName),
		S3KeyPrefix: aws.ToString(c.S3KeyPrefix), S3KmsKeyArn: aws.ToString(c.S3KmsKeyArn), SnsTopicARN: aws.ToString(c.SnsTopicARN)}
	if p := c.ConfigSnapshotDeliveryProperties; p != nil {
		s.DeliveryFrequency = string(p.DeliveryFrequency)
	}
	return s
}

func (s *configChannelSpec) input() *cstypes.DeliveryChannel {
	opt := func(v string) *string {
		if v == "" {
			return nil
		}
		return aws.String(v)
	}
	c := &cstypes.DeliveryChannel{Name: aws.String(s.Name), S3BucketName: aws.String(s.S3BucketName),
		S3KeyPrefix: opt(s.S3KeyPrefix), S3KmsKeyArn: opt(s.S3KmsKeyArn), SnsTopicARN: opt(s.SnsTopicARN)}
	if s.DeliveryFrequency != "" {
		c.ConfigSnapshotDeliveryProperties = &cstypes.ConfigSnapshotDeliveryProperties{
			DeliveryFrequency: cstypes.MaximumExecutionFrequency(s.DeliveryFrequency)}
	}
	return c
}

// read returns the region's customer managed recorder, its status and the
// delivery channel. Recorders that another AWS service owns
// (service-linked recorders) are not the customer managed one.
func (c ConfigRecorder) read(ctx context.Context, env *control.Env, region string) (configState, error) {
	var st configState
	var status *configservice.DescribeConfigurationRecorderStatusOutput
	err := parallel.Do(ctx,
		func(ctx context.Context) (err error) { st.Recorder, err = c.readRecorder(ctx, env, region); return err },
		func(ctx context.Context) (err error) {
			status, err = env.AWS.Config(region).DescribeConfigurationRecorderStatus(ctx, &configservice.DescribeConfigurationRecorderStatusInput{})
			if err != nil {
				return fmt.Errorf("config-recorder: describe configuration recorder status in %s: %w", region, err)
			}
			return nil
		},
		func(ctx context.Context) (err error) { st.Channel, err = c.readChannel(ctx, env, region); return err })
	if err != nil {
		return st, err
	}
	for _, s := range status.ConfigurationRecordersStatus {
		if st.Recorder != nil && aws.ToString(s.Name) == st.Recorder.Name {
			st.Recording, st.LastStatus = s.Recording, string(s.LastStatus)
			st.LastError = strings.TrimSpace(aws.ToString(s.LastErrorCode) + " " + aws.ToString(s.LastErrorMessage))
		}
	}
	return st, nil
}

// managedBy names who manages the region's recording, or "".
func (s configState) managedBy() string {
	if (s.Recorder != nil && strings.HasPrefix(s.Recorder.Name, controlTowerPrefix)) ||
		(s.Channel != nil && strings.HasPrefix(s.Channel.Name, controlTowerPrefix)) {
		return "AWS Control Tower"
	}
	return ""
}

func allSupported(g *configRecordingGroup) bool {
	return g != nil && g.AllSupported && len(g.ResourceTypes) == 0 &&
		(g.ExclusionByResourceTypes == nil || len(g.ExclusionByResourceTypes.ResourceTypes) == 0) &&
		(g.RecordingStrategy == nil || g.RecordingStrategy.UseOnly == "" ||
			g.RecordingStrategy.UseOnly == string(cstypes.RecordingStrategyTypeAllSupportedResourceTypes))
}

func describeGroup(g *configRecordingGroup) string {
	switch {
	case g == nil:
		return "default"
	case allSupported(g):
		return "all supported"
	case g.RecordingStrategy != nil && g.RecordingStrategy.UseOnly == string(cstypes.RecordingStrategyTypeExclusionByResourceTypes) &&
		g.ExclusionByResourceTypes != nil:
		return "all but " + strconv.Itoa(len(g.ExclusionByResourceTypes.ResourceTypes)) + " types"
	default:
		return strconv.Itoa(len(g.ResourceTypes)) + " listed types"
	}
}

// desiredGroup records every supported type; global types only at home.
func desiredGroup(t control.Target) *configRecordingGroup {
	return &configRecordingGroup{
		AllSupported:               true,
		IncludeGlobalResourceTypes: t.Region == t.HomeRegion,
		RecordingStrategy:          &configRecordingStrategy{UseOnly: string(cstypes.RecordingStrategyTypeAllSupportedResourceTypes)},
	}
}

func (s configState) recorderOK(t control.Target) bool {
	r := s.Recorder
	return r != nil && r.RoleARN == ConfigRoleARN(t) && allSupported(r.RecordingGroup) &&
		r.RecordingGroup.IncludeGlobalResourceTypes == (t.Region == t.HomeRegion)
}

// channelOK: a channel to the log bucket must name a KMS key; a channel to
// any other bucket is the user's own destination and counts.
func (s configState) channelOK(bucket string) bool {
	return s.Channel != nil && (s.Channel.S3BucketName != bucket || s.Channel.S3KmsKeyArn != "")
}

func (s configState) changes(env *control.Env, t control.Target) []control.Change {
	var out []control.Change
	add := func(field, cur, want string) {
		out = append(out, control.Change{Field: field, Current: cur, Desired: want})
	}
	home := t.Region == t.HomeRegion
	bucket := LogBucketName(env, t)
	if r := s.Recorder; r == nil {
		want := configDefaultName + ", all supported types"
		if home {
			want += ", global types"
		}
		add("recorder", "none", want)
	} else {
		if r.RoleARN != ConfigRoleARN(t) {
			add("recorder role", r.RoleARN, ConfigRoleARN(t))
		}
		if !allSupported(r.RecordingGroup) {
			add("recorded resource types", describeGroup(r.RecordingGroup), "all supported")
		}
		if global := r.RecordingGroup != nil && r.RecordingGroup.IncludeGlobalResourceTypes; global != home {
			add("global resource types", strconv.FormatBool(global), strconv.FormatBool(home))
		}
	}
	switch {
	case s.Channel == nil:
		add("delivery channel", "none", "s3://"+bucket)
	case !s.channelOK(bucket):
		add("delivery channel KMS key", "none", LogArchiveKeyAlias)
	}
	if !s.Recording {
		add("recording", "false", "true")
	}
	return out
}

func (s configState) note(env *control.Env, t control.Target) string {
	var notes []string
	bucket := LogBucketName(env, t)
	if s.Recorder != nil && s.Recorder.Name != configDefaultName && s.managedBy() == "" {
		notes = append(notes, fmt.Sprintf("existing recorder %q is kept", s.Recorder.Name))
	}
	if s.Channel != nil && s.Channel.S3BucketName != bucket {
		notes = append(notes, fmt.Sprintf("existing delivery channel %q to s3://%s counts", s.Channel.Name, s.Channel.S3BucketName))
		if s.Recorder != nil && s.Recorder.RoleARN != ConfigRoleARN(t) && s.managedBy() == "" {
			notes = append(notes, "with the service-linked role, that bucket's policy must let config.amazonaws.com write")
		}
	}
	if s.Recording && s.LastStatus == string(cstypes.RecorderStatusFailure) {
		notes = append(notes, "last delivery failed: "+s.LastError)
	}
	return strings.Join(notes, "; ")
}

func (c ConfigRecorder) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	st, err := c.read(ctx, env, t.Region)
	if err != nil {
		return control.Finding{}, err
	}
	ch := st.changes(env, t)
	f := control.Finding{Compliant: len(ch) == 0, Note: st.note(env, t)}
	if owner := st.managedBy(); owner != "" {
		if f.Note == "" {
			f.Note = "managed by " + owner
		}
		if !f.Compliant {
			f.Changes, f.Unmanaged = ch, "managed by "+owner+": change it there"
		}
		return f, nil
	}
	if f.Compliant {
		return f, nil
	}
	f.Action, f.Changes = control.ActionUpdate, ch
	if st.Recorder == nil {
		f.Action = control.ActionCreate
	}
	return f, nil
}

// Kinds of write Apply journals (the strings are those older journals hold).
const (
	stepCreateConfigRole   control.StepKind = "CreateServiceLinkedRole"
	stepPutRecorder        control.StepKind = "PutConfigurationRecorder"
	stepPutDeliveryChannel control.StepKind = "PutDeliveryChannel"
	stepStartRecorder      control.StepKind = "StartConfigurationRecorder"
)

// Prior states journaled by Apply, one per kind of write. The after state
// of PutConfigurationRecorder is the configRecorderSpec it puts, of
// PutDeliveryChannel the configChannelSpec, of StartConfigurationRecorder a
// configStartPrior with Recording true and of CreateServiceLinkedRole a
// configSLRPrior.
type (
	// configSLRPrior: the service-linked role did not exist.
	configSLRPrior struct {
		RoleName string `json:"role_name"`
	}
	// configRecorderPrior: the recorder Name the write puts, and the whole
	// recorder before it (nil: none).
	configRecorderPrior struct {
		Name     string              `json:"name"`
		Recorder *configRecorderSpec `json:"recorder"`
	}
	configChannelPrior struct {
		Name    string             `json:"name"`
		Channel *configChannelSpec `json:"channel"`
	}
	configStartPrior struct {
		Name      string `json:"name"`
		Recording bool   `json:"recording"`
	}
)

// logArchiveKey returns the log-archive key's ARN after making sure the
// key and bucket exist; it reads the two together.
func (ConfigRecorder) logArchiveKey(ctx context.Context, env *control.Env, t control.Target) (string, error) {
	bucket := LogBucketName(env, t)
	var keyARN string
	err := parallel.Do(ctx, func(ctx context.Context) error {
		key, err := env.AWS.KMS(t.HomeRegion).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(LogArchiveKeyAlias)})
		if awserror.Is(err, "NotFoundException") {
			return fmt.Errorf("config-recorder: KMS key %s not found in %s: apply log-archive first", LogArchiveKeyAlias, t.HomeRegion)
		}
		if err != nil {
			return fmt.Errorf("config-recorder: describe key %s in %s: %w", LogArchiveKeyAlias, t.HomeRegion, err)
		}
		keyARN = aws.ToString(key.KeyMetadata.Arn)
		return nil
	}, func(ctx context.Context) error {
		_, err := env.AWS.S3(t.HomeRegion).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
		if awserror.Is(err, "NotFound", "NoSuchBucket") {
			return fmt.Errorf("config-recorder: log bucket %s not found: apply log-archive first", bucket)
		}
		if err != nil {
			return fmt.Errorf("config-recorder: head bucket %s: %w", bucket, err)
		}
		return nil
	})
	return keyARN, err
}

// Prerequisites makes sure the Config service-linked role exists. IAM is
// global and every region's recorder uses the one role: the engine runs
// this once per apply, in the home region, before any region's Apply, so
// that regions do not race to create it.
func (c ConfigRecorder) Prerequisites(ctx context.Context, env *control.Env, t control.Target, j control.Journal) error {
	exists, err := c.roleExists(ctx, env)
	if err != nil || exists {
		return err
	}
	return c.createRole(ctx, env, j)
}

// roleExists says whether the Config service-linked role exists.
func (ConfigRecorder) roleExists(ctx context.Context, env *control.Env) (bool, error) {
	_, err := env.AWS.IAM().GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(ConfigRoleName)})
	switch {
	case err == nil:
		return true, nil
	case awserror.Is(err, "NoSuchEntity"):
		return false, nil
	}
	return false, fmt.Errorf("config-recorder: get role %s: %w", ConfigRoleName, err)
}

// createRole creates the Config service-linked role. When Apply runs
// without the engine's Prerequisites (regions applied concurrently by
// another caller), a create that AWS refuses because the name "has been
// taken" means another region made it.
func (ConfigRecorder) createRole(ctx context.Context, env *control.Env, j control.Journal) error {
	c := env.AWS.IAM()
	prior := configSLRPrior{RoleName: ConfigRoleName}
	err := j.Write(ctx, stepCreateConfigRole, prior, prior, func(ctx context.Context) (any, error) {
		out, err := c.CreateServiceLinkedRole(ctx, &iam.CreateServiceLinkedRoleInput{AWSServiceName: aws.String(configService)})
		if err != nil {
			return nil, err
		}
		return map[string]string{"arn": aws.ToString(out.Role.Arn)}, nil
	})
	if err != nil && !(awserror.Is(err, "InvalidInput") && strings.Contains(awserror.Message(err), "has been taken")) {
		return fmt.Errorf("config-recorder: create service-linked role %s: %w", ConfigRoleName, err)
	}
	return nil
}

// managedError explains a change that a service control policy denied.
func managedError(what, region string, err error) error {
	if awserror.IsBlockedByPolicy(err) {
		return fmt.Errorf("config-recorder: %s in %s: denied by a service control policy, so it is managed elsewhere "+
			"(AWS Control Tower or a StackSet): change it there: %w", what, region, err)
	}
	return fmt.Errorf("config-recorder: %s in %s: %w", what, region, err)
}

// configRecorderStage is reached once the region's recorder is as harden
// wants it: Security Hub needs a recorder, not its delivery.
const configRecorderStage = "recorder"

// ApplyEarly puts the recorder at the start of apply: it needs only the
// service-linked role (Prerequisites), not the log archive that the
// delivery channel needs, so securityhub can start before log-archive has
// ended. It reads the region's state and whether the role exists at once,
// while the engine's Prerequisites make the role; it leaves a region
// another service manages alone.
func (c ConfigRecorder) ApplyEarly(ctx context.Context, env *control.Env, t control.Target, j control.Journal) error {
	var st configState
	var roleExists bool
	err := parallel.Do(ctx,
		func(ctx context.Context) (err error) { st, err = c.read(ctx, env, t.Region); return err },
		func(ctx context.Context) (err error) { roleExists, err = c.roleExists(ctx, env); return err })
	if err != nil || st.managedBy() != "" || st.recorderOK(t) {
		if err == nil && st.managedBy() == "" {
			control.Reached(ctx, configRecorderStage)
		}
		return err
	}
	// The role: made by the Prerequisites when the engine runs them
	// (read above while they ran), else by putRecorder.
	made, err := control.AwaitPrerequisites(ctx)
	if err != nil {
		return err
	}
	roleExists = roleExists || made
	name := configDefaultName
	if st.Recorder != nil {
		name = st.Recorder.Name
	}
	if err := c.putRecorder(ctx, env, t, j, st, name, roleExists); err != nil {
		return err
	}
	control.Reached(ctx, configRecorderStage)
	return nil
}

// Apply reads at once the region's state, whether the service-linked role
// exists and the log archive's key (so that nothing is written when the
// log archive is missing); then puts the recorder (unless ApplyEarly did),
// the delivery channel (AWS wants a recorder first) and starts recording
// (AWS wants a channel first).
func (c ConfigRecorder) Apply(ctx context.Context, env *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	var st configState
	var roleExists bool
	var keyARN string
	var keyErr error
	err := parallel.Do(ctx,
		func(ctx context.Context) (err error) { st, err = c.read(ctx, env, t.Region); return err },
		func(ctx context.Context) (err error) { roleExists, err = c.roleExists(ctx, env); return err },
		func(ctx context.Context) error { keyARN, keyErr = c.logArchiveKey(ctx, env, t); return nil })
	if err != nil {
		return nil, err
	}
	ch := st.changes(env, t)
	if len(ch) == 0 || st.managedBy() != "" {
		return nil, nil
	}
	bucket := LogBucketName(env, t)
	putChannel := !st.channelOK(bucket)
	if putChannel && keyErr != nil {
		return nil, keyErr
	}
	name := configDefaultName
	if st.Recorder != nil {
		name = st.Recorder.Name
	}
	if err := c.putRecorder(ctx, env, t, j, st, name, roleExists); err != nil {
		return nil, err
	}
	control.Reached(ctx, configRecorderStage)
	cfg := env.AWS.Config(t.Region)
	if putChannel {
		want := &configChannelSpec{Name: configDefaultName, S3BucketName: bucket}
		if st.Channel != nil {
			w := *st.Channel
			want = &w
		}
		want.S3KmsKeyArn = keyARN
		prior := configChannelPrior{Name: want.Name, Channel: st.Channel}
		err := j.Write(ctx, stepPutDeliveryChannel, prior, want, func(ctx context.Context) (any, error) {
			_, err := cfg.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: want.input()})
			return nil, err
		})
		if err != nil {
			return nil, managedError(fmt.Sprintf("put delivery channel %q", want.Name), t.Region, err)
		}
	}

	if !st.Recording {
		prior := configStartPrior{Name: name, Recording: false}
		after := configStartPrior{Name: name, Recording: true}
		err := j.Write(ctx, stepStartRecorder, prior, after, func(ctx context.Context) (any, error) {
			_, err := cfg.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String(name)})
			return nil, err
		})
		if err != nil {
			return nil, managedError(fmt.Sprintf("start configuration recorder %q", name), t.Region, err)
		}
	}
	return ch, nil
}

// putRecorder puts the recorder named name as harden wants it, unless it
// is; first the service-linked role, if the recorder will use it and the
// engine's Prerequisites did not make it.
func (c ConfigRecorder) putRecorder(ctx context.Context, env *control.Env, t control.Target, j control.Journal, st configState, name string, roleExists bool) error {
	if st.recorderOK(t) {
		return nil
	}
	if !roleExists && (st.Recorder == nil || st.Recorder.RoleARN != ConfigRoleARN(t)) {
		if err := c.createRole(ctx, env, j); err != nil {
			return err
		}
	}
	want := &configRecorderSpec{Name: name, RoleARN: ConfigRoleARN(t), RecordingGroup: desiredGroup(t)}
	if st.Recorder != nil {
		want.RecordingMode = st.Recorder.RecordingMode
	}
	err := j.Write(ctx, stepPutRecorder, configRecorderPrior{Name: name, Recorder: st.Recorder}, want, func(ctx context.Context) (any, error) {
		_, err := env.AWS.Config(t.Region).PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: want.input()})
		return nil, err
	})
	if err != nil {
		return managedError(fmt.Sprintf("put configuration recorder %q", name), t.Region, err)
	}
	return nil
}

// readRecorder returns the region's customer managed recorder, nil when
// none (recorders another AWS service owns are not it). One call.
func (ConfigRecorder) readRecorder(ctx context.Context, env *control.Env, region string) (*configRecorderSpec, error) {
	recs, err := env.AWS.Config(region).DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{})
	if err != nil {
		return nil, fmt.Errorf("config-recorder: describe configuration recorders in %s: %w", region, err)
	}
	for _, r := range recs.ConfigurationRecorders {
		if aws.ToString(r.ServicePrincipal) == "" {
			return recorderSpec(r), nil
		}
	}
	return nil, nil
}

// readChannel returns the region's delivery channel, nil when none. One
// call.
func (ConfigRecorder) readChannel(ctx context.Context, env *control.Env, region string) (*configChannelSpec, error) {
	chs, err := env.AWS.Config(region).DescribeDeliveryChannels(ctx, &configservice.DescribeDeliveryChannelsInput{})
	if err != nil {
		return nil, fmt.Errorf("config-recorder: describe delivery channels in %s: %w", region, err)
	}
	if len(chs.DeliveryChannels) == 0 {
		return nil, nil
	}
	return channelSpec(chs.DeliveryChannels[0]), nil
}

// recorderStatus says whether the recorder named name exists and records.
// One call.
func (ConfigRecorder) recorderStatus(ctx context.Context, env *control.Env, region, name string) (found, recording bool, err error) {
	out, err := env.AWS.Config(region).DescribeConfigurationRecorderStatus(ctx, &configservice.DescribeConfigurationRecorderStatusInput{})
	if err != nil {
		return false, false, fmt.Errorf("config-recorder: describe configuration recorder status in %s: %w", region, err)
	}
	for _, s := range out.ConfigurationRecordersStatus {
		if aws.ToString(s.Name) == name {
			return true, s.Recording, nil
		}
	}
	return false, false, nil
}

// stopRunningRecorder stops the recorder named name, read as running.
func stopRunningRecorder(ctx context.Context, env *control.Env, region, name string) error {
	_, err := env.AWS.Config(region).StopConfigurationRecorder(ctx, &configservice.StopConfigurationRecorderInput{
		ConfigurationRecorderName: aws.String(name)})
	if err != nil && !awserror.Is(err, "NoSuchConfigurationRecorderException") {
		return managedError(fmt.Sprintf("stop configuration recorder %q", name), region, err)
	}
	return nil
}

// runningRecorder reads the region's customer managed recorder and its
// status together: its name, "" when none, and whether it records.
func (c ConfigRecorder) runningRecorder(ctx context.Context, env *control.Env, region string) (string, bool, error) {
	var rec *configRecorderSpec
	var out *configservice.DescribeConfigurationRecorderStatusOutput
	err := parallel.Do(ctx, func(ctx context.Context) (err error) {
		rec, err = c.readRecorder(ctx, env, region)
		return err
	}, func(ctx context.Context) (err error) {
		out, err = env.AWS.Config(region).DescribeConfigurationRecorderStatus(ctx, &configservice.DescribeConfigurationRecorderStatusInput{})
		if err != nil {
			return fmt.Errorf("config-recorder: describe configuration recorder status in %s: %w", region, err)
		}
		return nil
	})
	if err != nil || rec == nil {
		return "", false, err
	}
	for _, st := range out.ConfigurationRecordersStatus {
		if aws.ToString(st.Name) == rec.Name {
			return rec.Name, st.Recording, nil
		}
	}
	return rec.Name, false, nil
}

// describeRecordedTypes says which resource types a group records, exactly.
func describeRecordedTypes(g *configRecordingGroup) string {
	if g == nil || allSupported(g) {
		return describeGroup(g)
	}
	types := *g
	types.IncludeGlobalResourceTypes = false
	return describeGroup(g) + " " + mustJSON(types)
}

func describeMode(m *configRecordingMode) string {
	if m == nil {
		return configDefaultFrequency
	}
	if len(m.RecordingModeOverrides) == 0 {
		return m.RecordingFrequency
	}
	return m.RecordingFrequency + " with overrides " + mustJSON(m.RecordingModeOverrides)
}

// recorderValues are a recorder's settings in words, "none" for every one
// when there is no recorder.
func recorderValues(s *configRecorderSpec) map[string]string {
	if s == nil {
		return map[string]string{"role": "none", "recorded resource types": "none", "global resource types": "none", "recording mode": "none"}
	}
	d := s.withDefaults()
	global := d.RecordingGroup != nil && d.RecordingGroup.IncludeGlobalResourceTypes
	return map[string]string{"role": d.RoleARN, "recorded resource types": describeRecordedTypes(d.RecordingGroup),
		"global resource types": strconv.FormatBool(global), "recording mode": describeMode(d.RecordingMode)}
}

var recorderFieldNames = []string{"role", "recorded resource types", "global resource types", "recording mode"}

// channelValues are a delivery channel's settings in words.
func channelValues(s *configChannelSpec) map[string]string {
	if s == nil {
		return map[string]string{"S3 bucket": "none", "S3 key prefix": "none", "KMS key": "none", "SNS topic": "none", "delivery frequency": "none"}
	}
	return map[string]string{"S3 bucket": s.S3BucketName, "S3 key prefix": ctOrNone(s.S3KeyPrefix), "KMS key": ctOrNone(s.S3KmsKeyArn),
		"SNS topic": ctOrNone(s.SnsTopicARN), "delivery frequency": ctOrNone(s.DeliveryFrequency)}
}

var channelFieldNames = []string{"S3 bucket", "S3 key prefix", "KMS key", "SNS topic", "delivery frequency"}

// setFields pairs the settings a step changed (those whose prior and after
// values differ) with their current values.
func setFields(names []string, prior, after, now map[string]string) []stepField {
	var out []stepField
	for _, n := range names {
		if prior[n] != after[n] {
			out = append(out, stepField{Name: n, Prior: prior[n], After: after[n], Now: now[n]})
		}
	}
	return out
}

// withSettings returns the recorder s with the settings a step set taken
// from prior: what undoing the step puts, keeping any other change made
// since. The recording group is one unit for AWS: its resource types come
// back whole.
func (s *configRecorderSpec) withSettings(prior *configRecorderSpec, set []stepField) *configRecorderSpec {
	out := *s
	for _, f := range set {
		switch f.Name {
		case "role":
			out.RoleARN = prior.RoleARN
		case "recorded resource types":
			global := out.RecordingGroup != nil && out.RecordingGroup.IncludeGlobalResourceTypes
			out.RecordingGroup = copyGroup(prior.RecordingGroup)
			if out.RecordingGroup != nil {
				out.RecordingGroup.IncludeGlobalResourceTypes = global
			}
		case "recording mode":
			out.RecordingMode = prior.RecordingMode
		}
	}
	for _, f := range set {
		if f.Name == "global resource types" && out.RecordingGroup != nil {
			out.RecordingGroup = copyGroup(out.RecordingGroup)
			out.RecordingGroup.IncludeGlobalResourceTypes = prior.RecordingGroup != nil && prior.RecordingGroup.IncludeGlobalResourceTypes
		}
	}
	return &out
}

func copyGroup(g *configRecordingGroup) *configRecordingGroup {
	if g == nil {
		return nil
	}
	c := *g
	return &c
}

// withSettings returns the channel s with the settings a step set taken
// from prior, keeping any other change made since.
func (s *configChannelSpec) withSettings(prior *configChannelSpec, set []stepField) *configChannelSpec {
	out := *s
	for _, f := range set {
		switch f.Name {
		case "S3 bucket":
			out.S3BucketName = prior.S3BucketName
		case "S3 key prefix":
			out.S3KeyPrefix = prior.S3KeyPrefix
		case "KMS key":
			out.S3KmsKeyArn = prior.S3KmsKeyArn
		case "SNS topic":
			out.SnsTopicARN = prior.SnsTopicARN
		case "delivery frequency":
			out.DeliveryFrequency = prior.DeliveryFrequency
		}
	}
	return &out
}

// describeRestore says "role A → B, …" for the settings going back.
func describeRestore(fields []stepField) string {
	var parts []string
	for _, f := range fields {
		parts = append(parts, fmt.Sprintf("%s %s → %s", f.Name, f.Now, f.Prior))
	}
	return strings.Join(parts, ", ")
}

// undoRecorder puts back the recorder PutConfigurationRecorder changed,
// or deletes the one it created. Recorders have no tags: a recorder is the
// one harden created when none existed before and it still has the name
// and settings harden gave it; otherwise it is someone else's and never
// deleted.
func (c ConfigRecorder) undoRecorder(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var p configRecorderPrior
	if err := control.DecodePrior(s, &p); err != nil {
		return control.Undo{}, err
	}
	after := configRecorderSpec{Name: p.Name, RoleARN: ConfigRoleARN(t), RecordingGroup: desiredGroup(t)}
	if p.Recorder != nil {
		after.RecordingMode = p.Recorder.RecordingMode
	}
	if _, err := control.DecodeAfter(s, &after); err != nil {
		return control.Undo{}, err
	}
	// A recorder harden created is deleted, stopped first when it
	// records: its status is read with it, so that the undo writes at once.
	var cur *configRecorderSpec
	var recording bool
	reads := []func(context.Context) error{func(ctx context.Context) (err error) {
		cur, err = c.readRecorder(ctx, env, t.Region)
		return err
	}}
	if p.Recorder == nil {
		reads = append(reads, func(ctx context.Context) (err error) {
			_, recording, err = c.recorderStatus(ctx, env, t.Region, p.Name)
			return err
		})
	}
	if err := parallel.Do(ctx, reads...); err != nil {
		return control.Undo{}, err
	}
	if cur == nil || cur.Name != p.Name {
		if p.Recorder == nil && !s.Done {
			return control.Nothing("configuration recorder %q was never created", p.Name), nil
		}
		return control.Nothing("configuration recorder %q is gone", p.Name), nil
	}
	fields := setFields(recorderFieldNames, recorderValues(p.Recorder), recorderValues(&after), recorderValues(cur))
	state, drift := compareStepFields(fields)
	cfg := env.AWS.Config(t.Region)
	if p.Recorder == nil {
		switch {
		case state == fieldsDrifted && !s.Done:
			return control.Nothing("the write never happened: configuration recorder %q exists with other settings (%s); left alone", p.Name, drift), nil
		case state == fieldsDrifted:
			return control.Drift(nil, "configuration recorder %q is not as harden created it (%s): someone else's now, left alone", p.Name, drift), nil
		}
		return control.Deleted(fmt.Sprintf("delete configuration recorder %q (recorded configuration items stay)", p.Name), func(ctx context.Context) error {
			if recording {
				if err := stopRunningRecorder(ctx, env, t.Region, p.Name); err != nil {
					return err
				}
			}
			_, err := cfg.DeleteConfigurationRecorder(ctx, &configservice.DeleteConfigurationRecorderInput{ConfigurationRecorderName: aws.String(p.Name)})
			if err != nil && !awserror.Is(err, "NoSuchConfigurationRecorderException") {
				return managedError(fmt.Sprintf("delete configuration recorder %q", p.Name), t.Region, err)
			}
			return nil
		}), nil
	}
	restored := cur.withSettings(p.Recorder, fields)
	restore := func(ctx context.Context) error {
		_, err := cfg.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: restored.input()})
		if err != nil {
			return managedError(fmt.Sprintf("restore configuration recorder %q", p.Name), t.Region, err)
		}
		return nil
	}
	switch state {
	case fieldsAsBefore:
		return control.Nothing("configuration recorder %q has its earlier settings already", p.Name), nil
	case fieldsDrifted:
		return control.Drift(restore, "configuration recorder %q: %s", p.Name, drift), nil
	}
	return control.Restored(fmt.Sprintf("restore configuration recorder %q (%s)", p.Name, describeRestore(fields)), restore), nil
}

// channelAfter is what a PutDeliveryChannel step left. Journals of format 1
// did not say: it is the prior channel (or harden's default one) with the
// log-archive key as it is now, or, if that key is gone, the key the
// channel has now (the old, unchecked behaviour for that one setting).
func (c ConfigRecorder) channelAfter(ctx context.Context, env *control.Env, t control.Target, s control.Step, p configChannelPrior, cur *configChannelSpec) (configChannelSpec, error) {
	var after configChannelSpec
	ok, err := control.DecodeAfter(s, &after)
	if err != nil || ok {
		return after, err
	}
	after = configChannelSpec{Name: p.Name, S3BucketName: LogBucketName(env, t)}
	if p.Channel != nil {
		after = *p.Channel
	}
	after.S3KmsKeyArn, err = CloudTrail{}.keyARN(ctx, env, t)
	if err != nil {
		return after, err
	}
	if after.S3KmsKeyArn == "" && cur != nil {
		after.S3KmsKeyArn = cur.S3KmsKeyArn
	}
	return after, nil
}

// undoChannel puts back the delivery channel PutDeliveryChannel changed,
// or deletes the one it created while it is as harden left it.
func (c ConfigRecorder) undoChannel(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var p configChannelPrior
	if err := control.DecodePrior(s, &p); err != nil {
		return control.Undo{}, err
	}
	// A channel harden created is deleted once the recorder is stopped
	// (AWS refuses to delete the last channel of a running recorder): the
	// recorder and its status are read with the channel, so that the
	// undo writes at once.
	var cur *configChannelSpec
	var recorder string
	var recording bool
	reads := []func(context.Context) error{func(ctx context.Context) (err error) {
		cur, err = c.readChannel(ctx, env, t.Region)
		return err
	}}
	if p.Channel == nil {
		reads = append(reads, func(ctx context.Context) (err error) {
			recorder, recording, err = c.runningRecorder(ctx, env, t.Region)
			return err
		})
	}
	if err := parallel.Do(ctx, reads...); err != nil {
		return control.Undo{}, err
	}
	if cur == nil || cur.Name != p.Name {
		if p.Channel == nil && !s.Done {
			return control.Nothing("delivery channel %q was never created", p.Name), nil
		}
		return control.Nothing("delivery channel %q is gone", p.Name), nil
	}
	after, err := c.channelAfter(ctx, env, t, s, p, cur)
	if err != nil {
		return control.Undo{}, err
	}
	fields := setFields(channelFieldNames, channelValues(p.Channel), channelValues(&after), channelValues(cur))
	state, drift := compareStepFields(fields)
	cfg := env.AWS.Config(t.Region)
	if p.Channel == nil {
		switch {
		case state == fieldsDrifted && !s.Done:
			return control.Nothing("the write never happened: delivery channel %q exists with other settings (%s); left alone", p.Name, drift), nil
		case state == fieldsDrifted:
			return control.Drift(nil, "delivery channel %q is not as harden created it (%s): someone else's now, left alone", p.Name, drift), nil
		}
		return control.Deleted(fmt.Sprintf("delete delivery channel %q (delivered files stay)", p.Name), func(ctx context.Context) error {
			// AWS refuses to delete the last channel of a running
			// recorder; none existed before, so it was not running. One
			// started since the read makes the delete fail: an error.
			if recording {
				if err := stopRunningRecorder(ctx, env, t.Region, recorder); err != nil {
					return err
				}
			}
			_, err := cfg.DeleteDeliveryChannel(ctx, &configservice.DeleteDeliveryChannelInput{DeliveryChannelName: aws.String(p.Name)})
			if err != nil && !awserror.Is(err, "NoSuchDeliveryChannelException") {
				return managedError(fmt.Sprintf("delete delivery channel %q", p.Name), t.Region, err)
			}
			return nil
		}), nil
	}
	restored := cur.withSettings(p.Channel, fields)
	restore := func(ctx context.Context) error {
		_, err := cfg.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: restored.input()})
		if err != nil {
			return managedError(fmt.Sprintf("restore delivery channel %q", p.Name), t.Region, err)
		}
		return nil
	}
	switch state {
	case fieldsAsBefore:
		return control.Nothing("delivery channel %q has its earlier settings already", p.Name), nil
	case fieldsDrifted:
		return control.Drift(restore, "delivery channel %q: %s", p.Name, drift), nil
	}
	return control.Restored(fmt.Sprintf("restore delivery channel %q (%s)", p.Name, describeRestore(fields)), restore), nil
}

// undoStart stops the recorder StartConfigurationRecorder started, while
// it records; one someone stopped since needs nothing.
func (c ConfigRecorder) undoStart(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var p configStartPrior
	if err := control.DecodePrior(s, &p); err != nil {
		return control.Undo{}, err
	}
	after := configStartPrior{Name: p.Name, Recording: true}
	if _, err := control.DecodeAfter(s, &after); err != nil {
		return control.Undo{}, err
	}
	found, recording, err := c.recorderStatus(ctx, env, t.Region, p.Name)
	if err != nil {
		return control.Undo{}, err
	}
	if !found {
		return control.Nothing("configuration recorder %q is gone", p.Name), nil
	}
	state, drift := compareStepFields([]stepField{{Name: "recording", Prior: strconv.FormatBool(p.Recording),
		After: strconv.FormatBool(after.Recording), Now: strconv.FormatBool(recording)}})
	switch state {
	case fieldsAsBefore:
		return control.Nothing("configuration recorder %q recording is %t already", p.Name, recording), nil
	case fieldsDrifted:
		return control.Drift(nil, "configuration recorder %q %s", p.Name, drift), nil
	}
	return control.Restored(fmt.Sprintf("stop configuration recorder %q", p.Name), func(ctx context.Context) error {
		_, err := env.AWS.Config(t.Region).StopConfigurationRecorder(ctx, &configservice.StopConfigurationRecorderInput{
			ConfigurationRecorderName: aws.String(p.Name)})
		if err != nil && !awserror.Is(err, "NoSuchConfigurationRecorderException") {
			return managedError(fmt.Sprintf("stop configuration recorder %q", p.Name), t.Region, err)
		}
		return nil
	}), nil
}

// undoRole deletes the service-linked role the step created, after every
// region's recorder is undone, unless a recorder in any region still uses
// it: AWS then fails the deletion task and Do keeps the role, saying where
// it is used. Journals hold the step only when the role did not exist.
func (c ConfigRecorder) undoRole(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	u, err := c.decideRole(ctx, env, t, s)
	u.AfterAllRegions = true
	return u, err
}

func (c ConfigRecorder) decideRole(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var p configSLRPrior
	if err := control.DecodePrior(s, &p); err != nil {
		return control.Undo{}, err
	}
	role, err := env.AWS.IAM().GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(p.RoleName)})
	if awserror.Is(err, "NoSuchEntity") {
		if !s.Done {
			return control.Nothing("service-linked role %s was never created", p.RoleName), nil
		}
		return control.Nothing("service-linked role %s is gone", p.RoleName), nil
	}
	if err != nil {
		return control.Undo{}, fmt.Errorf("config-recorder: get role %s: %w", p.RoleName, err)
	}
	if arn := aws.ToString(role.Role.Arn); arn != ConfigRoleARN(t) {
		return control.Drift(nil, "role %s is %s, not the AWS Config service-linked role: left alone", p.RoleName, arn), nil
	}
	return control.Deleted(fmt.Sprintf("delete service-linked role %s unless a recorder in any region still uses it", p.RoleName),
		func(ctx context.Context) error { return c.deleteRole(ctx, env, p.RoleName) }), nil
}

// deleteRole deletes the service-linked role unless a recorder in any
// region still uses it, which AWS reports by failing the deletion task.
func (ConfigRecorder) deleteRole(ctx context.Context, env *control.Env, name string) error {
	c := env.AWS.IAM()
	_, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if awserror.Is(err, "NoSuchEntity") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("config-recorder: get role %s: %w", name, err)
	}
	del, err := c.DeleteServiceLinkedRole(ctx, &iam.DeleteServiceLinkedRoleInput{RoleName: aws.String(name)})
	if awserror.Is(err, "NoSuchEntity") {
		return nil
	}
	if err != nil {
		return fmt.Errorf("config-recorder: delete service-linked role %s: %w", name, err)
	}
	wait := 250 * time.Millisecond
	for deadline := time.Now().Add(time.Minute); ; {
		st, err := c.GetServiceLinkedRoleDeletionStatus(ctx, &iam.GetServiceLinkedRoleDeletionStatusInput{DeletionTaskId: del.DeletionTaskId})
		if err != nil {
			return fmt.Errorf("config-recorder: get deletion status of %s: %w", name, err)
		}
		switch st.Status {
		case iamtypes.DeletionTaskStatusTypeSucceeded:
			return nil
		case iamtypes.DeletionTaskStatusTypeFailed:
			var where []string
			why := "it is in use"
			if st.Reason != nil {
				if r := aws.ToString(st.Reason.Reason); r != "" {
					why = strings.TrimSuffix(r, ".")
				}
				for _, u := range st.Reason.RoleUsageList {
					where = append(where, aws.ToString(u.Region))
				}
			}
			if len(where) > 0 {
				why += " (" + strings.Join(where, ", ") + ")"
			}
			return control.Retain("service-linked role %s is shared by AWS Config in every region: %s", name, why)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("config-recorder: deletion of service-linked role %s is still %s: run rollback again later", name, st.Status)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// Steps lists the writes Apply makes, each with its undo. Recorded
// configuration items and delivered files are never deleted.
func (c ConfigRecorder) Steps() control.Steps {
	return control.Steps{
		stepCreateConfigRole:   c.undoRole,
		stepPutRecorder:        c.undoRecorder,
		stepPutDeliveryChannel: c.undoChannel,
		stepStartRecorder:      c.undoStart,
	}
}
