package controls

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/parallel"
)

// The home region's writes: the topic's key and its alias, the topic, its
// attributes and the email subscriptions.
const (
	stepCreateAlertKey         control.StepKind = "CreateAlertKey"
	stepCreateAlertKeyAlias    control.StepKind = "CreateAlertKeyAlias"
	stepCreateAlertTopic       control.StepKind = "CreateAlertTopic"
	stepSetAlertTopicAttribute control.StepKind = "SetAlertTopicAttribute"
	stepSubscribeAlertEmail    control.StepKind = "SubscribeAlertEmail"
	stepPutAlertKeyPolicy      control.StepKind = "PutAlertKeyPolicy"
)

// AlertKeyAlias names the customer managed key that encrypts the topic.
const AlertKeyAlias = "alias/harden-security-alerts"

// alertPublishers are the services that publish to the alert topic: they
// must be allowed by the topic policy and may use its key (AWS's managed
// key alias/aws/sns does not let them).
var alertPublishers = []string{"events.amazonaws.com", "cloudwatch.amazonaws.com", "budgets.amazonaws.com", "costalerts.amazonaws.com"}

func quotedList(items []string) string {
	return `"` + strings.Join(items, `","`) + `"`
}

// alertKeyPolicy lets the account administer the key and the publishing
// services encrypt for the topic. (SNS makes the KMS call on the
// publisher's behalf; the topic policy limits publishing to this account.)
func alertKeyPolicy(t control.Target) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Id":"harden-security-alerts","Statement":[`+
		`{"Sid":"AccountAdministersKey","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"kms:*","Resource":"*"},`+
		`{"Sid":"AlertPublishersEncrypt","Effect":"Allow","Principal":{"Service":[%s]},"Action":["kms:GenerateDataKey*","kms:Decrypt"],"Resource":"*"}]}`,
		t.AccountID, quotedList(alertPublishers))
}

// alertTopicPolicy lets the account manage the topic and the publishing
// services publish for this account only.
func alertTopicPolicy(t control.Target) string {
	arn := AlertTopicARN(t)
	return fmt.Sprintf(`{"Version":"2012-10-17","Id":"harden-security-alerts","Statement":[`+
		`{"Sid":"AccountManagesTopic","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":["SNS:GetTopicAttributes","SNS:SetTopicAttributes","SNS:Subscribe","SNS:ListSubscriptionsByTopic","SNS:Publish","SNS:DeleteTopic"],"Resource":"%s"},`+
		`{"Sid":"AlertPublishersPublish","Effect":"Allow","Principal":{"Service":[%s]},"Action":"sns:Publish","Resource":"%s","Condition":{"StringEquals":{"aws:SourceAccount":"%s"}}}]}`,
		t.AccountID, arn, quotedList(alertPublishers), arn, t.AccountID)
}

// alertHome is the home region's topic, key and subscriptions as read.
type alertHome struct {
	KeyID, KeyARN string
	// KeyPolicy is the key's policy, read when the key exists.
	KeyPolicy     string
	TopicExists   bool
	TopicAttrs    map[string]string
	TopicTags     map[string]string
	Subscriptions []alertSubscription
}

type alertSubscription struct {
	Endpoint string
	ARN      string // "PendingConfirmation" until confirmed
}

func (s alertSubscription) pending() bool { return !strings.HasPrefix(s.ARN, "arn:") }

