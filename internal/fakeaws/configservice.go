package fakeaws

import (
	"fmt"
	"regexp"
	"strings"
)

// configRegion is one region's AWS Config state: at most one customer
// managed configuration recorder and one delivery channel. A new account
// has neither.
type configRegion struct {
	Recorder *configRecorder  `json:",omitempty"`
	Channel  *deliveryChannel `json:",omitempty"`
}

type configRecorder struct {
	Name           string
	Arn            string
	RoleARN        string
	RecordingGroup recordingGroup
	RecordingMode  recordingMode
	Recording      bool
	// LastStatus is "" until the recorder first starts, then Success (the
	// fake delivers at once) or whatever a test set.
	LastStatus           string  `json:",omitempty"`
	LastStartTime        float64 `json:",omitempty"`
	LastStopTime         float64 `json:",omitempty"`
	LastStatusChangeTime float64 `json:",omitempty"`
	// ManagedBy names who manages a protected recorder (Control Tower): a
	// service control policy denies changes to it.
	ManagedBy string `json:",omitempty"`
}

type recordingGroup struct {
	AllSupported               bool                   `json:"allSupported"`
	IncludeGlobalResourceTypes bool                   `json:"includeGlobalResourceTypes"`
	ResourceTypes              []string               `json:"resourceTypes"`
	ExclusionByResourceTypes   exclusionResourceTypes `json:"exclusionByResourceTypes"`
	RecordingStrategy          recordingStrategy      `json:"recordingStrategy"`
}

type exclusionResourceTypes struct {
	ResourceTypes []string `json:"resourceTypes"`
}

type recordingStrategy struct {
	UseOnly string `json:"useOnly"`
}

type recordingMode struct {
	RecordingFrequency     string                  `json:"recordingFrequency"`
	RecordingModeOverrides []recordingModeOverride `json:"recordingModeOverrides"`
}

type recordingModeOverride struct {
	Description        string   `json:"description,omitempty"`
	ResourceTypes      []string `json:"resourceTypes"`
	RecordingFrequency string   `json:"recordingFrequency"`
}

type deliveryChannel struct {
	Name                             string                 `json:"name"`
	S3BucketName                     string                 `json:"s3BucketName"`
	S3KeyPrefix                      string                 `json:"s3KeyPrefix,omitempty"`
	S3KmsKeyArn                      string                 `json:"s3KmsKeyArn,omitempty"`
	SnsTopicARN                      string                 `json:"snsTopicARN,omitempty"`
	ConfigSnapshotDeliveryProperties *snapshotDeliveryProps `json:"configSnapshotDeliveryProperties,omitempty"`
}

type snapshotDeliveryProps struct {
	DeliveryFrequency string `json:"deliveryFrequency,omitempty"`
}

