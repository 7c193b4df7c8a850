package fakeaws

import (
	"fmt"
	"strings"
)

// snsRegion is one region's SNS state: standard topics by ARN.
type snsRegion struct {
	Topics map[string]*snsTopic `json:",omitempty"`
}

type snsTopic struct {
	ARN string
	// Attributes are the settable attributes (Policy, KmsMasterKeyId,
	// DisplayName, …); GetTopicAttributes adds the computed ones.
	Attributes    map[string]string  `json:",omitempty"`
	Tags          map[string]string  `json:",omitempty"`
	Subscriptions []*snsSubscription `json:",omitempty"`
}

// snsSubscription is one subscription; an email endpoint stays pending
// until the recipient confirms (ConfirmSubscription in tests).
type snsSubscription struct {
	ARN       string
	Protocol  string
	Endpoint  string
	Confirmed bool
}

// PublishedMessage is a message a topic received (Publish, or an
// EventBridge rule delivering to the topic).
type PublishedMessage struct {
	TopicARN string
	Subject  string
	Message  string
}

func (a *account) snsRegion(region string) *snsRegion {
	r := a.region(region)
	if r.SNS.Topics == nil {
		r.SNS.Topics = map[string]*snsTopic{}
	}
	return &r.SNS
}

func snsService() *service {
	return &service{
		name:          "sns",
		signingName:   "sns",
		protocol:      protoQuery,
		xmlns:         "http://sns.amazonaws.com/doc/2010-03-31/",
		throttleErr:   APIError{Status: 400, Code: "Throttling", Message: "Rate exceeded"},
		deniedErr:     APIError{Status: 403, Code: "AuthorizationError", Message: "User is not authorized to perform this action"},
		notEnabledErr: APIError{Status: 403, Code: "InvalidClientTokenId", Message: "The security token included in the request is invalid."},
		ops: []*op{
			{name: "CreateTopic", write: true, handle: snsCreateTopic},
			{name: "GetTopicAttributes", handle: snsGetTopicAttributes},
			{name: "SetTopicAttributes", write: true, handle: snsSetTopicAttributes},
			{name: "DeleteTopic", write: true, handle: snsDeleteTopic},
			{name: "Subscribe", write: true, handle: snsSubscribe},
			{name: "Unsubscribe", write: true, handle: snsUnsubscribe},
			{name: "ListSubscriptionsByTopic", handle: snsListSubscriptionsByTopic},
			{name: "Publish", write: true, handle: snsPublish},
			{name: "TagResource", write: true, handle: snsTagResource},
			{name: "ListTagsForResource", handle: snsListTagsForResource},
		},
	}
}

func snsErr(status int, code, msg string) *APIError {
	return &APIError{Status: status, Code: code, Message: msg}
}

// snsSettable are the topic attributes fakeaws lets callers set.
var snsSettable = map[string]bool{"Policy": true, "KmsMasterKeyId": true, "DisplayName": true, "DeliveryPolicy": true}

// formMap reads an awsQuery map "Prefix.entry.N.key" / ".value".
func (c *call) formMap(prefix string) map[string]string {
	out := map[string]string{}
	for i := 1; ; i++ {
		k, ok := c.form[fmt.Sprintf("%s.entry.%d.key", prefix, i)]
		if !ok {
			return out
		}
		out[k[0]] = c.form.Get(fmt.Sprintf("%s.entry.%d.value", prefix, i))
	}
}

// formTags reads an awsQuery tag list "Tags.member.N.Key" / ".Value".
func (c *call) formTags(prefix string) map[string]string {
	out := map[string]string{}
	for i := 1; ; i++ {
		k, ok := c.form[fmt.Sprintf("%s.member.%d.Key", prefix, i)]
		if !ok {
			return out
		}
		out[k[0]] = c.form.Get(fmt.Sprintf("%s.member.%d.Value", prefix, i))
	}
}

func (c *call) topic(arn string) (*snsTopic, error) {
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || parts[2] != "sns" {
		return nil, snsErr(400, "InvalidParameter", "Invalid parameter: TopicArn")
	}
	if t, ok := c.acct.snsRegion(c.region).Topics[arn]; ok && parts[3] == c.region {
		return t, nil
	}
	return nil, snsErr(404, "NotFound", "Topic does not exist")
}

