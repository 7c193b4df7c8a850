package fakeaws

import (
	"crypto/sha256"
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// iamRole is an IAM role. Role names are unique in the account regardless of
// case, so roles are keyed by lower-cased name.
type iamRole struct {
	Path                     string `xml:"Path"`
	RoleName                 string `xml:"RoleName"`
	RoleID                   string `xml:"RoleId"`
	Arn                      string `xml:"Arn"`
	CreateDate               string `xml:"CreateDate"`
	AssumeRolePolicyDocument string `xml:"AssumeRolePolicyDocument"`
	Description              string `xml:"Description,omitempty" json:",omitempty"`
	MaxSessionDuration       int32  `xml:"MaxSessionDuration"`
	// ServiceName is set on service-linked roles: the service that owns it.
	ServiceName string `xml:"-" json:",omitempty"`
	// Tags and inline Policies (by name) are read through their own
	// operations (iamrolepolicy.go).
	Tags     map[string]string `xml:"-" json:",omitempty"`
	Policies map[string]string `xml:"-" json:",omitempty"`
}

// slrDeletionTask is the outcome of a DeleteServiceLinkedRole call.
type slrDeletionTask struct {
	Status string
	Reason string
	Usage  []roleUsage
}

type roleUsage struct {
	Region    string   `xml:"Region"`
	Resources []string `xml:"Resources>member"`
}

// serviceLinkedRoles maps the service principals fakeaws knows to the name
// of their service-linked role.
var serviceLinkedRoles = map[string]string{
	"config.amazonaws.com":          "AWSServiceRoleForConfig",
	"guardduty.amazonaws.com":       "AWSServiceRoleForAmazonGuardDuty",
	"securityhub.amazonaws.com":     "AWSServiceRoleForSecurityHub",
	"access-analyzer.amazonaws.com": "AWSServiceRoleForAccessAnalyzer",
	"cloudtrail.amazonaws.com":      "AWSServiceRoleForCloudTrail",
	"detective.amazonaws.com":       "AWSServiceRoleForDetective",
	"organizations.amazonaws.com":   "AWSServiceRoleForOrganizations",
}

// iamRoleOps are the role operations fakeaws serves.
func iamRoleOps() []*op {
	return []*op{
		{name: "CreateServiceLinkedRole", write: true, handle: iamCreateServiceLinkedRole},
		{name: "DeleteServiceLinkedRole", write: true, handle: iamDeleteServiceLinkedRole},
		{name: "GetServiceLinkedRoleDeletionStatus", handle: iamGetServiceLinkedRoleDeletionStatus},
		{name: "CreateRole", write: true, handle: iamCreateRole},
		{name: "GetRole", handle: iamGetRole},
		{name: "DeleteRole", write: true, handle: iamDeleteRole},
	}
}

func iamErr(status int, code, msg string) *APIError {
	return &APIError{Status: status, Code: code, Message: msg}
}

// roleByARN returns the role an ARN names, or nil.
func (s *iamState) roleByARN(arn string) *iamRole {
	i := strings.LastIndex(arn, "/")
	if i < 0 {
		return nil
	}
	r, ok := s.Roles[strings.ToLower(arn[i+1:])]
	if !ok || r.Arn != arn {
		return nil
	}
	return r
}

func roleID(acct, name string) string {
	h := sha256.Sum256([]byte(acct + "/role/" + name))
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	var b strings.Builder
	b.WriteString("AROA")
	for _, c := range h[:17] {
		b.WriteByte(alphabet[int(c)%len(alphabet)])
	}
	return b.String()
}

func (a *account) addRole(path, name, trust, description, service string, maxSession int32) *iamRole {
	r := &iamRole{
		Path:                     path,
		RoleName:                 name,
		RoleID:                   roleID(a.ID, name),
		Arn:                      fmt.Sprintf("arn:aws:iam::%s:role%s%s", a.ID, path, name),
		CreateDate:               time.Now().UTC().Format("2006-01-02T15:04:05Z"),
		AssumeRolePolicyDocument: url.QueryEscape(trust),
		Description:              description,
		MaxSessionDuration:       maxSession,
		ServiceName:              service,
	}
	if a.IAM.Roles == nil {
		a.IAM.Roles = map[string]*iamRole{}
	}
	a.IAM.Roles[strings.ToLower(name)] = r
	return r
}

func serviceTrustPolicy(service string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"` + service + `"},"Action":"sts:AssumeRole"}]}`
}

func iamCreateServiceLinkedRole(c *call) (any, error) {
	service := c.form.Get("AWSServiceName")
	if service == "" {
		return nil, iamErr(400, "ValidationError", "1 validation error detected: Value null at 'aWSServiceName' failed to satisfy constraint: Member must not be null")
	}
	name, ok := serviceLinkedRoles[service]
	if !ok {
		return nil, iamErr(400, "InvalidInput", fmt.Sprintf("Invalid service name: %s", service))
	}
	if suffix := c.form.Get("CustomSuffix"); suffix != "" {
		return nil, iamErr(400, "InvalidInput", fmt.Sprintf("Custom suffix is not allowed for %s", service))
	}
	if _, exists := c.acct.IAM.Roles[strings.ToLower(name)]; exists {
		return nil, iamErr(400, "InvalidInput",
			fmt.Sprintf("Service role name %s has been taken in this account, please try again.", name))
	}
	desc := c.form.Get("Description")
	r := c.acct.addRole("/aws-service-role/"+service+"/", name, serviceTrustPolicy(service), desc, service, 3600)
	return struct {
		Role *iamRole `xml:"Role"`
	}{r}, nil
}

func noSuchRole(name string) *APIError {
	return iamErr(404, "NoSuchEntity", fmt.Sprintf("The role with name %s cannot be found.", name))
}

// roleUsage lists the resources that use a role: Config recorders.
func (a *account) roleUsage(arn string) []roleUsage {
	var out []roleUsage
	for _, region := range sortedKeys(a.Regions) {
		if rec := a.Regions[region].Config.Recorder; rec != nil && rec.RoleARN == arn {
			out = append(out, roleUsage{Region: region, Resources: []string{rec.Arn}})
		}
	}
	return out
}

// iamDeleteServiceLinkedRole starts a deletion task. The fake runs it at
// once: a role still used by a service's resources is kept and the task
// fails, as AWS reports it.
func iamDeleteServiceLinkedRole(c *call) (any, error) {
	name := c.form.Get("RoleName")
	r, ok := c.acct.IAM.Roles[strings.ToLower(name)]
	if !ok {
		return nil, noSuchRole(name)
	}
	if r.ServiceName == "" {
		return nil, iamErr(400, "InvalidInput", fmt.Sprintf("Role %s is not a service-linked role.", name))
	}
	id := fmt.Sprintf("task/aws-service-role/%s/%s/%s", r.ServiceName, r.RoleName, newKeyID())
	task := &slrDeletionTask{Status: "SUCCEEDED"}
	if usage := c.acct.roleUsage(r.Arn); len(usage) > 0 {
		task = &slrDeletionTask{Status: "FAILED", Reason: "The service-linked role is in use by resources of " + r.ServiceName + ".", Usage: usage}
	} else {
		delete(c.acct.IAM.Roles, strings.ToLower(name))
	}
	if c.acct.IAM.DeletionTasks == nil {
		c.acct.IAM.DeletionTasks = map[string]*slrDeletionTask{}
	}
	c.acct.IAM.DeletionTasks[id] = task
	return struct {
		DeletionTaskID string `xml:"DeletionTaskId"`
	}{id}, nil
}

func iamGetServiceLinkedRoleDeletionStatus(c *call) (any, error) {
	id := c.form.Get("DeletionTaskId")
	task, ok := c.acct.IAM.DeletionTasks[id]
	if !ok {
		return nil, iamErr(404, "NoSuchEntity", fmt.Sprintf("Deletion task %s cannot be found.", id))
	}
	type reason struct {
		Reason        string      `xml:"Reason,omitempty"`
		RoleUsageList []roleUsage `xml:"RoleUsageList>member,omitempty"`
	}
	out := struct {
		Status string  `xml:"Status"`
		Reason *reason `xml:"Reason,omitempty"`
	}{Status: task.Status}
	if task.Status == "FAILED" {
		out.Reason = &reason{Reason: task.Reason, RoleUsageList: task.Usage}
	}
	return out, nil
}

var (
	roleNamePattern = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	rolePathPattern = regexp.MustCompile(`^/([\x21-\x7e]{0,510}/)?$`)
)

func iamCreateRole(c *call) (any, error) {
	name, path := c.form.Get("RoleName"), c.form.Get("Path")
	if path == "" {
		path = "/"
	}
	if !roleNamePattern.MatchString(name) {
		return nil, iamErr(400, "ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+", name))
	}
	if !rolePathPattern.MatchString(path) {
		return nil, iamErr(400, "ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at 'path' failed to satisfy constraint: Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)", path))
	}
	if strings.HasPrefix(path, "/aws-service-role/") {
		return nil, iamErr(400, "InvalidInput", "The path /aws-service-role/ is reserved for service-linked roles.")
	}
	trust := c.form.Get("AssumeRolePolicyDocument")
	if _, err := parsePolicy(trust, policyParseOptions{requirePrincipal: true}); err != nil {
		return nil, iamErr(400, "MalformedPolicyDocument", upperFirst(err.Error()))
	}
	maxSession := int32(3600)
	if s := c.form.Get("MaxSessionDuration"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 3600 || n > 43200 {
			return nil, iamErr(400, "ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at 'maxSessionDuration' failed to satisfy constraint: Member must have value between 3600 and 43200", s))
		}
		maxSession = int32(n)
	}
	if _, exists := c.acct.IAM.Roles[strings.ToLower(name)]; exists {
		return nil, iamErr(409, "EntityAlreadyExists", fmt.Sprintf("Role with name %s already exists.", name))
	}
	r := c.acct.addRole(path, name, trust, c.form.Get("Description"), "", maxSession)
	r.Tags = c.roleTags()
	return struct {
		Role *iamRole `xml:"Role"`
	}{r}, nil
}

func iamGetRole(c *call) (any, error) {
	name := c.form.Get("RoleName")
	r, ok := c.acct.IAM.Roles[strings.ToLower(name)]
	if !ok {
		return nil, noSuchRole(name)
	}
	return struct {
		Role *iamRole `xml:"Role"`
	}{r}, nil
}

func iamDeleteRole(c *call) (any, error) {
	name := c.form.Get("RoleName")
	r, ok := c.acct.IAM.Roles[strings.ToLower(name)]
	if !ok {
		return nil, noSuchRole(name)
	}
	if r.ServiceName != "" {
		return nil, iamErr(400, "UnmodifiableEntity",
			fmt.Sprintf("Cannot perform the operation on the protected role '%s' - this role is only modifiable by AWS", r.RoleName))
	}
	if len(r.Policies) > 0 {
		return nil, iamErr(409, "DeleteConflict", "Cannot delete entity, must delete policies first.")
	}
	delete(c.acct.IAM.Roles, strings.ToLower(name))
	return nil, nil
}
