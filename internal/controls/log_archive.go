package controls

import (
	"context"
	"fmt"
	"strconv"

	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/harden-dev/harden/internal/control"
	"github.com/harden-dev/harden/internal/parallel"
	"github.com/harden-dev/harden/internal/validate"
)

// LogArchive keeps the account's log archive in the home region: a
// customer managed KMS key (rotation on, usable by this account's archive
// writers only) and an S3 bucket with Block Public Access, a retention
// lifecycle rule on AWSLogs/, and a policy that denies non-TLS requests and
// lets each archive writer (CloudTrail, Config, VPC flow log delivery: the
// registered controls that implement control.ArchiveWriter) write only
// under its own prefix.
//
// A bucket harden creates (tagged managed-by=harden) also gets SSE-KMS
// with the key and versioning. An existing bucket harden did not create is
// adopted: harden merges its own policy statements by Sid and keeps every
// other statement, adds its lifecycle rule for AWSLogs/ only and keeps the
// bucket's rules, and leaves its default encryption and versioning as they
// are (reported in the finding's note; CloudTrail still encrypts its log
// files with the key).
//
// Rollback never deletes logs and never schedules the key's deletion: the
// key and its alias are kept, and the bucket is deleted only when it is
// the one harden created and holds no object.
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

// LogArchiveSettings are the log archive's settings (harden.yaml
// controls.log-archive; --log-bucket and --log-retention-days override them).
type LogArchiveSettings struct {
	Bucket        string `yaml:"bucket" doc:"the log-archive bucket; empty means harden-logs-<account-id>-<home-region> (--log-bucket)"`
	RetentionDays int    `yaml:"retention_days" doc:"days log objects under AWSLogs/ and their old versions are kept (--log-retention-days)"`
}

// Validate checks the bucket name against S3's naming rules and the
// retention.
func (s *LogArchiveSettings) Validate() error {
	if s.Bucket != "" {
		if err := validate.BucketName(s.Bucket); err != nil {
			return control.FieldErrorf("bucket", "%v", err)
		}
	}
	if s.RetentionDays < 1 {
		return control.FieldErrorf("retention_days", "must be at least 1, got %d", s.RetentionDays)
	}
	return nil
}

// NewSettings returns the log archive's default settings.
func (LogArchive) NewSettings() control.ControlSettings {
	return &LogArchiveSettings{RetentionDays: DefaultLogRetentionDays}
}

// logArchiveSettings are the run's log-archive settings: other controls
// that write to the archive read them too.
func logArchiveSettings(env *control.Env) *LogArchiveSettings {
	return control.SettingsOf(env, logArchiveID, LogArchive{}.NewSettings().(*LogArchiveSettings))
}

const logArchiveID = "log-archive"

// LogBucketName is the log-archive bucket's name for a target.
func LogBucketName(env *control.Env, t control.Target) string {
	if b := logArchiveSettings(env).Bucket; b != "" {
		return b
	}
	return fmt.Sprintf("harden-logs-%s-%s", t.AccountID, t.HomeRegion)
}

// TrailARN is the ARN of harden's trail, known before it exists so that the
// bucket and key policies can name it.
func TrailARN(t control.Target) string {
	return fmt.Sprintf("arn:aws:cloudtrail:%s:%s:trail/%s", t.HomeRegion, t.AccountID, TrailName)
}

func retentionDays(env *control.Env) int32 {
	if d := logArchiveSettings(env).RetentionDays; d > 0 {
		return int32(d)
	}
	return DefaultLogRetentionDays
}

