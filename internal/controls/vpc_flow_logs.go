package controls

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/parallel"
)

// VPCFlowLogs gives every VPC of the region a flow log capturing ALL
// traffic, delivered to the log-archive bucket (Security Hub EC2.6; CIS
// v3.0 and v5.0 3.7). The flow logs go straight to S3, with no IAM role:
// the log delivery service writes them under AWSLogs/<account>/vpcflowlogs/,
// where the archive's retention rule applies, and the archive's bucket and
// key policies grant it that (see ArchiveGrants).
//
// A VPC that already has an active flow log capturing ALL traffic counts,
// whatever its destination: harden adds nothing to it. One capturing only
// ACCEPT or REJECT traffic does not count (Security Hub EC2.6 accepts
// REJECT; harden asks for ALL) and is kept: harden adds its own beside it.
// VPCs shared with the account by another are their owner's to log.
//
// Rollback deletes only the flow logs harden created, known by the id the
// create returned and by harden's tags; anything else, including a flow
// log someone made in place of harden's, is left alone.
type VPCFlowLogs struct{}

const stepCreateFlowLog control.StepKind = "CreateFlowLogs"

const (
	vpcFlowLogsID = "vpc-flow-logs"
	// flowLogsDelivery is the service that writes flow logs to S3.
	flowLogsDelivery = "delivery.logs.amazonaws.com"
	// defaultFlowLogInterval is the default aggregation interval (s).
	defaultFlowLogInterval = 600
)

// VPCFlowLogsSettings are the settings of the flow logs harden creates
// (harden.yaml controls.vpc-flow-logs). Existing flow logs count whatever
// their settings: a flow log cannot be changed once made.
type VPCFlowLogsSettings struct {
	MaxAggregationInterval int `yaml:"max_aggregation_interval" doc:"seconds flows are aggregated into one record: 600 (the default) or 60 (finer, more records and cost)"`
}

// Validate accepts the two intervals AWS offers.
func (s *VPCFlowLogsSettings) Validate() error {
	if s.MaxAggregationInterval != 60 && s.MaxAggregationInterval != 600 {
		return control.FieldErrorf("max_aggregation_interval", "must be 60 or 600 seconds, got %d", s.MaxAggregationInterval)
	}
	return nil
}

// NewSettings returns the default settings.
func (VPCFlowLogs) NewSettings() control.ControlSettings {
	return &VPCFlowLogsSettings{MaxAggregationInterval: defaultFlowLogInterval}
}

func (VPCFlowLogs) Info() control.Info {
	return control.Info{
		ID:    vpcFlowLogsID,
		Title: "VPC flow logs to the log archive",
		Scope: control.Regional,
		Desired: "every VPC in the region has an active flow log capturing ALL traffic (an existing one counts, whatever its " +
			"destination); harden's go to the log-archive bucket under AWSLogs/<account>/vpcflowlogs/",
		SecurityHub: []string{"EC2.6"},
		// CIS v3.0, as every control's ids (also 3.7 in v5.0).
		CIS:       []string{"3.7"},
		DependsOn: []string{logArchiveID},
		// Everything log-archive writes, not its re-check.
		Needs: map[string]string{logArchiveID: control.Applied},
		// A default VPC deleted in the same apply needs no flow log:
		// running after default-vpc, this control never logs a VPC about
		// to go.
		After:       []string{"default-vpc"},
		ReadActions: []string{"ec2:DescribeVpcs", "ec2:DescribeFlowLogs"},
		// Tagging at creation needs ec2:CreateTags; an S3 destination
		// needs logs:CreateLogDelivery and logs:DeleteLogDelivery.
		WriteActions: []string{"ec2:CreateFlowLogs", "ec2:DeleteFlowLogs", "ec2:CreateTags",
			"logs:CreateLogDelivery", "logs:DeleteLogDelivery"},
		Service: "ec2",
		Cost: control.Cost{UsageBased: true,
			Drivers: "vended log delivery per GB of flow records (grows with traffic) and S3 storage of the log files until the archive's retention deletes them"},
	}
}

