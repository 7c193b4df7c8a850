package fakeaws

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// VPC flow logs (CreateFlowLogs, DescribeFlowLogs, DeleteFlowLogs). A flow
// log is immutable once made: only its tags change. CreateFlowLogs and
// DeleteFlowLogs answer 200 with an "unsuccessful" item for each resource
// or id they could not act on, as EC2 does, rather than failing the call.
//
// A flow log to Amazon S3 is checked at creation as EC2 does: the bucket
// must exist, and its policy (and the KMS key policy, when the bucket's
// default encryption is a customer managed key) must let
// delivery.logs.amazonaws.com check the bucket and write under
// [prefix/]AWSLogs/ACCOUNT/vpcflowlogs/REGION/. AWS adds the missing
// statements to the bucket policy itself when the caller may
// s3:PutBucketPolicy; the fake does not model the caller's permissions and
// refuses instead, as AWS does for a caller without that permission.

type flowLog struct {
	FlowLogID                string                     `xml:"flowLogId"`
	CreationTime             string                     `xml:"creationTime"`
	DeliverLogsStatus        string                     `xml:"deliverLogsStatus"`
	DeliverLogsPermissionArn string                     `xml:"deliverLogsPermissionArn,omitempty" json:",omitempty"`
	FlowLogStatus            string                     `xml:"flowLogStatus"`
	ResourceID               string                     `xml:"resourceId"`
	TrafficType              string                     `xml:"trafficType"`
	LogDestinationType       string                     `xml:"logDestinationType"`
	LogDestination           string                     `xml:"logDestination,omitempty" json:",omitempty"`
	LogGroupName             string                     `xml:"logGroupName,omitempty" json:",omitempty"`
	LogFormat                string                     `xml:"logFormat"`
	MaxAggregationInterval   int                        `xml:"maxAggregationInterval"`
	DestinationOptions       *flowLogDestinationOptions `xml:"destinationOptions,omitempty" json:",omitempty"`
	Tags                     []ec2Tag                   `xml:"tagSet>item,omitempty" json:",omitempty"`
}

type flowLogDestinationOptions struct {
	FileFormat               string `xml:"fileFormat"`
	HiveCompatiblePartitions bool   `xml:"hiveCompatiblePartitions"`
	PerHourPartition         bool   `xml:"perHourPartition"`
}

type unsuccessfulItem struct {
	Code       string `xml:"error>code"`
	Message    string `xml:"error>message"`
	ResourceID string `xml:"resourceId"`
}

// defaultFlowLogFormat is the format of a flow log created without one
// (version 2 fields).
const defaultFlowLogFormat = "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} " +
	"${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}"

func invalidParameter(msg string) *APIError {
	return &APIError{Status: 400, Code: "InvalidParameter", Message: msg}
}

func invalidParameterValue(msg string) *APIError {
	return &APIError{Status: 400, Code: "InvalidParameterValue", Message: msg}
}

// flowLogResource checks that a resource of a flow log's type exists.
func (r *ec2Region) flowLogResource(resourceType, id string) error {
	switch resourceType {
	case "VPC":
		if _, ok := r.Vpcs[id]; !ok {
			return vpcNotFound(id)
		}
	case "Subnet":
		if _, ok := r.Subnets[id]; !ok {
			return &APIError{Status: 400, Code: "InvalidSubnetID.NotFound", Message: fmt.Sprintf("The subnet ID '%s' does not exist", id)}
		}
	case "NetworkInterface":
		if _, ok := r.NetworkInterfaces[id]; !ok {
			return &APIError{Status: 400, Code: "InvalidNetworkInterfaceID.NotFound",
				Message: fmt.Sprintf("The networkInterface ID '%s' does not exist", id)}
		}
	default:
		return invalidParameterValue(fmt.Sprintf("Value (%s) for parameter ResourceType is invalid. Valid values: VPC, Subnet, NetworkInterface", resourceType))
	}
	return nil
}