// readAlertHome reads the key and the topic together; the topic's tags
// and subscriptions together once the topic is known to exist.
func readAlertHome(ctx context.Context, env *control.Env, t control.Target) (alertHome, error) {
	var h alertHome
	readKey := func(ctx context.Context) error {
		key, found, err := describeAlertKey(ctx, env, t.HomeRegion, AlertKeyAlias)
		if err != nil || !found || key.KeyState == kmstypes.KeyStatePendingDeletion {
			return err
		}
		h.KeyID, h.KeyARN = aws.ToString(key.KeyId), aws.ToString(key.Arn)
		h.KeyPolicy, err = alertKeyPolicyOf(ctx, env, t.HomeRegion, h.KeyID)
		return err
	}
	readTopic := func(ctx context.Context) error {
		var err error
		h.TopicAttrs, h.TopicExists, err = topicAttributes(ctx, env, t.HomeRegion, AlertTopicARN(t))
		if err != nil || !h.TopicExists {
			return err
		}
		return parallel.Do(ctx, func(ctx context.Context) (err error) {
			h.TopicTags, err = topicTags(ctx, env, t.HomeRegion, AlertTopicARN(t))
			return err
		}, func(ctx context.Context) (err error) {
			h.Subscriptions, err = topicSubscriptions(ctx, env, t.HomeRegion, AlertTopicARN(t))
			return err
		})
	}
	err := parallel.Do(ctx, readKey, readTopic)
	return h, err
}

func describeAlertKey(ctx context.Context, env *control.Env, region, id string) (*kmstypes.KeyMetadata, bool, error) {
	out, err := env.AWS.KMS(region).DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(id)})
	if awserror.Is(err, "NotFoundException") {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("kms: describe key %s in %s: %w", id, region, err)
	}
	return out.KeyMetadata, true, nil
}

func alertKeyPolicyOf(ctx context.Context, env *control.Env, region, keyID string) (string, error) {
	out, err := env.AWS.KMS(region).GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(keyID), PolicyName: aws.String("default")})
	if err != nil {
		return "", fmt.Errorf("kms: get the policy of key %s in %s: %w", keyID, region, err)
	}
	return aws.ToString(out.Policy), nil
}

func topicAttributes(ctx context.Context, env *control.Env, region, arn string) (map[string]string, bool, error) {
	out, err := env.AWS.SNS(region).GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
	if awserror.Is(err, "NotFound") {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("sns: get attributes of topic %s: %w", arn, err)
	}
	return out.Attributes, true, nil
}

func topicTags(ctx context.Context, env *control.Env, region, arn string) (map[string]string, error) {
	out, err := env.AWS.SNS(region).ListTagsForResource(ctx, &sns.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("sns: list tags of topic %s: %w", arn, err)
	}
	tags := map[string]string{}
	for _, tg := range out.Tags {
		tags[aws.ToString(tg.Key)] = aws.ToString(tg.Value)
	}
	return tags, nil
}

func topicSubscriptions(ctx context.Context, env *control.Env, region, arn string) ([]alertSubscription, error) {
	var subs []alertSubscription
	p := sns.NewListSubscriptionsByTopicPaginator(env.AWS.SNS(region), &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if awserror.Is(err, "NotFound") {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("sns: list subscriptions of topic %s: %w", arn, err)
		}
		for _, s := range page.Subscriptions {
			subs = append(subs, alertSubscription{Endpoint: aws.ToString(s.Endpoint), ARN: aws.ToString(s.SubscriptionArn)})
		}
	}
	return subs, nil
}

// foreignTopic says why a topic of harden's name is not harden's to
// change, or "".
func (h alertHome) foreignTopic() string {
	if h.TopicExists && h.TopicTags[control.TagManagedBy] != control.TagManagedByID {
		return fmt.Sprintf("topic %s exists without harden's tag %s=%s: harden does not change a topic it did not create",
			AlertTopicName, control.TagManagedBy, control.TagManagedByID)
	}
	return ""
}

// topicAttributeChanges are the topic attributes that differ from harden's.
func (h alertHome) topicAttributeChanges(t control.Target, keyARN string) []topicAttribute {
	var out []topicAttribute
	if h.TopicAttrs["KmsMasterKeyId"] != keyARN {
		out = append(out, topicAttribute{Name: "KmsMasterKeyId", Value: keyARN})
	}
	if !samePattern(h.TopicAttrs["Policy"], alertTopicPolicy(t)) {
		out = append(out, topicAttribute{Name: "Policy", Value: alertTopicPolicy(t)})
	}
	return out
}

