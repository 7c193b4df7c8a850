package controls

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/harden-dev/harden/internal/awserror"
	"github.com/harden-dev/harden/internal/control"
)

// LogArchive keeps the account's log archive in the home region: a
// customer managed KMS key (rotation on, usable by CloudTrail and Config of
// this account only) and an S3 bucket with Block Public Access, SSE-KMS
// with that key, versioning, a retention lifecycle, and a policy that
// denies non-TLS requests and lets CloudTrail and Config write only under
// their own prefixes.
//
// Rollback never deletes logs and never schedules the key's deletion: the
// key and its alias are kept, and the bucket is deleted only while it
// holds no object.
type LogArchive struct{}

const (
	// LogArchiveKeyAlias names the log-archive KMS key.
	LogArchiveKeyAlias = "alias/harden-log-archive"
	// TrailName is the name of the trail harden creates.
	TrailName = "harden-trail"
	// DefaultLogRetentionDays is how long logs are kept unless set.
	DefaultLogRetentionDays = 365
	retentionRuleID         = "harden-retention"
)

// LogBucketName is the log-archive bucket's name for a target.
func LogBucketName(env *control.Env, t control.Target) string {
	if env.Settings.LogBucket != "" {
		return env.Settings.LogBucket
	}
	return fmt.Sprintf("harden-logs-%s-%s", t.AccountID, t.HomeRegion)
}

// TrailARN is the ARN of harden's trail, known before it exists so that the
// bucket and key policies can name it.
func TrailARN(t control.Target) string {
	return fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", t.HomeRegion, t.AccountID, TrailName)
}

func retentionDays(env *control.Env) int32 {
	if env.Settings.LogRetentionDays > 0 {
		return int32(env.Settings.LogRetentionDays)
	}
	return DefaultLogRetentionDays
}

