package fakeaws

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"
)

// OrganizationManagementAccountID owns the organization trails that
// AddOrganizationTrail installs.
const OrganizationManagementAccountID = "210987654321"

// cloudtrailState is the account's trails, keyed by trail ARN. A trail has
// a home region; a multi-region trail is also visible (as a shadow trail)
// in every other region, and an organization trail of the management
// account is visible in its member accounts.
type cloudtrailState struct {
	Trails map[string]*trail `json:",omitempty"`
}

// organizationInfo says the account is a member of an organization.
type organizationInfo struct {
	ID                  string
	ManagementAccountID string
}

type trail struct {
	Name                       string
	TrailARN                   string
	HomeRegion                 string
	OwnerAccountID             string
	S3BucketName               string
	S3KeyPrefix                string `json:",omitempty"`
	SnsTopicName               string `json:",omitempty"`
	IncludeGlobalServiceEvents bool
	IsMultiRegionTrail         bool
	LogFileValidationEnabled   bool
	IsOrganizationTrail        bool
	KmsKeyID                   string `json:",omitempty"`
	CloudWatchLogsLogGroupArn  string `json:",omitempty"`
	CloudWatchLogsRoleArn      string `json:",omitempty"`
	IsLogging                  bool
	StartLoggingTime           float64 `json:",omitempty"`
	StopLoggingTime            float64 `json:",omitempty"`
	HasCustomEventSelectors    bool
	EventSelectors             []eventSelector         `json:",omitempty"`
	AdvancedEventSelectors     []advancedEventSelector `json:",omitempty"`
	Tags                       []ctTag                 `json:",omitempty"`
}

type eventSelector struct {
	ReadWriteType                 string         `json:"ReadWriteType"`
	IncludeManagementEvents       bool           `json:"IncludeManagementEvents"`
	DataResources                 []dataResource `json:"DataResources"`
	ExcludeManagementEventSources []string       `json:"ExcludeManagementEventSources"`
}

type dataResource struct {
	Type   string   `json:"Type"`
	Values []string `json:"Values"`
}

type advancedEventSelector struct {
	Name           string                  `json:"Name,omitempty"`
	FieldSelectors []advancedFieldSelector `json:"FieldSelectors"`
}

type advancedFieldSelector struct {
	Field         string   `json:"Field"`
	Equals        []string `json:"Equals,omitempty"`
	StartsWith    []string `json:"StartsWith,omitempty"`
	EndsWith      []string `json:"EndsWith,omitempty"`
	NotEquals     []string `json:"NotEquals,omitempty"`
	NotStartsWith []string `json:"NotStartsWith,omitempty"`
	NotEndsWith   []string `json:"NotEndsWith,omitempty"`
}

type ctTag struct {
	Key   string  `json:"Key"`
	Value *string `json:"Value,omitempty"`
}