func (h alertHome) missingEmails(emails []string) []string {
	var out []string
	for _, e := range emails {
		found := false
		for _, s := range h.Subscriptions {
			found = found || strings.EqualFold(s.Endpoint, e)
		}
		if !found {
			out = append(out, e)
		}
	}
	return out
}

func (h alertHome) changes(t control.Target, s *SecurityAlertsSettings) []control.Change {
	var out []control.Change
	if h.KeyARN == "" {
		out = append(out, control.Change{Field: "KMS key " + AlertKeyAlias, Current: "none", Desired: "customer managed key the alert services may use"})
	} else if !samePattern(h.KeyPolicy, alertKeyPolicy(t)) {
		out = append(out, control.Change{Field: "KMS key " + AlertKeyAlias + " policy", Current: abbreviate(h.KeyPolicy), Desired: "the alert services may use it"})
	}
	if !h.TopicExists {
		out = append(out, control.Change{Field: "topic " + AlertTopicName, Current: "none", Desired: "encrypted with " + AlertKeyAlias})
	} else if h.KeyARN != "" {
		for _, a := range h.topicAttributeChanges(t, h.KeyARN) {
			out = append(out, control.Change{Field: "topic " + a.Name, Current: abbreviate(h.TopicAttrs[a.Name]), Desired: abbreviate(a.Value)})
		}
	}
	for _, e := range h.missingEmails(s.Emails) {
		out = append(out, control.Change{Field: "email subscription", Current: "none", Desired: e})
	}
	return out
}

func abbreviate(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	if s == "" {
		return "none"
	}
	return s
}

func (h alertHome) pendingNotes() []string {
	var out []string
	for _, s := range h.Subscriptions {
		if s.pending() {
			out = append(out, s.Endpoint+": pending confirmation")
		}
	}
	return out
}

type keyPrior struct {
	Alias string `json:"alias"`
}

type keyAfter struct {
	Alias  string            `json:"alias"`
	Policy string            `json:"policy"`
	Tags   map[string]string `json:"tags"`
}

type alertKeyCreated struct {
	KeyID string `json:"key_id"`
	ARN   string `json:"arn"`
}

type aliasAfter struct {
	Alias string `json:"alias"`
	KeyID string `json:"key_id"`
}

type topicPrior struct {
	Name string `json:"name"`
	ARN  string `json:"arn"`
}

type topicAfter struct {
	ARN    string            `json:"arn"`
	KeyARN string            `json:"kms_master_key_id"`
	Policy string            `json:"policy"`
	Tags   map[string]string `json:"tags"`
}

type topicCreated struct {
	ARN string `json:"arn"`
}

// topicAttribute is one topic attribute; Value "" means unset.
type topicAttribute struct {
	TopicARN string `json:"topic_arn"`
	Name     string `json:"name"`
	Value    string `json:"value"`
}

type subscriptionStep struct {
	TopicARN string `json:"topic_arn"`
	Email    string `json:"email"`
}

