package controls

import (
	"context"
	"fmt"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/parallel"
)

// The forwarding role's writes, made by the home region's target.
const (
	stepCreateForwarderRole    control.StepKind = "CreateAlertForwarderRole"
	stepPutForwarderRolePolicy control.StepKind = "PutAlertForwarderRolePolicy"
)

// ForwarderRoleName is the role EventBridge assumes to forward alert events
// to the home region's default bus.
const ForwarderRoleName = "harden-alert-forwarder"

const forwarderPolicyName = "put-events-to-home-bus"

func forwarderRoleARN(t control.Target) string {
	return fmt.Sprintf("arn:aws:iam::%s:role/%s", t.AccountID, ForwarderRoleName)
}

func forwarderTrust(t control.Target) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"%s"}}}]}`, t.AccountID)
}

// forwarderPolicy allows only events:PutEvents to the home bus.
func forwarderPolicy(t control.Target) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"events:PutEvents","Resource":"%s"}]}`, homeBusARN(t))
}

type forwarderRole struct {
	Exists bool
	RoleID string
	Trust  string
	Policy string // "" when the role has no such inline policy
}

// readForwarderRole reads the role and its inline policy together (a
// role that does not exist has no policy: NoSuchEntity, read as none).
func readForwarderRole(ctx context.Context, env *control.Env, t control.Target) (forwarderRole, error) {
	var out *iam.GetRoleOutput
	var policy string
	err := parallel.Do(ctx, func(ctx context.Context) (err error) {
		out, err = env.AWS.IAM().GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(ForwarderRoleName)})
		if awserror.Is(err, "NoSuchEntity") {
			out, err = nil, nil
		}
		if err != nil {
			return fmt.Errorf("iam: get role %s: %w", ForwarderRoleName, err)
		}
		return nil
	}, func(ctx context.Context) (err error) {
		policy, err = forwarderPolicyDocument(ctx, env)
		return err
	})
	if err != nil || out == nil {
		return forwarderRole{}, err
	}
	trust, _ := url.QueryUnescape(aws.ToString(out.Role.AssumeRolePolicyDocument))
	return forwarderRole{Exists: true, RoleID: aws.ToString(out.Role.RoleId), Trust: trust, Policy: policy}, nil
}

// readForwarderRoleOnly says whether the role exists (one call).
func readForwarderRoleOnly(ctx context.Context, env *control.Env) (bool, error) {
	_, err := env.AWS.IAM().GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(ForwarderRoleName)})
	if awserror.Is(err, "NoSuchEntity") {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("iam: get role %s: %w", ForwarderRoleName, err)
	}
	return true, nil
}

func forwarderPolicyDocument(ctx context.Context, env *control.Env) (string, error) {
	out, err := env.AWS.IAM().GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(ForwarderRoleName), PolicyName: aws.String(forwarderPolicyName)})
	if awserror.Is(err, "NoSuchEntity") {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("iam: get policy %s of role %s: %w", forwarderPolicyName, ForwarderRoleName, err)
	}
	doc, err := url.QueryUnescape(aws.ToString(out.PolicyDocument))
	if err != nil {
		return "", fmt.Errorf("iam: policy %s of role %s: %w", forwarderPolicyName, ForwarderRoleName, err)
	}
	return doc, nil
}

func (r forwarderRole) changes(t control.Target) []control.Change {
	var out []control.Change
	if !r.Exists {
		out = append(out, control.Change{Field: "role " + ForwarderRoleName, Current: "none", Desired: "EventBridge forwards to " + homeBusARN(t)})
	}
	if !samePattern(r.Policy, forwarderPolicy(t)) {
		out = append(out, control.Change{Field: "role " + ForwarderRoleName + " policy", Current: abbreviate(r.Policy), Desired: "events:PutEvents on " + homeBusARN(t)})
	}
	return out
}

type roleStep struct {
	Name string `json:"name"`
}

type roleAfter struct {
	Name  string            `json:"name"`
	Trust string            `json:"trust"`
	Tags  map[string]string `json:"tags"`
}

type roleCreated struct {
	RoleID string `json:"role_id,omitempty"`
}

type rolePolicyState struct {
	Role     string `json:"role"`
	Name     string `json:"name"`
	Document string `json:"document"` // "" means none
}

func applyForwarderRole(ctx context.Context, env *control.Env, t control.Target, j control.Journal, r forwarderRole) error {
	if !r.Exists {
		after := roleAfter{Name: ForwarderRoleName, Trust: forwarderTrust(t), Tags: control.Tags(j.RunID())}
		err := j.Write(ctx, stepCreateForwarderRole, roleStep{Name: ForwarderRoleName}, after, func(ctx context.Context) (any, error) {
			in := &iam.CreateRoleInput{RoleName: aws.String(after.Name), AssumeRolePolicyDocument: aws.String(after.Trust),
				Description: aws.String("harden: EventBridge forwards alert events to the home region's default bus")}
			for _, k := range sortedTagKeys(after.Tags) {
				in.Tags = append(in.Tags, iamtypes.Tag{Key: aws.String(k), Value: aws.String(after.Tags[k])})
			}
			out, err := env.AWS.IAM().CreateRole(ctx, in)
			if err != nil {
				return nil, err
			}
			return roleCreated{RoleID: aws.ToString(out.Role.RoleId)}, nil
		})
		if err != nil {
			return fmt.Errorf("iam: create role %s: %w", ForwarderRoleName, err)
		}
	}
	if !samePattern(r.Policy, forwarderPolicy(t)) {
		prior := rolePolicyState{Role: ForwarderRoleName, Name: forwarderPolicyName, Document: r.Policy}
		after := rolePolicyState{Role: ForwarderRoleName, Name: forwarderPolicyName, Document: forwarderPolicy(t)}
		if err := j.Write(ctx, stepPutForwarderRolePolicy, prior, after, func(ctx context.Context) (any, error) {
			return nil, putForwarderPolicy(ctx, env, after.Document)
		}); err != nil {
			return err
		}
	}
	return nil
}