func snsCreateTopic(c *call) (any, error) {
	name := c.form.Get("Name")
	if name == "" || len(name) > 256 || strings.ContainsAny(name, " :/") {
		return nil, snsErr(400, "InvalidParameter", "Invalid parameter: Topic Name")
	}
	attrs := c.formMap("Attributes")
	for k := range attrs {
		if !snsSettable[k] {
			return nil, snsErr(400, "InvalidParameter", "Invalid parameter: Attributes Reason: Unknown attribute "+k)
		}
	}
	if p, ok := attrs["Policy"]; ok {
		if _, err := parsePolicy(p, policyParseOptions{requirePrincipal: true}); err != nil {
			return nil, snsErr(400, "InvalidParameter", "Invalid parameter: Policy Error: "+err.Error())
		}
	}
	tags := c.formTags("Tags")
	arn := fmt.Sprintf("arn:aws:sns:%s:%s:%s", c.region, c.acct.ID, name)
	topics := c.acct.snsRegion(c.region).Topics
	if t, ok := topics[arn]; ok {
		// CreateTopic is idempotent only when the attributes and tags match.
		for k, v := range attrs {
			if t.Attributes[k] != v {
				return nil, snsErr(400, "InvalidParameter", "Invalid parameter: Attributes Reason: Topic already exists with different attributes")
			}
		}
		for k, v := range tags {
			if t.Tags[k] != v {
				return nil, snsErr(400, "InvalidParameter", "Invalid parameter: Tags Reason: Topic already exists with different tags")
			}
		}
	} else {
		if _, ok := attrs["Policy"]; !ok {
			attrs["Policy"] = defaultTopicPolicy(arn, c.acct.ID)
		}
		if len(tags) == 0 {
			tags = nil
		}
		topics[arn] = &snsTopic{ARN: arn, Attributes: attrs, Tags: tags}
	}
	return struct {
		TopicArn string `xml:"TopicArn"`
	}{arn}, nil
}

// defaultTopicPolicy is the policy AWS gives a topic created without one:
// the owner account may manage and publish.
func defaultTopicPolicy(arn, acct string) string {
	return fmt.Sprintf(`{"Version":"2008-10-17","Id":"__default_policy_ID","Statement":[{"Sid":"__default_statement_ID","Effect":"Allow","Principal":{"AWS":"*"},"Action":["SNS:GetTopicAttributes","SNS:SetTopicAttributes","SNS:AddPermission","SNS:RemovePermission","SNS:DeleteTopic","SNS:Subscribe","SNS:ListSubscriptionsByTopic","SNS:Publish"],"Resource":"%s","Condition":{"StringEquals":{"AWS:SourceOwner":"%s"}}}]}`, arn, acct)
}

type snsEntry struct {
	Key   string `xml:"key"`
	Value string `xml:"value"`
}

func snsGetTopicAttributes(c *call) (any, error) {
	t, err := c.topic(c.form.Get("TopicArn"))
	if err != nil {
		return nil, err
	}
	attrs := map[string]string{"TopicArn": t.ARN, "Owner": c.acct.ID, "SubscriptionsDeleted": "0"}
	for k, v := range t.Attributes {
		attrs[k] = v
	}
	confirmed, pending := 0, 0
	for _, s := range t.Subscriptions {
		if s.Confirmed {
			confirmed++
		} else {
			pending++
		}
	}
	attrs["SubscriptionsConfirmed"] = fmt.Sprint(confirmed)
	attrs["SubscriptionsPending"] = fmt.Sprint(pending)
	var entries []snsEntry
	for _, k := range sortedKeys(attrs) {
		entries = append(entries, snsEntry{k, attrs[k]})
	}
	return struct {
		Attributes []snsEntry `xml:"Attributes>entry"`
	}{entries}, nil
}

func snsSetTopicAttributes(c *call) (any, error) {
	t, err := c.topic(c.form.Get("TopicArn"))
	if err != nil {
		return nil, err
	}
	name, value := c.form.Get("AttributeName"), c.form.Get("AttributeValue")
	if !snsSettable[name] {
		return nil, snsErr(400, "InvalidParameter", "Invalid parameter: AttributeName")
	}
	if name == "Policy" {
		if _, err := parsePolicy(value, policyParseOptions{requirePrincipal: true}); err != nil {
			return nil, snsErr(400, "InvalidParameter", "Invalid parameter: Policy Error: "+err.Error())
		}
	}
	if t.Attributes == nil {
		t.Attributes = map[string]string{}
	}
	if value == "" && name == "KmsMasterKeyId" {
		delete(t.Attributes, name)
	} else {
		t.Attributes[name] = value
	}
	return nil, nil
}

