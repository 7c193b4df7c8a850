package controls

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/account"
	accttypes "github.com/aws/aws-sdk-go-v2/service/account/types"

	"github.com/harden-dev/harden/internal/control"
)

// AlternateContacts sets the account's security, operations and billing
// contacts from the settings, so that AWS reaches a person about security
// notices, operations issues and bills. The security contact is required;
// the others are set when configured.
type AlternateContacts struct{}

const (
	alternateContactsID                      = "alternate-contacts"
	stepPutAlternateContact control.StepKind = "PutAlternateContact"
)

// AlternateContactsSettings are the contacts (harden.yaml
// controls.alternate-contacts). A contact is configured when any of its
// fields is set; it must then have all four.
type AlternateContactsSettings struct {
	SecurityName    string `yaml:"security_name" doc:"security contact's name (required for compliance: Security Hub Account.1)"`
	SecurityTitle   string `yaml:"security_title" doc:"security contact's title"`
	SecurityEmail   string `yaml:"security_email" doc:"security contact's email address"`
	SecurityPhone   string `yaml:"security_phone" doc:"security contact's phone number"`
	OperationsName  string `yaml:"operations_name" doc:"operations contact's name (optional)"`
	OperationsTitle string `yaml:"operations_title" doc:"operations contact's title"`
	OperationsEmail string `yaml:"operations_email" doc:"operations contact's email address"`
	OperationsPhone string `yaml:"operations_phone" doc:"operations contact's phone number"`
	BillingName     string `yaml:"billing_name" doc:"billing contact's name (optional)"`
	BillingTitle    string `yaml:"billing_title" doc:"billing contact's title"`
	BillingEmail    string `yaml:"billing_email" doc:"billing contact's email address"`
	BillingPhone    string `yaml:"billing_phone" doc:"billing contact's phone number"`
}

// NewSettings returns empty contacts: harden cannot guess them.
func (AlternateContacts) NewSettings() control.ControlSettings { return &AlternateContactsSettings{} }

// Validate checks that each configured contact is complete and its email
// address valid.
func (s *AlternateContactsSettings) Validate() error {
	for _, c := range s.contacts() {
		if !c.configured() {
			continue
		}
		if missing := c.missing(); len(missing) > 0 {
			return control.FieldErrorf(missing[0], "the %s contact needs a name, title, email and phone", strings.ToLower(c.Type))
		}
		if _, err := mail.ParseAddress(c.Email); err != nil {
			return control.FieldErrorf(c.prefix()+"_email", "%q is not an email address", c.Email)
		}
	}
	return nil
}

// contactSetting is one alternate contact as configured.
type contactSetting struct {
	contactState
}

func (c contactSetting) prefix() string { return strings.ToLower(c.Type) }

func (c contactSetting) configured() bool {
	return c.Name != "" || c.Title != "" || c.Email != "" || c.Phone != ""
}

// missing names the contact's unset settings ("security_email").
func (c contactSetting) missing() []string {
	var out []string
	for _, f := range []struct{ name, value string }{{"name", c.Name}, {"title", c.Title}, {"email", c.Email}, {"phone", c.Phone}} {
		if f.value == "" {
			out = append(out, c.prefix()+"_"+f.name)
		}
	}
	return out
}

func (s *AlternateContactsSettings) contacts() []contactSetting {
	return []contactSetting{
		{contactState{Type: "SECURITY", Name: s.SecurityName, Title: s.SecurityTitle, Email: s.SecurityEmail, Phone: s.SecurityPhone}},
		{contactState{Type: "OPERATIONS", Name: s.OperationsName, Title: s.OperationsTitle, Email: s.OperationsEmail, Phone: s.OperationsPhone}},
		{contactState{Type: "BILLING", Name: s.BillingName, Title: s.BillingTitle, Email: s.BillingEmail, Phone: s.BillingPhone}},
	}
}