func (LogArchive) Info() control.Info {
	return control.Info{
		ID:    "log-archive",
		Title: "Log archive bucket and KMS key",
		Scope: control.Account,
		Desired: "an S3 bucket with Block Public Access, SSE-KMS (customer managed key, rotation on), versioning, " +
			"retention, TLS-only access, and writes only from this account's CloudTrail and Config; rollback keeps logs and the key",
		SecurityHub: []string{"CloudTrail.2", "KMS.4", "S3.5"},
		CIS:         []string{"3.5", "3.6"},
		ReadActions: []string{"kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus",
			"s3:ListBucket", "s3:GetBucketPublicAccessBlock", "s3:GetEncryptionConfiguration",
			"s3:GetBucketVersioning", "s3:GetLifecycleConfiguration", "s3:GetBucketPolicy"},
		WriteActions: []string{"kms:CreateKey", "kms:CreateAlias", "kms:EnableKeyRotation", "kms:PutKeyPolicy", "kms:TagResource",
			"s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucketPublicAccessBlock", "s3:PutEncryptionConfiguration",
			"s3:PutBucketVersioning", "s3:PutLifecycleConfiguration", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketTagging"},
	}
}

// archiveState is what the log archive looks like now.
type archiveState struct {
	KeyARN      string // "" when the alias does not exist
	KeyRotation bool
	KeyPolicy   string
	Bucket      string
	Exists      bool // the bucket
	PAB         pabState
	Encryption  encryptionState
	Versioning  string // "", "Enabled" or "Suspended"
	Lifecycle   []s3types.LifecycleRule
	HasRules    bool // a lifecycle configuration exists
	Policy      string
}

type encryptionState struct {
	Algorithm string `json:"algorithm"`
	KeyID     string `json:"key_id,omitempty"`
	BucketKey bool   `json:"bucket_key"`
}

func (LogArchive) read(ctx context.Context, env *control.Env, t control.Target) (archiveState, error) {
	st := archiveState{Bucket: LogBucketName(env, t)}
	k := env.AWS.KMS(t.HomeRegion)
	key, err := k.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String(LogArchiveKeyAlias)})
	switch {
	case awserror.Is(err, "NotFoundException"):
	case err != nil:
		return st, fmt.Errorf("log-archive: describe key %s in %s: %w", LogArchiveKeyAlias, t.HomeRegion, err)
	default:
		st.KeyARN = aws.ToString(key.KeyMetadata.Arn)
		rot, err := k.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(st.KeyARN)})
		if err != nil {
			return st, fmt.Errorf("log-archive: get key rotation status in %s: %w", t.HomeRegion, err)
		}
		st.KeyRotation = rot.KeyRotationEnabled
		pol, err := k.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(st.KeyARN), PolicyName: aws.String("default")})
		if err != nil {
			return st, fmt.Errorf("log-archive: get key policy in %s: %w", t.HomeRegion, err)
		}
		st.KeyPolicy = aws.ToString(pol.Policy)
	}

	c := env.AWS.S3(t.HomeRegion)
	b := aws.String(st.Bucket)
	_, err = c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: b})
	if awserror.Is(err, "NotFound", "NoSuchBucket") {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("log-archive: head bucket %s: %w", st.Bucket, err)
	}
	st.Exists = true
	pab, err := c.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b})
	switch {
	case awserror.Is(err, "NoSuchPublicAccessBlockConfiguration"):
	case err != nil:
		return st, fmt.Errorf("log-archive: get public access block of %s: %w", st.Bucket, err)
	default:
		p := pab.PublicAccessBlockConfiguration
		st.PAB = pabState{Exists: true, BlockPublicAcls: aws.ToBool(p.BlockPublicAcls), IgnorePublicAcls: aws.ToBool(p.IgnorePublicAcls),
			BlockPublicPolicy: aws.ToBool(p.BlockPublicPolicy), RestrictPublicBuckets: aws.ToBool(p.RestrictPublicBuckets)}
	}
	enc, err := c.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b})
	switch {
	case awserror.Is(err, "ServerSideEncryptionConfigurationNotFoundError"):
	case err != nil:
		return st, fmt.Errorf("log-archive: get encryption of %s: %w", st.Bucket, err)
	default:
		for _, r := range enc.ServerSideEncryptionConfiguration.Rules {
			if d := r.ApplyServerSideEncryptionByDefault; d != nil {
				st.Encryption = encryptionState{Algorithm: string(d.SSEAlgorithm), KeyID: aws.ToString(d.KMSMasterKeyID), BucketKey: aws.ToBool(r.BucketKeyEnabled)}
			}
		}
	}
	ver, err := c.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b})
	if err != nil {
		return st, fmt.Errorf("log-archive: get versioning of %s: %w", st.Bucket, err)
	}
	st.Versioning = string(ver.Status)
	lc, err := c.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b})
	switch {
	case awserror.Is(err, "NoSuchLifecycleConfiguration"):
	case err != nil:
		return st, fmt.Errorf("log-archive: get lifecycle of %s: %w", st.Bucket, err)
	default:
		st.HasRules, st.Lifecycle = true, lc.Rules
	}
	pol, err := c.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b})
	switch {
	case awserror.Is(err, "NoSuchBucketPolicy"):
	case err != nil:
		return st, fmt.Errorf("log-archive: get policy of %s: %w", st.Bucket, err)
	default:
		st.Policy = aws.ToString(pol.Policy)
	}
	return st, nil
}

// policyDoc is an IAM policy document.
type policyDoc struct {
	Version   string      `json:"Version"`
	ID        string      `json:"Id,omitempty"`
	Statement []statement `json:"Statement"`
}

