package controls

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/harden-dev/harden/internal/control"
)

// EBSEncryption turns on EBS encryption by default in every region. It
// leaves the default KMS key as it is: changing it would need key grants
// for every consumer of new volumes.
type EBSEncryption struct{}

const stepEnableEBSEncryption control.StepKind = "EnableEbsEncryptionByDefault"

// ebsState is a region's EBS encryption by default, as journaled before
// and after the write.
type ebsState struct {
	Enabled bool `json:"enabled"`
}

func (s ebsState) settings() []setting {
	return []setting{{"EbsEncryptionByDefault", strconv.FormatBool(s.Enabled)}}
}

func (EBSEncryption) Info() control.Info {
	return control.Info{
		ID:           "ebs-default-encryption",
		Title:        "EBS encryption by default",
		Scope:        control.Regional,
		Desired:      "new EBS volumes and snapshot copies are encrypted by default",
		SecurityHub:  []string{"EC2.7"},
		CIS:          []string{"2.2.1"},
		ReadActions:  []string{"ec2:GetEbsEncryptionByDefault"},
		WriteActions: []string{"ec2:EnableEbsEncryptionByDefault", "ec2:DisableEbsEncryptionByDefault"},
		Cost:         control.Cost{Drivers: "free: encrypted volumes and snapshots cost the same; the AWS managed key aws/ebs is free"},
	}
}

func (EBSEncryption) enabled(ctx context.Context, env *control.Env, region string) (bool, error) {
	out, err := env.AWS.EC2(region).GetEbsEncryptionByDefault(ctx, &ec2.GetEbsEncryptionByDefaultInput{})
	if err != nil {
		return false, fmt.Errorf("ebs-default-encryption: get encryption by default in %s: %w", region, err)
	}
	return aws.ToBool(out.EbsEncryptionByDefault), nil
}

var ebsChange = control.Change{Field: "EBS encryption by default", Current: "false", Desired: "true"}

func (c EBSEncryption) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	on, err := c.enabled(ctx, env, t.Region)
	if err != nil || on {
		return control.Finding{Compliant: on}, err
	}
	return control.Finding{Action: control.ActionUpdate, Changes: []control.Change{ebsChange},
		Note: "applies to volumes created from now on"}, nil
}

func (c EBSEncryption) Apply(ctx context.Context, env *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	on, err := c.enabled(ctx, env, t.Region)
	if err != nil || on {
		return nil, err
	}
	err = j.Write(ctx, stepEnableEBSEncryption, ebsState{Enabled: false}, ebsState{Enabled: true}, func(ctx context.Context) (any, error) {
		_, err := env.AWS.EC2(t.Region).EnableEbsEncryptionByDefault(ctx, &ec2.EnableEbsEncryptionByDefaultInput{})
		return nil, err
	})
	if err != nil {
		return nil, fmt.Errorf("ebs-default-encryption: enable encryption by default in %s: %w", t.Region, err)
	}
	return []control.Change{ebsChange}, nil
}

// undoEnable compares the region's setting with what the step left and
// puts the prior one back. EBS encryption by default is a single flag:
// either harden's value is still set, or the prior one is back.
func (c EBSEncryption) undoEnable(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior ebsState
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	after := ebsState{Enabled: true}
	if _, err := control.DecodeAfter(s, &after); err != nil {
		return control.Undo{}, err
	}
	on, err := c.enabled(ctx, env, t.Region)
	if err != nil {
		return control.Undo{}, err
	}
	putBack := func(ctx context.Context) error { return c.set(ctx, env, t.Region, prior.Enabled) }
	return settingsUndo("EBS encryption by default in "+t.Region,
		ebsState{Enabled: on}.settings(), after.settings(), prior.settings(), putBack), nil
}

func (EBSEncryption) set(ctx context.Context, env *control.Env, region string, on bool) error {
	var err error
	if on {
		_, err = env.AWS.EC2(region).EnableEbsEncryptionByDefault(ctx, &ec2.EnableEbsEncryptionByDefaultInput{})
	} else {
		_, err = env.AWS.EC2(region).DisableEbsEncryptionByDefault(ctx, &ec2.DisableEbsEncryptionByDefaultInput{})
	}
	if err != nil {
		return fmt.Errorf("ebs-default-encryption: set encryption by default=%t in %s: %w", on, region, err)
	}
	return nil
}

// Steps lists the writes Apply makes, each with its undo.
func (c EBSEncryption) Steps() control.Steps {
	return control.Steps{
		stepEnableEBSEncryption: c.undoEnable,
	}
}