// ArchiveGrants: the log delivery service checks the archive bucket (its
// ACL, and lists it), writes flow log files under
// AWSLogs/<account>/vpcflowlogs/ with bucket-owner-full-control, and
// encrypts them with the archive key, for this account's deliveries from
// any region (VPC user guide "Create a flow log that publishes to Amazon
// S3"; CloudWatch Logs guide "Logs sent to Amazon S3").
func (VPCFlowLogs) ArchiveGrants(t control.Target) []control.ArchiveGrant {
	acct := t.AccountID
	source := map[string]string{"aws:SourceArn": "arn:aws:logs:*:" + acct + ":*"}
	return []control.ArchiveGrant{
		{Sid: "FlowLogsAclCheck", Policy: control.BucketPolicy, Service: flowLogsDelivery, Actions: []string{"s3:GetBucketAcl", "s3:ListBucket"},
			Condition: map[string]map[string]string{"StringEquals": {"aws:SourceAccount": acct}, "ArnLike": source}},
		{Sid: "FlowLogsWrite", Policy: control.BucketPolicy, Service: flowLogsDelivery, Actions: []string{"s3:PutObject"},
			Objects: []string{flowLogPrefix(acct) + "*"},
			Condition: map[string]map[string]string{
				"StringEquals": {"aws:SourceAccount": acct, "s3:x-amz-acl": "bucket-owner-full-control"}, "ArnLike": source}},
		{Sid: "FlowLogsEncrypt", Policy: control.KeyPolicy, Service: flowLogsDelivery,
			Actions:   []string{"kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"},
			Condition: map[string]map[string]string{"StringEquals": {"aws:SourceAccount": acct}, "ArnLike": source}},
	}
}

// flowLogPrefix is where flow logs land in the archive: AWS puts them
// under AWSLogs/<account>/vpcflowlogs/<region>/ of the destination.
func flowLogPrefix(acct string) string { return "AWSLogs/" + acct + "/vpcflowlogs/" }

// flowLogDestination is the S3 destination of the flow logs harden creates.
func flowLogDestination(env *control.Env, t control.Target) string {
	return "arn:aws:s3:::" + LogBucketName(env, t)
}

// flowLogSpec is a flow log harden creates, as journaled: what the step
// leaves.
type flowLogSpec struct {
	VpcID       string `json:"vpc_id"`
	TrafficType string `json:"traffic_type"`
	Destination string `json:"destination"`
	Interval    int32  `json:"max_aggregation_interval"`
}

// flowLogPrior is a VPC before harden's flow log: the flow logs it had,
// none of which captured ALL traffic.
type flowLogPrior struct {
	VpcID    string   `json:"vpc_id"`
	FlowLogs []string `json:"flow_logs"`
}

// flowLogCreated is CreateFlowLogs' result.
type flowLogCreated struct {
	FlowLogID string `json:"flow_log_id"`
}

// vpcFlows is one VPC and its flow logs.
type vpcFlows struct {
	vpc  ec2types.Vpc
	logs []ec2types.FlowLog
}

func (v vpcFlows) id() string { return aws.ToString(v.vpc.VpcId) }

func (v vpcFlows) name() string {
	if aws.ToBool(v.vpc.IsDefault) {
		return "VPC " + v.id() + " (default)"
	}
	return "VPC " + v.id()
}

// counting returns the flow log that makes the VPC compliant: active and
// capturing ALL traffic; nil when none.
func (v vpcFlows) counting() *ec2types.FlowLog {
	for i, f := range v.logs {
		if f.TrafficType == ec2types.TrafficTypeAll && aws.ToString(f.FlowLogStatus) == "ACTIVE" {
			return &v.logs[i]
		}
	}
	return nil
}

// current says in words what flow logs a VPC without a counting one has.
func (v vpcFlows) current() string {
	if len(v.logs) == 0 {
		return "none"
	}
	var parts []string
	for _, f := range v.logs {
		parts = append(parts, fmt.Sprintf("%s (%s, %s)", aws.ToString(f.FlowLogId), f.TrafficType, strings.ToLower(aws.ToString(f.FlowLogStatus))))
	}
	return strings.Join(parts, ", ")
}

