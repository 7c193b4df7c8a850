package controls

import (
	"context"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
)

// IAMPasswordPolicy sets the account password policy: at least 14
// characters, 24 remembered passwords, all four character classes, and
// users may change their own password. It never weakens a stricter
// setting, and keeps settings it does not govern (expiry, hard expiry).
//
// UpdateAccountPasswordPolicy replaces the whole policy (an omitted
// parameter reverts to its default), so Apply always sends the complete
// merged policy and Rollback re-sends the complete saved one.
type IAMPasswordPolicy struct{}

const (
	minPasswordLength          = 14
	minPasswordReusePrevention = 24
)

// passwordPolicy is an account password policy; Exists is false when the
// account has none. Optional fields are nil when not set.
type passwordPolicy struct {
	Exists                     bool   `json:"exists"`
	MinimumPasswordLength      int32  `json:"minimum_password_length,omitempty"`
	RequireSymbols             bool   `json:"require_symbols,omitempty"`
	RequireNumbers             bool   `json:"require_numbers,omitempty"`
	RequireUppercaseCharacters bool   `json:"require_uppercase_characters,omitempty"`
	RequireLowercaseCharacters bool   `json:"require_lowercase_characters,omitempty"`
	AllowUsersToChangePassword bool   `json:"allow_users_to_change_password,omitempty"`
	MaxPasswordAge             *int32 `json:"max_password_age,omitempty"`
	PasswordReusePrevention    *int32 `json:"password_reuse_prevention,omitempty"`
	HardExpiry                 *bool  `json:"hard_expiry,omitempty"`
}

const stepUpdatePasswordPolicy control.StepKind = "UpdateAccountPasswordPolicy"

// settings lists every field of the policy, so that rollback sees a change
// to any of them (UpdateAccountPasswordPolicy replaces them all); an absent
// policy has them all unset. An omitted value and its default read the
// same: no expiry and no reuse prevention are "unset" whether AWS sends 0
// or nothing, and HardExpiry is false unless set.
func (p passwordPolicy) settings() []setting {
	text := func(v string) string {
		if !p.Exists {
			return "unset"
		}
		return v
	}
	optInt := func(v *int32) string {
		if v == nil || *v == 0 {
			return text("unset")
		}
		return text(strconv.Itoa(int(*v)))
	}
	return []setting{
		{"MinimumPasswordLength", text(strconv.Itoa(int(p.MinimumPasswordLength)))},
		{"RequireSymbols", text(strconv.FormatBool(p.RequireSymbols))},
		{"RequireNumbers", text(strconv.FormatBool(p.RequireNumbers))},
		{"RequireUppercaseCharacters", text(strconv.FormatBool(p.RequireUppercaseCharacters))},
		{"RequireLowercaseCharacters", text(strconv.FormatBool(p.RequireLowercaseCharacters))},
		{"AllowUsersToChangePassword", text(strconv.FormatBool(p.AllowUsersToChangePassword))},
		{"MaxPasswordAge", optInt(p.MaxPasswordAge)},
		{"PasswordReusePrevention", optInt(p.PasswordReusePrevention)},
		{"HardExpiry", text(strconv.FormatBool(aws.ToBool(p.HardExpiry)))},
	}
}

func (IAMPasswordPolicy) Info() control.Info {
	return control.Info{
		ID:    "iam-password-policy",
		Title: "IAM password policy",
		Scope: control.Account,
		Desired: fmt.Sprintf("length >= %d, %d remembered passwords, upper, lower, digit and symbol required, users may change their own",
			minPasswordLength, minPasswordReusePrevention),
		SecurityHub:  []string{"IAM.7", "IAM.15", "IAM.16"},
		CIS:          []string{"1.8", "1.9"},
		ReadActions:  []string{"iam:GetAccountPasswordPolicy"},
		WriteActions: []string{"iam:UpdateAccountPasswordPolicy", "iam:DeleteAccountPasswordPolicy"},
		Cost:         control.Cost{Drivers: "free"},
	}
}

func (IAMPasswordPolicy) read(ctx context.Context, env *control.Env) (passwordPolicy, error) {
	out, err := env.AWS.IAM().GetAccountPasswordPolicy(ctx, &iam.GetAccountPasswordPolicyInput{})
	if awserror.Is(err, "NoSuchEntity") {
		return passwordPolicy{}, nil
	}
	if err != nil {
		return passwordPolicy{}, fmt.Errorf("iam-password-policy: get account password policy: %w", err)
	}
	p := out.PasswordPolicy
	return passwordPolicy{
		Exists:                     true,
		MinimumPasswordLength:      aws.ToInt32(p.MinimumPasswordLength),
		RequireSymbols:             p.RequireSymbols,
		RequireNumbers:             p.RequireNumbers,
		RequireUppercaseCharacters: p.RequireUppercaseCharacters,
		RequireLowercaseCharacters: p.RequireLowercaseCharacters,
		AllowUsersToChangePassword: p.AllowUsersToChangePassword,
		MaxPasswordAge:             p.MaxPasswordAge,
		PasswordReusePrevention:    p.PasswordReusePrevention,
		HardExpiry:                 p.HardExpiry,
	}, nil
}

