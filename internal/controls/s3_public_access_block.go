package controls

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3control"
	s3ctypes "github.com/aws/aws-sdk-go-v2/service/s3control/types"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
)

// S3PublicAccessBlock turns on all four account-level S3 Block Public
// Access settings. The setting is account-wide; it is read and written
// through S3 Control in the home region.
type S3PublicAccessBlock struct{}

// pabState is the account's Block Public Access configuration; Exists is
// false when none is set (a new account).
type pabState struct {
	Exists                bool `json:"exists"`
	BlockPublicAcls       bool `json:"block_public_acls"`
	IgnorePublicAcls      bool `json:"ignore_public_acls"`
	BlockPublicPolicy     bool `json:"block_public_policy"`
	RestrictPublicBuckets bool `json:"restrict_public_buckets"`
}

const stepPutPublicAccessBlock control.StepKind = "PutPublicAccessBlock"

// pabAllOn is the configuration Apply writes.
var pabAllOn = pabState{Exists: true, BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}

// settings lists the four flags; an absent configuration has them unset.
func (p pabState) settings() []setting {
	value := func(on bool) string {
		if !p.Exists {
			return "unset"
		}
		return strconv.FormatBool(on)
	}
	return []setting{
		{"BlockPublicAcls", value(p.BlockPublicAcls)},
		{"IgnorePublicAcls", value(p.IgnorePublicAcls)},
		{"BlockPublicPolicy", value(p.BlockPublicPolicy)},
		{"RestrictPublicBuckets", value(p.RestrictPublicBuckets)},
	}
}

func (S3PublicAccessBlock) Info() control.Info {
	return control.Info{
		ID:           "s3-account-public-access-block",
		Title:        "S3 Block Public Access (account)",
		Scope:        control.Account,
		Desired:      "all four account-level S3 Block Public Access settings are on",
		SecurityHub:  []string{"S3.1"},
		CIS:          []string{"2.1.4"},
		ReadActions:  []string{"s3:GetAccountPublicAccessBlock", "sts:GetCallerIdentity"},
		WriteActions: []string{"s3:PutAccountPublicAccessBlock"},
		Cost:         control.Cost{Drivers: "free"},
	}
}

func (S3PublicAccessBlock) read(ctx context.Context, env *control.Env, t control.Target) (pabState, error) {
	out, err := env.AWS.S3Control(t.Region).GetPublicAccessBlock(ctx, &s3control.GetPublicAccessBlockInput{AccountId: aws.String(t.AccountID)})
	if awserror.Is(err, "NoSuchPublicAccessBlockConfiguration") {
		return pabState{}, nil
	}
	if err != nil {
		return pabState{}, fmt.Errorf("s3-account-public-access-block: get account public access block in %s: %w", t.Region, err)
	}
	c := out.PublicAccessBlockConfiguration
	return pabState{
		Exists:                true,
		BlockPublicAcls:       aws.ToBool(c.BlockPublicAcls),
		IgnorePublicAcls:      aws.ToBool(c.IgnorePublicAcls),
		BlockPublicPolicy:     aws.ToBool(c.BlockPublicPolicy),
		RestrictPublicBuckets: aws.ToBool(c.RestrictPublicBuckets),
	}, nil
}

func (p pabState) changes() []control.Change {
	var out []control.Change
	for _, f := range []struct {
		name string
		on   bool
	}{
		{"BlockPublicAcls", p.BlockPublicAcls},
		{"IgnorePublicAcls", p.IgnorePublicAcls},
		{"BlockPublicPolicy", p.BlockPublicPolicy},
		{"RestrictPublicBuckets", p.RestrictPublicBuckets},
	} {
		if !f.on {
			out = append(out, control.Change{Field: f.name, Current: strconv.FormatBool(f.on), Desired: "true"})
		}
	}
	return out
}

func (c S3PublicAccessBlock) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	cur, err := c.read(ctx, env, t)
	if err != nil {
		return control.Finding{}, err
	}
	ch := cur.changes()
	if len(ch) == 0 {
		return control.Finding{Compliant: true}, nil
	}
	action := control.ActionUpdate
	if !cur.Exists {
		action = control.ActionCreate
	}
	return control.Finding{Action: action, Changes: ch,
		Note: "buckets meant to be public stop being public"}, nil
}

func (c S3PublicAccessBlock) Apply(ctx context.Context, env *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	cur, err := c.read(ctx, env, t)
	if err != nil {
		return nil, err
	}
	ch := cur.changes()
	if len(ch) == 0 {
		return nil, nil
	}
	err = j.Write(ctx, stepPutPublicAccessBlock, cur, pabAllOn, func(ctx context.Context) (any, error) {
		return nil, c.put(ctx, env, t, pabAllOn)
	})
	if err != nil {
		return nil, fmt.Errorf("s3-account-public-access-block: put account public access block in %s: %w", t.Region, err)
	}
	return ch, nil
}

func (S3PublicAccessBlock) put(ctx context.Context, env *control.Env, t control.Target, p pabState) error {
	_, err := env.AWS.S3Control(t.Region).PutPublicAccessBlock(ctx, &s3control.PutPublicAccessBlockInput{
		AccountId: aws.String(t.AccountID),
		PublicAccessBlockConfiguration: &s3ctypes.PublicAccessBlockConfiguration{
			BlockPublicAcls:       aws.Bool(p.BlockPublicAcls),
			IgnorePublicAcls:      aws.Bool(p.IgnorePublicAcls),
			BlockPublicPolicy:     aws.Bool(p.BlockPublicPolicy),
			RestrictPublicBuckets: aws.Bool(p.RestrictPublicBuckets),
		},
	})
	return err
}

// undoPut compares the account's configuration with what the step left
// and puts the prior one back (deletes it when there was none).
func (c S3PublicAccessBlock) undoPut(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior pabState
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	after := pabAllOn
	if _, err := control.DecodeAfter(s, &after); err != nil {
		return control.Undo{}, err
	}
	cur, err := c.read(ctx, env, t)
	if err != nil {
		return control.Undo{}, err
	}
	putBack := func(ctx context.Context) error { return c.restore(ctx, env, t, prior) }
	return settingsUndo("the account's S3 Block Public Access", cur.settings(), after.settings(), prior.settings(), putBack), nil
}

// restore puts prior back: the four flags, or no configuration at all.
func (c S3PublicAccessBlock) restore(ctx context.Context, env *control.Env, t control.Target, prior pabState) error {
	var err error
	if prior.Exists {
		err = c.put(ctx, env, t, prior)
	} else {
		_, err = env.AWS.S3Control(t.Region).DeletePublicAccessBlock(ctx, &s3control.DeletePublicAccessBlockInput{AccountId: aws.String(t.AccountID)})
	}
	if err != nil {
		return fmt.Errorf("s3-account-public-access-block: restore account public access block in %s: %w", t.Region, err)
	}
	return nil
}

// Steps lists the writes Apply makes, each with its undo.
func (c S3PublicAccessBlock) Steps() control.Steps {
	return control.Steps{
		stepPutPublicAccessBlock: c.undoPut,
	}
}
