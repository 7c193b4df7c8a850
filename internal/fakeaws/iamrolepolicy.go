package fakeaws

import (
	"fmt"
	"net/url"
	"strings"
)

// withIAMRolePolicyOps adds role inline policies and role tags to IAM.
func withIAMRolePolicyOps(svc *service) *service {
	svc.ops = append(svc.ops,
		&op{name: "PutRolePolicy", write: true, handle: iamPutRolePolicy},
		&op{name: "GetRolePolicy", handle: iamGetRolePolicy},
		&op{name: "DeleteRolePolicy", write: true, handle: iamDeleteRolePolicy},
		&op{name: "ListRolePolicies", handle: iamListRolePolicies},
		&op{name: "TagRole", write: true, handle: iamTagRole},
		&op{name: "ListRoleTags", handle: iamListRoleTags},
	)
	return svc
}

// roleTags reads IAM's "Tags.member.N.Key/Value" parameters; nil when
// there are none, so that an untagged role's state stays as it was.
func (c *call) roleTags() map[string]string {
	tags := c.formTags("Tags")
	if len(tags) == 0 {
		return nil
	}
	return tags
}

func (c *call) namedRole() (*iamRole, error) {
	name := c.form.Get("RoleName")
	r, ok := c.acct.IAM.Roles[strings.ToLower(name)]
	if !ok {
		return nil, noSuchRole(name)
	}
	return r, nil
}

func iamPutRolePolicy(c *call) (any, error) {
	r, err := c.namedRole()
	if err != nil {
		return nil, err
	}
	name, doc := c.form.Get("PolicyName"), c.form.Get("PolicyDocument")
	if name == "" {
		return nil, iamErr(400, "ValidationError", "PolicyName is required")
	}
	if _, err := parsePolicy(doc, policyParseOptions{requireResource: true}); err != nil {
		return nil, iamErr(400, "MalformedPolicyDocument", upperFirst(err.Error()))
	}
	if r.Policies == nil {
		r.Policies = map[string]string{}
	}
	r.Policies[name] = doc
	return nil, nil
}

func noSuchRolePolicy(role, name string) *APIError {
	return iamErr(404, "NoSuchEntity", fmt.Sprintf("The role policy with name %s cannot be found.", name))
}

func iamGetRolePolicy(c *call) (any, error) {
	r, err := c.namedRole()
	if err != nil {
		return nil, err
	}
	name := c.form.Get("PolicyName")
	doc, ok := r.Policies[name]
	if !ok {
		return nil, noSuchRolePolicy(r.RoleName, name)
	}
	return struct {
		RoleName       string `xml:"RoleName"`
		PolicyName     string `xml:"PolicyName"`
		PolicyDocument string `xml:"PolicyDocument"`
	}{r.RoleName, name, url.QueryEscape(doc)}, nil
}

func iamDeleteRolePolicy(c *call) (any, error) {
	r, err := c.namedRole()
	if err != nil {
		return nil, err
	}
	name := c.form.Get("PolicyName")
	if _, ok := r.Policies[name]; !ok {
		return nil, noSuchRolePolicy(r.RoleName, name)
	}
	delete(r.Policies, name)
	if len(r.Policies) == 0 {
		r.Policies = nil
	}
	return nil, nil
}

func iamTagRole(c *call) (any, error) {
	r, err := c.namedRole()
	if err != nil {
		return nil, err
	}
	if r.Tags == nil {
		r.Tags = map[string]string{}
	}
	for k, v := range c.roleTags() {
		r.Tags[k] = v
	}
	return nil, nil
}

type iamTag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

func iamListRoleTags(c *call) (any, error) {
	r, err := c.namedRole()
	if err != nil {
		return nil, err
	}
	tags := []iamTag{}
	for _, k := range sortedKeys(r.Tags) {
		tags = append(tags, iamTag{k, r.Tags[k]})
	}
	return struct {
		Tags        []iamTag `xml:"Tags>member"`
		IsTruncated bool     `xml:"IsTruncated"`
	}{tags, false}, nil
}

func iamListRolePolicies(c *call) (any, error) {
	r, err := c.namedRole()
	if err != nil {
		return nil, err
	}
	return struct {
		PolicyNames []string `xml:"PolicyNames>member"`
		IsTruncated bool     `xml:"IsTruncated"`
	}{sortedKeys(r.Policies), false}, nil
}