func applyAlertHome(ctx context.Context, env *control.Env, t control.Target, j control.Journal, s *SecurityAlertsSettings, h alertHome) error {
	var err error
	region := t.HomeRegion
	if h.KeyARN == "" {
		if h.KeyID, h.KeyARN, err = createAlertKey(ctx, env, t, j); err != nil {
			return err
		}
	} else if !samePattern(h.KeyPolicy, alertKeyPolicy(t)) {
		prior := keyPolicyState{KeyID: h.KeyID, Policy: h.KeyPolicy}
		after := keyPolicyState{KeyID: h.KeyID, Policy: alertKeyPolicy(t)}
		if err := j.Write(ctx, stepPutAlertKeyPolicy, prior, after, func(ctx context.Context) (any, error) {
			return nil, putAlertKeyPolicy(ctx, env, region, after)
		}); err != nil {
			return err
		}
	}
	if !h.TopicExists {
		after := topicAfter{ARN: AlertTopicARN(t), KeyARN: h.KeyARN, Policy: alertTopicPolicy(t), Tags: control.Tags(j.RunID())}
		err := j.Write(ctx, stepCreateAlertTopic, topicPrior{Name: AlertTopicName, ARN: after.ARN}, after, func(ctx context.Context) (any, error) {
			return createAlertTopic(ctx, env, region, after)
		})
		if err != nil {
			return fmt.Errorf("sns: create topic %s in %s: %w", AlertTopicName, region, err)
		}
	} else {
		for _, a := range h.topicAttributeChanges(t, h.KeyARN) {
			a.TopicARN = AlertTopicARN(t)
			prior := topicAttribute{TopicARN: a.TopicARN, Name: a.Name, Value: h.TopicAttrs[a.Name]}
			if err := j.Write(ctx, stepSetAlertTopicAttribute, prior, a, func(ctx context.Context) (any, error) {
				return nil, setTopicAttribute(ctx, env, region, a)
			}); err != nil {
				return err
			}
		}
	}
	// The topic, its key and policies are in place: the other alert
	// controls may publish to it (the subscriptions are not theirs).
	control.Reached(ctx, AlertTopicStage)
	for _, e := range h.missingEmails(s.Emails) {
		step := subscriptionStep{TopicARN: AlertTopicARN(t), Email: e}
		err := j.Write(ctx, stepSubscribeAlertEmail, step, step, func(ctx context.Context) (any, error) {
			out, err := env.AWS.SNS(region).Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(step.TopicARN), Protocol: aws.String("email"), Endpoint: aws.String(e)})
			if err != nil {
				return nil, err
			}
			return map[string]string{"subscription_arn": aws.ToString(out.SubscriptionArn)}, nil
		})
		if err != nil {
			return fmt.Errorf("sns: subscribe %s to %s: %w", e, AlertTopicName, err)
		}
	}
	return nil
}

func createAlertKey(ctx context.Context, env *control.Env, t control.Target, j control.Journal) (string, string, error) {
	region := t.HomeRegion
	after := keyAfter{Alias: AlertKeyAlias, Policy: alertKeyPolicy(t), Tags: control.Tags(j.RunID())}
	var created alertKeyCreated
	err := j.Write(ctx, stepCreateAlertKey, keyPrior{Alias: AlertKeyAlias}, after, func(ctx context.Context) (any, error) {
		out, err := env.AWS.KMS(region).CreateKey(ctx, &kms.CreateKeyInput{
			Description: aws.String("harden: encrypts the security alert topic " + AlertTopicName),
			Policy:      aws.String(after.Policy),
			Tags:        kmsTags(after.Tags),
		})
		if err != nil {
			return nil, err
		}
		created = alertKeyCreated{KeyID: aws.ToString(out.KeyMetadata.KeyId), ARN: aws.ToString(out.KeyMetadata.Arn)}
		return created, nil
	})
	if err != nil {
		return "", "", fmt.Errorf("kms: create the alert topic key in %s: %w", region, err)
	}
	alias := aliasAfter{Alias: AlertKeyAlias, KeyID: created.KeyID}
	err = j.Write(ctx, stepCreateAlertKeyAlias, keyPrior{Alias: AlertKeyAlias}, alias, func(ctx context.Context) (any, error) {
		_, err := env.AWS.KMS(region).CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(AlertKeyAlias), TargetKeyId: aws.String(created.KeyID)})
		return nil, err
	})
	if err != nil {
		return "", "", fmt.Errorf("kms: create alias %s in %s: %w", AlertKeyAlias, region, err)
	}
	return created.KeyID, created.ARN, nil
}