func ec2CreateFlowLogs(c *call) (any, error) {
	r := &c.regionState().EC2
	resourceType := c.form.Get("ResourceType")
	if resourceType == "" {
		return nil, missingParameter("ResourceType")
	}
	ids := c.formList("ResourceId")
	if len(ids) == 0 {
		return nil, missingParameter("ResourceId")
	}
	for _, id := range ids {
		if err := r.flowLogResource(resourceType, id); err != nil {
			return nil, err
		}
	}
	traffic := c.form.Get("TrafficType")
	if traffic == "" {
		return nil, missingParameter("TrafficType")
	}
	if traffic != "ACCEPT" && traffic != "REJECT" && traffic != "ALL" {
		return nil, invalidParameterValue(fmt.Sprintf("Value (%s) for parameter TrafficType is invalid. Valid values: ACCEPT, REJECT, ALL", traffic))
	}
	interval, err := c.formInt("MaxAggregationInterval", 600)
	if err != nil {
		return nil, err
	}
	if interval != 60 && interval != 600 {
		return nil, invalidParameterValue(fmt.Sprintf("Invalid MaxAggregationInterval: %d. Valid values: 60, 600", interval))
	}
	fl := flowLog{TrafficType: traffic, MaxAggregationInterval: interval, LogFormat: c.form.Get("LogFormat"),
		LogDestinationType: c.form.Get("LogDestinationType"), LogDestination: c.form.Get("LogDestination"),
		LogGroupName: c.form.Get("LogGroupName"), DeliverLogsPermissionArn: c.form.Get("DeliverLogsPermissionArn"),
		DeliverLogsStatus: "SUCCESS", FlowLogStatus: "ACTIVE", Tags: c.ec2TagSpecification("vpc-flow-log")}
	if fl.LogFormat == "" {
		fl.LogFormat = defaultFlowLogFormat
	}
	if fl.LogDestinationType == "" {
		fl.LogDestinationType = "cloud-watch-logs"
	}
	var destErr string
	switch fl.LogDestinationType {
	case "s3":
		if fl.DeliverLogsPermissionArn != "" {
			return nil, invalidParameter("DeliverLogsPermissionArn is not applicable for s3 delivery")
		}
		name, prefix, err := s3Destination(fl.LogDestination)
		if err != nil {
			return nil, err
		}
		b, ok := c.acct.S3.Buckets[name]
		switch {
		case !ok:
			destErr = fmt.Sprintf("LogDestination: %s does not exist.", name)
		case !flowLogDeliveryAllowed(c, b, prefix):
			destErr = fmt.Sprintf("Access Denied for LogDestination: %s. Please check LogDestination permission.", name)
		}
		fl.DestinationOptions = &flowLogDestinationOptions{FileFormat: "plain-text"}
	case "cloud-watch-logs":
		if fl.LogGroupName == "" && fl.LogDestination == "" {
			return nil, missingParameter("LogGroupName")
		}
		if fl.DeliverLogsPermissionArn == "" {
			return nil, missingParameter("DeliverLogsPermissionArn")
		}
		if fl.LogGroupName == "" {
			fl.LogGroupName = logGroupOfARN(fl.LogDestination)
		}
		if fl.LogDestination == "" {
			fl.LogDestination = fmt.Sprintf("arn:aws:logs:%s:%s:log-group:%s", c.region, c.acct.ID, fl.LogGroupName)
		}
	default:
		return nil, invalidParameterValue(fmt.Sprintf("Value (%s) for parameter LogDestinationType is invalid. Valid values: cloud-watch-logs, s3, kinesis-data-firehose", fl.LogDestinationType))
	}
	var out createFlowLogsResult
	out.ClientToken = c.form.Get("ClientToken")
	if prev, ok := r.flowLogTokens[out.ClientToken]; ok && out.ClientToken != "" {
		return prev, nil
	}
	if out.ClientToken != "" {
		// [B: whether EC2 also keeps an answer that created nothing is
		// not documented; the fake keeps only answers that created a flow
		// log, so a refused request can be retried once fixed.]
		defer func() {
			if len(out.FlowLogIDs) == 0 {
				return
			}
			if r.flowLogTokens == nil {
				r.flowLogTokens = map[string]createFlowLogsResult{}
			}
			r.flowLogTokens[out.ClientToken] = out
		}()
	}
	for _, id := range ids {
		if destErr != "" {
			out.Unsuccessful = append(out.Unsuccessful, unsuccessfulItem{Code: "400", Message: destErr, ResourceID: id})
			continue
		}
		if r.sameFlowLog(id, fl) {
			out.Unsuccessful = append(out.Unsuccessful, unsuccessfulItem{Code: "FlowLogAlreadyExists",
				Message: "Error. There is an existing Flow Log with the same configuration and log destination.", ResourceID: id})
			continue
		}
		made := fl
		made.ResourceID = id
		made.FlowLogID = r.newID("fl", c.acct.ID, c.region)
		made.CreationTime = time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
		r.FlowLogs[made.FlowLogID] = &made
		out.FlowLogIDs = append(out.FlowLogIDs, made.FlowLogID)
	}
	return out, nil
}