type statement struct {
	Sid       string                       `json:"Sid"`
	Effect    string                       `json:"Effect"`
	Principal any                          `json:"Principal"`
	Action    any                          `json:"Action"`
	Resource  any                          `json:"Resource"`
	Condition map[string]map[string]string `json:"Condition,omitempty"`
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// samePolicy compares two policy documents as JSON values.
func samePolicy(a, b string) bool {
	var x, y any
	if json.Unmarshal([]byte(a), &x) != nil || json.Unmarshal([]byte(b), &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func keyPolicy(t control.Target) string {
	acct := t.AccountID
	trails := fmt.Sprintf("arn:aws:cloudtrail:*:%s:trail/*", acct)
	return mustJSON(policyDoc{Version: "2012-10-17", ID: "harden-log-archive", Statement: []statement{
		{Sid: "AccountAdministration", Effect: "Allow", Principal: map[string]string{"AWS": "arn:aws:iam::" + acct + ":root"},
			Action: "kms:*", Resource: "*"},
		{Sid: "CloudTrailEncryptLogs", Effect: "Allow", Principal: map[string]string{"Service": "cloudtrail.amazonaws.com"},
			Action: "kms:GenerateDataKey*", Resource: "*", Condition: map[string]map[string]string{
				"StringEquals": {"aws:SourceArn": TrailARN(t)},
				"StringLike":   {"kms:EncryptionContext:aws:cloudtrail:arn": trails}}},
		{Sid: "CloudTrailDescribeKey", Effect: "Allow", Principal: map[string]string{"Service": "cloudtrail.amazonaws.com"},
			Action: "kms:DescribeKey", Resource: "*", Condition: map[string]map[string]string{
				"StringEquals": {"aws:SourceArn": TrailARN(t)}}},
		{Sid: "ConfigEncryptDeliveries", Effect: "Allow", Principal: map[string]string{"Service": "config.amazonaws.com"},
			Action: []string{"kms:Decrypt", "kms:GenerateDataKey"}, Resource: "*", Condition: map[string]map[string]string{
				"StringEquals": {"aws:SourceAccount": acct}}},
		{Sid: "AccountReadsLogs", Effect: "Allow", Principal: map[string]string{"AWS": "*"},
			Action: []string{"kms:Decrypt", "kms:ReEncryptFrom"}, Resource: "*", Condition: map[string]map[string]string{
				"StringEquals": {"kms:CallerAccount": acct},
				"StringLike":   {"kms:EncryptionContext:aws:cloudtrail:arn": trails}}},
	}})
}

func bucketPolicy(bucket string, t control.Target) string {
	acct := t.AccountID
	arn := "arn:aws:s3:::" + bucket
	return mustJSON(policyDoc{Version: "2012-10-17", Statement: []statement{
		{Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*",
			Resource: []string{arn, arn + "/*"}, Condition: map[string]map[string]string{"Bool": {"aws:SecureTransport": "false"}}},
		{Sid: "CloudTrailAclCheck", Effect: "Allow", Principal: map[string]string{"Service": "cloudtrail.amazonaws.com"},
			Action: "s3:GetBucketAcl", Resource: arn, Condition: map[string]map[string]string{"StringEquals": {"aws:SourceArn": TrailARN(t)}}},
		{Sid: "CloudTrailWrite", Effect: "Allow", Principal: map[string]string{"Service": "cloudtrail.amazonaws.com"},
			Action:   "s3:PutObject",
			Resource: []string{arn + "/AWSLogs/" + acct + "/CloudTrail/*", arn + "/AWSLogs/" + acct + "/CloudTrail-Digest/*"},
			Condition: map[string]map[string]string{"StringEquals": {
				"aws:SourceArn": TrailARN(t), "s3:x-amz-acl": "bucket-owner-full-control"}}},
		{Sid: "ConfigAclCheck", Effect: "Allow", Principal: map[string]string{"Service": "config.amazonaws.com"},
			Action: []string{"s3:GetBucketAcl", "s3:ListBucket"}, Resource: arn,
			Condition: map[string]map[string]string{"StringEquals": {"aws:SourceAccount": acct}}},
		{Sid: "ConfigWrite", Effect: "Allow", Principal: map[string]string{"Service": "config.amazonaws.com"},
			Action: "s3:PutObject", Resource: arn + "/AWSLogs/" + acct + "/Config/*",
			Condition: map[string]map[string]string{"StringEquals": {
				"aws:SourceAccount": acct, "s3:x-amz-acl": "bucket-owner-full-control"}}},
	}})
}

// retentionRule is the lifecycle rule harden keeps in the bucket.
func retentionRule(days int32) s3types.LifecycleRule {
	return s3types.LifecycleRule{
		ID:                          aws.String(retentionRuleID),
		Status:                      s3types.ExpirationStatusEnabled,
		Filter:                      &s3types.LifecycleRuleFilter{Prefix: aws.String("")},
		Expiration:                  &s3types.LifecycleExpiration{Days: aws.Int32(days)},
		NoncurrentVersionExpiration: &s3types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(days)},
	}
}

func hasRetention(rules []s3types.LifecycleRule, days int32) bool {
	for _, r := range rules {
		if aws.ToString(r.ID) == retentionRuleID && r.Status == s3types.ExpirationStatusEnabled &&
			r.Expiration != nil && aws.ToInt32(r.Expiration.Days) == days &&
			r.NoncurrentVersionExpiration != nil && aws.ToInt32(r.NoncurrentVersionExpiration.NoncurrentDays) == days {
			return true
		}
	}
	return false
}

// withRetention returns rules with harden's rule replaced or added; other
// rules are kept as they are.
func withRetention(rules []s3types.LifecycleRule, days int32) []s3types.LifecycleRule {
	out := []s3types.LifecycleRule{}
	for _, r := range rules {
		if aws.ToString(r.ID) != retentionRuleID {
			out = append(out, r)
		}
	}
	return append(out, retentionRule(days))
}

func (s archiveState) wantEncryption() bool {
	return s.Encryption.Algorithm == string(s3types.ServerSideEncryptionAwsKms) && s.KeyARN != "" &&
		(s.Encryption.KeyID == s.KeyARN || s.Encryption.KeyID == LogArchiveKeyAlias) && s.Encryption.BucketKey
}

func (s archiveState) changes(env *control.Env, t control.Target) []control.Change {
	var out []control.Change
	add := func(field, cur, want string) {
		out = append(out, control.Change{Field: field, Current: cur, Desired: want})
	}
	days := retentionDays(env)
	if s.KeyARN == "" {
		add("KMS key "+LogArchiveKeyAlias, "none", "customer managed, rotation on")
	} else {
		if !s.KeyRotation {
			add("KMS key rotation", "false", "true")
		}
		if !samePolicy(s.KeyPolicy, keyPolicy(t)) {
			add("KMS key policy", "other", "this account's CloudTrail and Config only")
		}
	}
	if !s.Exists {
		add("bucket "+s.Bucket, "none", "versioned, SSE-KMS, public access blocked, TLS only, "+strconv.Itoa(int(days))+"-day retention")
		return out
	}
	if len(s.PAB.changes()) > 0 {
		add("bucket Block Public Access", "not all on", "all on")
	}
	if !s.wantEncryption() {
		cur := s.Encryption.Algorithm
		if cur == "" {
			cur = "none"
		}
		add("bucket default encryption", cur, "aws:kms with "+LogArchiveKeyAlias+", bucket key on")
	}
	if s.Versioning != string(s3types.BucketVersioningStatusEnabled) {
		cur := s.Versioning
		if cur == "" {
			cur = "never enabled"
		}
		add("bucket versioning", cur, "Enabled")
	}
	if !hasRetention(s.Lifecycle, days) {
		add("bucket retention", "none", strconv.Itoa(int(days))+" days")
	}
	if !samePolicy(s.Policy, bucketPolicy(s.Bucket, t)) {
		cur := "other"
		if s.Policy == "" {
			cur = "none"
		}
		add("bucket policy", cur, "TLS only; CloudTrail and Config write under their own prefixes")
	}
	return out
}

func (c LogArchive) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	st, err := c.read(ctx, env, t)
	if err != nil {
		return control.Finding{}, err
	}
	ch := st.changes(env, t)
	if len(ch) == 0 {
		return control.Finding{Compliant: true, Note: "bucket " + st.Bucket}, nil
	}
	f := control.Finding{Action: control.ActionUpdate, Changes: ch,
		Note: "rollback keeps the key and any logs"}
	if !st.Exists || st.KeyARN == "" {
		f.Action = control.ActionCreate
	}
	return f, nil
}

// Prior states journaled by Apply, one per kind of write.
type (
	createdPrior   struct{ Name string }
	keyPolicyPrior struct{ KeyARN, Policy string }
	rotationPrior  struct{ KeyARN string }
	bucketPABPrior struct {
		Bucket string
		PAB    pabState
	}
	encryptionPrior struct {
		Bucket     string
		Encryption encryptionState
	}
	versioningPrior struct{ Bucket, Status string }
	lifecyclePrior  struct {
		Bucket   string
		HasRules bool
		Rules    []s3types.LifecycleRule
	}
	bucketPolicyPrior struct{ Bucket, Policy string }
)

func (c LogArchive) Apply(ctx context.Context, env *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	st, err := c.read(ctx, env, t)
	if err != nil {
		return nil, err
	}
	ch := st.changes(env, t)
	if len(ch) == 0 {
		return nil, nil
	}
	if err := c.applyKey(ctx, env, t, j, &st); err != nil {
		return nil, err
	}
	if err := c.applyBucket(ctx, env, t, j, &st); err != nil {
		return nil, err
	}
	return ch, nil
}

func (LogArchive) applyKey(ctx context.Context, env *control.Env, t control.Target, j control.Journal, st *archiveState) error {
	k := env.AWS.KMS(t.HomeRegion)
	if st.KeyARN == "" {
		var arn string
		err := j.Write(ctx, "CreateKey", createdPrior{Name: LogArchiveKeyAlias}, nil, func(ctx context.Context) (any, error) {
			out, err := k.CreateKey(ctx, &kms.CreateKeyInput{
				Description: aws.String("harden log archive: encrypts CloudTrail and AWS Config deliveries"),
				KeySpec:     kmstypes.KeySpecSymmetricDefault,
				KeyUsage:    kmstypes.KeyUsageTypeEncryptDecrypt,
				Policy:      aws.String(keyPolicy(t)),
				Tags:        []kmstypes.Tag{{TagKey: aws.String("managed-by"), TagValue: aws.String("harden")}},
			})
			if err != nil {
				return nil, err
			}
			arn = aws.ToString(out.KeyMetadata.Arn)
			return map[string]string{"key_arn": arn}, nil
		})
		if err != nil {
			return fmt.Errorf("log-archive: create KMS key in %s: %w", t.HomeRegion, err)
		}
		err = j.Write(ctx, "CreateAlias", createdPrior{Name: LogArchiveKeyAlias}, nil, func(ctx context.Context) (any, error) {
			_, err := k.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: aws.String(LogArchiveKeyAlias), TargetKeyId: aws.String(arn)})
			return nil, err
		})
		if err != nil {
			return fmt.Errorf("log-archive: create alias %s in %s: %w", LogArchiveKeyAlias, t.HomeRegion, err)
		}
		st.KeyARN, st.KeyPolicy = arn, keyPolicy(t)
	}
	if !st.KeyRotation {
		err := j.Write(ctx, "EnableKeyRotation", rotationPrior{KeyARN: st.KeyARN}, nil, func(ctx context.Context) (any, error) {
			_, err := k.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: aws.String(st.KeyARN)})
			return nil, err
		})
		if err != nil {
			return fmt.Errorf("log-archive: enable rotation of %s: %w", LogArchiveKeyAlias, err)
		}
	}
	if want := keyPolicy(t); !samePolicy(st.KeyPolicy, want) {
		err := j.Write(ctx, "PutKeyPolicy", keyPolicyPrior{KeyARN: st.KeyARN, Policy: st.KeyPolicy}, nil, func(ctx context.Context) (any, error) {
			_, err := k.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(st.KeyARN), PolicyName: aws.String("default"), Policy: aws.String(want)})
			return nil, err
		})
		if err != nil {
			return fmt.Errorf("log-archive: put key policy of %s: %w", LogArchiveKeyAlias, err)
		}
	}
	return nil
}