func createAlertTopic(ctx context.Context, env *control.Env, region string, a topicAfter) (topicCreated, error) {
	in := &sns.CreateTopicInput{Name: aws.String(AlertTopicName),
		Attributes: map[string]string{"KmsMasterKeyId": a.KeyARN, "Policy": a.Policy}}
	for _, k := range sortedTagKeys(a.Tags) {
		in.Tags = append(in.Tags, snstypes.Tag{Key: aws.String(k), Value: aws.String(a.Tags[k])})
	}
	out, err := env.AWS.SNS(region).CreateTopic(ctx, in)
	if err != nil {
		return topicCreated{}, err
	}
	return topicCreated{ARN: aws.ToString(out.TopicArn)}, nil
}

func setTopicAttribute(ctx context.Context, env *control.Env, region string, a topicAttribute) error {
	_, err := env.AWS.SNS(region).SetTopicAttributes(ctx, &sns.SetTopicAttributesInput{TopicArn: aws.String(a.TopicARN),
		AttributeName: aws.String(a.Name), AttributeValue: aws.String(a.Value)})
	if err != nil {
		return fmt.Errorf("sns: set %s of topic %s: %w", a.Name, a.TopicARN, err)
	}
	return nil
}

func alertKeyTags(ctx context.Context, env *control.Env, region, keyID string) (map[string]string, error) {
	out, err := env.AWS.KMS(region).ListResourceTags(ctx, &kms.ListResourceTagsInput{KeyId: aws.String(keyID)})
	if err != nil {
		return nil, fmt.Errorf("kms: list tags of key %s in %s: %w", keyID, region, err)
	}
	tags := map[string]string{}
	for _, tg := range out.Tags {
		tags[aws.ToString(tg.TagKey)] = aws.ToString(tg.TagValue)
	}
	return tags, nil
}

// undoCreateAlertKey schedules the deletion of the key harden created (7
// days, the shortest wait), found by the id CreateKey returned or, for an
// unconfirmed create, by harden's run tag among the region's keys.
func undoCreateAlertKey(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var created alertKeyCreated
	if _, err := control.DecodeResult(s, &created); err != nil {
		return control.Undo{}, err
	}
	region := t.HomeRegion
	if created.KeyID == "" {
		return undoUnconfirmedAlertKey(ctx, env, region, s)
	}
	// The key and its tags (harden's ownership proof) are read together.
	var key *kmstypes.KeyMetadata
	var found bool
	var tags map[string]string
	err := parallel.Do(ctx, func(ctx context.Context) (err error) {
		key, found, err = describeAlertKey(ctx, env, region, created.KeyID)
		return err
	}, func(ctx context.Context) (err error) {
		tags, err = alertKeyTags(ctx, env, region, created.KeyID)
		if awserror.Is(err, "NotFoundException") {
			tags, err = nil, nil // gone: DescribeKey says so
		}
		return err
	})
	if err != nil {
		return control.Undo{}, err
	}
	if !found || key.KeyState == kmstypes.KeyStatePendingDeletion {
		return control.Nothing("the alert topic key in %s is already gone or scheduled for deletion", region), nil
	}
	if why := notHardens(tags, s.RunID); why != "" {
		return control.Drift(nil, "key %s in %s is not the one harden created: %s", created.KeyID, region, why), nil
	}
	return scheduleAlertKeyDeletion(env, region, created.KeyID, ""), nil
}

// undoUnconfirmedAlertKey looks for a key tagged with the step's run: a
// CreateKey whose answer was lost may have made one.
func undoUnconfirmedAlertKey(ctx context.Context, env *control.Env, region string, s control.Step) (control.Undo, error) {
	p := kms.NewListKeysPaginator(env.AWS.KMS(region), &kms.ListKeysInput{})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return control.Undo{}, fmt.Errorf("kms: list keys in %s: %w", region, err)
		}
		for _, k := range page.Keys {
			id := aws.ToString(k.KeyId)
			key, found, err := describeAlertKey(ctx, env, region, id)
			if err != nil || !found || key.KeyManager != kmstypes.KeyManagerTypeCustomer || key.KeyState == kmstypes.KeyStatePendingDeletion {
				continue
			}
			tags, err := alertKeyTags(ctx, env, region, id)
			if err != nil {
				return control.Undo{}, err
			}
			if tags[control.TagManagedBy] == control.TagManagedByID && tags[control.TagRun] == s.RunID && strings.Contains(aws.ToString(key.Description), AlertTopicName) {
				return scheduleAlertKeyDeletion(env, region, id, ", whose creation was not confirmed"), nil
			}
		}
	}
	return control.Nothing("the creation of the alert topic key in %s never happened", region), nil
}