type createFlowLogsResult struct {
	ClientToken  string             `xml:"clientToken,omitempty"`
	FlowLogIDs   []string           `xml:"flowLogIdSet>item"`
	Unsuccessful []unsuccessfulItem `xml:"unsuccessful>item"`
}

// sameFlowLog reports whether resource id already has a flow log of fl's
// traffic type to fl's destination.
func (r *ec2Region) sameFlowLog(id string, fl flowLog) bool {
	for _, f := range r.FlowLogs {
		if f.ResourceID == id && f.TrafficType == fl.TrafficType && f.LogDestinationType == fl.LogDestinationType &&
			strings.TrimSuffix(f.LogDestination, "/") == strings.TrimSuffix(fl.LogDestination, "/") {
			return true
		}
	}
	return false
}

// s3Destination splits an S3 flow log destination "arn:aws:s3:::bucket[/prefix]".
func s3Destination(dest string) (bucket, prefix string, err error) {
	if dest == "" {
		return "", "", missingParameter("LogDestination")
	}
	rest, ok := strings.CutPrefix(dest, "arn:aws:s3:::")
	if !ok {
		return "", "", invalidParameterValue(fmt.Sprintf("LogDestination: %s is not a valid S3 bucket ARN", dest))
	}
	bucket, prefix, _ = strings.Cut(rest, "/")
	if !validBucketName(bucket) {
		return "", "", invalidParameterValue(fmt.Sprintf("LogDestination: %s is not a valid S3 bucket ARN", dest))
	}
	if strings.Contains(prefix, "AWSLogs") {
		return "", "", invalidParameterValue("LogDestination: the prefix cannot contain AWSLogs")
	}
	return bucket, prefix, nil
}

func logGroupOfARN(arn string) string {
	_, name, _ := strings.Cut(arn, ":log-group:")
	return strings.TrimSuffix(name, ":*")
}

// flowLogDeliveryAllowed checks that the log delivery service may check
// bucket b's ACL and write a flow log file under prefix, and, when the
// bucket's default encryption is a customer managed KMS key of this
// account, use that key. The delivery's aws:SourceArn is a CloudWatch Logs
// ARN of the flow log's region and account [B: the exact resource part is
// not documented; policies match it with arn:aws:logs:REGION:ACCOUNT:*].
func flowLogDeliveryAllowed(c *call, b *s3Bucket, prefix string) bool {
	if b.Policy == "" {
		return false
	}
	doc, err := parsePolicy(b.Policy, policyParseOptions{})
	if err != nil {
		return false
	}
	ctx := map[string][]string{
		"aws:SourceAccount":        {c.acct.ID},
		"aws:SourceArn":            {fmt.Sprintf("arn:aws:logs:%s:%s:*", c.region, c.acct.ID)},
		"aws:SecureTransport":      {"true"},
		"aws:PrincipalServiceName": {"delivery.logs.amazonaws.com"},
	}
	who := policyPrincipal{Service: "delivery.logs.amazonaws.com"}
	if !doc.allows(policyRequest{Principal: who, Action: "s3:GetBucketAcl", Resource: "arn:aws:s3:::" + b.Name, Context: ctx}) {
		return false
	}
	if prefix != "" {
		prefix = strings.TrimSuffix(prefix, "/") + "/"
	}
	put := map[string][]string{"s3:x-amz-acl": {"bucket-owner-full-control"}}
	for k, v := range ctx {
		put[k] = v
	}
	day := time.Now().UTC().Format("2006/01/02")
	object := fmt.Sprintf("arn:aws:s3:::%s/%sAWSLogs/%s/vpcflowlogs/%s/%s/%s_vpcflowlogs_%s_fl-check.log.gz",
		b.Name, prefix, c.acct.ID, c.region, day, c.acct.ID, c.region)
	if !doc.allows(policyRequest{Principal: who, Action: "s3:PutObject", Resource: object, Context: put}) {
		return false
	}
	if b.Encryption.SSEAlgorithm != "aws:kms" || b.Encryption.KMSMasterKeyID == "" {
		return true
	}
	k := findKeyAnywhere(c.acct, b.Region, b.Encryption.KMSMasterKeyID)
	if k == nil {
		return true // an AWS managed key (aws/s3), which no key policy of the account governs
	}
	if k.KeyState != "Enabled" {
		return false
	}
	kdoc, err := parsePolicy(k.Policy, policyParseOptions{})
	return err == nil && kdoc.allows(policyRequest{Principal: who, Action: "kms:GenerateDataKey", Resource: k.Arn, Context: ctx})
}