func configService() *service {
	return &service{
		name:          "config",
		signingName:   "config",
		protocol:      protoJSON,
		target:        "StarlingDoveService",
		throttleErr:   APIError{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"},
		deniedErr:     APIError{Status: 400, Code: "AccessDeniedException", Message: "User is not authorized to perform this action"},
		notEnabledErr: APIError{Status: 400, Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid."},
		ops: []*op{
			{name: "PutConfigurationRecorder", write: true, handle: cfgPutConfigurationRecorder},
			{name: "DescribeConfigurationRecorders", handle: cfgDescribeConfigurationRecorders},
			{name: "DescribeConfigurationRecorderStatus", handle: cfgDescribeConfigurationRecorderStatus},
			{name: "DeleteConfigurationRecorder", write: true, handle: cfgDeleteConfigurationRecorder},
			{name: "StartConfigurationRecorder", write: true, handle: cfgStartConfigurationRecorder},
			{name: "StopConfigurationRecorder", write: true, handle: cfgStopConfigurationRecorder},
			{name: "PutDeliveryChannel", write: true, handle: cfgPutDeliveryChannel},
			{name: "DescribeDeliveryChannels", handle: cfgDescribeDeliveryChannels},
			{name: "DeleteDeliveryChannel", write: true, handle: cfgDeleteDeliveryChannel},
		},
	}
}

func cfgErr(code, msg string) *APIError { return &APIError{Status: 400, Code: code, Message: msg} }

// scpDenied is what a protected (Control Tower) recorder's guardrail SCP
// answers to a change.
func scpDenied(c *call, action, resource string) *APIError {
	return cfgErr("AccessDeniedException", fmt.Sprintf(
		"User: %s is not authorized to perform: config:%s on resource: %s with an explicit deny in a service control policy",
		callerARN(c.acct.ID), action, resource))
}

func (c *call) configProtected(action string) error {
	if rec := c.regionState().Config.Recorder; rec != nil && rec.ManagedBy != "" {
		return scpDenied(c, action, rec.Arn)
	}
	return nil
}

func noSuchRecorder(name string) *APIError {
	return cfgErr("NoSuchConfigurationRecorderException",
		fmt.Sprintf("Cannot find configuration recorder with the specified name '%s'.", name))
}

var resourceTypePattern = regexp.MustCompile(`^AWS::[A-Za-z0-9]+::[A-Za-z0-9]+$`)

type recordingGroupInput struct {
	AllSupported               *bool    `json:"allSupported"`
	IncludeGlobalResourceTypes *bool    `json:"includeGlobalResourceTypes"`
	ResourceTypes              []string `json:"resourceTypes"`
	ExclusionByResourceTypes   *struct {
		ResourceTypes []string `json:"resourceTypes"`
	} `json:"exclusionByResourceTypes"`
	RecordingStrategy *struct {
		UseOnly string `json:"useOnly"`
	} `json:"recordingStrategy"`
}

// buildRecordingGroup applies PutConfigurationRecorder's recording group
// rules. Without a group the recorder records all supported types except
// the global IAM types.
func buildRecordingGroup(in *recordingGroupInput) (recordingGroup, error) {
	g := recordingGroup{ResourceTypes: []string{}, ExclusionByResourceTypes: exclusionResourceTypes{ResourceTypes: []string{}}}
	if in == nil {
		g.AllSupported = true
		g.RecordingStrategy.UseOnly = "ALL_SUPPORTED_RESOURCE_TYPES"
		return g, nil
	}
	invalid := func(msg string) (recordingGroup, error) {
		return recordingGroup{}, cfgErr("InvalidRecordingGroupException", msg)
	}
	g.AllSupported = in.AllSupported != nil && *in.AllSupported
	g.IncludeGlobalResourceTypes = in.IncludeGlobalResourceTypes != nil && *in.IncludeGlobalResourceTypes
	if in.ResourceTypes != nil {
		g.ResourceTypes = in.ResourceTypes
	}
	if in.ExclusionByResourceTypes != nil && in.ExclusionByResourceTypes.ResourceTypes != nil {
		g.ExclusionByResourceTypes.ResourceTypes = in.ExclusionByResourceTypes.ResourceTypes
	}
	for _, t := range append(append([]string{}, g.ResourceTypes...), g.ExclusionByResourceTypes.ResourceTypes...) {
		if !resourceTypePattern.MatchString(t) {
			return invalid(fmt.Sprintf("The recording group provided is not valid: %s is not a valid resource type.", t))
		}
	}
	if len(g.ResourceTypes)+len(g.ExclusionByResourceTypes.ResourceTypes) > 1000 {
		return invalid("The recording group provided is not valid: too many resource types.")
	}
	strategy := ""
	if in.RecordingStrategy != nil {
		strategy = in.RecordingStrategy.UseOnly
	}
	if strategy == "" {
		switch {
		case g.AllSupported:
			strategy = "ALL_SUPPORTED_RESOURCE_TYPES"
		case len(g.ResourceTypes) > 0:
			strategy = "INCLUSION_BY_RESOURCE_TYPES"
		case len(g.ExclusionByResourceTypes.ResourceTypes) > 0:
			return invalid("The recording group provided is not valid: recordingStrategy is required with exclusionByResourceTypes.")
		}
	}
	switch {
	case !g.AllSupported && !g.IncludeGlobalResourceTypes && len(g.ResourceTypes) == 0 && len(g.ExclusionByResourceTypes.ResourceTypes) == 0:
		return invalid("The recording group provided is not valid: every parameter is either null, false, or empty.")
	case g.AllSupported && len(g.ResourceTypes) > 0:
		return invalid("The recording group provided is not valid: allSupported is true and resourceTypes is not empty.")
	case g.IncludeGlobalResourceTypes && !g.AllSupported:
		return invalid("The recording group provided is not valid: includeGlobalResourceTypes requires allSupported to be true.")
	}
	switch strategy {
	case "ALL_SUPPORTED_RESOURCE_TYPES":
		if !g.AllSupported {
			return invalid("The recording group provided is not valid: ALL_SUPPORTED_RESOURCE_TYPES requires allSupported to be true.")
		}
		if len(g.ExclusionByResourceTypes.ResourceTypes) > 0 {
			return invalid("The recording group provided is not valid: exclusionByResourceTypes requires the EXCLUSION_BY_RESOURCE_TYPES strategy.")
		}
	case "INCLUSION_BY_RESOURCE_TYPES":
		if g.AllSupported || len(g.ResourceTypes) == 0 || len(g.ExclusionByResourceTypes.ResourceTypes) > 0 {
			return invalid("The recording group provided is not valid: INCLUSION_BY_RESOURCE_TYPES requires resourceTypes and allSupported false.")
		}
	case "EXCLUSION_BY_RESOURCE_TYPES":
		if g.AllSupported || len(g.ResourceTypes) > 0 || len(g.ExclusionByResourceTypes.ResourceTypes) == 0 {
			return invalid("The recording group provided is not valid: EXCLUSION_BY_RESOURCE_TYPES requires exclusionByResourceTypes and allSupported false.")
		}
	default:
		return invalid(fmt.Sprintf("The recording group provided is not valid: %s is not a valid recording strategy.", strategy))
	}
	g.RecordingStrategy.UseOnly = strategy
	return g, nil
}

type recordingModeInput struct {
	RecordingFrequency     string `json:"recordingFrequency"`
	RecordingModeOverrides []struct {
		Description        string   `json:"description"`
		ResourceTypes      []string `json:"resourceTypes"`
		RecordingFrequency string   `json:"recordingFrequency"`
	} `json:"recordingModeOverrides"`
}

func buildRecordingMode(in *recordingModeInput) (recordingMode, error) {
	m := recordingMode{RecordingFrequency: "CONTINUOUS", RecordingModeOverrides: []recordingModeOverride{}}
	if in == nil {
		return m, nil
	}
	freq := func(f string) bool { return f == "CONTINUOUS" || f == "DAILY" }
	if !freq(in.RecordingFrequency) {
		return m, cfgErr("ValidationException", fmt.Sprintf("1 validation error detected: Value '%s' at 'configurationRecorder.recordingMode.recordingFrequency' failed to satisfy constraint: Member must satisfy enum value set: [CONTINUOUS, DAILY]", in.RecordingFrequency))
	}
	m.RecordingFrequency = in.RecordingFrequency
	for _, o := range in.RecordingModeOverrides {
		if !freq(o.RecordingFrequency) || len(o.ResourceTypes) == 0 || len(o.Description) > 256 {
			return m, cfgErr("ValidationException", "The recording mode override provided is not valid.")
		}
		for _, t := range o.ResourceTypes {
			if !resourceTypePattern.MatchString(t) {
				return m, cfgErr("ValidationException", fmt.Sprintf("%s is not a valid resource type.", t))
			}
		}
		m.RecordingModeOverrides = append(m.RecordingModeOverrides, recordingModeOverride(o))
	}
	return m, nil
}

func cfgPutConfigurationRecorder(c *call) (any, error) {
	var in struct {
		ConfigurationRecorder struct {
			Name             *string              `json:"name"`
			RoleARN          string               `json:"roleARN"`
			RecordingGroup   *recordingGroupInput `json:"recordingGroup"`
			RecordingMode    *recordingModeInput  `json:"recordingMode"`
			ServicePrincipal string               `json:"servicePrincipal"`
		}
	}
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := c.configProtected("PutConfigurationRecorder"); err != nil {
		return nil, err
	}
	cr := in.ConfigurationRecorder
	if cr.ServicePrincipal != "" {
		return nil, cfgErr("UnmodifiableEntityException",
			"Use PutServiceLinkedConfigurationRecorder to create a service-linked configuration recorder.")
	}
	name := "default"
	if cr.Name != nil {
		name = *cr.Name
	}
	if name == "" || len(name) > 256 {
		return nil, cfgErr("InvalidConfigurationRecorderNameException", fmt.Sprintf("The configuration recorder name '%s' is not valid.", name))
	}
	if strings.HasPrefix(name, "AWSConfigurationRecorderFor") {
		return nil, cfgErr("InvalidConfigurationRecorderNameException",
			"The configuration recorder name prefix 'AWSConfigurationRecorderFor' is reserved for service-linked configuration recorders.")
	}
	r := &c.regionState().Config
	if r.Recorder != nil && r.Recorder.Name != name {
		return nil, cfgErr("MaxNumberOfConfigurationRecordersExceededException",
			fmt.Sprintf("Failed to put configuration recorder '%s' because the maximum number of configuration recorders: 1 is reached.", name))
	}
	if cr.RoleARN == "" {
		return nil, cfgErr("InvalidRoleException", "The role ARN provided for the configuration recorder is null or empty.")
	}
	if c.acct.IAM.roleByARN(cr.RoleARN) == nil {
		return nil, cfgErr("InvalidRoleException", fmt.Sprintf("The role %s cannot be found or cannot be assumed by Config.", cr.RoleARN))
	}
	group, err := buildRecordingGroup(cr.RecordingGroup)
	if err != nil {
		return nil, err
	}
	mode, err := buildRecordingMode(cr.RecordingMode)
	if err != nil {
		return nil, err
	}
	if r.Recorder == nil {
		r.Recorder = &configRecorder{
			Name: name,
			Arn:  fmt.Sprintf("arn:aws:config:%s:%s:configuration-recorder/%s/%s", c.region, c.acct.ID, name, resourceID("cr", c.acct.ID, c.region, name)[4:]),
		}
	}
	r.Recorder.RoleARN = cr.RoleARN
	r.Recorder.RecordingGroup = group
	r.Recorder.RecordingMode = mode
	return nil, nil
}

func (rec *configRecorder) view() map[string]any {
	return map[string]any{
		"arn":            rec.Arn,
		"name":           rec.Name,
		"roleARN":        rec.RoleARN,
		"recordingGroup": rec.RecordingGroup,
		"recordingMode":  rec.RecordingMode,
		"recordingScope": "PAID",
	}
}

// recorderSelection applies Describe*'s ConfigurationRecorderNames and Arn.
func recorderSelection(c *call, names []string, arn string) ([]*configRecorder, error) {
	if len(names) > 1 {
		return nil, cfgErr("ValidationException", "You can specify only one configuration recorder.")
	}
	rec := c.regionState().Config.Recorder
	switch {
	case len(names) == 1:
		if rec == nil || rec.Name != names[0] {
			return nil, noSuchRecorder(names[0])
		}
	case arn != "":
		if rec == nil || rec.Arn != arn {
			return nil, cfgErr("NoSuchConfigurationRecorderException",
				fmt.Sprintf("Cannot find configuration recorder with the specified ARN '%s'.", arn))
		}
	}
	if rec == nil {
		return nil, nil
	}
	return []*configRecorder{rec}, nil
}

type describeRecordersInput struct {
	ConfigurationRecorderNames []string
	ServicePrincipal           string
	Arn                        string
}

func cfgDescribeConfigurationRecorders(c *call) (any, error) {
	var in describeRecordersInput
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	recs, err := recorderSelection(c, in.ConfigurationRecorderNames, in.Arn)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, r := range recs {
		if in.ServicePrincipal == "" {
			out = append(out, r.view())
		}
	}
	return map[string]any{"ConfigurationRecorders": out}, nil
}

func cfgDescribeConfigurationRecorderStatus(c *call) (any, error) {
	var in describeRecordersInput
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	recs, err := recorderSelection(c, in.ConfigurationRecorderNames, in.Arn)
	if err != nil {
		return nil, err
	}
	out := []map[string]any{}
	for _, r := range recs {
		if in.ServicePrincipal != "" {
			continue
		}
		s := map[string]any{"arn": r.Arn, "name": r.Name, "recording": r.Recording}
		if r.LastStatus != "" {
			s["lastStatus"] = r.LastStatus
		}
		for k, v := range map[string]float64{
			"lastStartTime": r.LastStartTime, "lastStopTime": r.LastStopTime, "lastStatusChangeTime": r.LastStatusChangeTime,
		} {
			if v != 0 {
				s[k] = v
			}
		}
		out = append(out, s)
	}
	return map[string]any{"ConfigurationRecordersStatus": out}, nil
}

// recorderNamed reads ConfigurationRecorderName and finds that recorder.
func recorderNamed(c *call) (*configRecorder, error) {
	var in struct{ ConfigurationRecorderName string }
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	rec := c.regionState().Config.Recorder
	if rec == nil || rec.Name != in.ConfigurationRecorderName {
		return nil, noSuchRecorder(in.ConfigurationRecorderName)
	}
	return rec, nil
}

func cfgDeleteConfigurationRecorder(c *call) (any, error) {
	if err := c.configProtected("DeleteConfigurationRecorder"); err != nil {
		return nil, err
	}
	if _, err := recorderNamed(c); err != nil {
		return nil, err
	}
	c.regionState().Config.Recorder = nil
	return nil, nil
}

func cfgStartConfigurationRecorder(c *call) (any, error) {
	rec, err := recorderNamed(c)
	if err != nil {
		return nil, err
	}
	if c.regionState().Config.Channel == nil {
		return nil, cfgErr("NoAvailableDeliveryChannelException", "Delivery channel is not available to start configuration recorder.")
	}
	if !rec.Recording {
		now := epochNow()
		rec.Recording = true
		rec.LastStartTime = now
		rec.LastStatus = "Success"
		rec.LastStatusChangeTime = now
	}
	return nil, nil
}

func cfgStopConfigurationRecorder(c *call) (any, error) {
	rec, err := recorderNamed(c)
	if err != nil {
		return nil, err
	}
	if rec.ManagedBy != "" {
		return nil, scpDenied(c, "StopConfigurationRecorder", rec.Arn)
	}
	if rec.Recording {
		now := epochNow()
		rec.Recording = false
		rec.LastStopTime = now
		rec.LastStatusChangeTime = now
	}
	return nil, nil
}

var deliveryFrequencies = []string{"One_Hour", "Three_Hours", "Six_Hours", "Twelve_Hours", "TwentyFour_Hours"}

var kmsKeyARNPattern = regexp.MustCompile(`^arn:aws:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$`)

func cfgPutDeliveryChannel(c *call) (any, error) {
	var in struct{ DeliveryChannel deliveryChannel }
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := c.configProtected("PutDeliveryChannel"); err != nil {
		return nil, err
	}
	ch := in.DeliveryChannel
	r := &c.regionState().Config
	if r.Recorder == nil {
		return nil, cfgErr("NoAvailableConfigurationRecorderException", "Configuration recorder is not available to put delivery channel.")
	}
	if ch.Name == "" {
		ch.Name = "default"
	}
	if len(ch.Name) > 256 {
		return nil, cfgErr("InvalidDeliveryChannelNameException", fmt.Sprintf("The delivery channel name '%s' is not valid.", ch.Name))
	}
	if r.Channel != nil && r.Channel.Name != ch.Name {
		return nil, cfgErr("MaxNumberOfDeliveryChannelsExceededException",
			fmt.Sprintf("Failed to put delivery channel '%s' because the maximum number of delivery channels: 1 is reached.", ch.Name))
	}
	if ch.S3BucketName == "" {
		return nil, cfgErr("NoSuchBucketException", "Cannot find a S3 bucket with an empty bucket name.")
	}
	if len(ch.S3KeyPrefix) > 1024 {
		return nil, cfgErr("InvalidS3KeyPrefixException", fmt.Sprintf("The s3 key prefix '%s' is not valid.", ch.S3KeyPrefix))
	}
	if ch.S3KmsKeyArn != "" && !kmsKeyARNPattern.MatchString(ch.S3KmsKeyArn) {
		return nil, cfgErr("InvalidS3KmsKeyArnException", fmt.Sprintf("The s3 kms key arn '%s' is not valid.", ch.S3KmsKeyArn))
	}
	if ch.SnsTopicARN != "" {
		return nil, cfgErr("InvalidSNSTopicARNException", fmt.Sprintf("The sns topic arn '%s' is not valid (fakeaws has no SNS topics).", ch.SnsTopicARN))
	}
	if p := ch.ConfigSnapshotDeliveryProperties; p != nil && p.DeliveryFrequency != "" && !contains(deliveryFrequencies, p.DeliveryFrequency) {
		return nil, cfgErr("ValidationException", fmt.Sprintf("1 validation error detected: Value '%s' at 'deliveryChannel.configSnapshotDeliveryProperties.deliveryFrequency' failed to satisfy constraint: Member must satisfy enum value set: [One_Hour, TwentyFour_Hours, Six_Hours, Three_Hours, Twelve_Hours]", p.DeliveryFrequency))
	}
	b, ok := c.acct.S3.Buckets[ch.S3BucketName]
	if !ok {
		return nil, cfgErr("NoSuchBucketException", fmt.Sprintf("Cannot find a S3 bucket with name %s.", ch.S3BucketName))
	}
	if err := checkConfigBucket(c, r.Recorder, b, &ch); err != nil {
		return nil, err
	}
	r.Channel = &ch
	return nil, nil
}

// checkConfigBucket checks, for a recorder that uses the Config
// service-linked role (which has no S3 write permission), that the bucket
// policy lets config.amazonaws.com check the bucket ACL and write under
// [prefix/]AWSLogs/ACCOUNT/Config/ with aws:SourceAccount = the account. A
// recorder with its own role writes with that role's permissions, which
// fakeaws does not model.
func checkConfigBucket(c *call, rec *configRecorder, b *s3Bucket, ch *deliveryChannel) error {
	if c.acct.IAM.roleByARN(rec.RoleARN) == nil || c.acct.IAM.roleByARN(rec.RoleARN).ServiceName != "config.amazonaws.com" {
		return nil
	}
	kms := ch.S3KmsKeyArn
	if kms == "" {
		kms = "null"
	}
	prefixText := ch.S3KeyPrefix
	if prefixText == "" {
		prefixText = "null"
	}
	insufficient := cfgErr("InsufficientDeliveryPolicyException", fmt.Sprintf(
		"Insufficient delivery policy to s3 bucket: %s, unable to write to bucket, provided s3 key prefix is '%s', provided kms key is '%s'.",
		b.Name, prefixText, kms))
	if b.Policy == "" {
		return insufficient
	}
	doc, err := parsePolicy(b.Policy, policyParseOptions{})
	if err != nil {
		return insufficient
	}
	ctx := map[string][]string{
		"aws:SourceAccount":        {c.acct.ID},
		"aws:SecureTransport":      {"true"},
		"aws:PrincipalServiceName": {"config.amazonaws.com"},
	}
	who := policyPrincipal{Service: "config.amazonaws.com"}
	if !doc.allows(policyRequest{Principal: who, Action: "s3:GetBucketAcl", Resource: "arn:aws:s3:::" + b.Name, Context: ctx}) {
		return insufficient
	}
	prefix := ""
	if ch.S3KeyPrefix != "" {
		prefix = strings.TrimSuffix(ch.S3KeyPrefix, "/") + "/"
	}
	put := map[string][]string{"s3:x-amz-acl": {"bucket-owner-full-control"}}
	for k, v := range ctx {
		put[k] = v
	}
	object := fmt.Sprintf("arn:aws:s3:::%s/%sAWSLogs/%s/Config/ConfigWritabilityCheckFile", b.Name, prefix, c.acct.ID)
	if !doc.allows(policyRequest{Principal: who, Action: "s3:PutObject", Resource: object, Context: put}) {
		return insufficient
	}
	return nil
}

func cfgDescribeDeliveryChannels(c *call) (any, error) {
	var in struct{ DeliveryChannelNames []string }
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	ch := c.regionState().Config.Channel
	for _, n := range in.DeliveryChannelNames {
		if ch == nil || ch.Name != n {
			return nil, cfgErr("NoSuchDeliveryChannelException", fmt.Sprintf("Cannot find delivery channel with specified name '%s'.", n))
		}
	}
	out := []*deliveryChannel{}
	if ch != nil {
		out = append(out, ch)
	}
	return map[string]any{"DeliveryChannels": out}, nil
}

func cfgDeleteDeliveryChannel(c *call) (any, error) {
	var in struct{ DeliveryChannelName string }
	if err := c.decodeJSON(&in); err != nil {
		return nil, err
	}
	if err := c.configProtected("DeleteDeliveryChannel"); err != nil {
		return nil, err
	}
	r := &c.regionState().Config
	if r.Channel == nil || r.Channel.Name != in.DeliveryChannelName {
		return nil, cfgErr("NoSuchDeliveryChannelException", fmt.Sprintf("Cannot find delivery channel with specified name '%s'.", in.DeliveryChannelName))
	}
	if r.Recorder != nil && r.Recorder.Recording {
		return nil, cfgErr("LastDeliveryChannelDeleteFailedException", fmt.Sprintf(
			"Failed to delete last specified delivery channel with name '%s', because there is a running configuration recorder.", in.DeliveryChannelName))
	}
	r.Channel = nil
	return nil, nil
}

// ControlTowerRecorderName is the name of the configuration recorder that
// AWS Control Tower installs in enrolled accounts.
const ControlTowerRecorderName = "aws-controltower-BaselineConfigRecorder"

// AddControlTowerConfigRecorder installs in region the recording
// configuration AWS Control Tower manages in an enrolled account: a running
// recorder named ControlTowerRecorderName with its role, and a delivery
// channel to the log archive account's bucket. Control Tower's guardrail
// SCP denies changes to them: PutConfigurationRecorder,
// StopConfigurationRecorder, DeleteConfigurationRecorder, PutDeliveryChannel
// and DeleteDeliveryChannel fail with AccessDeniedException.
func (s *Server) AddControlTowerConfigRecorder(region string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.acct
	role := a.IAM.Roles[strings.ToLower("aws-controltower-ConfigRecorderRole")]
	if role == nil {
		role = a.addRole("/", "aws-controltower-ConfigRecorderRole", serviceTrustPolicy("config.amazonaws.com"),
			"Role used by AWS Config in accounts enrolled in AWS Control Tower", "", 3600)
	}
	r := a.region(region)
	now := epochNow()
	r.Config.Recorder = &configRecorder{
		Name:    ControlTowerRecorderName,
		Arn:     fmt.Sprintf("arn:aws:config:%s:%s:configuration-recorder/%s/%s", region, a.ID, ControlTowerRecorderName, resourceID("cr", a.ID, region, ControlTowerRecorderName)[4:]),
		RoleARN: role.Arn,
		RecordingGroup: recordingGroup{
			AllSupported: true, IncludeGlobalResourceTypes: true, ResourceTypes: []string{},
			ExclusionByResourceTypes: exclusionResourceTypes{ResourceTypes: []string{}},
			RecordingStrategy:        recordingStrategy{UseOnly: "ALL_SUPPORTED_RESOURCE_TYPES"},
		},
		RecordingMode:        recordingMode{RecordingFrequency: "CONTINUOUS", RecordingModeOverrides: []recordingModeOverride{}},
		Recording:            true,
		LastStatus:           "Success",
		LastStartTime:        now,
		LastStatusChangeTime: now,
		ManagedBy:            "AWS Control Tower",
	}
	r.Config.Channel = &deliveryChannel{
		Name:                             "aws-controltower-BaselineConfigDeliveryChannel",
		S3BucketName:                     "aws-controltower-logs-" + OrganizationManagementAccountID + "-" + region,
		S3KeyPrefix:                      "o-fakeaws0001",
		ConfigSnapshotDeliveryProperties: &snapshotDeliveryProps{DeliveryFrequency: "TwentyFour_Hours"},
	}
}