// desired merges the baseline into p, keeping every stricter value.
func (p passwordPolicy) desired() passwordPolicy {
	d := p
	d.Exists = true
	d.MinimumPasswordLength = max(p.MinimumPasswordLength, minPasswordLength)
	reuse := int32(minPasswordReusePrevention)
	if p.PasswordReusePrevention != nil {
		reuse = max(reuse, *p.PasswordReusePrevention)
	}
	d.PasswordReusePrevention = &reuse
	d.RequireSymbols, d.RequireNumbers = true, true
	d.RequireUppercaseCharacters, d.RequireLowercaseCharacters = true, true
	d.AllowUsersToChangePassword = true
	return d
}

func (p passwordPolicy) changes() []control.Change {
	d := p.desired()
	var out []control.Change
	str := func(exists bool, v string) string {
		if !exists {
			return "unset"
		}
		return v
	}
	if p.MinimumPasswordLength != d.MinimumPasswordLength {
		out = append(out, control.Change{Field: "MinimumPasswordLength",
			Current: str(p.Exists, strconv.Itoa(int(p.MinimumPasswordLength))), Desired: strconv.Itoa(int(d.MinimumPasswordLength))})
	}
	if p.PasswordReusePrevention == nil || *p.PasswordReusePrevention != *d.PasswordReusePrevention {
		cur := "unset"
		if p.PasswordReusePrevention != nil {
			cur = strconv.Itoa(int(*p.PasswordReusePrevention))
		}
		out = append(out, control.Change{Field: "PasswordReusePrevention", Current: cur, Desired: strconv.Itoa(int(*d.PasswordReusePrevention))})
	}
	for _, f := range []struct {
		name string
		cur  bool
	}{
		{"RequireSymbols", p.RequireSymbols},
		{"RequireNumbers", p.RequireNumbers},
		{"RequireUppercaseCharacters", p.RequireUppercaseCharacters},
		{"RequireLowercaseCharacters", p.RequireLowercaseCharacters},
		{"AllowUsersToChangePassword", p.AllowUsersToChangePassword},
	} {
		if !f.cur {
			out = append(out, control.Change{Field: f.name, Current: str(p.Exists, "false"), Desired: "true"})
		}
	}
	return out
}

func (c IAMPasswordPolicy) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	cur, err := c.read(ctx, env)
	if err != nil {
		return control.Finding{}, err
	}
	ch := cur.changes()
	if len(ch) == 0 {
		return control.Finding{Compliant: true}, nil
	}
	f := control.Finding{Action: control.ActionUpdate, Changes: ch}
	if !cur.Exists {
		f.Action = control.ActionCreate
	}
	return f, nil
}

func (c IAMPasswordPolicy) Apply(ctx context.Context, env *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	cur, err := c.read(ctx, env)
	if err != nil {
		return nil, err
	}
	ch := cur.changes()
	if len(ch) == 0 {
		return nil, nil
	}
	merged := cur.desired()
	err = j.Write(ctx, stepUpdatePasswordPolicy, cur, merged, func(ctx context.Context) (any, error) {
		return nil, c.put(ctx, env, merged)
	})
	if err != nil {
		return nil, fmt.Errorf("iam-password-policy: update account password policy: %w", err)
	}
	return ch, nil
}

// put sends the complete policy p; nil optional fields are omitted so they
// take their defaults (no expiry, no reuse prevention, no hard expiry).
func (IAMPasswordPolicy) put(ctx context.Context, env *control.Env, p passwordPolicy) error {
	_, err := env.AWS.IAM().UpdateAccountPasswordPolicy(ctx, &iam.UpdateAccountPasswordPolicyInput{
		MinimumPasswordLength:      aws.Int32(p.MinimumPasswordLength),
		RequireSymbols:             p.RequireSymbols,
		RequireNumbers:             p.RequireNumbers,
		RequireUppercaseCharacters: p.RequireUppercaseCharacters,
		RequireLowercaseCharacters: p.RequireLowercaseCharacters,
		AllowUsersToChangePassword: p.AllowUsersToChangePassword,
		MaxPasswordAge:             p.MaxPasswordAge,
		PasswordReusePrevention:    p.PasswordReusePrevention,
		HardExpiry:                 p.HardExpiry,
	})
	return err
}

// undoUpdate compares the account's policy with the merged policy the
// step set and puts the prior policy back (deletes it when there was
// none). A journal of format 1 has no after state: the merged policy is
// derived from the prior one, as Apply derived it.
func (c IAMPasswordPolicy) undoUpdate(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior passwordPolicy
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	after := prior.desired()
	if _, err := control.DecodeAfter(s, &after); err != nil {
		return control.Undo{}, err
	}
	cur, err := c.read(ctx, env)
	if err != nil {
		return control.Undo{}, err
	}
	putBack := func(ctx context.Context) error { return c.restore(ctx, env, prior) }
	return settingsUndo("the account password policy", cur.settings(), after.settings(), prior.settings(), putBack), nil
}

// restore puts prior back: the whole policy, or no policy at all.
func (c IAMPasswordPolicy) restore(ctx context.Context, env *control.Env, prior passwordPolicy) error {
	var err error
	if prior.Exists {
		err = c.put(ctx, env, prior)
	} else {
		_, err = env.AWS.IAM().DeleteAccountPasswordPolicy(ctx, &iam.DeleteAccountPasswordPolicyInput{})
		if awserror.Is(err, "NoSuchEntity") {
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("iam-password-policy: restore account password policy: %w", err)
	}
	return nil
}

// Steps lists the writes Apply makes, each with its undo.
func (c IAMPasswordPolicy) Steps() control.Steps {
	return control.Steps{
		stepUpdatePasswordPolicy: c.undoUpdate,
	}
}