func alternateContactsSettings(env *control.Env) *AlternateContactsSettings {
	return control.SettingsOf(env, alternateContactsID, AlternateContacts{}.NewSettings().(*AlternateContactsSettings))
}

// contactState is one alternate contact as journaled: Type is SECURITY,
// OPERATIONS or BILLING.
type contactState struct {
	Type  string `json:"type"`
	Name  string `json:"name"`
	Title string `json:"title"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

// contactPrior is a contact before harden's write: Exists false when the
// account had none of that type.
type contactPrior struct {
	Exists  bool         `json:"exists"`
	Contact contactState `json:"contact"`
}

func (c contactState) text() string {
	return fmt.Sprintf("%s, %s, %s, %s", c.Name, c.Title, c.Email, c.Phone)
}

func (AlternateContacts) Info() control.Info {
	return control.Info{
		ID:    alternateContactsID,
		Title: "Alternate contacts",
		Scope: control.Account,
		Desired: "the account's security contact (and the operations and billing contacts when configured) " +
			"are the people in the settings",
		SecurityHub:  []string{"Account.1"},
		CIS:          []string{"1.2"},
		ReadActions:  []string{"account:GetAlternateContact"},
		WriteActions: []string{"account:PutAlternateContact", "account:DeleteAlternateContact"},
		Cost:         control.Cost{Drivers: "free"},
	}
}

// currentContact reads one contact; ok is false when the account has none
// of that type.
func currentContact(ctx context.Context, env *control.Env, typ string) (contactState, bool, error) {
	out, err := env.AWS.Account().GetAlternateContact(ctx, &account.GetAlternateContactInput{
		AlternateContactType: accttypes.AlternateContactType(typ)})
	var nf *accttypes.ResourceNotFoundException
	if errors.As(err, &nf) {
		return contactState{Type: typ}, false, nil
	}
	if err != nil {
		return contactState{}, false, fmt.Errorf("alternate-contacts: get %s contact: %w", strings.ToLower(typ), err)
	}
	c := out.AlternateContact
	return contactState{Type: typ, Name: aws.ToString(c.Name), Title: aws.ToString(c.Title),
		Email: aws.ToString(c.EmailAddress), Phone: aws.ToString(c.PhoneNumber)}, true, nil
}

// contactPlan is one configured contact and what the account has now.
type contactPlan struct {
	want    contactState
	current contactState
	exists  bool
}

func (p contactPlan) compliant() bool { return p.exists && p.current == p.want }

func (p contactPlan) change() control.Change {
	cur := "unset"
	if p.exists {
		cur = p.current.text()
	}
	return control.Change{Field: strings.ToLower(p.want.Type) + " contact", Current: cur, Desired: p.want.text()}
}

// plan reads every configured contact; missing names the security
// contact's unset settings when it is not configured.
func (AlternateContacts) plan(ctx context.Context, env *control.Env) (plans []contactPlan, missing []string, err error) {
	for _, c := range alternateContactsSettings(env).contacts() {
		if !c.configured() {
			if c.Type == "SECURITY" {
				missing = c.missing()
			}
			continue
		}
		cur, ok, err := currentContact(ctx, env, c.Type)
		if err != nil {
			return nil, nil, err
		}
		plans = append(plans, contactPlan{want: c.contactState, current: cur, exists: ok})
	}
	return plans, missing, nil
}

func (c AlternateContacts) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	plans, missing, err := c.plan(ctx, env)
	if err != nil {
		return control.Finding{}, err
	}
	f := control.Finding{Compliant: len(missing) == 0}
	for _, p := range plans {
		if !p.compliant() {
			f.Compliant = false
			f.Changes = append(f.Changes, p.change())
			f.Action = control.ActionUpdate
		}
	}
	if len(missing) > 0 {
		named := make([]string, len(missing))
		for i, m := range missing {
			named[i] = "controls." + alternateContactsID + "." + m
		}
		// The configured contacts are still applied (as security-alerts
		// makes its topic without an email): the missing one is a note on
		// the plan, and once nothing else differs, the finding.
		why := "no security contact configured: set " + strings.Join(named, ", ")
		if len(f.Changes) > 0 {
			f.Note = why
		} else {
			f.Unmanaged = why
		}
	}
	return f, nil
}

func (c AlternateContacts) Apply(ctx context.Context, env *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	plans, _, err := c.plan(ctx, env)
	if err != nil {
		return nil, err
	}
	var changed []control.Change
	for _, p := range plans {
		if p.compliant() {
			continue
		}
		prior := contactPrior{Exists: p.exists, Contact: p.current}
		err := j.Write(ctx, stepPutAlternateContact, prior, p.want, func(ctx context.Context) (any, error) {
			return nil, putContact(ctx, env, p.want)
		})
		if err != nil {
			return changed, err
		}
		changed = append(changed, p.change())
	}
	return changed, nil
}

func putContact(ctx context.Context, env *control.Env, c contactState) error {
	_, err := env.AWS.Account().PutAlternateContact(ctx, &account.PutAlternateContactInput{
		AlternateContactType: accttypes.AlternateContactType(c.Type),
		Name:                 aws.String(c.Name),
		Title:                aws.String(c.Title),
		EmailAddress:         aws.String(c.Email),
		PhoneNumber:          aws.String(c.Phone),
	})
	if err != nil {
		return fmt.Errorf("alternate-contacts: put %s contact: %w", strings.ToLower(c.Type), err)
	}
	return nil
}

func deleteContact(ctx context.Context, env *control.Env, typ string) error {
	_, err := env.AWS.Account().DeleteAlternateContact(ctx, &account.DeleteAlternateContactInput{
		AlternateContactType: accttypes.AlternateContactType(typ)})
	var nf *accttypes.ResourceNotFoundException
	if err != nil && !errors.As(err, &nf) {
		return fmt.Errorf("alternate-contacts: delete %s contact: %w", strings.ToLower(typ), err)
	}
	return nil
}

// contactVerdict decides the undo of a PutAlternateContact from the
// contact now (exists, current), what harden put (after) and what was
// there before (prior).
func contactVerdict(current contactState, exists bool, after contactState, prior contactPrior) control.Verdict {
	switch {
	case exists && current == after:
		return control.Restore
	case !exists && !prior.Exists, exists && prior.Exists && current == prior.Contact:
		return control.Already
	}
	return control.Drifted
}

func (AlternateContacts) undoPut(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior contactPrior
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	var after contactState
	if ok, err := control.DecodeAfter(s, &after); err != nil {
		return control.Undo{}, err
	} else if !ok {
		return control.Undo{}, fmt.Errorf("alternate-contacts: journal step %s has no after state", s.Kind)
	}
	typ := strings.ToLower(after.Type)
	current, exists, err := currentContact(ctx, env, after.Type)
	if err != nil {
		return control.Undo{}, err
	}
	putBack := func(ctx context.Context) error {
		if !prior.Exists {
			return deleteContact(ctx, env, after.Type)
		}
		return putContact(ctx, env, prior.Contact)
	}
	switch contactVerdict(current, exists, after, prior) {
	case control.Restore:
		if !prior.Exists {
			return control.Restored(fmt.Sprintf("remove the %s contact (there was none before harden)", typ), putBack), nil
		}
		return control.Restored(fmt.Sprintf("restore the %s contact (%s → %s)", typ, after.text(), prior.Contact.text()), putBack), nil
	case control.Already:
		return control.Nothing("the %s contact is already as it was before harden's change", typ), nil
	}
	now := "removed"
	if exists {
		now = current.text()
	}
	return control.Drift(putBack, "%s contact: harden set %s, now %s", typ, after.text(), now), nil
}

// Steps lists the writes Apply makes, each with its undo.
func (c AlternateContacts) Steps() control.Steps {
	return control.Steps{stepPutAlternateContact: c.undoPut}
}