func (LogArchive) applyBucket(ctx context.Context, env *control.Env, t control.Target, j control.Journal, st *archiveState) error {
	c := env.AWS.S3(t.HomeRegion)
	b := aws.String(st.Bucket)
	if !st.Exists {
		in := &s3.CreateBucketInput{Bucket: b}
		if t.HomeRegion != "us-east-1" {
			in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(t.HomeRegion)}
		}
		err := j.Write(ctx, "CreateBucket", createdPrior{Name: st.Bucket}, nil, func(ctx context.Context) (any, error) {
			_, err := c.CreateBucket(ctx, in)
			return nil, err
		})
		if awserror.Is(err, "BucketAlreadyExists") {
			return fmt.Errorf("log-archive: bucket name %s is taken by another account: choose another with --log-bucket: %w", st.Bucket, err)
		}
		if err != nil {
			return fmt.Errorf("log-archive: create bucket %s in %s: %w", st.Bucket, t.HomeRegion, err)
		}
		// A new bucket starts as AWS makes it: public access blocked,
		// SSE-S3, versioning never enabled, no lifecycle, no policy.
		st.Exists = true
		st.PAB = pabState{true, true, true, true, true}
		st.Encryption = encryptionState{Algorithm: string(s3types.ServerSideEncryptionAes256)}
		if err := j.Write(ctx, "PutBucketTagging", createdPrior{Name: st.Bucket}, nil, func(ctx context.Context) (any, error) {
			_, err := c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{Bucket: b,
				Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String("managed-by"), Value: aws.String("harden")}}}})
			return nil, err
		}); err != nil {
			return fmt.Errorf("log-archive: tag bucket %s: %w", st.Bucket, err)
		}
	}
	if len(st.PAB.changes()) > 0 {
		err := j.Write(ctx, "PutBucketPublicAccessBlock", bucketPABPrior{Bucket: st.Bucket, PAB: st.PAB}, nil, func(ctx context.Context) (any, error) {
			return nil, putBucketPAB(ctx, c, st.Bucket, pabState{true, true, true, true, true})
		})
		if err != nil {
			return fmt.Errorf("log-archive: block public access to %s: %w", st.Bucket, err)
		}
	}
	if !st.wantEncryption() {
		err := j.Write(ctx, "PutBucketEncryption", encryptionPrior{Bucket: st.Bucket, Encryption: st.Encryption}, nil, func(ctx context.Context) (any, error) {
			return nil, putEncryption(ctx, c, st.Bucket, encryptionState{Algorithm: string(s3types.ServerSideEncryptionAwsKms), KeyID: st.KeyARN, BucketKey: true})
		})
		if err != nil {
			return fmt.Errorf("log-archive: set default encryption of %s: %w", st.Bucket, err)
		}
	}
	if st.Versioning != string(s3types.BucketVersioningStatusEnabled) {
		err := j.Write(ctx, "PutBucketVersioning", versioningPrior{Bucket: st.Bucket, Status: st.Versioning}, nil, func(ctx context.Context) (any, error) {
			_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: b,
				VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled}})
			return nil, err
		})
		if err != nil {
			return fmt.Errorf("log-archive: enable versioning of %s: %w", st.Bucket, err)
		}
	}
	if days := retentionDays(env); !hasRetention(st.Lifecycle, days) {
		err := j.Write(ctx, "PutBucketLifecycleConfiguration", lifecyclePrior{Bucket: st.Bucket, HasRules: st.HasRules, Rules: st.Lifecycle}, nil, func(ctx context.Context) (any, error) {
			_, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: b,
				LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: withRetention(st.Lifecycle, days)}})
			return nil, err
		})
		if err != nil {
			return fmt.Errorf("log-archive: set retention of %s: %w", st.Bucket, err)
		}
	}
	if want := bucketPolicy(st.Bucket, t); !samePolicy(st.Policy, want) {
		err := j.Write(ctx, "PutBucketPolicy", bucketPolicyPrior{Bucket: st.Bucket, Policy: st.Policy}, nil, func(ctx context.Context) (any, error) {
			_, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: b, Policy: aws.String(want)})
			return nil, err
		})
		if err != nil {
			return fmt.Errorf("log-archive: put policy of %s: %w", st.Bucket, err)
		}
	}
	return nil
}

