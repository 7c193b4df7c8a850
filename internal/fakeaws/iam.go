package fakeaws

import (
	"fmt"
	"strconv"
)

// iamState is the account's IAM state. IAM is global: its endpoint is signed
// for us-east-1 whatever region the caller works in.
type iamState struct {
	// PasswordPolicy is nil until one is set (a new account has none).
	PasswordPolicy *passwordPolicy
	// Roles by lower-cased role name (see iamroles.go).
	Roles map[string]*iamRole `json:",omitempty"`
	// DeletionTasks of DeleteServiceLinkedRole; not part of the snapshot.
	DeletionTasks map[string]*slrDeletionTask `json:"-"`
}

type passwordPolicy struct {
	MinimumPasswordLength      int32  `xml:"MinimumPasswordLength"`
	RequireSymbols             bool   `xml:"RequireSymbols"`
	RequireNumbers             bool   `xml:"RequireNumbers"`
	RequireUppercaseCharacters bool   `xml:"RequireUppercaseCharacters"`
	RequireLowercaseCharacters bool   `xml:"RequireLowercaseCharacters"`
	AllowUsersToChangePassword bool   `xml:"AllowUsersToChangePassword"`
	ExpirePasswords            bool   `xml:"ExpirePasswords"`
	MaxPasswordAge             *int32 `xml:"MaxPasswordAge,omitempty"`
	PasswordReusePrevention    *int32 `xml:"PasswordReusePrevention,omitempty"`
	HardExpiry                 *bool  `xml:"HardExpiry,omitempty"`
}

func iamService() *service {
	return &service{
		name:          "iam",
		signingName:   "iam",
		protocol:      protoQuery,
		xmlns:         "https://iam.amazonaws.com/doc/2010-05-08/",
		global:        true,
		throttleErr:   APIError{Status: 400, Code: "Throttling", Message: "Rate exceeded"},
		deniedErr:     APIError{Status: 403, Code: "AccessDenied", Message: "User is not authorized to perform this action"},
		notEnabledErr: APIError{Status: 403, Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."},
		ops: append([]*op{
			{name: "GetAccountPasswordPolicy", handle: iamGetAccountPasswordPolicy},
			{name: "UpdateAccountPasswordPolicy", write: true, handle: iamUpdateAccountPasswordPolicy},
			{name: "DeleteAccountPasswordPolicy", write: true, handle: iamDeleteAccountPasswordPolicy},
		}, iamRoleOps()...),
	}
}

func noPasswordPolicy(c *call) *APIError {
	return &APIError{Status: 404, Code: "NoSuchEntity",
		Message: fmt.Sprintf("The Password Policy with domain name %s cannot be found.", c.acct.ID)}
}

func iamGetAccountPasswordPolicy(c *call) (any, error) {
	p := c.acct.IAM.PasswordPolicy
	if p == nil {
		return nil, noPasswordPolicy(c)
	}
	return struct {
		PasswordPolicy *passwordPolicy `xml:"PasswordPolicy"`
	}{p}, nil
}

// iamUpdateAccountPasswordPolicy replaces the whole policy: a parameter
// left out takes its default, as the API documents.
func iamUpdateAccountPasswordPolicy(c *call) (any, error) {
	p := &passwordPolicy{MinimumPasswordLength: 6}
	intParam := func(name string, lo, hi int) (*int32, error) {
		s := c.form.Get(name)
		if s == "" {
			return nil, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < lo || n > hi {
			rel := "greater than or equal to " + strconv.Itoa(lo)
			if err == nil && n > hi {
				rel = "less than or equal to " + strconv.Itoa(hi)
			}
			return nil, &APIError{Status: 400, Code: "ValidationError",
				Message: fmt.Sprintf("1 validation error detected: Value '%s' at '%s' failed to satisfy constraint: Member must have value %s",
					s, lowerFirst(name), rel)}
		}
		v := int32(n)
		return &v, nil
	}
	var err error
	var minLen *int32
	if minLen, err = intParam("MinimumPasswordLength", 6, 128); err != nil {
		return nil, err
	}
	if minLen != nil {
		p.MinimumPasswordLength = *minLen
	}
	if p.MaxPasswordAge, err = intParam("MaxPasswordAge", 1, 1095); err != nil {
		return nil, err
	}
	if p.PasswordReusePrevention, err = intParam("PasswordReusePrevention", 1, 24); err != nil {
		return nil, err
	}
	p.ExpirePasswords = p.MaxPasswordAge != nil
	for name, dst := range map[string]*bool{
		"RequireSymbols":             &p.RequireSymbols,
		"RequireNumbers":             &p.RequireNumbers,
		"RequireUppercaseCharacters": &p.RequireUppercaseCharacters,
		"RequireLowercaseCharacters": &p.RequireLowercaseCharacters,
		"AllowUsersToChangePassword": &p.AllowUsersToChangePassword,
	} {
		v, _, err := c.formBool(name)
		if err != nil {
			return nil, err
		}
		*dst = v
	}
	if v, ok, err := c.formBool("HardExpiry"); err != nil {
		return nil, err
	} else if ok {
		p.HardExpiry = &v
	}
	c.acct.IAM.PasswordPolicy = p
	return nil, nil
}

func iamDeleteAccountPasswordPolicy(c *call) (any, error) {
	if c.acct.IAM.PasswordPolicy == nil {
		return nil, noPasswordPolicy(c)
	}
	c.acct.IAM.PasswordPolicy = nil
	return nil, nil
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}