func scheduleAlertKeyDeletion(env *control.Env, region, keyID, why string) control.Undo {
	return control.Deleted(fmt.Sprintf("schedule the deletion of the alert topic key %s in %s (7 days)%s", keyID, region, why), func(ctx context.Context) error {
		_, err := env.AWS.KMS(region).ScheduleKeyDeletion(ctx, &kms.ScheduleKeyDeletionInput{KeyId: aws.String(keyID), PendingWindowInDays: aws.Int32(7)})
		if err != nil && !awserror.Is(err, "KMSInvalidStateException") {
			return fmt.Errorf("kms: schedule deletion of key %s in %s: %w", keyID, region, err)
		}
		return nil
	})
}

func undoCreateAlertKeyAlias(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var after aliasAfter
	if _, err := control.DecodeAfter(s, &after); err != nil {
		return control.Undo{}, err
	}
	region := t.HomeRegion
	key, found, err := describeAlertKey(ctx, env, region, AlertKeyAlias)
	if err != nil {
		return control.Undo{}, err
	}
	if !found {
		return control.Nothing("alias %s in %s is already gone", AlertKeyAlias, region), nil
	}
	if after.KeyID != "" && aws.ToString(key.KeyId) != after.KeyID {
		if !s.Done {
			return control.Nothing("the creation of alias %s in %s never happened", AlertKeyAlias, region), nil
		}
		return control.Drift(nil, "alias %s in %s: harden pointed it at key %s, now %s", AlertKeyAlias, region, after.KeyID, aws.ToString(key.KeyId)), nil
	}
	return control.Deleted(fmt.Sprintf("delete alias %s in %s", AlertKeyAlias, region), func(ctx context.Context) error {
		_, err := env.AWS.KMS(region).DeleteAlias(ctx, &kms.DeleteAliasInput{AliasName: aws.String(AlertKeyAlias)})
		if err != nil && !awserror.Is(err, "NotFoundException") {
			return fmt.Errorf("kms: delete alias %s in %s: %w", AlertKeyAlias, region, err)
		}
		return nil
	}), nil
}

// undoCreateAlertTopic deletes the topic harden created, when it still
// carries harden's tags and the key and policy harden gave it.
func undoCreateAlertTopic(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior topicPrior
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	var after topicAfter
	hasAfter, err := control.DecodeAfter(s, &after)
	if err != nil {
		return control.Undo{}, err
	}
	region := t.HomeRegion
	attrs, found, err := topicAttributes(ctx, env, region, prior.ARN)
	if err != nil {
		return control.Undo{}, err
	}
	if !found {
		return control.Nothing("topic %s is already gone", prior.ARN), nil
	}
	tags, err := topicTags(ctx, env, region, prior.ARN)
	if err != nil {
		return control.Undo{}, err
	}
	if why := notHardens(tags, s.RunID); why != "" || (!s.Done && tags[control.TagRun] != s.RunID) {
		if !s.Done {
			return control.Nothing("the creation of topic %s never happened: the topic there is not from harden run %s", prior.ARN, s.RunID), nil
		}
		return control.Drift(nil, "topic %s is not the one harden created: %s", prior.ARN, why), nil
	}
	del := func(ctx context.Context) error {
		if _, err := env.AWS.SNS(region).DeleteTopic(ctx, &sns.DeleteTopicInput{TopicArn: aws.String(prior.ARN)}); err != nil {
			return fmt.Errorf("sns: delete topic %s: %w", prior.ARN, err)
		}
		return nil
	}
	if hasAfter && attrs["KmsMasterKeyId"] != after.KeyARN {
		return control.Drift(del, "topic %s KmsMasterKeyId: harden set %s, now %s", prior.ARN, after.KeyARN, abbreviate(attrs["KmsMasterKeyId"])), nil
	}
	if hasAfter && !samePattern(attrs["Policy"], after.Policy) {
		return control.Drift(del, "topic %s policy: changed since harden set it", prior.ARN), nil
	}
	return control.Deleted(fmt.Sprintf("delete topic %s and its subscriptions", prior.ARN), del), nil
}