func snsDeleteTopic(c *call) (any, error) {
	arn := c.form.Get("TopicArn")
	if _, err := c.topic(arn); err != nil {
		if ae, ok := err.(*APIError); ok && ae.Code == "NotFound" {
			return nil, nil // DeleteTopic of a missing topic succeeds.
		}
		return nil, err
	}
	delete(c.acct.snsRegion(c.region).Topics, arn)
	return nil, nil
}

func snsSubscribe(c *call) (any, error) {
	t, err := c.topic(c.form.Get("TopicArn"))
	if err != nil {
		return nil, err
	}
	protocol, endpoint := c.form.Get("Protocol"), c.form.Get("Endpoint")
	if protocol != "email" && protocol != "email-json" {
		return nil, snsErr(400, "InvalidParameter", "Invalid parameter: fakeaws supports the email protocols only")
	}
	if !strings.Contains(endpoint, "@") {
		return nil, snsErr(400, "InvalidParameter", "Invalid parameter: Email address")
	}
	for _, s := range t.Subscriptions {
		if s.Protocol == protocol && s.Endpoint == endpoint {
			return subscribeResult(c, s), nil
		}
	}
	s := &snsSubscription{ARN: t.ARN + ":" + strings.TrimPrefix(resourceID("sub", t.ARN, protocol, endpoint), "sub-0"), Protocol: protocol, Endpoint: endpoint}
	t.Subscriptions = append(t.Subscriptions, s)
	return subscribeResult(c, s), nil
}

// subscribeResult is "pending confirmation" for a pending subscription
// unless the caller asked for the ARN (ReturnSubscriptionArn).
func subscribeResult(c *call, s *snsSubscription) any {
	arn := s.ARN
	if !s.Confirmed && c.form.Get("ReturnSubscriptionArn") != "true" {
		arn = "pending confirmation"
	}
	return struct {
		SubscriptionArn string `xml:"SubscriptionArn"`
	}{arn}
}

func snsUnsubscribe(c *call) (any, error) {
	arn := c.form.Get("SubscriptionArn")
	for _, t := range c.acct.snsRegion(c.region).Topics {
		for i, s := range t.Subscriptions {
			if s.ARN == arn {
				t.Subscriptions = append(t.Subscriptions[:i], t.Subscriptions[i+1:]...)
				return nil, nil
			}
		}
	}
	return nil, snsErr(404, "NotFound", "Subscription does not exist")
}

func snsListSubscriptionsByTopic(c *call) (any, error) {
	t, err := c.topic(c.form.Get("TopicArn"))
	if err != nil {
		return nil, err
	}
	type member struct {
		SubscriptionArn string `xml:"SubscriptionArn"`
		Owner           string `xml:"Owner"`
		Protocol        string `xml:"Protocol"`
		Endpoint        string `xml:"Endpoint"`
		TopicArn        string `xml:"TopicArn"`
	}
	var out []member
	for _, s := range t.Subscriptions {
		arn := s.ARN
		if !s.Confirmed {
			arn = "PendingConfirmation"
		}
		out = append(out, member{arn, c.acct.ID, s.Protocol, s.Endpoint, t.ARN})
	}
	return struct {
		Subscriptions []member `xml:"Subscriptions>member"`
	}{out}, nil
}

func snsPublish(c *call) (any, error) {
	t, err := c.topic(c.form.Get("TopicArn"))
	if err != nil {
		return nil, err
	}
	msg := c.form.Get("Message")
	if msg == "" {
		return nil, snsErr(400, "InvalidParameter", "Invalid parameter: Empty message")
	}
	id := c.acct.recordPublished(PublishedMessage{TopicARN: t.ARN, Subject: c.form.Get("Subject"), Message: msg})
	return struct {
		MessageID string `xml:"MessageId"`
	}{id}, nil
}

func snsTagResource(c *call) (any, error) {
	t, err := c.topic(c.form.Get("ResourceArn"))
	if err != nil {
		return nil, snsErr(404, "ResourceNotFound", "Resource does not exist")
	}
	if t.Tags == nil {
		t.Tags = map[string]string{}
	}
	for k, v := range c.formTags("Tags") {
		t.Tags[k] = v
	}
	return nil, nil
}