func (LogArchive) Info() control.Info {
	return control.Info{
		ID:    "log-archive",
		Title: "Log archive bucket and KMS key",
		Scope: control.Account,
		Desired: "an S3 bucket with Block Public Access, TLS-only access, writes only from this account's CloudTrail, Config and VPC flow log delivery, " +
			"and a retention rule that DELETES log objects under AWSLogs/ older than the retention (destructive); a bucket harden creates " +
			"also gets SSE-KMS (customer managed key, rotation on) and versioning, an existing bucket is adopted keeping its other policy " +
			"statements, lifecycle rules, encryption and versioning; rollback keeps logs and the key",
		SecurityHub: []string{"CloudTrail.2", "KMS.4", "S3.5"},
		CIS:         []string{"3.5", "3.6"},
		Destructive: true,
		ReadActions: []string{"kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListKeys", "kms:ListResourceTags",
			"s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketTagging", "s3:GetBucketPublicAccessBlock", "s3:GetEncryptionConfiguration",
			"s3:GetBucketVersioning", "s3:GetLifecycleConfiguration", "s3:GetBucketPolicy"},
		WriteActions: []string{"kms:CreateKey", "kms:CreateAlias", "kms:EnableKeyRotation", "kms:PutKeyPolicy", "kms:TagResource",
			"s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucketPublicAccessBlock", "s3:PutEncryptionConfiguration",
			"s3:PutBucketVersioning", "s3:PutLifecycleConfiguration", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:TagResource"},
		Cost: control.Cost{UsageBased: true, Drivers: "S3 storage and requests of the log objects (kept for the retention), and the KMS key (1 USD a month plus requests)"},
	}
}

// archiveState is what the log archive looks like now.
type archiveState struct {
	// KeyARN is the key behind harden's alias, or an orphan harden key
	// (KeyOrphan) that apply adopts by creating the alias; "" when
	// neither exists.
	KeyARN      string
	KeyOrphan   bool
	KeyRotation bool
	KeyPolicy   string
	Bucket      string
	Exists      bool // the bucket
	// Owned is true for a bucket harden created (it carries
	// managed-by=harden) or is about to create; false for a bucket harden
	// adopts.
	Owned      bool
	PAB        pabState
	Encryption encryptionState
	Versioning string // "", "Enabled" or "Suspended"
	Lifecycle  []lifecycleRule
	HasRules   bool // a lifecycle configuration exists
	Policy     string
}

type encryptionState struct {
	Algorithm string `json:"algorithm"`
	KeyID     string `json:"key_id,omitempty"`
	BucketKey bool   `json:"bucket_key"`
}

func (c LogArchive) read(ctx context.Context, env *control.Env, t control.Target) (archiveState, error) {
	st := archiveState{Bucket: LogBucketName(env, t)}
	if err := validate.BucketName(st.Bucket); err != nil {
		return st, fmt.Errorf("log-archive: %w: choose another with --log-bucket", err)
	}
	// The key's fields and the bucket's are disjoint: both read at once.
	err := parallel.Do(ctx,
		func(ctx context.Context) error { return c.readKey(ctx, env, t, &st) },
		func(ctx context.Context) error {
			if err := readBucket(ctx, env.AWS.S3(t.HomeRegion), &st); err != nil {
				return fmt.Errorf("log-archive: %w", err)
			}
			return nil
		})
	return st, err
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
	switch {
	case s.KeyARN == "":
		add("KMS key "+LogArchiveKeyAlias, "none", "customer managed, rotation on")
	case s.KeyOrphan:
		add("KMS key "+LogArchiveKeyAlias, "none", "adopt harden's key "+keyID(s.KeyARN)+" left without its alias by an interrupted apply")
	}
	if s.KeyARN != "" {
		if !s.KeyRotation {
			add("KMS key rotation", "false", "true")
		}
		if !samePolicy(s.KeyPolicy, keyPolicy(t)) {
			add("KMS key policy", "other", "this account's "+archiveWriterNames()+" only")
		}
	}
	if !s.Exists {
		add("bucket "+s.Bucket, "none", "versioned, SSE-KMS, public access blocked, TLS only, "+strconv.Itoa(int(days))+"-day retention")
		return out
	}
	if len(s.PAB.changes()) > 0 {
		add("bucket Block Public Access", "not all on", "all on")
	}
	if s.Owned && !s.wantEncryption() {
		add("bucket default encryption", orNone(s.Encryption.Algorithm), "aws:kms with "+LogArchiveKeyAlias+", bucket key on")
	}
	if s.Owned && s.Versioning != string(s3types.BucketVersioningStatusEnabled) {
		add("bucket versioning", versioningName(s.Versioning), "Enabled")
	}
	if !hasRetention(s.Lifecycle, days) {
		add("bucket retention", retentionNow(s.Lifecycle), strconv.Itoa(int(days))+" days for objects under "+logPrefix+" (other rules kept)")
	}
	if merged, err := mergedBucketPolicy(s.Policy, s.Bucket, t); err != nil || !samePolicy(s.Policy, merged) {
		cur := "without harden's statements"
		if s.Policy == "" {
			cur = "none"
		}
		add("bucket policy", cur, "TLS only; "+archiveWriterNames()+" write under their own prefixes (other statements kept)")
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func versioningName(status string) string {
	if status == "" {
		return "never enabled"
	}
	return status
}

// adoptionNote says what harden leaves as it is in a bucket it did not
// create.
func (s archiveState) adoptionNote() string {
	note := fmt.Sprintf("bucket %s was not created by harden: it keeps its other policy statements and lifecycle rules, "+
		"its default encryption (%s) and its versioning (%s)", s.Bucket, orNone(s.Encryption.Algorithm), versioningName(s.Versioning))
	if s.Encryption.Algorithm != string(s3types.ServerSideEncryptionAwsKms) {
		note += "; CloudTrail still encrypts its log files with " + LogArchiveKeyAlias + ", AWS Config deliveries get the bucket's default encryption"
	}
	return note
}

func (c LogArchive) Check(ctx context.Context, env *control.Env, t control.Target) (control.Finding, error) {
	st, err := c.read(ctx, env, t)
	if err != nil {
		return control.Finding{}, err
	}
	return st.finding(env, t), nil
}

func (s archiveState) finding(env *control.Env, t control.Target) control.Finding {
	ch := s.changes(env, t)
	adopted := s.Exists && !s.Owned
	if len(ch) == 0 {
		f := control.Finding{Compliant: true, Note: "bucket " + s.Bucket}
		if adopted {
			f.Note = s.adoptionNote()
		}
		return f
	}
	var loss []control.Loss
	if l, ok := s.retentionLoss(env); ok {
		loss = []control.Loss{l}
	}
	if adopted {
		// The changes list each change; the note says what stays.
		return control.Finding{Action: control.ActionAdopt, Changes: ch, Destroys: loss,
			Note: fmt.Sprintf("adopt existing bucket %s: %s; rollback keeps the key and any logs", s.Bucket, s.adoptionNote())}
	}
	f := control.Finding{Action: control.ActionUpdate, Changes: ch, Destroys: loss, Note: "rollback keeps the key and any logs"}
	if !s.Exists || s.KeyARN == "" {
		f.Action = control.ActionCreate
	}
	return f
}

// retentionLoss is what the retention rule deletes when apply puts it on
// a bucket that exists: the log objects older than the retention that
// harden's rule as it is (if any) keeps. A new bucket holds nothing yet,
// and a longer retention deletes nothing.
func (s archiveState) retentionLoss(env *control.Env) (control.Loss, bool) {
	days := retentionDays(env)
	if !s.Exists || hasRetention(s.Lifecycle, days) {
		return control.Loss{}, false
	}
	if now := retentionDaysNow(s.Lifecycle); now > 0 && days >= now {
		return control.Loss{}, false
	}
	return control.Loss{Verb: "delete old logs in", Kind: "bucket", Resource: "s3://" + s.Bucket + "/" + logPrefix,
		What: fmt.Sprintf("S3 deletes the log objects under %s in bucket %s older than %d days, and their old versions: "+
			"rollback removes the rule but cannot bring deleted logs back", logPrefix, s.Bucket, days)}, true
}

func (c LogArchive) Apply(ctx context.Context, env *control.Env, t control.Target, j control.Journal) ([]control.Change, error) {
	name := LogBucketName(env, t)
	if err := validate.BucketName(name); err != nil {
		return nil, fmt.Errorf("log-archive: %w: choose another with --log-bucket", err)
	}
	// The key branch and the bucket branch each read their part and write
	// it at once with the other: no write of one needs the other's reads,
	// and only the bucket's default encryption needs the key (it is the
	// bucket's last write and waits for the key branch). Each branch
	// writes only what its own read found missing.
	keySt, bucketSt := archiveState{}, archiveState{Bucket: name}
	key := &keyOutcome{done: make(chan struct{})}
	err := parallel.All(ctx,
		func(ctx context.Context) error {
			defer close(key.done)
			if key.err = c.readKey(ctx, env, t, &keySt); key.err != nil {
				return key.err
			}
			key.arn, key.err = c.applyKey(ctx, env, t, j, keySt)
			return key.err
		},
		func(ctx context.Context) error {
			if err := readBucket(ctx, env.AWS.S3(t.HomeRegion), &bucketSt); err != nil {
				return fmt.Errorf("log-archive: %w", err)
			}
			bucket := bucketSt
			return c.applyBucket(ctx, env, t, j, &bucket, key)
		})
	if err != nil {
		return nil, err // a failed read fails its branch, so both reads are in when err is nil
	}
	st := bucketSt
	st.KeyARN, st.KeyOrphan, st.KeyRotation, st.KeyPolicy = keySt.KeyARN, keySt.KeyOrphan, keySt.KeyRotation, keySt.KeyPolicy
	return st.changes(env, t), nil
}

// Steps lists the writes Apply makes, each with its undo.
func (c LogArchive) Steps() control.Steps {
	return control.Steps{
		stepCreateKey:           c.undoCreateKey,
		stepCreateAlias:         undoKeptKeySetting("alias " + LogArchiveKeyAlias + " in %s"),
		stepEnableKeyRotation:   undoKeptKeySetting("rotation of KMS key " + LogArchiveKeyAlias + " in %s"),
		stepPutKeyPolicy:        c.undoPutKeyPolicy,
		stepCreateBucket:        c.undoCreateBucket,
		stepPutBucketTagging:    undoBucketTagging,
		stepPutBucketPAB:        undoBucketPAB,
		stepPutBucketEncryption: c.undoBucketEncryption,
		stepPutBucketVersioning: undoBucketVersioning,
		stepPutBucketLifecycle:  c.undoBucketLifecycle,
		stepPutBucketPolicy:     c.undoBucketPolicy,
	}
}