func undoSetAlertTopicAttribute(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior, after topicAttribute
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	hasAfter, err := control.DecodeAfter(s, &after)
	if err != nil {
		return control.Undo{}, err
	}
	attrs, found, err := topicAttributes(ctx, env, t.HomeRegion, prior.TopicARN)
	if err != nil {
		return control.Undo{}, err
	}
	if !found {
		return control.Nothing("topic %s is gone", prior.TopicARN), nil
	}
	cur := attrs[prior.Name]
	restore := func(ctx context.Context) error { return setTopicAttribute(ctx, env, t.HomeRegion, prior) }
	same := func(a, b string) bool { return a == b || (prior.Name == "Policy" && samePattern(a, b)) }
	switch {
	case same(cur, prior.Value):
		return control.Nothing("topic %s %s is already as before", prior.TopicARN, prior.Name), nil
	case hasAfter && !same(cur, after.Value):
		return control.Drift(restore, "topic %s %s: harden set %s, now %s", prior.TopicARN, prior.Name, abbreviate(after.Value), abbreviate(cur)), nil
	}
	return control.Restored(fmt.Sprintf("restore topic %s %s (%s)", prior.TopicARN, prior.Name, abbreviate(prior.Value)), restore), nil
}

// undoSubscribeAlertEmail removes a confirmed subscription harden made. A
// pending one has no ARN to remove: AWS drops it after three days, and it
// goes with the topic.
func undoSubscribeAlertEmail(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior subscriptionStep
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	subs, err := topicSubscriptions(ctx, env, t.HomeRegion, prior.TopicARN)
	if err != nil {
		return control.Undo{}, err
	}
	for _, sub := range subs {
		if !strings.EqualFold(sub.Endpoint, prior.Email) {
			continue
		}
		if sub.pending() {
			return control.Nothing("subscription of %s is pending confirmation: it lapses unconfirmed and goes with the topic", prior.Email), nil
		}
		arn := sub.ARN
		return control.Deleted(fmt.Sprintf("unsubscribe %s from %s", prior.Email, prior.TopicARN), func(ctx context.Context) error {
			_, err := env.AWS.SNS(t.HomeRegion).Unsubscribe(ctx, &sns.UnsubscribeInput{SubscriptionArn: aws.String(arn)})
			if err != nil && !awserror.Is(err, "NotFound") {
				return fmt.Errorf("sns: unsubscribe %s: %w", prior.Email, err)
			}
			return nil
		}), nil
	}
	return control.Nothing("%s is not subscribed to %s", prior.Email, prior.TopicARN), nil
}

// AlertTestResult is what SendTestAlert did: the message id and each
// subscription with whether it is confirmed.
type AlertTestResult struct {
	TopicARN      string
	MessageID     string
	Subscriptions []AlertSubscriber
}

// AlertSubscriber is one subscription of the alert topic.
type AlertSubscriber struct {
	Endpoint  string
	Confirmed bool
}

// Confirmed counts the confirmed subscriptions.
func (r AlertTestResult) Confirmed() int {
	n := 0
	for _, s := range r.Subscriptions {
		if s.Confirmed {
			n++
		}
	}
	return n
}