// flowState is the region's VPCs and their flow logs.
type flowState struct {
	vpcs []vpcFlows
	// shared are VPCs another account owns and shares with this one.
	shared []string
}

// read lists the region's VPCs and flow logs at once: two reads (each one
// page per 1000) in one round trip.
func (VPCFlowLogs) read(ctx context.Context, env *control.Env, t control.Target) (flowState, error) {
	c := env.AWS.EC2(t.Region)
	var vpcs []ec2types.Vpc
	var logs []ec2types.FlowLog
	err := parallel.Do(ctx,
		func(ctx context.Context) (err error) {
			vpcs, err = allPages(ctx, ec2.NewDescribeVpcsPaginator(c, &ec2.DescribeVpcsInput{}),
				func(o *ec2.DescribeVpcsOutput) []ec2types.Vpc { return o.Vpcs })
			if err != nil {
				return fmt.Errorf("%s: describe the VPCs in %s: %w", vpcFlowLogsID, t.Region, err)
			}
			return nil
		},
		func(ctx context.Context) (err error) {
			logs, err = allPages(ctx, ec2.NewDescribeFlowLogsPaginator(c, &ec2.DescribeFlowLogsInput{MaxResults: aws.Int32(1000)}),
				func(o *ec2.DescribeFlowLogsOutput) []ec2types.FlowLog { return o.FlowLogs })
			if err != nil {
				return fmt.Errorf("%s: describe the flow logs in %s: %w", vpcFlowLogsID, t.Region, err)
			}
			return nil
		})
	if err != nil {
		return flowState{}, err
	}
	byResource := map[string][]ec2types.FlowLog{}
	for _, f := range logs {
		byResource[aws.ToString(f.ResourceId)] = append(byResource[aws.ToString(f.ResourceId)], f)
	}
	var st flowState
	for _, v := range vpcs {
		id := aws.ToString(v.VpcId)
		if owner := aws.ToString(v.OwnerId); owner != "" && owner != t.AccountID {
			st.shared = append(st.shared, fmt.Sprintf("%s (owner %s)", id, owner))
			continue
		}
		st.vpcs = append(st.vpcs, vpcFlows{vpc: v, logs: byResource[id]})
	}
	sort.Slice(st.vpcs, func(i, j int) bool { return st.vpcs[i].id() < st.vpcs[j].id() })
	return st, nil
}

// missing returns the VPCs without a counting flow log, and apart the
// ids of those an exception names (t.Excepts): they are left as they are.
func (s flowState) missing(t control.Target) (out []vpcFlows, excepted []string) {
	for _, v := range s.vpcs {
		switch {
		case v.counting() != nil:
		case t.Excepts(v.id()):
			excepted = append(excepted, v.id())
		default:
			out = append(out, v)
		}
	}
	return out, excepted
}

func (c VPCFlowLogs) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	st, err := c.read(ctx, env, t)
	if err != nil {
		return control.Finding{}, err
	}
	return st.finding(env, t), nil
}

func (s flowState) finding(env *control.Env, t control.Target) control.Finding {
	var notes []string
	if len(s.shared) > 0 {
		notes = append(notes, "shared VPCs are their owner's to log: "+strings.Join(s.shared, ", "))
	}
	missing, excepted := s.missing(t)
	if len(missing) == 0 && len(excepted) > 0 {
		notes = append([]string{"kept without a flow log: an exception names " + strings.Join(excepted, ", ")}, notes...)
		return control.Finding{Excepted: excepted, Note: strings.Join(notes, "; ")}
	}
	if len(missing) == 0 {
		f := control.Finding{Compliant: true}
		switch {
		case len(s.vpcs) == 0:
			notes = append([]string{"no VPC in the region"}, notes...)
		default:
			notes = append([]string{s.countingNote(env, t)}, notes...)
		}
		f.Note = strings.Join(notes, "; ")
		return f
	}
	want := fmt.Sprintf("ALL traffic to s3://%s/%s", LogBucketName(env, t), flowLogPrefix(t.AccountID))
	f := control.Finding{Action: control.ActionCreate, Excepted: excepted}
	defaults := false
	for _, v := range missing {
		f.Changes = append(f.Changes, control.Change{Field: "flow log of " + v.name(), Current: v.current(), Desired: want})
		f.Resources = append(f.Resources, v.id())
		defaults = defaults || aws.ToBool(v.vpc.IsDefault)
	}
	notes = append(notes, "an existing active flow log capturing ALL traffic counts, whatever its destination; rollback deletes only the flow logs harden creates")
	if defaults {
		notes = append(notes, "a default VPC that default-vpc deletes in the same apply gets none")
	}
	f.Note = strings.Join(notes, "; ")
	return f
}