func putForwarderPolicy(ctx context.Context, env *control.Env, doc string) error {
	_, err := env.AWS.IAM().PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String(ForwarderRoleName),
		PolicyName: aws.String(forwarderPolicyName), PolicyDocument: aws.String(doc)})
	if err != nil {
		return fmt.Errorf("iam: put policy %s of role %s: %w", forwarderPolicyName, ForwarderRoleName, err)
	}
	return nil
}

func deleteForwarderPolicy(ctx context.Context, env *control.Env) error {
	_, err := env.AWS.IAM().DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String(ForwarderRoleName), PolicyName: aws.String(forwarderPolicyName)})
	if err != nil && !awserror.Is(err, "NoSuchEntity") {
		return fmt.Errorf("iam: delete policy %s of role %s: %w", forwarderPolicyName, ForwarderRoleName, err)
	}
	return nil
}

// undoCreateForwarderRole deletes the role once every region's rules are
// undone, when it is still the role (id) harden created.
func undoCreateForwarderRole(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	u, err := decideForwarderRole(ctx, env, t, s)
	u.AfterAllRegions = true
	return u, err
}

func decideForwarderRole(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var created roleCreated
	if _, err := control.DecodeResult(s, &created); err != nil {
		return control.Undo{}, err
	}
	r, err := readForwarderRole(ctx, env, t)
	if err != nil {
		return control.Undo{}, err
	}
	if !r.Exists {
		return control.Nothing("role %s is already gone", ForwarderRoleName), nil
	}
	if created.RoleID == "" || r.RoleID != created.RoleID {
		if !s.Done {
			// The outcome was never journaled (apply killed while
			// CreateRole was in flight): the role is this step's when it
			// carries this run's tags.
			mine, err := forwarderRoleOfRun(ctx, env, s.RunID)
			if err != nil {
				return control.Undo{}, err
			}
			if !mine {
				return control.Nothing("the creation of role %s never happened (the role there is not the one this step made)", ForwarderRoleName), nil
			}
			return deleteForwarderRole(env, r.Policy != "", fmt.Sprintf("delete role %s (its creation was not confirmed; it carries the tags of run %s)", ForwarderRoleName, s.RunID)), nil
		}
		return control.Drift(nil, "role %s is not the one harden created: its id is %s, harden's was %s", ForwarderRoleName, r.RoleID, created.RoleID), nil
	}
	return deleteForwarderRole(env, r.Policy != "", "delete role "+ForwarderRoleName), nil
}

// forwarderRoleOfRun reports whether the role carries harden's tags of
// run runID.
func forwarderRoleOfRun(ctx context.Context, env *control.Env, runID string) (bool, error) {
	out, err := env.AWS.IAM().ListRoleTags(ctx, &iam.ListRoleTagsInput{RoleName: aws.String(ForwarderRoleName)})
	if awserror.Is(err, "NoSuchEntity") {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("iam: list tags of role %s: %w", ForwarderRoleName, err)
	}
	tags := map[string]string{}
	for _, tag := range out.Tags {
		tags[aws.ToString(tag.Key)] = aws.ToString(tag.Value)
	}
	return tags[control.TagManagedBy] == control.TagManagedByID && tags[control.TagRun] == runID, nil
}

// deleteForwarderRole deletes the role with its inline policy, when the
// decision's read found one (the undo of PutAlertForwarderRolePolicy,
// made just before, usually leaves none: deleting it again would cost a
// round trip for nothing; one added since makes DeleteRole fail with
// DeleteConflict, an error, never a false success).
func deleteForwarderRole(env *control.Env, hasPolicy bool, what string) control.Undo {
	return control.Deleted(what, func(ctx context.Context) error {
		if hasPolicy {
			if err := deleteForwarderPolicy(ctx, env); err != nil {
				return err
			}
		}
		_, err := env.AWS.IAM().DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String(ForwarderRoleName)})
		if err != nil && !awserror.Is(err, "NoSuchEntity") {
			return fmt.Errorf("iam: delete role %s: %w", ForwarderRoleName, err)
		}
		return nil
	})
}

func undoPutForwarderRolePolicy(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior, after rolePolicyState
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	hasAfter, err := control.DecodeAfter(s, &after)
	if err != nil {
		return control.Undo{}, err
	}
	cur, err := forwarderPolicyDocument(ctx, env)
	if err != nil {
		if awserror.Is(err, "NoSuchEntity") {
			cur = ""
		} else {
			return control.Undo{}, err
		}
	}
	undo := func(ctx context.Context) error {
		if prior.Document == "" {
			return deleteForwarderPolicy(ctx, env)
		}
		return putForwarderPolicy(ctx, env, prior.Document)
	}
	var u control.Undo
	switch {
	case cur == "" && prior.Document == "", cur != "" && samePattern(cur, prior.Document):
		u = control.Nothing("policy %s of role %s is already as before", forwarderPolicyName, ForwarderRoleName)
	case hasAfter && !samePattern(cur, after.Document):
		u = control.Drift(undo, "policy %s of role %s changed since harden set it", forwarderPolicyName, ForwarderRoleName)
	case prior.Document == "":
		u = control.Deleted(fmt.Sprintf("delete policy %s of role %s", forwarderPolicyName, ForwarderRoleName), undo)
	default:
		u = control.Restored(fmt.Sprintf("restore policy %s of role %s", forwarderPolicyName, ForwarderRoleName), undo)
	}
	u.AfterAllRegions = true
	return u, nil
}