func snsListTagsForResource(c *call) (any, error) {
	t, err := c.topic(c.form.Get("ResourceArn"))
	if err != nil {
		return nil, snsErr(404, "ResourceNotFound", "Resource does not exist")
	}
	type tag struct {
		Key   string `xml:"Key"`
		Value string `xml:"Value"`
	}
	var out []tag
	for _, k := range sortedKeys(t.Tags) {
		out = append(out, tag{k, t.Tags[k]})
	}
	return struct {
		Tags []tag `xml:"Tags>member"`
	}{out}, nil
}

// recordPublished keeps a message a topic received; the server's mu is
// held.
func (a *account) recordPublished(m PublishedMessage) string {
	a.Published = append(a.Published, m)
	return fmt.Sprintf("00000000-0000-0000-0000-%012d", len(a.Published))
}

// Published returns the messages topic received, oldest first.
func (s *Server) Published(topicARN string) []PublishedMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PublishedMessage
	for _, m := range s.acct.Published {
		if m.TopicARN == topicARN {
			out = append(out, m)
		}
	}
	return out
}

// ConfirmSubscription marks the subscription of endpoint to topic as
// confirmed, as a recipient clicking the link does; false when there is
// none.
func (s *Server) ConfirmSubscription(topicARN, endpoint string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	region := strings.Split(topicARN, ":")[3]
	t, ok := s.acct.snsRegion(region).Topics[topicARN]
	if !ok {
		return false
	}
	for _, sub := range t.Subscriptions {
		if sub.Endpoint == endpoint {
			sub.Confirmed = true
			return true
		}
	}
	return false
}

// deliverToTopic publishes a message from a service principal (EventBridge)
// when the topic's policy and key policy let it; otherwise it returns why
// not. s.mu is held.
func (a *account) deliverToTopic(arn, principal, sourceAccount, message string) error {
	parts := strings.Split(arn, ":")
	if len(parts) != 6 {
		return fmt.Errorf("invalid topic ARN %s", arn)
	}
	t, ok := a.snsRegion(parts[3]).Topics[arn]
	if !ok {
		return fmt.Errorf("topic %s does not exist", arn)
	}
	doc, err := parsePolicy(t.Attributes["Policy"], policyParseOptions{})
	if err != nil {
		return fmt.Errorf("topic %s policy: %v", arn, err)
	}
	req := policyRequest{Principal: policyPrincipal{Service: principal}, Action: "sns:Publish", Resource: arn,
		Context: map[string][]string{"aws:SourceAccount": {sourceAccount}}}
	if !doc.allows(req) {
		return fmt.Errorf("topic %s policy does not let %s publish", arn, principal)
	}
	if keyID := t.Attributes["KmsMasterKeyId"]; keyID != "" {
		if err := a.keyUsableBy(parts[3], keyID, principal, sourceAccount); err != nil {
			return fmt.Errorf("topic %s: %v", arn, err)
		}
	}
	a.recordPublished(PublishedMessage{TopicARN: arn, Message: message})
	return nil
}

// keyUsableBy says whether principal may use the topic's KMS key: an AWS
// managed key (alias/aws/sns) cannot be used by other services.
func (a *account) keyUsableBy(region, keyID, principal, sourceAccount string) error {
	r := a.region(region)
	id := keyID
	if strings.HasPrefix(id, "arn:") {
		id = id[strings.LastIndex(id, ":")+1:]
	}
	if strings.HasPrefix(id, "alias/") {
		al, ok := r.KMS.Aliases[id]
		if !ok {
			if id == "alias/aws/sns" {
				return fmt.Errorf("the AWS managed key alias/aws/sns does not let %s use it", principal)
			}
			return fmt.Errorf("key %s does not exist", keyID)
		}
		id = al.TargetKeyID
	}
	id = strings.TrimPrefix(id, "key/")
	k, ok := r.KMS.Keys[id]
	if !ok {
		return fmt.Errorf("key %s does not exist", keyID)
	}
	if k.KeyState != "Enabled" {
		return fmt.Errorf("key %s is %s", keyID, k.KeyState)
	}
	doc, err := parsePolicy(k.Policy, policyParseOptions{})
	if err != nil {
		return fmt.Errorf("key %s policy: %v", keyID, err)
	}
	for _, action := range []string{"kms:GenerateDataKey", "kms:Decrypt"} {
		req := policyRequest{Principal: policyPrincipal{Service: principal}, Action: action, Resource: k.Arn,
			Context: map[string][]string{"aws:SourceAccount": {sourceAccount}}}
		if !doc.allows(req) {
			return fmt.Errorf("key %s policy does not allow %s %s", keyID, principal, action)
		}
	}
	return nil
}
