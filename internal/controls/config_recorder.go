package controls

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
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
		DependsOn:   []string{"log-archive"},
		ReadActions: []string{"config:DescribeConfigurationRecorders", "config:DescribeConfigurationRecorderStatus",
			"config:DescribeDeliveryChannels", "kms:DescribeKey", "s3:ListBucket", "iam:GetRole"},
		WriteActions: []string{"config:PutConfigurationRecorder", "config:PutDeliveryChannel",
			"config:StartConfigurationRecorder", "config:StopConfigurationRecorder", "config:DeleteDeliveryChannel",
			"config:DeleteConfigurationRecorder", "iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole",
			"iam:GetServiceLinkedRoleDeletionStatus", "iam:PassRole"},
	}
}

// configRecorderSpec is a recorder as the journal keeps it: what
// PutConfigurationRecorder takes.
type configRecorderSpec struct {
	Name           string                  `json:"name"`
	RoleARN        string                  `json:"role_arn"`
	RecordingGroup *cstypes.RecordingGroup `json:"recording_group,omitempty"`
	RecordingMode  *cstypes.RecordingMode  `json:"recording_mode,omitempty"`
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
		RecordingGroup: r.RecordingGroup, RecordingMode: r.RecordingMode}
}

func (s *configRecorderSpec) input() *cstypes.ConfigurationRecorder {
	return &cstypes.ConfigurationRecorder{Name: aws.String(s.Name), RoleARN: aws.String(s.RoleARN),
		RecordingGroup: s.RecordingGroup, RecordingMode: s.RecordingMode}
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

// sameSpec compares two journal specs as the journal would store them.
func sameSpec(a, b any) bool {
	x, errX := json.Marshal(a)
	y, errY := json.Marshal(b)
	if errX != nil || errY != nil {
		return false
	}
	var u, v any
	if json.Unmarshal(x, &u) != nil || json.Unmarshal(y, &v) != nil {
		return false
	}
	return reflect.DeepEqual(u, v)
}

// read returns the region's customer managed recorder, its status and the
// delivery channel. Recorders that another AWS service owns
// (service-linked recorders) are not the customer managed one.
func (ConfigRecorder) read(ctx context.Context, env *control.Env, region string) (configState, error) {
	var st configState
	c := env.AWS.Config(region)
	recs, err := c.DescribeConfigurationRecorders(ctx, &configservice.DescribeConfigurationRecordersInput{})
	if err != nil {
		return st, fmt.Errorf("config-recorder: describe configuration recorders in %s: %w", region, err)
	}
	for _, r := range recs.ConfigurationRecorders {
		if aws.ToString(r.ServicePrincipal) == "" {
			st.Recorder = recorderSpec(r)
			break
		}
	}
	status, err := c.DescribeConfigurationRecorderStatus(ctx, &configservice.DescribeConfigurationRecorderStatusInput{})
	if err != nil {
		return st, fmt.Errorf("config-recorder: describe configuration recorder status in %s: %w", region, err)
	}
	for _, s := range status.ConfigurationRecordersStatus {
		if st.Recorder != nil && aws.ToString(s.Name) == st.Recorder.Name {
			st.Recording, st.LastStatus = s.Recording, string(s.LastStatus)
			st.LastError = strings.TrimSpace(aws.ToString(s.LastErrorCode) + " " + aws.ToString(s.LastErrorMessage))
		}
	}
	chs, err := c.DescribeDeliveryChannels(ctx, &configservice.DescribeDeliveryChannelsInput{})
	if err != nil {
		return st, fmt.Errorf("config-recorder: describe delivery channels in %s: %w", region, err)
	}
	if len(chs.DeliveryChannels) > 0 {
		st.Channel = channelSpec(chs.DeliveryChannels[0])
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

func allSupported(g *cstypes.RecordingGroup) bool {
	return g != nil && g.AllSupported && len(g.ResourceTypes) == 0 &&
		(g.ExclusionByResourceTypes == nil || len(g.ExclusionByResourceTypes.ResourceTypes) == 0) &&
		(g.RecordingStrategy == nil || g.RecordingStrategy.UseOnly == "" ||
			g.RecordingStrategy.UseOnly == cstypes.RecordingStrategyTypeAllSupportedResourceTypes)
}

func describeGroup(g *cstypes.RecordingGroup) string {
	switch {
	case g == nil:
		return "default"
	case allSupported(g):
		return "all supported"
	case g.RecordingStrategy != nil && g.RecordingStrategy.UseOnly == cstypes.RecordingStrategyTypeExclusionByResourceTypes &&
		g.ExclusionByResourceTypes != nil:
		return "all but " + strconv.Itoa(len(g.ExclusionByResourceTypes.ResourceTypes)) + " types"
	default:
		return strconv.Itoa(len(g.ResourceTypes)) + " listed types"
	}
}

// desiredGroup records every supported type; global types only at home.
func desiredGroup(t control.Target) *cstypes.RecordingGroup {
	return &cstypes.RecordingGroup{
		AllSupported:               true,
		IncludeGlobalResourceTypes: t.Region == t.HomeRegion,
		RecordingStrategy:          &cstypes.RecordingStrategy{UseOnly: cstypes.RecordingStrategyTypeAllSupportedResourceTypes},
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

// Prior states journaled by Apply, one per kind of write.
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
// key and bucket exist.
func (ConfigRecorder) logArchiveKey(ctx context.Context, env *control.Env, t control.Target) (string, error) {
	bucket := LogBucketName(env, t)
	key, err := env.AWS.KMS(t.HomeRegion).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(LogArchiveKeyAlias)})
	if awserror.Is(err, "NotFoundException") {
		return "", fmt.Errorf("config-recorder: KMS key %s not found in %s: apply log-archive first", LogArchiveKeyAlias, t.HomeRegion)
	}
	if err != nil {
		return "", fmt.Errorf("config-recorder: describe key %s in %s: %w", LogArchiveKeyAlias, t.HomeRegion, err)
	}
	_, err = env.AWS.S3(t.HomeRegion).HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if awserror.Is(err, "NotFound", "NoSuchBucket") {
		return "", fmt.Errorf("config-recorder: log bucket %s not found: apply log-archive first", bucket)
	}
	if err != nil {
		return "", fmt.Errorf("config-recorder: head bucket %s: %w", bucket, err)
	}
	return aws.ToString(key.KeyMetadata.Arn), nil
}

// ensureRole makes sure the Config service-linked role exists. Regions run
// concurrently and IAM is global: a create that AWS refuses because the
// name "has been taken" means another region made it.
func (ConfigRecorder) ensureRole(ctx context.Context, env *control.Env, j control.Journal) error {
	c := env.AWS.IAM()
	_, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(ConfigRoleName)})
	if err == nil {
		return nil
	}
	if !awserror.Is(err, "NoSuchEntity") {
		return fmt.Errorf("config-recorder: get role %s: %w", ConfigRoleName, err)
	}
	err = j.Write(ctx, "CreateServiceLinkedRole", configSLRPrior{RoleName: ConfigRoleName}, nil, func(ctx context.Context) (any, error) {
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

func (c ConfigRecorder) Apply(ctx context.Context, env *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	st, err := c.read(ctx, env, t.Region)
	if err != nil {
		return nil, err
	}
	ch := st.changes(env, t)
	if len(ch) == 0 || st.managedBy() != "" {
		return nil, nil
	}
	cfg := env.AWS.Config(t.Region)
	bucket := LogBucketName(env, t)
	putChannel := !st.channelOK(bucket)
	var keyARN string
	if putChannel {
		if keyARN, err = c.logArchiveKey(ctx, env, t); err != nil {
			return nil, err
		}
	}

	name := configDefaultName
	if st.Recorder != nil {
		name = st.Recorder.Name
	}
	if !st.recorderOK(t) {
		if st.Recorder == nil || st.Recorder.RoleARN != ConfigRoleARN(t) {
			if err := c.ensureRole(ctx, env, j); err != nil {
				return nil, err
			}
		}
		want := &configRecorderSpec{Name: name, RoleARN: ConfigRoleARN(t), RecordingGroup: desiredGroup(t)}
		if st.Recorder != nil {
			want.RecordingMode = st.Recorder.RecordingMode
		}
		err := j.Write(ctx, "PutConfigurationRecorder", configRecorderPrior{Name: name, Recorder: st.Recorder}, nil, func(ctx context.Context) (any, error) {
			_, err := cfg.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: want.input()})
			return nil, err
		})
		if err != nil {
			return nil, managedError(fmt.Sprintf("put configuration recorder %q", name), t.Region, err)
		}
	}

	if putChannel {
		want := &configChannelSpec{Name: configDefaultName, S3BucketName: bucket}
		if st.Channel != nil {
			w := *st.Channel
			want = &w
		}
		want.S3KmsKeyArn = keyARN
		prior := configChannelPrior{Name: want.Name, Channel: st.Channel}
		err := j.Write(ctx, "PutDeliveryChannel", prior, nil, func(ctx context.Context) (any, error) {
			_, err := cfg.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: want.input()})
			return nil, err
		})
		if err != nil {
			return nil, managedError(fmt.Sprintf("put delivery channel %q", want.Name), t.Region, err)
		}
	}

	if !st.Recording {
		err := j.Write(ctx, "StartConfigurationRecorder", configStartPrior{Name: name, Recording: false}, nil, func(ctx context.Context) (any, error) {
			_, err := cfg.StartConfigurationRecorder(ctx, &configservice.StartConfigurationRecorderInput{ConfigurationRecorderName: aws.String(name)})
			return nil, err
		})
		if err != nil {
			return nil, managedError(fmt.Sprintf("start configuration recorder %q", name), t.Region, err)
		}
	}
	return ch, nil
}