// countingNote names, for a compliant region, the VPCs whose counting flow
// log is not one to the log archive.
func (s flowState) countingNote(env *control.Env, t control.Target) string {
	dest := flowLogDestination(env, t)
	var others []string
	for _, v := range s.vpcs {
		f := v.counting()
		if strings.TrimSuffix(aws.ToString(f.LogDestination), "/") != dest {
			to := aws.ToString(f.LogDestination)
			if to == "" {
				to = aws.ToString(f.LogGroupName)
			}
			others = append(others, fmt.Sprintf("%s: %s to %s", v.id(), aws.ToString(f.FlowLogId), to))
		}
	}
	note := fmt.Sprintf("%d VPC(s), each with a flow log capturing ALL traffic", len(s.vpcs))
	if len(others) > 0 {
		note += "; existing flow logs count whatever their destination (" + strings.Join(others, "; ") + ")"
	}
	return note
}

func (c VPCFlowLogs) Apply(ctx context.Context, env *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	st, err := c.read(ctx, env, t)
	if err != nil {
		return nil, err
	}
	missing, _ := st.missing(t)
	if len(missing) == 0 {
		return nil, nil
	}
	want := st.finding(env, t).Changes
	changed := make([]control.Change, len(missing))
	writes := make([]func(context.Context) error, len(missing))
	for i, v := range missing {
		i, v := i, v
		writes[i] = func(ctx context.Context) error {
			gone, err := c.create(ctx, env, t, j, v)
			if err != nil {
				return err
			}
			changed[i] = want[i]
			if gone {
				// Deleted meanwhile (default-vpc, same apply): nothing
				// left to log.
				changed[i].Desired = "deleted with the VPC"
			}
			return nil
		}
	}
	err = parallel.All(ctx, writes...)
	var out []control.Change
	for _, ch := range changed {
		if ch.Field != "" {
			out = append(out, ch)
		}
	}
	return out, err
}