// ErrNoAlertTopic is returned by SendTestAlert when the topic does not exist.
var ErrNoAlertTopic = errors.New("the alert topic " + AlertTopicName + " does not exist: run 'harden apply --controls security-alerts'")

// SendTestAlert publishes a clearly marked test message to the alert topic
// in t's home region and lists its subscriptions.
func SendTestAlert(ctx context.Context, env *control.Env, t control.Target) (AlertTestResult, error) {
	arn := AlertTopicARN(t)
	res := AlertTestResult{TopicARN: arn}
	if _, found, err := topicAttributes(ctx, env, t.HomeRegion, arn); err != nil || !found {
		if err == nil {
			err = ErrNoAlertTopic
		}
		return res, err
	}
	subs, err := topicSubscriptions(ctx, env, t.HomeRegion, arn)
	if err != nil {
		return res, err
	}
	for _, s := range subs {
		res.Subscriptions = append(res.Subscriptions, AlertSubscriber{Endpoint: s.Endpoint, Confirmed: !s.pending()})
	}
	out, err := env.AWS.SNS(t.HomeRegion).Publish(ctx, &sns.PublishInput{TopicArn: aws.String(arn),
		Subject: aws.String("[harden test] security alert delivery check"),
		Message: aws.String(fmt.Sprintf("TEST MESSAGE from 'harden alerts test' for account %s: no action needed.\n"+
			"If you read this, security alerts from every region reach you through %s.", t.AccountID, arn))})
	if err != nil {
		return res, fmt.Errorf("sns: publish the test message to %s: %w", arn, err)
	}
	res.MessageID = aws.ToString(out.MessageId)
	return res, nil
}

// keyPolicyState is the alert key's policy.
type keyPolicyState struct {
	KeyID  string `json:"key_id"`
	Policy string `json:"policy"`
}

func putAlertKeyPolicy(ctx context.Context, env *control.Env, region string, p keyPolicyState) error {
	_, err := env.AWS.KMS(region).PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(p.KeyID), PolicyName: aws.String("default"), Policy: aws.String(p.Policy)})
	if err != nil {
		return fmt.Errorf("kms: put the policy of key %s in %s: %w", p.KeyID, region, err)
	}
	return nil
}

// undoPutAlertKeyPolicy puts back the key policy harden replaced, when the
// policy is still harden's.
func undoPutAlertKeyPolicy(ctx context.Context, env *control.Env, t control.Target, s control.Step) (control.Undo, error) {
	var prior, after keyPolicyState
	if err := control.DecodePrior(s, &prior); err != nil {
		return control.Undo{}, err
	}
	hasAfter, err := control.DecodeAfter(s, &after)
	if err != nil {
		return control.Undo{}, err
	}
	key, found, err := describeAlertKey(ctx, env, t.HomeRegion, prior.KeyID)
	if err != nil {
		return control.Undo{}, err
	}
	if !found || key.KeyState == kmstypes.KeyStatePendingDeletion {
		return control.Nothing("key %s in %s is gone or scheduled for deletion", prior.KeyID, t.HomeRegion), nil
	}
	cur, err := alertKeyPolicyOf(ctx, env, t.HomeRegion, prior.KeyID)
	if err != nil {
		return control.Undo{}, err
	}
	restore := func(ctx context.Context) error { return putAlertKeyPolicy(ctx, env, t.HomeRegion, prior) }
	switch {
	case samePattern(cur, prior.Policy):
		return control.Nothing("the policy of key %s is already as before", prior.KeyID), nil
	case hasAfter && !samePattern(cur, after.Policy):
		return control.Drift(restore, "the policy of key %s changed since harden set it", prior.KeyID), nil
	}
	return control.Restored(fmt.Sprintf("restore the policy of key %s in %s", prior.KeyID, t.HomeRegion), restore), nil
}