func cloudtrailService() *service {
	return &service{
		name:          "cloudtrail",
		signingName:   "cloudtrail",
		protocol:      protoJSON,
		target:        "CloudTrail_20131101",
		cliTarget:     "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101",
		throttleErr:   APIError{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"},
		deniedErr:     APIError{Status: 400, Code: "AccessDeniedException", Message: "User is not authorized to perform this action"},
		notEnabledErr: APIError{Status: 400, Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid."},
		ops: []*op{
			{name: "CreateTrail", write: true, handle: ctCreateTrail},
			{name: "UpdateTrail", write: true, handle: ctUpdateTrail},
			{name: "DeleteTrail", write: true, handle: ctDeleteTrail},
			{name: "DescribeTrails", handle: ctDescribeTrails},
			{name: "ListTrails", handle: ctListTrails},
			{name: "GetTrail", handle: ctGetTrail},
			{name: "GetTrailStatus", handle: ctGetTrailStatus},
			{name: "StartLogging", write: true, handle: ctSetLogging(true)},
			{name: "StopLogging", write: true, handle: ctSetLogging(false)},
			{name: "GetEventSelectors", handle: ctGetEventSelectors},
			{name: "PutEventSelectors", write: true, handle: ctPutEventSelectors},
			{name: "AddTags", write: true, handle: ctAddTags},
			{name: "RemoveTags", write: true, handle: ctRemoveTags},
			{name: "ListTags", handle: ctListTags},
		},
	}
}

func ctErr(code, msg string) *APIError { return &APIError{Status: 400, Code: code, Message: msg} }

var (
	trailNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{1,126}[A-Za-z0-9]$`)
	trailAdjacent    = regexp.MustCompile(`[._-]{2}`)
	trailARNPattern  = regexp.MustCompile(`^arn:aws:cloudtrail:([a-z0-9-]+):(\d{12}):trail/(.+)$`)
)

func validTrailName(name string) bool {
	return trailNamePattern.MatchString(name) && !trailAdjacent.MatchString(name) && !ipv4Pattern.MatchString(name)
}

func invalidTrailName(name string) *APIError {
	return ctErr("InvalidTrailNameException", fmt.Sprintf("Trail name %s is not valid. Trail names must contain only ASCII letters (a-z, A-Z), numbers (0-9), periods (.), underscores (_), or dashes (-); start with a letter or number and end with a letter or number; be between 3 and 128 characters; have no adjacent periods, underscores or dashes; and not be in IP address format.", name))
}

func trailARN(region, acct, name string) string {
	return fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", region, acct, name)
}

func trailNotFound(c *call, arn string) *APIError {
	return ctErr("TrailNotFoundException", fmt.Sprintf("Unknown trail: %s for the user: %s", arn, c.acct.ID))
}

func wrongAccountARN(c *call) *APIError {
	return ctErr("CloudTrailARNInvalidException",
		fmt.Sprintf("AccountID in ARN is wrong, you can only access resources with AccountID %s.", c.acct.ID))
}

func invalidHomeRegion(t *trail) *APIError {
	return ctErr("InvalidHomeRegionException",
		fmt.Sprintf("This operation must be called from the trail's home region, %s.", t.HomeRegion))
}

func notManagementAccount() *APIError {
	return ctErr("NotOrganizationMasterAccountException",
		"You cannot configure or manage trails for an organization because this action requires being signed in with the management account.")
}

// visibleIn reports whether a trail appears in a region.
func (t *trail) visibleIn(region string) bool {
	return t.HomeRegion == region || t.IsMultiRegionTrail
}

// ownTrailsIn lists this account's trails that exist in a region, shadow
// trails included; these count toward the five-trails-per-region quota.
func ownTrailsIn(a *account, region string) []*trail {
	var out []*trail
	for _, arn := range sortedKeys(a.CloudTrail.Trails) {
		t := a.CloudTrail.Trails[arn]
		if t.OwnerAccountID == a.ID && t.visibleIn(region) {
			out = append(out, t)
		}
	}
	return out
}

// findTrail resolves a trail name or ARN as CloudTrail does from the call's
// region. A name finds only a trail whose home is this region; a shadow
// trail (the replica of a multi-region trail) and an organization trail
// seen from a member account must be named by ARN. Writes must be made in
// the trail's home region and by the trail's owner.
func (c *call) findTrail(nameOrARN string, write bool) (*trail, error) {
	trails := c.acct.CloudTrail.Trails
	if strings.HasPrefix(nameOrARN, "arn:") {
		m := trailARNPattern.FindStringSubmatch(nameOrARN)
		if m == nil {
			return nil, ctErr("CloudTrailARNInvalidException", fmt.Sprintf("Invalid trail ARN: %s", nameOrARN))
		}
		t, ok := trails[nameOrARN]
		if m[2] != c.acct.ID {
			if ok && t.IsOrganizationTrail && t.visibleIn(c.region) {
				if write {
					return nil, notManagementAccount()
				}
				return t, nil
			}
			return nil, wrongAccountARN(c)
		}
		if !ok || !t.visibleIn(c.region) {
			return nil, trailNotFound(c, nameOrARN)
		}
		if write && t.HomeRegion != c.region {
			return nil, invalidHomeRegion(t)
		}
		return t, nil
	}
	if !validTrailName(nameOrARN) {
		return nil, invalidTrailName(nameOrARN)
	}
	arn := trailARN(c.region, c.acct.ID, nameOrARN)
	if t, ok := trails[arn]; ok {
		return t, nil
	}
	for _, t := range ownTrailsIn(c.acct, c.region) {
		if t.Name == nameOrARN && write {
			return nil, invalidHomeRegion(t)
		}
	}
	return nil, trailNotFound(c, arn)
}

// trailView is a trail as DescribeTrails and GetTrail show it.
func (t *trail) view() map[string]any {
	m := t.settings()
	m["HomeRegion"] = t.HomeRegion
	m["HasCustomEventSelectors"] = t.HasCustomEventSelectors
	m["HasInsightSelectors"] = false
	return m
}

// settings are the fields CreateTrail and UpdateTrail return.
func (t *trail) settings() map[string]any {
	m := map[string]any{
		"Name":                       t.Name,
		"S3BucketName":               t.S3BucketName,
		"IncludeGlobalServiceEvents": t.IncludeGlobalServiceEvents,
		"IsMultiRegionTrail":         t.IsMultiRegionTrail,
		"TrailARN":                   t.TrailARN,
		"LogFileValidationEnabled":   t.LogFileValidationEnabled,
		"IsOrganizationTrail":        t.IsOrganizationTrail,
	}
	for k, v := range map[string]string{
		"S3KeyPrefix":               t.S3KeyPrefix,
		"SnsTopicName":              t.SnsTopicName,
		"KmsKeyId":                  t.KmsKeyID,
		"CloudWatchLogsLogGroupArn": t.CloudWatchLogsLogGroupArn,
		"CloudWatchLogsRoleArn":     t.CloudWatchLogsRoleArn,
	} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

func defaultEventSelectors() []eventSelector {
	return []eventSelector{{
		ReadWriteType:                 "All",
		IncludeManagementEvents:       true,
		DataResources:                 []dataResource{},
		ExcludeManagementEventSources: []string{},
	}}
}

// trailInput is CreateTrail's and UpdateTrail's input. Pointers tell an
// absent field from a zero one (UpdateTrail changes only what it names).
type trailInput struct {
	Name                       string
	S3BucketName               *string
	S3KeyPrefix                *string
	SnsTopicName               *string
	IncludeGlobalServiceEvents *bool
	IsMultiRegionTrail         *bool
	EnableLogFileValidation    *bool
	CloudWatchLogsLogGroupArn  *string
	CloudWatchLogsRoleArn      *string
	KmsKeyID                   *string `json:"KmsKeyId"`
	IsOrganizationTrail        *bool
	TagsList                   []ctTag
}

func ctCreateTrail(c *call) (any, error) {
	var in trailInput
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	if !validTrailName(in.Name) {
		return nil, invalidTrailName(in.Name)
	}
	t := &trail{
		Name:                       in.Name,
		TrailARN:                   trailARN(c.region, c.acct.ID, in.Name),
		HomeRegion:                 c.region,
		OwnerAccountID:             c.acct.ID,
		IncludeGlobalServiceEvents: true,
		EventSelectors:             defaultEventSelectors(),
	}
	if in.S3BucketName == nil {
		return nil, ctErr("InvalidS3BucketNameException", "S3 bucket name is required.")
	}
	if err := applyTrailInput(c, t, &in, true); err != nil {
		return nil, err
	}
	if err := validateCTTags(in.TagsList); err != nil {
		return nil, err
	}
	t.Tags = mergeCTTags(nil, in.TagsList)
	c.acct.CloudTrail.Trails[t.TrailARN] = t
	return t.settings(), nil
}

// applyTrailInput validates the input against the trail's new settings and,
// when every check passes, applies it to t.
func applyTrailInput(c *call, t *trail, in *trailInput, creating bool) error {
	next := *t
	if in.IsOrganizationTrail != nil && *in.IsOrganizationTrail != t.IsOrganizationTrail {
		if c.acct.Organization == nil {
			return ctErr("OrganizationsNotInUseException",
				"This account is not a member of an organization.")
		}
		return notManagementAccount()
	}
	if in.IncludeGlobalServiceEvents != nil {
		next.IncludeGlobalServiceEvents = *in.IncludeGlobalServiceEvents
	}
	if in.IsMultiRegionTrail != nil {
		next.IsMultiRegionTrail = *in.IsMultiRegionTrail
	}
	if in.EnableLogFileValidation != nil {
		next.LogFileValidationEnabled = *in.EnableLogFileValidation
	}
	if next.IsMultiRegionTrail && !next.IncludeGlobalServiceEvents {
		return ctErr("InvalidParameterCombinationException", "Multi-Region trail must include global service events.")
	}
	// The trail must fit in every region it will exist in.
	regions := []string{c.region}
	if next.IsMultiRegionTrail {
		regions = nil
		for _, r := range sortedKeys(c.acct.OptIn) {
			if c.acct.regionEnabled(r) {
				regions = append(regions, r)
			}
		}
	}
	for _, r := range regions {
		if !creating && t.visibleIn(r) {
			continue
		}
		for _, other := range ownTrailsIn(c.acct, r) {
			if other.Name == t.Name && other != t {
				return ctErr("TrailAlreadyExistsException",
					fmt.Sprintf("Trail %s already exists for customer: %s", t.Name, c.acct.ID))
			}
		}
	}
	for _, r := range regions {
		if !creating && t.visibleIn(r) {
			continue
		}
		if len(ownTrailsIn(c.acct, r)) >= 5 {
			return ctErr("MaximumNumberOfTrailsExceededException",
				fmt.Sprintf("User: %s already has 5 trails in %s.", c.acct.ID, r))
		}
	}
	bucketChanged := creating
	if in.S3BucketName != nil {
		next.S3BucketName = *in.S3BucketName
		bucketChanged = true
	}
	if in.S3KeyPrefix != nil {
		next.S3KeyPrefix = *in.S3KeyPrefix
		bucketChanged = true
	}
	if len(next.S3KeyPrefix) > 200 || strings.HasPrefix(next.S3KeyPrefix, "/") {
		return ctErr("InvalidS3PrefixException", fmt.Sprintf("Invalid S3 prefix: %s", next.S3KeyPrefix))
	}
	var bucket *s3Bucket
	if bucketChanged {
		b, err := checkTrailBucket(c, &next)
		if err != nil {
			return err
		}
		bucket = b
	}
	if in.SnsTopicName != nil {
		if *in.SnsTopicName != "" {
			return ctErr("InvalidSnsTopicNameException",
				fmt.Sprintf("Unknown SNS topic: %s (fakeaws has no SNS topics)", *in.SnsTopicName))
		}
		next.SnsTopicName = ""
	}
	if in.CloudWatchLogsLogGroupArn != nil {
		next.CloudWatchLogsLogGroupArn = *in.CloudWatchLogsLogGroupArn
	}
	if in.CloudWatchLogsRoleArn != nil {
		next.CloudWatchLogsRoleArn = *in.CloudWatchLogsRoleArn
	}
	if err := checkTrailLogs(c, &next); err != nil {
		return err
	}
	keyChanged := false
	if in.KmsKeyID != nil {
		next.KmsKeyID = *in.KmsKeyID
		keyChanged = true
	}
	if next.KmsKeyID != "" && (keyChanged || bucketChanged) {
		if bucket == nil {
			b, err := checkTrailBucket(c, &next)
			if err != nil {
				return err
			}
			bucket = b
		}
		arn, err := checkTrailKey(c, &next, next.KmsKeyID, bucket)
		if err != nil {
			return err
		}
		next.KmsKeyID = arn
	}
	*t = next
	return nil
}

// checkTrailBucket checks that the trail's bucket exists and that its
// policy lets CloudTrail check the bucket ACL and write log files under
// [prefix/]AWSLogs/ACCOUNT/, with any aws:SourceArn condition satisfied by
// the trail's ARN and any s3:x-amz-acl condition by bucket-owner-full-control.
func checkTrailBucket(c *call, t *trail) (*s3Bucket, error) {
	name := t.S3BucketName
	if name == "" || !validBucketName(name) {
		return nil, ctErr("InvalidS3BucketNameException", fmt.Sprintf("Invalid S3 bucket name: %s", name))
	}
	b, ok := c.acct.S3.Buckets[name]
	if !ok {
		return nil, ctErr("S3BucketDoesNotExistException", fmt.Sprintf("S3 bucket does not exist: %s", name))
	}
	insufficient := ctErr("InsufficientS3BucketPolicyException",
		fmt.Sprintf("Incorrect S3 bucket policy is detected for bucket: %s", name))
	if b.Policy == "" {
		return nil, insufficient
	}
	doc, err := parsePolicy(b.Policy, policyParseOptions{})
	if err != nil {
		return nil, insufficient
	}
	prefix := ""
	if t.S3KeyPrefix != "" {
		prefix = strings.TrimSuffix(t.S3KeyPrefix, "/") + "/"
	}
	ctx := map[string][]string{
		"aws:SourceArn":            {t.TrailARN},
		"aws:SourceAccount":        {c.acct.ID},
		"aws:SecureTransport":      {"true"},
		"aws:PrincipalServiceName": {"cloudtrail.amazonaws.com"},
	}
	who := policyPrincipal{Service: "cloudtrail.amazonaws.com"}
	if !doc.allows(policyRequest{Principal: who, Action: "s3:GetBucketAcl", Resource: "arn:aws:s3:::" + name, Context: ctx}) {
		return nil, insufficient
	}
	put := map[string][]string{"s3:x-amz-acl": {"bucket-owner-full-control"}}
	for k, v := range ctx {
		put[k] = v
	}
	object := fmt.Sprintf("arn:aws:s3:::%s/%sAWSLogs/%s/CloudTrail/%s/log.json.gz", name, prefix, c.acct.ID, t.HomeRegion)
	if !doc.allows(policyRequest{Principal: who, Action: "s3:PutObject", Resource: object, Context: put}) {
		return nil, insufficient
	}
	return b, nil
}

// checkTrailKey checks the trail's KMS key: it must exist in the bucket's
// region, be an enabled symmetric key, and its policy must let CloudTrail
// generate data keys for this trail. It returns the key's ARN.
func checkTrailKey(c *call, t *trail, id string, bucket *s3Bucket) (string, error) {
	if strings.HasPrefix(id, "arn:") && !strings.HasPrefix(id, "arn:aws:kms:") {
		return "", ctErr("InvalidKmsKeyIdException", fmt.Sprintf("Invalid KmsKeyId: %s", id))
	}
	k := findKeyAnywhere(c.acct, c.region, id)
	if k == nil || k.Region != bucket.Region {
		return "", ctErr("KmsKeyNotFoundException",
			fmt.Sprintf("KMS key not found or not in the same region as the S3 bucket %s: %s", bucket.Name, id))
	}
	if k.KeySpec != "SYMMETRIC_DEFAULT" || k.KeyUsage != "ENCRYPT_DECRYPT" {
		return "", ctErr("InvalidKmsKeyIdException", fmt.Sprintf("KMS key %s is not a symmetric encryption key", k.Arn))
	}
	if k.KeyState != "Enabled" {
		return "", ctErr("KmsException", fmt.Sprintf("KMS key %s is %s", k.Arn, k.KeyState))
	}
	insufficient := ctErr("InsufficientEncryptionPolicyException",
		fmt.Sprintf("Insufficient permissions to access S3 bucket %s or KMS key %s.", bucket.Name, k.Arn))
	doc, err := parsePolicy(k.Policy, policyParseOptions{})
	if err != nil {
		return "", insufficient
	}
	ok := doc.allows(policyRequest{
		Principal: policyPrincipal{Service: "cloudtrail.amazonaws.com"},
		Action:    "kms:GenerateDataKey",
		Resource:  k.Arn,
		Context: map[string][]string{
			"kms:EncryptionContext:aws:cloudtrail:arn": {t.TrailARN},
			"aws:SourceArn":            {t.TrailARN},
			"aws:SourceAccount":        {c.acct.ID},
			"aws:PrincipalServiceName": {"cloudtrail.amazonaws.com"},
			"aws:SecureTransport":      {"true"},
		},
	})
	if !ok {
		return "", insufficient
	}
	return k.Arn, nil
}

var logGroupARNPattern = regexp.MustCompile(`^arn:aws:logs:[a-z0-9-]+:\d{12}:log-group:[\w./#-]+:\*$`)

// checkTrailLogs checks the CloudWatch Logs delivery settings: both or
// neither, a well-formed log group ARN and an existing role.
func checkTrailLogs(c *call, t *trail) error {
	g, r := t.CloudWatchLogsLogGroupArn, t.CloudWatchLogsRoleArn
	switch {
	case g == "" && r == "":
		return nil
	case g == "" || !logGroupARNPattern.MatchString(g):
		return ctErr("InvalidCloudWatchLogsLogGroupArnException", fmt.Sprintf("Invalid CloudWatch Logs log group ARN: %s", g))
	case r == "" || c.acct.IAM.roleByARN(r) == nil:
		return ctErr("InvalidCloudWatchLogsRoleArnException", fmt.Sprintf("Access denied. Verify in IAM that the role exists: %s", r))
	}
	return nil
}

func validateCTTags(tags []ctTag) error {
	seen := map[string]bool{}
	for _, t := range tags {
		if t.Key == "" || len(t.Key) > 128 || (t.Value != nil && len(*t.Value) > 256) || seen[t.Key] {
			return ctErr("InvalidTagParameterException", fmt.Sprintf("Invalid tag: %s", t.Key))
		}
		seen[t.Key] = true
	}
	return nil
}

func mergeCTTags(dst, add []ctTag) []ctTag {
	for _, t := range add {
		replaced := false
		for i := range dst {
			if dst[i].Key == t.Key {
				dst[i].Value = t.Value
				replaced = true
			}
		}
		if !replaced {
			dst = append(dst, t)
		}
	}
	return dst
}

func ctUpdateTrail(c *call) (any, error) {
	var in trailInput
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	t, err := c.findTrail(in.Name, true)
	if err != nil {
		return nil, err
	}
	if err := applyTrailInput(c, t, &in, false); err != nil {
		return nil, err
	}
	return t.settings(), nil
}

func ctDeleteTrail(c *call) (any, error) {
	var in struct{ Name string }
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	t, err := c.findTrail(in.Name, true)
	if err != nil {
		return nil, err
	}
	delete(c.acct.CloudTrail.Trails, t.TrailARN)
	return nil, nil
}

// visibleTrails lists the trails DescribeTrails can show in the call's
// region: the region's own trails and, with shadows, multi-region trails
// homed elsewhere and organization trails of the management account.
func visibleTrails(c *call, shadows bool) []*trail {
	var out []*trail
	for _, arn := range sortedKeys(c.acct.CloudTrail.Trails) {
		t := c.acct.CloudTrail.Trails[arn]
		own := t.OwnerAccountID == c.acct.ID
		switch {
		case own && t.HomeRegion == c.region:
			out = append(out, t)
		case shadows && t.visibleIn(c.region):
			out = append(out, t)
		}
	}
	return out
}

func ctDescribeTrails(c *call) (any, error) {
	var in struct {
		TrailNameList       []string `json:"trailNameList"`
		IncludeShadowTrails *bool    `json:"includeShadowTrails"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	shadows := in.IncludeShadowTrails == nil || *in.IncludeShadowTrails
	all := visibleTrails(c, shadows)
	list := []map[string]any{}
	for _, t := range all {
		if len(in.TrailNameList) > 0 {
			match := false
			for _, n := range in.TrailNameList {
				if n == t.TrailARN || (n == t.Name && t.HomeRegion == c.region && t.OwnerAccountID == c.acct.ID) {
					match = true
				}
			}
			if !match {
				continue
			}
		}
		list = append(list, t.view())
	}
	return map[string]any{"trailList": list}, nil
}

func ctListTrails(c *call) (any, error) {
	type info struct {
		TrailARN   string `json:"TrailARN"`
		Name       string `json:"Name"`
		HomeRegion string `json:"HomeRegion"`
	}
	out := []info{}
	for _, t := range visibleTrails(c, true) {
		out = append(out, info{t.TrailARN, t.Name, t.HomeRegion})
	}
	return map[string]any{"Trails": out}, nil
}

func ctGetTrail(c *call) (any, error) {
	var in struct{ Name string }
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	t, err := c.findTrail(in.Name, false)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Trail": t.view()}, nil
}

func ctTime(epoch float64) string {
	return time.Unix(int64(epoch), 0).UTC().Format("2006-01-02T15:04:05Z")
}

func ctGetTrailStatus(c *call) (any, error) {
	var in struct{ Name string }
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	t, err := c.findTrail(in.Name, false)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"IsLogging": t.IsLogging}
	if t.StartLoggingTime != 0 {
		out["StartLoggingTime"] = t.StartLoggingTime
		out["TimeLoggingStarted"] = ctTime(t.StartLoggingTime)
	}
	if t.StopLoggingTime != 0 {
		out["StopLoggingTime"] = t.StopLoggingTime
		out["TimeLoggingStopped"] = ctTime(t.StopLoggingTime)
	}
	return out, nil
}

func ctSetLogging(on bool) func(*call) (any, error) {
	return func(c *call) (any, error) {
		var in struct{ Name string }
		if err := c.decodeJSON(&in); err != nil {
			return nil, err
		}
		t, err := c.findTrail(in.Name, true)
		if err != nil {
			return nil, err
		}
		if t.IsLogging == on {
			return nil, nil
		}
		t.IsLogging = on
		if on {
			t.StartLoggingTime = epochNow()
		} else {
			t.StopLoggingTime = epochNow()
		}
		return nil, nil
	}
}

func (t *trail) selectorsOutput() map[string]any {
	out := map[string]any{"TrailARN": t.TrailARN}
	if len(t.AdvancedEventSelectors) > 0 {
		out["AdvancedEventSelectors"] = t.AdvancedEventSelectors
	} else {
		out["EventSelectors"] = t.EventSelectors
	}
	return out
}

func ctGetEventSelectors(c *call) (any, error) {
	var in struct{ TrailName string }
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	t, err := c.findTrail(in.TrailName, false)
	if err != nil {
		return nil, err
	}
	return t.selectorsOutput(), nil
}

var basicDataResourceTypes = []string{"AWS::S3::Object", "AWS::Lambda::Function", "AWS::DynamoDB::Table"}

func ctPutEventSelectors(c *call) (any, error) {
	var in struct {
		TrailName      string
		EventSelectors []struct {
			ReadWriteType                 string
			IncludeManagementEvents       *bool
			DataResources                 []dataResource
			ExcludeManagementEventSources []string
		}
		AdvancedEventSelectors []advancedEventSelector
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	t, err := c.findTrail(in.TrailName, true)
	if err != nil {
		return nil, err
	}
	invalid := func(msg string) error { return ctErr("InvalidEventSelectorsException", msg) }
	switch {
	case in.EventSelectors != nil && in.AdvancedEventSelectors != nil:
		return nil, invalid("You can use either EventSelectors or AdvancedEventSelectors, but not both.")
	case in.EventSelectors == nil && in.AdvancedEventSelectors == nil:
		return nil, invalid("Specify EventSelectors or AdvancedEventSelectors.")
	}
	if in.EventSelectors != nil {
		if len(in.EventSelectors) < 1 || len(in.EventSelectors) > 5 {
			return nil, invalid("A trail can have 1 to 5 event selectors.")
		}
		var sels []eventSelector
		total := 0
		for _, s := range in.EventSelectors {
			es := eventSelector{
				ReadWriteType:                 s.ReadWriteType,
				IncludeManagementEvents:       s.IncludeManagementEvents == nil || *s.IncludeManagementEvents,
				DataResources:                 s.DataResources,
				ExcludeManagementEventSources: s.ExcludeManagementEventSources,
			}
			if es.ReadWriteType == "" {
				es.ReadWriteType = "All"
			}
			if es.ReadWriteType != "All" && es.ReadWriteType != "ReadOnly" && es.ReadWriteType != "WriteOnly" {
				return nil, invalid(fmt.Sprintf("Value %s for parameter ReadWriteType is not valid.", s.ReadWriteType))
			}
			for _, d := range es.DataResources {
				if !contains(basicDataResourceTypes, d.Type) {
					return nil, invalid(fmt.Sprintf("Value %s for DataResources.Type is not valid.", d.Type))
				}
				total += len(d.Values)
			}
			for _, src := range es.ExcludeManagementEventSources {
				if src != "kms.amazonaws.com" && src != "rdsdata.amazonaws.com" {
					return nil, invalid(fmt.Sprintf("Value %s for ExcludeManagementEventSources is not valid.", src))
				}
			}
			if es.DataResources == nil {
				es.DataResources = []dataResource{}
			}
			if es.ExcludeManagementEventSources == nil {
				es.ExcludeManagementEventSources = []string{}
			}
			sels = append(sels, es)
		}
		if total > 250 {
			return nil, invalid("A trail is limited to 250 data resources.")
		}
		t.EventSelectors, t.AdvancedEventSelectors = sels, nil
	} else {
		total := 0
		for _, s := range in.AdvancedEventSelectors {
			if len(s.FieldSelectors) == 0 {
				return nil, invalid("Each advanced event selector must have field selectors.")
			}
			category := false
			for _, f := range s.FieldSelectors {
				if f.Field == "" {
					return nil, invalid("Field is required in an advanced field selector.")
				}
				if f.Field == "eventCategory" && len(f.Equals) > 0 {
					category = true
				}
				total += len(f.Equals) + len(f.StartsWith) + len(f.EndsWith) + len(f.NotEquals) + len(f.NotStartsWith) + len(f.NotEndsWith)
			}
			if !category {
				return nil, invalid("Each advanced event selector must have an eventCategory field selector with Equals.")
			}
		}
		if len(in.AdvancedEventSelectors) == 0 || total > 500 {
			return nil, invalid("Advanced event selectors must have 1 to 500 condition values in total.")
		}
		t.AdvancedEventSelectors, t.EventSelectors = in.AdvancedEventSelectors, nil
	}
	t.HasCustomEventSelectors = true
	return t.selectorsOutput(), nil
}

// tagTarget finds the trail a tagging call names by ARN.
func (c *call) tagTarget(arn string) (*trail, error) {
	m := trailARNPattern.FindStringSubmatch(arn)
	if m == nil {
		if strings.HasPrefix(arn, "arn:aws:cloudtrail:") {
			return nil, ctErr("ResourceNotFoundException", fmt.Sprintf("Resource not found: %s", arn))
		}
		return nil, ctErr("CloudTrailARNInvalidException", fmt.Sprintf("Invalid ARN: %s", arn))
	}
	if m[2] != c.acct.ID {
		return nil, wrongAccountARN(c)
	}
	// Tags live with the trail in its home region: a trail ARN of another
	// region is refused, shadow or not.
	if m[1] != c.region {
		return nil, ctErr("CloudTrailARNInvalidException",
			fmt.Sprintf("Region in ARN is wrong, you can only access resources in region %s.", c.region))
	}
	t, ok := c.acct.CloudTrail.Trails[arn]
	if !ok {
		return nil, ctErr("ResourceNotFoundException", fmt.Sprintf("Resource not found: %s", arn))
	}
	return t, nil
}

func ctAddTags(c *call) (any, error) {
	var in struct {
		ResourceID string `json:"ResourceId"`
		TagsList   []ctTag
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	t, err := c.tagTarget(in.ResourceID)
	if err != nil {
		return nil, err
	}
	if err := validateCTTags(in.TagsList); err != nil {
		return nil, err
	}
	merged := mergeCTTags(append([]ctTag(nil), t.Tags...), in.TagsList)
	if len(merged) > 50 {
		return nil, ctErr("TagsLimitExceededException", "The number of tags per trail has exceeded the permitted amount. Currently, the limit is 50.")
	}
	t.Tags = merged
	return nil, nil
}

func ctRemoveTags(c *call) (any, error) {
	var in struct {
		ResourceID string `json:"ResourceId"`
		TagsList   []ctTag
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	t, err := c.tagTarget(in.ResourceID)
	if err != nil {
		return nil, err
	}
	var kept []ctTag
	for _, tag := range t.Tags {
		drop := false
		for _, r := range in.TagsList {
			drop = drop || r.Key == tag.Key
		}
		if !drop {
			kept = append(kept, tag)
		}
	}
	t.Tags = kept
	return nil, nil
}

func ctListTags(c *call) (any, error) {
	var in struct {
		ResourceIDList []string `json:"ResourceIdList"`
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	if len(in.ResourceIDList) > 20 {
		return nil, ctErr("InvalidParameterException", "The list of resource ARNs has a limit of 20.")
	}
	type resourceTag struct {
		ResourceID string  `json:"ResourceId"`
		TagsList   []ctTag `json:"TagsList"`
	}
	out := []resourceTag{}
	for _, arn := range in.ResourceIDList {
		t, err := c.tagTarget(arn)
		if err != nil {
			return nil, err
		}
		tags := append([]ctTag{}, t.Tags...)
		sort.Slice(tags, func(i, j int) bool { return tags[i].Key < tags[j].Key })
		out = append(out, resourceTag{arn, tags})
	}
	return map[string]any{"ResourceTagList": out}, nil
}

// AddOrganizationTrail installs, as seen from this (member) account, an
// organization trail that the management account OrganizationManagementAccountID
// created in homeRegion: multi-region, logging, delivering to bucket (in the
// organization's log archive account). It returns the trail's ARN. The
// account becomes a member of the organization. This account can read the
// trail by ARN but not change it.
func (s *Server) AddOrganizationTrail(homeRegion, name, bucket string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.acct.Organization == nil {
		s.acct.Organization = &organizationInfo{ID: "o-fakeaws0001", ManagementAccountID: OrganizationManagementAccountID}
	}
	t := &trail{
		Name:                       name,
		TrailARN:                   trailARN(homeRegion, OrganizationManagementAccountID, name),
		HomeRegion:                 homeRegion,
		OwnerAccountID:             OrganizationManagementAccountID,
		S3BucketName:               bucket,
		IncludeGlobalServiceEvents: true,
		IsMultiRegionTrail:         true,
		LogFileValidationEnabled:   true,
		IsOrganizationTrail:        true,
		IsLogging:                  true,
		StartLoggingTime:           epochNow(),
		EventSelectors:             defaultEventSelectors(),
	}
	s.acct.CloudTrail.Trails[t.TrailARN] = t
	return t.TrailARN
}