// create makes harden's flow log for one VPC, journaled. gone is true when
// the VPC no longer exists.
func (VPCFlowLogs) create(ctx context.Context, env *control.Env, t control.Target, j control.Journal, v vpcFlows) (gone bool, err error) {
	settings := control.SettingsOf(env, vpcFlowLogsID, VPCFlowLogs{}.NewSettings().(*VPCFlowLogsSettings))
	spec := flowLogSpec{VpcID: v.id(), TrafficType: string(ec2types.TrafficTypeAll), Destination: flowLogDestination(env, t),
		Interval: int32(settings.MaxAggregationInterval)}
	prior := flowLogPrior{VpcID: v.id(), FlowLogs: []string{}}
	for _, f := range v.logs {
		prior.FlowLogs = append(prior.FlowLogs, aws.ToString(f.FlowLogId))
	}
	ec := env.AWS.EC2(t.Region)
	var refused *flowLogRefusedError
	err = j.Write(ctx, stepCreateFlowLog, prior, spec, func(ctx context.Context) (any, error) {
		out, err := ec.CreateFlowLogs(ctx, &ec2.CreateFlowLogsInput{
			ResourceIds:            []string{spec.VpcID},
			ResourceType:           ec2types.FlowLogsResourceTypeVpc,
			TrafficType:            ec2types.TrafficTypeAll,
			LogDestinationType:     ec2types.LogDestinationTypeS3,
			LogDestination:         aws.String(spec.Destination),
			MaxAggregationInterval: aws.Int32(spec.Interval),
			ClientToken:            aws.String(j.RunID() + "-" + spec.VpcID),
			TagSpecifications: []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeVpcFlowLog,
				Tags: ec2Tags(control.Tags(j.RunID()))}},
		})
		if err != nil {
			return nil, err
		}
		if len(out.Unsuccessful) > 0 {
			u := out.Unsuccessful[0]
			refused = &flowLogRefusedError{Code: aws.ToString(u.Error.Code), Message: aws.ToString(u.Error.Message)}
			return nil, refused
		}
		if len(out.FlowLogIds) != 1 {
			return nil, fmt.Errorf("CreateFlowLogs returned %d flow log ids for one VPC", len(out.FlowLogIds))
		}
		return flowLogCreated{FlowLogID: out.FlowLogIds[0]}, nil
	})
	switch {
	case awserror.Is(err, "InvalidVpcID.NotFound"), errors.As(err, &refused) && refused.Code == "InvalidVpcID.NotFound":
		return true, nil
	case errors.As(err, &refused) && strings.Contains(refused.Message, "Access Denied for LogDestination"):
		return false, fmt.Errorf("%s: create a flow log for %s in %s: %w: the log-archive bucket policy must let %s write "+
			"(statements FlowLogsAclCheck and FlowLogsWrite, which log-archive adds: apply log-archive first)", vpcFlowLogsID, v.name(), t.Region, err, flowLogsDelivery)
	case err != nil:
		return false, fmt.Errorf("%s: create a flow log for %s in %s: %w", vpcFlowLogsID, v.name(), t.Region, err)
	}
	return false, nil
}

// flowLogRefusedError is an unsuccessful item of CreateFlowLogs: EC2
// answered, and made no flow log for the VPC.
type flowLogRefusedError struct{ Code, Message string }

func (e *flowLogRefusedError) Error() string { return e.Code + ": " + e.Message }

