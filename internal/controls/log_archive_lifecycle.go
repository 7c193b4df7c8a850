package controls

import (
	"fmt"
	"reflect"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// lifecycleRule is one S3 lifecycle rule as harden journals it. Its JSON
// names are the Go field names of s3types.LifecycleRule, which journals of
// format 1 stored directly, so both decode alike; SDK types are converted
// at the edges (lifecycleRulesFromSDK, sdkLifecycleRules).
type lifecycleRule struct {
	ID                             *string                   `json:"ID,omitempty"`
	Status                         string                    `json:"Status"`
	Prefix                         *string                   `json:"Prefix,omitempty"`
	Filter                         *lifecycleFilter          `json:"Filter,omitempty"`
	Expiration                     *lifecycleExpiration      `json:"Expiration,omitempty"`
	Transitions                    []lifecycleTransition     `json:"Transitions,omitempty"`
	NoncurrentVersionTransitions   []noncurrentTransition    `json:"NoncurrentVersionTransitions,omitempty"`
	NoncurrentVersionExpiration    *noncurrentExpiration     `json:"NoncurrentVersionExpiration,omitempty"`
	AbortIncompleteMultipartUpload *abortIncompleteMultipart `json:"AbortIncompleteMultipartUpload,omitempty"`
}

type lifecycleFilter struct {
	Prefix                *string       `json:"Prefix,omitempty"`
	Tag                   *bucketTag    `json:"Tag,omitempty"`
	ObjectSizeGreaterThan *int64        `json:"ObjectSizeGreaterThan,omitempty"`
	ObjectSizeLessThan    *int64        `json:"ObjectSizeLessThan,omitempty"`
	And                   *lifecycleAnd `json:"And,omitempty"`
}

type lifecycleAnd struct {
	Prefix                *string     `json:"Prefix,omitempty"`
	Tags                  []bucketTag `json:"Tags,omitempty"`
	ObjectSizeGreaterThan *int64      `json:"ObjectSizeGreaterThan,omitempty"`
	ObjectSizeLessThan    *int64      `json:"ObjectSizeLessThan,omitempty"`
}

type bucketTag struct {
	Key   *string `json:"Key,omitempty"`
	Value *string `json:"Value,omitempty"`
}

type lifecycleExpiration struct {
	Date                      *time.Time `json:"Date,omitempty"`
	Days                      *int32     `json:"Days,omitempty"`
	ExpiredObjectDeleteMarker *bool      `json:"ExpiredObjectDeleteMarker,omitempty"`
}

type lifecycleTransition struct {
	Date         *time.Time `json:"Date,omitempty"`
	Days         *int32     `json:"Days,omitempty"`
	StorageClass string     `json:"StorageClass,omitempty"`
}

type noncurrentTransition struct {
	NoncurrentDays          *int32 `json:"NoncurrentDays,omitempty"`
	NewerNoncurrentVersions *int32 `json:"NewerNoncurrentVersions,omitempty"`
	StorageClass            string `json:"StorageClass,omitempty"`
}

type noncurrentExpiration struct {
	NoncurrentDays          *int32 `json:"NoncurrentDays,omitempty"`
	NewerNoncurrentVersions *int32 `json:"NewerNoncurrentVersions,omitempty"`
}

type abortIncompleteMultipart struct {
	DaysAfterInitiation *int32 `json:"DaysAfterInitiation,omitempty"`
}

// logPrefix is where CloudTrail and Config write in the log archive: the
// only objects harden's retention rule expires.
const logPrefix = "AWSLogs/"

// retentionRule is the lifecycle rule harden keeps in the bucket: it
// expires current and noncurrent versions under AWSLogs/ after days. In a
// configuration whose other rules name their objects by a base-level
// Prefix (lifecycle V1), harden's rule does too: S3 refuses a
// configuration that mixes base-level prefixes and filters.
func retentionRule(days int32, legacy bool) lifecycleRule {
	r := lifecycleRule{
		ID:                          aws.String(retentionRuleID),
		Status:                      string(s3types.ExpirationStatusEnabled),
		Expiration:                  &lifecycleExpiration{Days: aws.Int32(days)},
		NoncurrentVersionExpiration: &noncurrentExpiration{NoncurrentDays: aws.Int32(days)},
	}
	if legacy {
		r.Prefix = aws.String(logPrefix)
	} else {
		r.Filter = &lifecycleFilter{Prefix: aws.String(logPrefix)}
	}
	return r
}

// othersUseBasePrefix reports whether the rules other than harden's name
// their objects by a base-level Prefix.
func othersUseBasePrefix(rules []lifecycleRule) bool {
	for _, r := range rules {
		if aws.ToString(r.ID) != retentionRuleID && r.Prefix != nil {
			return true
		}
	}
	return false
}

func hasRetention(rules []lifecycleRule, days int32) bool {
	want := retentionRule(days, othersUseBasePrefix(rules))
	for _, r := range rules {
		if reflect.DeepEqual(r, want) {
			return true
		}
	}
	return false
}

// withRetention returns rules with harden's rule replaced or added; other
// rules are kept as they are.
func withRetention(rules []lifecycleRule, days int32) []lifecycleRule {
	out := []lifecycleRule{}
	for _, r := range rules {
		if aws.ToString(r.ID) != retentionRuleID {
			out = append(out, r)
		}
	}
	return append(out, retentionRule(days, othersUseBasePrefix(rules)))
}

// retentionDaysNow is how many days harden's rule, as it is, keeps log
// objects before S3 deletes them; 0 when no enabled rule of harden's
// expires them.
func retentionDaysNow(rules []lifecycleRule) int32 {
	for _, r := range rules {
		if aws.ToString(r.ID) == retentionRuleID && r.Status == string(s3types.ExpirationStatusEnabled) &&
			r.Expiration != nil && r.Expiration.Days != nil {
			return *r.Expiration.Days
		}
	}
	return 0
}

// retentionNow describes harden's rule as it is, for a plan.
func retentionNow(rules []lifecycleRule) string {
	for _, r := range rules {
		if aws.ToString(r.ID) != retentionRuleID {
			continue
		}
		prefix := aws.ToString(r.Prefix)
		if r.Filter != nil {
			prefix = aws.ToString(r.Filter.Prefix)
		}
		scope := "objects under " + prefix
		if prefix == "" {
			scope = "the whole bucket"
		}
		days := "no expiration"
		if r.Expiration != nil && r.Expiration.Days != nil {
			days = fmt.Sprintf("%d days", *r.Expiration.Days)
		}
		return fmt.Sprintf("%s, %s for %s", r.Status, days, scope)
	}
	return "none"
}

func lifecycleRulesFromSDK(in []s3types.LifecycleRule) []lifecycleRule {
	var out []lifecycleRule
	for _, r := range in {
		lr := lifecycleRule{ID: r.ID, Status: string(r.Status), Prefix: r.Prefix}
		if f := r.Filter; f != nil {
			lr.Filter = &lifecycleFilter{Prefix: f.Prefix, Tag: tagFromSDK(f.Tag),
				ObjectSizeGreaterThan: f.ObjectSizeGreaterThan, ObjectSizeLessThan: f.ObjectSizeLessThan}
			if a := f.And; a != nil {
				and := &lifecycleAnd{Prefix: a.Prefix, ObjectSizeGreaterThan: a.ObjectSizeGreaterThan, ObjectSizeLessThan: a.ObjectSizeLessThan}
				for _, t := range a.Tags {
					and.Tags = append(and.Tags, *tagFromSDK(&t))
				}
				lr.Filter.And = and
			}
		}
		if e := r.Expiration; e != nil {
			lr.Expiration = &lifecycleExpiration{Date: e.Date, Days: e.Days, ExpiredObjectDeleteMarker: e.ExpiredObjectDeleteMarker}
		}
		for _, t := range r.Transitions {
			lr.Transitions = append(lr.Transitions, lifecycleTransition{Date: t.Date, Days: t.Days, StorageClass: string(t.StorageClass)})
		}
		for _, t := range r.NoncurrentVersionTransitions {
			lr.NoncurrentVersionTransitions = append(lr.NoncurrentVersionTransitions, noncurrentTransition{
				NoncurrentDays: t.NoncurrentDays, NewerNoncurrentVersions: t.NewerNoncurrentVersions, StorageClass: string(t.StorageClass)})
		}
		if e := r.NoncurrentVersionExpiration; e != nil {
			lr.NoncurrentVersionExpiration = &noncurrentExpiration{NoncurrentDays: e.NoncurrentDays, NewerNoncurrentVersions: e.NewerNoncurrentVersions}
		}
		if a := r.AbortIncompleteMultipartUpload; a != nil {
			lr.AbortIncompleteMultipartUpload = &abortIncompleteMultipart{DaysAfterInitiation: a.DaysAfterInitiation}
		}
		out = append(out, lr)
	}
	return out
}

func tagFromSDK(t *s3types.Tag) *bucketTag {
	if t == nil {
		return nil
	}
	return &bucketTag{Key: t.Key, Value: t.Value}
}

func sdkTag(t *bucketTag) *s3types.Tag {
	if t == nil {
		return nil
	}
	return &s3types.Tag{Key: t.Key, Value: t.Value}
}

func sdkLifecycleRules(in []lifecycleRule) []s3types.LifecycleRule {
	out := []s3types.LifecycleRule{}
	for _, r := range in {
		sr := s3types.LifecycleRule{ID: r.ID, Status: s3types.ExpirationStatus(r.Status), Prefix: r.Prefix}
		if f := r.Filter; f != nil {
			sr.Filter = &s3types.LifecycleRuleFilter{Prefix: f.Prefix, Tag: sdkTag(f.Tag),
				ObjectSizeGreaterThan: f.ObjectSizeGreaterThan, ObjectSizeLessThan: f.ObjectSizeLessThan}
			if a := f.And; a != nil {
				and := &s3types.LifecycleRuleAndOperator{Prefix: a.Prefix, ObjectSizeGreaterThan: a.ObjectSizeGreaterThan, ObjectSizeLessThan: a.ObjectSizeLessThan}
				for _, t := range a.Tags {
					and.Tags = append(and.Tags, *sdkTag(&t))
				}
				sr.Filter.And = and
			}
		}
		if e := r.Expiration; e != nil {
			sr.Expiration = &s3types.LifecycleExpiration{Date: e.Date, Days: e.Days, ExpiredObjectDeleteMarker: e.ExpiredObjectDeleteMarker}
		}
		for _, t := range r.Transitions {
			sr.Transitions = append(sr.Transitions, s3types.Transition{Date: t.Date, Days: t.Days, StorageClass: s3types.TransitionStorageClass(t.StorageClass)})
		}
		for _, t := range r.NoncurrentVersionTransitions {
			sr.NoncurrentVersionTransitions = append(sr.NoncurrentVersionTransitions, s3types.NoncurrentVersionTransition{
				NoncurrentDays: t.NoncurrentDays, NewerNoncurrentVersions: t.NewerNoncurrentVersions, StorageClass: s3types.TransitionStorageClass(t.StorageClass)})
		}
		if e := r.NoncurrentVersionExpiration; e != nil {
			sr.NoncurrentVersionExpiration = &s3types.NoncurrentVersionExpiration{NoncurrentDays: e.NoncurrentDays, NewerNoncurrentVersions: e.NewerNoncurrentVersions}
		}
		if a := r.AbortIncompleteMultipartUpload; a != nil {
			sr.AbortIncompleteMultipartUpload = &s3types.AbortIncompleteMultipartUpload{DaysAfterInitiation: a.DaysAfterInitiation}
		}
		out = append(out, sr)
	}
	return out
}