func ec2DescribeFlowLogs(c *call) (any, error) {
	r := &c.regionState().EC2
	filters := c.ec2Filters()
	ids := c.formList("FlowLogId")
	max, err := c.formInt("MaxResults", 0)
	if err != nil {
		return nil, err
	}
	if max != 0 && (max < 1 || max > 1000) {
		return nil, invalidParameterValue(fmt.Sprintf("Value (%d) for parameter MaxResults is invalid. Expecting a value between 1 and 1000.", max))
	}
	var all []*flowLog
	for _, id := range sortedKeys(r.FlowLogs) {
		f := r.FlowLogs[id]
		if (len(ids) > 0 && !contains(ids, id)) || !matches(filters, "flow-log-id", id) ||
			!matches(filters, "resource-id", f.ResourceID) || !matches(filters, "traffic-type", f.TrafficType) ||
			!matches(filters, "log-destination-type", f.LogDestinationType) || !matches(filters, "deliver-log-status", f.DeliverLogsStatus) ||
			!matches(filters, "log-group-name", f.LogGroupName) || !tagFiltersMatch(filters, f.Tags) {
			continue
		}
		all = append(all, f)
	}
	start := 0
	if tok := c.form.Get("NextToken"); tok != "" {
		n, err := strconv.Atoi(tok)
		if err != nil || n < 0 || n > len(all) {
			return nil, invalidParameterValue(fmt.Sprintf("Invalid value '%s' for NextToken", tok))
		}
		start = n
	}
	end := len(all)
	if max > 0 && start+max < end {
		end = start + max
	}
	var out struct {
		FlowLogs  []*flowLog `xml:"flowLogSet>item"`
		NextToken string     `xml:"nextToken,omitempty"`
	}
	out.FlowLogs = all[start:end]
	if end < len(all) {
		out.NextToken = strconv.Itoa(end)
	}
	return out, nil
}

// tagFiltersMatch applies "tag:KEY" and "tag-key" filters to tags.
func tagFiltersMatch(filters map[string][]string, tags []ec2Tag) bool {
	for name, want := range filters {
		switch {
		case strings.HasPrefix(name, "tag:"):
			key := strings.TrimPrefix(name, "tag:")
			found := false
			for _, t := range tags {
				if t.Key == key && contains(want, t.Value) {
					found = true
				}
			}
			if !found {
				return false
			}
		case name == "tag-key":
			found := false
			for _, t := range tags {
				if contains(want, t.Key) {
					found = true
				}
			}
			if !found {
				return false
			}
		}
	}
	return true
}

func ec2DeleteFlowLogs(c *call) (any, error) {
	r := &c.regionState().EC2
	ids := c.formList("FlowLogId")
	if len(ids) == 0 {
		return nil, missingParameter("FlowLogId")
	}
	var out struct {
		Unsuccessful []unsuccessfulItem `xml:"unsuccessful>item"`
	}
	for _, id := range ids {
		if _, ok := r.FlowLogs[id]; !ok {
			out.Unsuccessful = append(out.Unsuccessful, unsuccessfulItem{Code: "InvalidFlowLogId.NotFound",
				Message: fmt.Sprintf("These flow log ids in the input list are not found: [TotalCount: 1] %s", id), ResourceID: id})
			continue
		}
		delete(r.FlowLogs, id)
	}
	return out, nil
}

// deleteFlowLogsOf removes the flow logs of a deleted resource (AWS removes
// them eventually; the fake at once).
func (r *ec2Region) deleteFlowLogsOf(resourceID string) {
	for id, f := range r.FlowLogs {
		if f.ResourceID == resourceID {
			delete(r.FlowLogs, id)
		}
	}
}

// SetFlowLogTags replaces the tags of a flow log, as the account's owner
// would with CreateTags and DeleteTags.
func (s *Server) SetFlowLogTags(region, flowLogID string, tags map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.acct.region(region).EC2.FlowLogs[flowLogID]
	if !ok {
		return fmt.Errorf("fakeaws: no flow log %s in %s", flowLogID, region)
	}
	f.Tags = nil
	for _, k := range sortedKeys(tags) {
		f.Tags = append(f.Tags, ec2Tag{Key: k, Value: tags[k]})
	}
	return nil
}