func ec2Tags(m map[string]string) []ec2types.Tag {
	var out []ec2types.Tag
	for _, k := range sortedMapKeys(m) {
		out = append(out, ec2types.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return out
}

func tagsOf(tags []ec2types.Tag) map[string]string {
	out := map[string]string{}
	for _, t := range tags {
		out[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return out
}

// Steps lists the writes Apply makes, each with its undo.
func (c VPCFlowLogs) Steps() control.Steps {
	return control.Steps{stepCreateFlowLog: c.undoCreate}
}

// undoCreate deletes the flow log the step created while it is still
// harden's: the id the create returned, with harden's tags of the step's
// run, on the step's VPC. A create whose outcome is unknown looks for a
// flow log of the step's run on the VPC.
func (VPCFlowLogs) undoCreate(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var spec flowLogSpec
	ok, err := control.DecodeAfter(s, &spec)
	if err != nil {
		return control.Undo{}, err
	}
	if !ok {
		return control.Undo{}, fmt.Errorf("%s: journal step %s has no after state", vpcFlowLogsID, s.Kind)
	}
	var created flowLogCreated
	known, err := control.DecodeResult(s, &created)
	if err != nil {
		return control.Undo{}, err
	}
	ec := env.AWS.EC2(t.Region)
	if !known || created.FlowLogID == "" {
		if s.RunID == "" {
			return control.Nothing("no run id to find the flow log of %s by: left alone", spec.VpcID), nil
		}
		found, err := allPages(ctx, ec2.NewDescribeFlowLogsPaginator(ec, &ec2.DescribeFlowLogsInput{Filter: []ec2types.Filter{
			{Name: aws.String("resource-id"), Values: []string{spec.VpcID}},
			{Name: aws.String("tag:" + control.TagManagedBy), Values: []string{control.TagManagedByID}},
			{Name: aws.String("tag:" + control.TagRun), Values: []string{s.RunID}}}}),
			func(o *ec2.DescribeFlowLogsOutput) []ec2types.FlowLog { return o.FlowLogs })
		if err != nil {
			return control.Undo{}, fmt.Errorf("%s: look for the flow log of run %s on %s in %s: %w", vpcFlowLogsID, s.RunID, spec.VpcID, t.Region, err)
		}
		if len(found) == 0 {
			return control.Nothing("no flow log of run %s on %s: the write never happened", s.RunID, spec.VpcID), nil
		}
		var ids []string
		for _, f := range found {
			ids = append(ids, aws.ToString(f.FlowLogId))
		}
		return control.Deleted(fmt.Sprintf("delete flow log %s of %s (run %s)", strings.Join(ids, ", "), spec.VpcID, s.RunID),
			func(ctx context.Context) error { return deleteFlowLogs(ctx, ec, t.Region, ids) }), nil
	}
	id := created.FlowLogID
	out, err := ec.DescribeFlowLogs(ctx, &ec2.DescribeFlowLogsInput{FlowLogIds: []string{id}})
	if err != nil {
		return control.Undo{}, fmt.Errorf("%s: describe flow log %s in %s: %w", vpcFlowLogsID, id, t.Region, err)
	}
	if len(out.FlowLogs) == 0 {
		return control.Nothing("flow log %s of %s is gone (any other flow log of the VPC is not harden's and stays)", id, spec.VpcID), nil
	}
	if diff := flowLogDrift(out.FlowLogs[0], spec, s.RunID); diff != "" {
		// Not the flow log harden made (or no longer marked harden's):
		// someone else's, never deleted, not even with --force.
		return control.Drift(nil, "flow log %s of %s is not harden's: %s", id, spec.VpcID, diff), nil
	}
	return control.Deleted(fmt.Sprintf("delete flow log %s of %s (ALL traffic to %s)", id, spec.VpcID, spec.Destination),
		func(ctx context.Context) error { return deleteFlowLogs(ctx, ec, t.Region, []string{id}) }), nil
}

// flowLogDrift says how a flow log differs from what harden created; ""
// when it is harden's as made. A flow log's settings cannot change, so
// only its tags (its ownership) can.
func flowLogDrift(f ec2types.FlowLog, spec flowLogSpec, runID string) string {
	tags := tagsOf(f.Tags)
	var diffs []string
	if tags[control.TagManagedBy] != control.TagManagedByID {
		diffs = append(diffs, fmt.Sprintf("tag %s: harden set %q, now %q", control.TagManagedBy, control.TagManagedByID, tags[control.TagManagedBy]))
	}
	if runID != "" && tags[control.TagRun] != runID {
		diffs = append(diffs, fmt.Sprintf("tag %s: harden set %q, now %q", control.TagRun, runID, tags[control.TagRun]))
	}
	if aws.ToString(f.ResourceId) != spec.VpcID {
		diffs = append(diffs, fmt.Sprintf("it logs %s, not %s", aws.ToString(f.ResourceId), spec.VpcID))
	}
	return strings.Join(diffs, "; ")
}

// deleteFlowLogs deletes flow logs; one already gone is fine.
func deleteFlowLogs(ctx context.Context, ec *ec2.Client, region string, ids []string) error {
	out, err := ec.DeleteFlowLogs(ctx, &ec2.DeleteFlowLogsInput{FlowLogIds: ids})
	if err != nil {
		return fmt.Errorf("%s: delete flow log %s in %s: %w", vpcFlowLogsID, strings.Join(ids, ", "), region, err)
	}
	for _, u := range out.Unsuccessful {
		if u.Error != nil && aws.ToString(u.Error.Code) == "InvalidFlowLogId.NotFound" {
			continue
		}
		code, msg := "", ""
		if u.Error != nil {
			code, msg = aws.ToString(u.Error.Code), aws.ToString(u.Error.Message)
		}
		return fmt.Errorf("%s: delete flow log %s in %s: %s: %s", vpcFlowLogsID, aws.ToString(u.ResourceId), region, code, msg)
	}
	return nil
}