// stopRecorder stops the region's recorder if it is running.
func (c ConfigRecorder) stopRecorder(ctx context.Context, env *control.Env, region string, st configState) error {
	if st.Recorder == nil || !st.Recording {
		return nil
	}
	_, err := env.AWS.Config(region).StopConfigurationRecorder(ctx, &configservice.StopConfigurationRecorderInput{
		ConfigurationRecorderName: aws.String(st.Recorder.Name)})
	if err != nil && !awserror.Is(err, "NoSuchConfigurationRecorderException") {
		return managedError(fmt.Sprintf("stop configuration recorder %q", st.Recorder.Name), region, err)
	}
	return nil
}

// Rollback undoes one step after looking at the current state, so that a
// step that never happened, or one undone already, makes no write.
// Recorded configuration items and delivered files are never deleted.
func (c ConfigRecorder) rollbackStep(ctx context.Context, env *control.Env, t control.Target, s control.Step) error {
	cfg := env.AWS.Config(t.Region)
	switch s.Kind {
	case "StartConfigurationRecorder":
		var p configStartPrior
		if err := control.DecodePrior(s, &p); err != nil {
			return err
		}
		if p.Recording {
			return nil
		}
		st, err := c.read(ctx, env, t.Region)
		if err != nil || st.Recorder == nil || st.Recorder.Name != p.Name {
			return err
		}
		return c.stopRecorder(ctx, env, t.Region, st)

	case "PutDeliveryChannel":
		var p configChannelPrior
		if err := control.DecodePrior(s, &p); err != nil {
			return err
		}
		st, err := c.read(ctx, env, t.Region)
		if err != nil {
			return err
		}
		if p.Channel != nil {
			if st.Channel != nil && sameSpec(st.Channel, p.Channel) {
				return nil
			}
			_, err = cfg.PutDeliveryChannel(ctx, &configservice.PutDeliveryChannelInput{DeliveryChannel: p.Channel.input()})
			if err != nil {
				return managedError(fmt.Sprintf("restore delivery channel %q", p.Channel.Name), t.Region, err)
			}
			return nil
		}
		if st.Channel == nil || st.Channel.Name != p.Name {
			return nil
		}
		// AWS refuses to delete the last channel of a running recorder;
		// none existed before, so the recorder was not running either.
		if err := c.stopRecorder(ctx, env, t.Region, st); err != nil {
			return err
		}
		_, err = cfg.DeleteDeliveryChannel(ctx, &configservice.DeleteDeliveryChannelInput{DeliveryChannelName: aws.String(p.Name)})
		if err != nil && !awserror.Is(err, "NoSuchDeliveryChannelException") {
			return managedError(fmt.Sprintf("delete delivery channel %q", p.Name), t.Region, err)
		}
		return nil

	case "PutConfigurationRecorder":
		var p configRecorderPrior
		if err := control.DecodePrior(s, &p); err != nil {
			return err
		}
		st, err := c.read(ctx, env, t.Region)
		if err != nil {
			return err
		}
		if p.Recorder != nil {
			if st.Recorder != nil && sameSpec(st.Recorder, p.Recorder) {
				return nil
			}
			_, err = cfg.PutConfigurationRecorder(ctx, &configservice.PutConfigurationRecorderInput{ConfigurationRecorder: p.Recorder.input()})
			if err != nil {
				return managedError(fmt.Sprintf("restore configuration recorder %q", p.Recorder.Name), t.Region, err)
			}
			return nil
		}
		if st.Recorder == nil || st.Recorder.Name != p.Name {
			return nil
		}
		if err := c.stopRecorder(ctx, env, t.Region, st); err != nil {
			return err
		}
		_, err = cfg.DeleteConfigurationRecorder(ctx, &configservice.DeleteConfigurationRecorderInput{ConfigurationRecorderName: aws.String(p.Name)})
		if err != nil && !awserror.Is(err, "NoSuchConfigurationRecorderException") {
			return managedError(fmt.Sprintf("delete configuration recorder %q", p.Name), t.Region, err)
		}
		return nil

	case "CreateServiceLinkedRole":
		var p configSLRPrior
		if err := control.DecodePrior(s, &p); err != nil {
			return err
		}
		return c.deleteRole(ctx, env, p.RoleName)
	}
	return fmt.Errorf("config-recorder: journal step %q is not one this control writes", s.Kind)
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

// Steps lists the writes Apply makes, each with its undo.
func (c ConfigRecorder) Steps() control.Steps {
	return control.Steps{
		"CreateServiceLinkedRole": func(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
			u, err := blindUndo(c.rollbackStep)(ctx, env, t, s)
			u.AfterAllRegions = true
			return u, err
		},
		"PutConfigurationRecorder":   blindUndo(c.rollbackStep),
		"PutDeliveryChannel":         blindUndo(c.rollbackStep),
		"StartConfigurationRecorder": blindUndo(c.rollbackStep),
	}
}