func putBucketPAB(ctx context.Context, c *s3.Client, bucket string, p pabState) error {
	_, err := c.PutPublicAccessBlock(ctx, &s3.PutPublicAccessBlockInput{Bucket: aws.String(bucket),
		PublicAccessBlockConfiguration: &s3types.PublicAccessBlockConfiguration{
			BlockPublicAcls: aws.Bool(p.BlockPublicAcls), IgnorePublicAcls: aws.Bool(p.IgnorePublicAcls),
			BlockPublicPolicy: aws.Bool(p.BlockPublicPolicy), RestrictPublicBuckets: aws.Bool(p.RestrictPublicBuckets)}})
	return err
}

func putEncryption(ctx context.Context, c *s3.Client, bucket string, e encryptionState) error {
	def := &s3types.ServerSideEncryptionByDefault{SSEAlgorithm: s3types.ServerSideEncryption(e.Algorithm)}
	if e.KeyID != "" {
		def.KMSMasterKeyID = aws.String(e.KeyID)
	}
	_, err := c.PutBucketEncryption(ctx, &s3.PutBucketEncryptionInput{Bucket: aws.String(bucket),
		ServerSideEncryptionConfiguration: &s3types.ServerSideEncryptionConfiguration{Rules: []s3types.ServerSideEncryptionRule{
			{ApplyServerSideEncryptionByDefault: def, BucketKeyEnabled: aws.Bool(e.BucketKey)}}}})
	return err
}

// Rollback undoes one step. Bucket settings go back to their recorded
// values; a bucket harden created is deleted only while empty; the KMS key,
// its alias and its rotation are kept, since logs may be encrypted with it.
func (c LogArchive) rollbackStep(ctx context.Context, env *control.Env, t control.Target, s control.Step) error {
	s3c := env.AWS.S3(t.HomeRegion)
	k := env.AWS.KMS(t.HomeRegion)
	ignoreMissingBucket := func(err error) error {
		if awserror.Is(err, "NoSuchBucket", "NotFound") {
			return nil
		}
		return err
	}
	switch s.Kind {
	case "CreateKey", "CreateAlias", "EnableKeyRotation":
		return control.Retain("KMS key %s in %s (logs may be encrypted with it; schedule its deletion yourself if it is unwanted)", LogArchiveKeyAlias, t.HomeRegion)
	case "PutKeyPolicy":
		var p keyPolicyPrior
		if err := control.DecodePrior(s, &p); err != nil {
			return err
		}
		if p.Policy == "" {
			return nil
		}
		cur, err := k.GetKeyPolicy(ctx, &kms.GetKeyPolicyInput{KeyId: aws.String(p.KeyARN), PolicyName: aws.String("default")})
		if err == nil && samePolicy(aws.ToString(cur.Policy), p.Policy) {
			return nil
		}
		_, err = k.PutKeyPolicy(ctx, &kms.PutKeyPolicyInput{KeyId: aws.String(p.KeyARN), PolicyName: aws.String("default"), Policy: aws.String(p.Policy)})
		if err != nil {
			return fmt.Errorf("log-archive: restore key policy of %s: %w", LogArchiveKeyAlias, err)
		}
		return nil
	case "CreateBucket":
		var p createdPrior
		if err := control.DecodePrior(s, &p); err != nil {
			return err
		}
		objs, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(p.Name), MaxKeys: aws.Int32(1)})
		if awserror.Is(err, "NoSuchBucket") {
			return nil
		}
		if err != nil {
			return fmt.Errorf("log-archive: list objects of %s: %w", p.Name, err)
		}
		if aws.ToInt32(objs.KeyCount) > 0 {
			return control.Retain("bucket %s holds logs (rollback never deletes logs)", p.Name)
		}
		_, err = s3c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: aws.String(p.Name)})
		if awserror.Is(err, "BucketNotEmpty") {
			return control.Retain("bucket %s holds logs or object versions (rollback never deletes logs)", p.Name)
		}
		if err = ignoreMissingBucket(err); err != nil {
			return fmt.Errorf("log-archive: delete empty bucket %s: %w", p.Name, err)
		}
		return nil
	case "PutBucketTagging":
		return nil // the tag goes with the bucket, or stays on a kept bucket to say who made it
	case "PutBucketPublicAccessBlock":
		var p bucketPABPrior
		if err := control.DecodePrior(s, &p); err != nil {
			return err
		}
		var err error
		if p.PAB.Exists {
			err = putBucketPAB(ctx, s3c, p.Bucket, p.PAB)
		} else {
			_, err = s3c.DeletePublicAccessBlock(ctx, &s3.DeletePublicAccessBlockInput{Bucket: aws.String(p.Bucket)})
		}
		if err = ignoreMissingBucket(err); err != nil {
			return fmt.Errorf("log-archive: restore public access block of %s: %w", p.Bucket, err)
		}
		return nil
	case "PutBucketEncryption":
		var p encryptionPrior
		if err := control.DecodePrior(s, &p); err != nil {
			return err
		}
		var err error
		if p.Encryption.Algorithm == "" {
			_, err = s3c.DeleteBucketEncryption(ctx, &s3.DeleteBucketEncryptionInput{Bucket: aws.String(p.Bucket)})
		} else {
			err = putEncryption(ctx, s3c, p.Bucket, p.Encryption)
		}
		if err = ignoreMissingBucket(err); err != nil {
			return fmt.Errorf("log-archive: restore default encryption of %s: %w", p.Bucket, err)
		}
		return nil
	case "PutBucketVersioning":
		var p versioningPrior
		if err := control.DecodePrior(s, &p); err != nil {
			return err
		}
		// Versioning, once enabled, can only be suspended.
		status := s3types.BucketVersioningStatusSuspended
		if p.Status == string(s3types.BucketVersioningStatusEnabled) {
			status = s3types.BucketVersioningStatusEnabled
		}
		_, err := s3c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(p.Bucket),
			VersioningConfiguration: &s3types.VersioningConfiguration{Status: status}})
		if err = ignoreMissingBucket(err); err != nil {
			return fmt.Errorf("log-archive: restore versioning of %s: %w", p.Bucket, err)
		}
		return nil
	case "PutBucketLifecycleConfiguration":
		var p lifecyclePrior
		if err := control.DecodePrior(s, &p); err != nil {
			return err
		}
		var err error
		if p.HasRules {
			_, err = s3c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String(p.Bucket),
				LifecycleConfiguration: &s3types.BucketLifecycleConfiguration{Rules: p.Rules}})
		} else {
			_, err = s3c.DeleteBucketLifecycle(ctx, &s3.DeleteBucketLifecycleInput{Bucket: aws.String(p.Bucket)})
		}
		if err = ignoreMissingBucket(err); err != nil {
			return fmt.Errorf("log-archive: restore lifecycle of %s: %w", p.Bucket, err)
		}
		return nil
	case "PutBucketPolicy":
		var p bucketPolicyPrior
		if err := control.DecodePrior(s, &p); err != nil {
			return err
		}
		var err error
		if p.Policy == "" {
			_, err = s3c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: aws.String(p.Bucket)})
		} else {
			_, err = s3c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(p.Bucket), Policy: aws.String(p.Policy)})
		}
		if err = ignoreMissingBucket(err); err != nil {
			return fmt.Errorf("log-archive: restore policy of %s: %w", p.Bucket, err)
		}
		return nil
	}
	return fmt.Errorf("log-archive: journal step %q is not one this control writes", s.Kind)
}

// Steps lists the writes Apply makes, each with its undo.
func (c LogArchive) Steps() control.Steps {
	return control.Steps{
		"CreateKey":                       blindUndo(c.rollbackStep),
		"CreateAlias":                     blindUndo(c.rollbackStep),
		"EnableKeyRotation":               blindUndo(c.rollbackStep),
		"PutKeyPolicy":                    blindUndo(c.rollbackStep),
		"CreateBucket":                    blindUndo(c.rollbackStep),
		"PutBucketTagging":                blindUndo(c.rollbackStep),
		"PutBucketPublicAccessBlock":      blindUndo(c.rollbackStep),
		"PutBucketEncryption":             blindUndo(c.rollbackStep),
		"PutBucketVersioning":             blindUndo(c.rollbackStep),
		"PutBucketLifecycleConfiguration": blindUndo(c.rollbackStep),
		"PutBucketPolicy":                 blindUndo(c.rollbackStep),
	}
}
