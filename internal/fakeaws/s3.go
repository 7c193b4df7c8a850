package fakeaws

import (
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// s3xmlns is the namespace of S3's XML documents.
const s3xmlns = "http://s3.amazonaws.com/doc/2006-03-01/"

// s3State is the account's S3 buckets. Bucket names are global: the map is
// keyed by name and each bucket records its Region.
type s3State struct {
	Buckets map[string]*s3Bucket `json:",omitempty"`
}

// s3Bucket is one bucket with the configuration a new bucket gets since
// 2023: SSE-S3 default encryption, all four Block Public Access settings on,
// versioning never enabled, no policy, lifecycle or tags.
type s3Bucket struct {
	Name         string
	Region       string
	CreationDate string
	// Policy is the bucket policy as it was put; "" when there is none.
	Policy            string `json:",omitempty"`
	Encryption        s3EncryptionRule
	PublicAccessBlock *bucketPublicAccessBlock `json:",omitempty"`
	// Versioning is "" (never enabled), "Enabled" or "Suspended".
	Versioning string               `json:",omitempty"`
	MfaDelete  string               `json:",omitempty"`
	Lifecycle  []lifecycleRule      `json:",omitempty"`
	Tags       []s3Tag              `json:",omitempty"`
	Objects    map[string]*s3Object `json:",omitempty"`
	// Versions are the noncurrent object versions and the delete markers
	// of a bucket whose versioning was ever enabled, oldest first; the
	// current version of a key is in Objects, unless a delete marker is
	// the key's latest entry here.
	Versions []*s3Object `json:",omitempty"`
}

type s3Object struct {
	Key          string
	Size         int64
	ETag         string
	LastModified string
	// VersionID is "" in a bucket whose versioning was never enabled,
	// "null" for a version written while versioning was suspended.
	VersionID    string `json:",omitempty"`
	DeleteMarker bool   `json:",omitempty"`
}

type s3Tag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

type s3EncryptionRule struct {
	SSEAlgorithm     string `xml:"ApplyServerSideEncryptionByDefault>SSEAlgorithm"`
	KMSMasterKeyID   string `xml:"ApplyServerSideEncryptionByDefault>KMSMasterKeyID,omitempty" json:",omitempty"`
	BucketKeyEnabled bool   `xml:"BucketKeyEnabled"`
}

type bucketPublicAccessBlock struct {
	XMLName               xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ PublicAccessBlockConfiguration" json:"-"`
	BlockPublicAcls       bool     `xml:"BlockPublicAcls"`
	IgnorePublicAcls      bool     `xml:"IgnorePublicAcls"`
	BlockPublicPolicy     bool     `xml:"BlockPublicPolicy"`
	RestrictPublicBuckets bool     `xml:"RestrictPublicBuckets"`
}

type lifecycleRule struct {
	ID                             string                 `xml:"ID,omitempty" json:",omitempty"`
	Prefix                         *string                `xml:"Prefix,omitempty" json:",omitempty"`
	Filter                         *lifecycleFilter       `xml:"Filter,omitempty" json:",omitempty"`
	Status                         string                 `xml:"Status"`
	Expiration                     *lifecycleExpiration   `xml:"Expiration,omitempty" json:",omitempty"`
	Transitions                    []lifecycleTransition  `xml:"Transition,omitempty" json:",omitempty"`
	NoncurrentVersionTransitions   []noncurrentTransition `xml:"NoncurrentVersionTransition,omitempty" json:",omitempty"`
	NoncurrentVersionExpiration    *noncurrentExpiration  `xml:"NoncurrentVersionExpiration,omitempty" json:",omitempty"`
	AbortIncompleteMultipartUpload *abortIncompleteUpload `xml:"AbortIncompleteMultipartUpload,omitempty" json:",omitempty"`
}

type lifecycleFilter struct {
	Prefix                *string       `xml:"Prefix,omitempty" json:",omitempty"`
	Tag                   *s3Tag        `xml:"Tag,omitempty" json:",omitempty"`
	ObjectSizeGreaterThan *int64        `xml:"ObjectSizeGreaterThan,omitempty" json:",omitempty"`
	ObjectSizeLessThan    *int64        `xml:"ObjectSizeLessThan,omitempty" json:",omitempty"`
	And                   *lifecycleAnd `xml:"And,omitempty" json:",omitempty"`
}

type lifecycleAnd struct {
	Prefix                *string `xml:"Prefix,omitempty" json:",omitempty"`
	ObjectSizeGreaterThan *int64  `xml:"ObjectSizeGreaterThan,omitempty" json:",omitempty"`
	ObjectSizeLessThan    *int64  `xml:"ObjectSizeLessThan,omitempty" json:",omitempty"`
	Tags                  []s3Tag `xml:"Tag,omitempty" json:",omitempty"`
}

type lifecycleExpiration struct {
	Date                      string `xml:"Date,omitempty" json:",omitempty"`
	Days                      *int32 `xml:"Days,omitempty" json:",omitempty"`
	ExpiredObjectDeleteMarker *bool  `xml:"ExpiredObjectDeleteMarker,omitempty" json:",omitempty"`
}

type lifecycleTransition struct {
	Date         string `xml:"Date,omitempty" json:",omitempty"`
	Days         *int32 `xml:"Days,omitempty" json:",omitempty"`
	StorageClass string `xml:"StorageClass"`
}

type noncurrentTransition struct {
	NoncurrentDays          *int32 `xml:"NoncurrentDays,omitempty" json:",omitempty"`
	NewerNoncurrentVersions *int32 `xml:"NewerNoncurrentVersions,omitempty" json:",omitempty"`
	StorageClass            string `xml:"StorageClass"`
}

type noncurrentExpiration struct {
	NoncurrentDays          *int32 `xml:"NoncurrentDays,omitempty" json:",omitempty"`
	NewerNoncurrentVersions *int32 `xml:"NewerNoncurrentVersions,omitempty" json:",omitempty"`
}

type abortIncompleteUpload struct {
	DaysAfterInitiation *int32 `xml:"DaysAfterInitiation,omitempty" json:",omitempty"`
}

func s3Service() *service {
	get, put, del, head := http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodHead
	return &service{
		name:          "s3",
		signingName:   "s3",
		protocol:      protoRESTXML,
		xmlns:         s3xmlns,
		throttleErr:   APIError{Status: 503, Code: "SlowDown", Message: "Please reduce your request rate."},
		deniedErr:     APIError{Status: 403, Code: "AccessDenied", Message: "Access Denied"},
		notEnabledErr: APIError{Status: 403, Code: "InvalidAccessKeyId", Message: "The AWS Access Key Id you provided does not exist in our records."},
		ops: []*op{
			{name: "ListBuckets", method: get, path: "/", handle: s3ListBuckets},
			{name: "CreateBucket", write: true, method: put, path: "/{Bucket}", handle: s3CreateBucket},
			{name: "HeadBucket", method: head, path: "/{Bucket}", handle: s3HeadBucket},
			{name: "DeleteBucket", write: true, method: del, path: "/{Bucket}", handle: s3DeleteBucket},
			{name: "GetBucketLocation", method: get, path: "/{Bucket}?location", handle: s3GetBucketLocation},
			{name: "GetBucketPolicy", method: get, path: "/{Bucket}?policy", handle: s3GetBucketPolicy},
			{name: "PutBucketPolicy", write: true, method: put, path: "/{Bucket}?policy", handle: s3PutBucketPolicy},
			{name: "DeleteBucketPolicy", write: true, method: del, path: "/{Bucket}?policy", handle: s3DeleteBucketPolicy},
			{name: "GetBucketEncryption", method: get, path: "/{Bucket}?encryption", handle: s3GetBucketEncryption},
			{name: "PutBucketEncryption", write: true, method: put, path: "/{Bucket}?encryption", handle: s3PutBucketEncryption},
			{name: "DeleteBucketEncryption", write: true, method: del, path: "/{Bucket}?encryption", handle: s3DeleteBucketEncryption},
			{name: "GetPublicAccessBlock", method: get, path: "/{Bucket}?publicAccessBlock", handle: s3GetPublicAccessBlock},
			{name: "PutPublicAccessBlock", write: true, method: put, path: "/{Bucket}?publicAccessBlock", handle: s3PutPublicAccessBlock},
			{name: "DeletePublicAccessBlock", write: true, method: del, path: "/{Bucket}?publicAccessBlock", handle: s3DeletePublicAccessBlock},
			{name: "GetBucketVersioning", method: get, path: "/{Bucket}?versioning", handle: s3GetBucketVersioning},
			{name: "PutBucketVersioning", write: true, method: put, path: "/{Bucket}?versioning", handle: s3PutBucketVersioning},
			{name: "GetBucketLifecycleConfiguration", method: get, path: "/{Bucket}?lifecycle", handle: s3GetBucketLifecycle},
			{name: "PutBucketLifecycleConfiguration", write: true, method: put, path: "/{Bucket}?lifecycle", handle: s3PutBucketLifecycle},
			{name: "DeleteBucketLifecycle", write: true, method: del, path: "/{Bucket}?lifecycle", handle: s3DeleteBucketLifecycle},
			{name: "GetBucketTagging", method: get, path: "/{Bucket}?tagging", handle: s3GetBucketTagging},
			{name: "PutBucketTagging", write: true, method: put, path: "/{Bucket}?tagging", handle: s3PutBucketTagging},
			{name: "DeleteBucketTagging", write: true, method: del, path: "/{Bucket}?tagging", handle: s3DeleteBucketTagging},
			{name: "ListObjectsV2", method: get, path: "/{Bucket}?list-type", handle: s3ListObjectsV2},
			{name: "ListObjectVersions", method: get, path: "/{Bucket}?versions", handle: s3ListObjectVersions},
			{name: "PutObject", write: true, method: put, path: "/{Bucket}/{Key+}", handle: s3PutObject},
			{name: "HeadObject", method: head, path: "/{Bucket}/{Key+}", handle: s3HeadObject},
			{name: "DeleteObject", write: true, method: del, path: "/{Bucket}/{Key+}", handle: s3DeleteObject},
		},
	}
}

func s3Err(status int, code, msg string) *APIError {
	return &APIError{Status: status, Code: code, Message: msg}
}

func noSuchBucket() *APIError {
	return s3Err(404, "NoSuchBucket", "The specified bucket does not exist")
}

var (
	bucketNamePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	ipv4Pattern       = regexp.MustCompile(`^\d+\.\d+\.\d+\.\d+$`)
)

// validBucketName applies the general purpose bucket naming rules.
func validBucketName(name string) bool {
	if !bucketNamePattern.MatchString(name) || strings.Contains(name, "..") || ipv4Pattern.MatchString(name) {
		return false
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(name, p) {
			return false
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(name, s) {
			return false
		}
	}
	return true
}

// bucket returns the call's bucket, checking it exists and is addressed in
// its own Region. A request signed for another Region gets a 301
// PermanentRedirect, as S3's regional endpoints answer.
func (c *call) bucket() (*s3Bucket, error) {
	b, ok := c.acct.S3.Buckets[c.path["Bucket"]]
	if !ok {
		if c.op.method == http.MethodHead {
			return nil, s3Err(404, "NotFound", "Not Found")
		}
		return nil, noSuchBucket()
	}
	if b.Region != c.region {
		return nil, s3Err(301, "PermanentRedirect",
			fmt.Sprintf("The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint. The bucket is in this region: %s.", b.Region))
	}
	return b, nil
}

func s3now() string { return time.Now().UTC().Format("2006-01-02T15:04:05.000Z") }

// canonicalUserID is the account's stable S3 canonical user id.
func canonicalUserID(acct string) string {
	h := sha256.Sum256([]byte("fakeaws-canonical-" + acct))
	return hex.EncodeToString(h[:])
}

func s3ListBuckets(c *call) (any, error) {
	type bucketEntry struct {
		Name         string `xml:"Name"`
		CreationDate string `xml:"CreationDate"`
		BucketRegion string `xml:"BucketRegion"`
	}
	out := struct {
		XMLName xml.Name      `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListAllMyBucketsResult"`
		OwnerID string        `xml:"Owner>ID"`
		Buckets []bucketEntry `xml:"Buckets>Bucket"`
		Prefix  string        `xml:"Prefix,omitempty"`
	}{OwnerID: canonicalUserID(c.acct.ID), Prefix: c.query.Get("prefix")}
	region := c.query.Get("bucket-region")
	for _, name := range sortedKeys(c.acct.S3.Buckets) {
		b := c.acct.S3.Buckets[name]
		if (region != "" && b.Region != region) || !strings.HasPrefix(name, out.Prefix) {
			continue
		}
		out.Buckets = append(out.Buckets, bucketEntry{Name: b.Name, CreationDate: b.CreationDate, BucketRegion: b.Region})
	}
	return out, nil
}

func s3CreateBucket(c *call) (any, error) {
	name := c.path["Bucket"]
	if !validBucketName(name) {
		return nil, s3Err(400, "InvalidBucketName", "The specified bucket is not valid.")
	}
	var cfg struct {
		LocationConstraint string  `xml:"LocationConstraint"`
		Tags               []s3Tag `xml:"Tags>Tag"`
	}
	if len(strings.TrimSpace(string(c.body))) > 0 {
		if err := c.decodeXML(&cfg); err != nil {
			return nil, err
		}
	}
	loc := cfg.LocationConstraint
	switch {
	case loc == "us-east-1":
		return nil, s3Err(400, "InvalidLocationConstraint", "The specified location-constraint is not valid")
	case loc != "" && !c.acct.knownRegion(loc):
		return nil, s3Err(400, "InvalidLocationConstraint", "The specified location-constraint is not valid")
	case loc == "" && c.region != "us-east-1":
		return nil, s3Err(400, "IllegalLocationConstraintException",
			"The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.")
	case loc != "" && loc != c.region:
		return nil, s3Err(400, "IllegalLocationConstraintException",
			fmt.Sprintf("The %s location constraint is incompatible for the region specific endpoint this request was sent to.", loc))
	}
	if existing, ok := c.acct.S3.Buckets[name]; ok {
		// For legacy compatibility, us-east-1 answers 200 OK when you
		// re-create a bucket you already own there.
		if existing.Region == "us-east-1" && c.region == "us-east-1" {
			return nil, nil
		}
		return nil, s3Err(409, "BucketAlreadyOwnedByYou",
			"Your previous request to create the named bucket succeeded and you already own it.")
	}
	if err := validateS3Tags(cfg.Tags); err != nil {
		return nil, err
	}
	c.acct.S3.Buckets[name] = &s3Bucket{
		Name:         name,
		Region:       c.region,
		CreationDate: s3now(),
		Encryption:   s3EncryptionRule{SSEAlgorithm: "AES256"},
		PublicAccessBlock: &bucketPublicAccessBlock{
			BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true,
		},
		Tags: cfg.Tags,
	}
	return nil, nil
}

// knownRegion reports whether a region exists in the fake.
func (a *account) knownRegion(r string) bool {
	_, ok := a.OptIn[r]
	return ok
}

func s3HeadBucket(c *call) (any, error) {
	if _, err := c.bucket(); err != nil {
		return nil, err
	}
	return nil, nil
}

func s3DeleteBucket(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	if len(b.Objects) > 0 || len(b.Versions) > 0 {
		return nil, s3Err(409, "BucketNotEmpty", "The bucket you tried to delete is not empty")
	}
	delete(c.acct.S3.Buckets, b.Name)
	return restStatus(http.StatusNoContent), nil
}

func s3GetBucketLocation(c *call) (any, error) {
	// GetBucketLocation answers for a bucket in any Region.
	b, ok := c.acct.S3.Buckets[c.path["Bucket"]]
	if !ok {
		return nil, noSuchBucket()
	}
	loc := b.Region
	if loc == "us-east-1" {
		loc = "" // buckets in us-east-1 have a null location constraint
	}
	return struct {
		XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ LocationConstraint"`
		Value   string   `xml:",chardata"`
	}{Value: loc}, nil
}

func s3GetBucketPolicy(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	if b.Policy == "" {
		return nil, s3Err(404, "NoSuchBucketPolicy", "The bucket policy does not exist")
	}
	return rawBody{contentType: "application/json", body: []byte(b.Policy)}, nil
}

func s3PutBucketPolicy(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	text := string(c.body)
	if len(text) > 20*1024 {
		return nil, s3Err(400, "PolicyTooLarge", "Policy exceeds the maximum allowed document size.")
	}
	doc, perr := parsePolicy(text, policyParseOptions{requirePrincipal: true, requireResource: true})
	if perr != nil {
		return nil, s3Err(400, "MalformedPolicy", upperFirst(perr.Error()))
	}
	bucketARN := "arn:aws:s3:::" + b.Name
	for _, s := range doc.Statements {
		for _, a := range append(append([]string{}, s.Action...), s.NotAction...) {
			if a != "*" && !strings.HasPrefix(strings.ToLower(a), "s3:") {
				return nil, s3Err(400, "MalformedPolicy", "Policy has invalid action")
			}
		}
		for _, r := range append(append([]string{}, s.Resource...), s.NotResource...) {
			if r != bucketARN && !strings.HasPrefix(r, bucketARN+"/") {
				return nil, s3Err(400, "MalformedPolicy", "Policy has invalid resource")
			}
		}
	}
	if doc.isPublic() && c.blocksPublicPolicy(b) {
		return nil, s3Err(403, "AccessDenied",
			fmt.Sprintf("User: arn:aws:iam::%s:user/fakeaws is not authorized to perform: s3:PutBucketPolicy on resource: \"%s\" because public policies are blocked by the BlockPublicPolicy block public access setting.", c.acct.ID, bucketARN))
	}
	b.Policy = text
	return nil, nil
}

// blocksPublicPolicy reports whether the bucket's or the account's Block
// Public Access settings reject public bucket policies.
func (c *call) blocksPublicPolicy(b *s3Bucket) bool {
	if b.PublicAccessBlock != nil && b.PublicAccessBlock.BlockPublicPolicy {
		return true
	}
	acct := c.acct.S3Control.PublicAccessBlock
	return acct != nil && acct.BlockPublicPolicy
}

func s3DeleteBucketPolicy(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	b.Policy = ""
	return restStatus(http.StatusNoContent), nil
}

type sseConfiguration struct {
	XMLName xml.Name           `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ServerSideEncryptionConfiguration"`
	Rules   []s3EncryptionRule `xml:"Rule"`
}

func s3GetBucketEncryption(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	return sseConfiguration{Rules: []s3EncryptionRule{b.Encryption}}, nil
}

func s3PutBucketEncryption(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	var in struct {
		Rules []s3EncryptionRule `xml:"Rule"`
	}
	if err := c.decodeXML(&in); err != nil {
		return nil, err
	}
	if len(in.Rules) != 1 {
		return nil, s3Err(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	r := in.Rules[0]
	switch r.SSEAlgorithm {
	case "AES256":
		if r.KMSMasterKeyID != "" {
			return nil, s3Err(400, "InvalidArgument", "a KMSMasterKeyID is not applicable if the default sse algorithm is not aws:kms or aws:kms:dsse")
		}
	case "aws:kms", "aws:kms:dsse":
	default:
		return nil, s3Err(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	b.Encryption = r
	return nil, nil
}

// s3DeleteBucketEncryption resets the bucket to SSE-S3: since January 2023
// every bucket has default encryption.
func s3DeleteBucketEncryption(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	b.Encryption = s3EncryptionRule{SSEAlgorithm: "AES256"}
	return restStatus(http.StatusNoContent), nil
}

func s3GetPublicAccessBlock(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	if b.PublicAccessBlock == nil {
		return nil, s3Err(404, "NoSuchPublicAccessBlockConfiguration", "The public access block configuration was not found")
	}
	return b.PublicAccessBlock, nil
}

func s3PutPublicAccessBlock(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	var in struct {
		BlockPublicAcls       bool `xml:"BlockPublicAcls"`
		IgnorePublicAcls      bool `xml:"IgnorePublicAcls"`
		BlockPublicPolicy     bool `xml:"BlockPublicPolicy"`
		RestrictPublicBuckets bool `xml:"RestrictPublicBuckets"`
	}
	if err := c.decodeXML(&in); err != nil {
		return nil, err
	}
	b.PublicAccessBlock = &bucketPublicAccessBlock{
		BlockPublicAcls: in.BlockPublicAcls, IgnorePublicAcls: in.IgnorePublicAcls,
		BlockPublicPolicy: in.BlockPublicPolicy, RestrictPublicBuckets: in.RestrictPublicBuckets,
	}
	return nil, nil
}

func s3DeletePublicAccessBlock(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	b.PublicAccessBlock = nil
	return restStatus(http.StatusNoContent), nil
}

func s3GetBucketVersioning(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	return struct {
		XMLName   xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ VersioningConfiguration"`
		Status    string   `xml:"Status,omitempty"`
		MfaDelete string   `xml:"MfaDelete,omitempty"`
	}{Status: b.Versioning, MfaDelete: b.MfaDelete}, nil
}

func s3PutBucketVersioning(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	var in struct {
		Status    string `xml:"Status"`
		MfaDelete string `xml:"MfaDelete"`
	}
	if err := c.decodeXML(&in); err != nil {
		return nil, err
	}
	if in.Status != "Enabled" && in.Status != "Suspended" {
		return nil, s3Err(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	switch in.MfaDelete {
	case "":
	case "Enabled", "Disabled":
		if c.header.Get("X-Amz-Mfa") == "" {
			return nil, s3Err(400, "InvalidRequest", "DevPay and MFA Delete are only supported through the x-amz-mfa header")
		}
		b.MfaDelete = in.MfaDelete
	default:
		return nil, s3Err(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	}
	b.Versioning = in.Status
	return nil, nil
}

type lifecycleConfiguration struct {
	XMLName xml.Name        `xml:"http://s3.amazonaws.com/doc/2006-03-01/ LifecycleConfiguration"`
	Rules   []lifecycleRule `xml:"Rule"`
}

func s3GetBucketLifecycle(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	if len(b.Lifecycle) == 0 {
		return nil, s3Err(404, "NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist")
	}
	return lifecycleConfiguration{Rules: b.Lifecycle}, nil
}

func s3PutBucketLifecycle(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	var in struct {
		Rules []lifecycleRule `xml:"Rule"`
	}
	if err := c.decodeXML(&in); err != nil {
		return nil, err
	}
	malformed := s3Err(400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema")
	if len(in.Rules) == 0 || len(in.Rules) > 1000 {
		return nil, malformed
	}
	if lifecycleMixesVersions(in.Rules) {
		return nil, s3Err(400, "InvalidRequest", "Base level prefix cannot be used in Lifecycle V2, prefixes are only supported in the Filter.")
	}
	ids := map[string]bool{}
	for i := range in.Rules {
		r := &in.Rules[i]
		if r.Status != "Enabled" && r.Status != "Disabled" {
			return nil, malformed
		}
		if len(r.ID) > 255 {
			return nil, s3Err(400, "InvalidArgument", "ID length should not exceed allowed limit of 255")
		}
		if r.ID != "" {
			if ids[r.ID] {
				return nil, s3Err(400, "InvalidArgument", "Rule ID must be unique. Found same ID for more than one rule")
			}
			ids[r.ID] = true
		}
		if r.Prefix != nil && r.Filter != nil {
			return nil, malformed
		}
		if r.Expiration == nil && len(r.Transitions) == 0 && len(r.NoncurrentVersionTransitions) == 0 &&
			r.NoncurrentVersionExpiration == nil && r.AbortIncompleteMultipartUpload == nil {
			return nil, s3Err(400, "InvalidRequest", "At least one action needs to be specified in a rule")
		}
		if e := r.Expiration; e != nil {
			if e.Days != nil && *e.Days <= 0 {
				return nil, s3Err(400, "InvalidArgument", "'Days' for Expiration action must be a positive integer")
			}
		}
		if r.ID == "" {
			r.ID = resourceID("rule", b.Name, strconv.Itoa(i))[5:]
		}
	}
	b.Lifecycle = in.Rules
	return nil, nil
}

// lifecycleMixesVersions reports a configuration that mixes rules with a
// base-level Prefix (lifecycle V1) and rules with a Filter (V2), which S3
// refuses.
func lifecycleMixesVersions(rules []lifecycleRule) bool {
	var v1, v2 bool
	for _, r := range rules {
		v1 = v1 || r.Prefix != nil
		v2 = v2 || r.Filter != nil
	}
	return v1 && v2
}

func s3DeleteBucketLifecycle(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	b.Lifecycle = nil
	return restStatus(http.StatusNoContent), nil
}

func s3GetBucketTagging(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	if len(b.Tags) == 0 {
		return nil, s3Err(404, "NoSuchTagSet", "The TagSet does not exist")
	}
	return struct {
		XMLName xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ Tagging"`
		Tags    []s3Tag  `xml:"TagSet>Tag"`
	}{Tags: b.Tags}, nil
}

func validateS3Tags(tags []s3Tag) error {
	if len(tags) > 50 {
		return s3Err(400, "InvalidTag", "Bucket tag count cannot be greater than 50")
	}
	seen := map[string]bool{}
	for _, t := range tags {
		switch {
		case t.Key == "" || len(t.Key) > 128:
			return s3Err(400, "InvalidTag", "The TagKey you have provided is invalid")
		case len(t.Value) > 256:
			return s3Err(400, "InvalidTag", "The TagValue you have provided is invalid")
		case strings.HasPrefix(strings.ToLower(t.Key), "aws:"):
			return s3Err(400, "InvalidTag", "System tags cannot be added/updated by requester")
		case seen[t.Key]:
			return s3Err(400, "InvalidTag", "Cannot provide multiple Tags with the same key")
		}
		seen[t.Key] = true
	}
	return nil
}

func s3PutBucketTagging(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	var in struct {
		Tags []s3Tag `xml:"TagSet>Tag"`
	}
	if err := c.decodeXML(&in); err != nil {
		return nil, err
	}
	if err := validateS3Tags(in.Tags); err != nil {
		return nil, err
	}
	b.Tags = in.Tags
	return restStatus(http.StatusNoContent), nil
}

func s3DeleteBucketTagging(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	b.Tags = nil
	return restStatus(http.StatusNoContent), nil
}

func s3ListObjectsV2(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	if c.query.Get("list-type") != "2" {
		return nil, s3Err(400, "InvalidArgument", "Invalid List Type specified")
	}
	type content struct {
		Key          string `xml:"Key"`
		LastModified string `xml:"LastModified"`
		ETag         string `xml:"ETag"`
		Size         int64  `xml:"Size"`
		StorageClass string `xml:"StorageClass"`
	}
	type commonPrefix struct {
		Prefix string `xml:"Prefix"`
	}
	prefix, delim := c.query.Get("prefix"), c.query.Get("delimiter")
	maxKeys := 1000
	if s := c.query.Get("max-keys"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, s3Err(400, "InvalidArgument", "Provided max-keys not an integer or within integer range")
		}
		maxKeys = min(n, 1000)
	}
	after := c.query.Get("start-after")
	token := c.query.Get("continuation-token")
	if token != "" {
		raw, err := hex.DecodeString(token)
		if err != nil {
			return nil, s3Err(400, "InvalidArgument", "The continuation token provided is incorrect")
		}
		after = string(raw)
	}
	out := struct {
		XMLName               xml.Name       `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
		Name                  string         `xml:"Name"`
		Prefix                string         `xml:"Prefix"`
		Delimiter             string         `xml:"Delimiter,omitempty"`
		MaxKeys               int            `xml:"MaxKeys"`
		KeyCount              int            `xml:"KeyCount"`
		IsTruncated           bool           `xml:"IsTruncated"`
		Contents              []content      `xml:"Contents"`
		CommonPrefixes        []commonPrefix `xml:"CommonPrefixes"`
		ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
		NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
		StartAfter            string         `xml:"StartAfter,omitempty"`
	}{Name: b.Name, Prefix: prefix, Delimiter: delim, MaxKeys: maxKeys, ContinuationToken: token, StartAfter: c.query.Get("start-after")}
	keys := sortedKeys(b.Objects)
	seenPrefix := map[string]bool{}
	last := ""
	for _, k := range keys {
		if !strings.HasPrefix(k, prefix) || k <= after {
			continue
		}
		if out.KeyCount >= maxKeys {
			out.IsTruncated = true
			break
		}
		if delim != "" {
			if i := strings.Index(k[len(prefix):], delim); i >= 0 {
				cp := k[:len(prefix)+i+len(delim)]
				if !seenPrefix[cp] {
					seenPrefix[cp] = true
					out.CommonPrefixes = append(out.CommonPrefixes, commonPrefix{cp})
					out.KeyCount++
				}
				last = k
				continue
			}
		}
		o := b.Objects[k]
		out.Contents = append(out.Contents, content{Key: o.Key, LastModified: o.LastModified, ETag: o.ETag, Size: o.Size, StorageClass: "STANDARD"})
		out.KeyCount++
		last = k
	}
	if out.IsTruncated {
		out.NextContinuationToken = hex.EncodeToString([]byte(last))
	}
	return out, nil
}

func s3PutObject(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	key := c.path["Key"]
	if len(key) > 1024 {
		return nil, s3Err(400, "KeyTooLongError", "Your key is too long")
	}
	sum := md5.Sum(c.body)
	if b.Objects == nil {
		b.Objects = map[string]*s3Object{}
	}
	o := &s3Object{Key: key, Size: int64(len(c.body)), ETag: `"` + hex.EncodeToString(sum[:]) + `"`, LastModified: s3now()}
	o.VersionID = b.retireCurrent(key)
	b.Objects[key] = o
	return nil, nil
}

// retireCurrent makes room for a new current version of key and returns
// the new version's id: in a bucket whose versioning was never enabled the
// current object is simply replaced; with versioning enabled it becomes
// noncurrent; while suspended the new version is "null" and replaces an
// earlier "null" version.
func (b *s3Bucket) retireCurrent(key string) string {
	cur, ok := b.Objects[key]
	switch b.Versioning {
	case "":
		return ""
	case "Suspended":
		b.dropVersion(key, "null")
		if ok && cur.VersionID != "null" {
			b.Versions = append(b.Versions, cur)
		}
		return "null"
	}
	if ok {
		b.Versions = append(b.Versions, cur)
	}
	return newVersionID()
}

func (b *s3Bucket) dropVersion(key, id string) {
	kept := b.Versions[:0]
	for _, v := range b.Versions {
		if v.Key != key || v.VersionID != id {
			kept = append(kept, v)
		}
	}
	b.Versions = kept
	if len(b.Versions) == 0 {
		b.Versions = nil
	}
}

// newVersionID makes an S3-shaped version id: 32 URL-safe characters.
func newVersionID() string {
	var raw [24]byte
	_, _ = rand.Read(raw[:])
	return strings.NewReplacer("+", ".", "/", "_").Replace(base64.StdEncoding.EncodeToString(raw[:]))
}

func s3HeadObject(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	if _, ok := b.Objects[c.path["Key"]]; !ok {
		return nil, s3Err(404, "NotFound", "Not Found")
	}
	return nil, nil
}

// s3DeleteObject deletes an object. In a bucket whose versioning was ever
// enabled, a delete without versionId keeps the object's versions and
// adds a delete marker; a delete with versionId removes that version for
// good.
func s3DeleteObject(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	key := c.path["Key"]
	if id := c.query.Get("versionId"); id != "" {
		if cur, ok := b.Objects[key]; ok && cur.VersionID == id {
			delete(b.Objects, key)
		} else {
			b.dropVersion(key, id)
		}
		return restStatus(http.StatusNoContent), nil
	}
	if b.Versioning == "" {
		delete(b.Objects, key)
		return restStatus(http.StatusNoContent), nil
	}
	id := b.retireCurrent(key)
	delete(b.Objects, key)
	b.Versions = append(b.Versions, &s3Object{Key: key, VersionID: id, DeleteMarker: true, LastModified: s3now()})
	return restStatus(http.StatusNoContent), nil
}

func s3ListObjectVersions(c *call) (any, error) {
	b, err := c.bucket()
	if err != nil {
		return nil, err
	}
	type owner struct {
		ID string `xml:"ID"`
	}
	type version struct {
		Key          string `xml:"Key"`
		VersionID    string `xml:"VersionId"`
		IsLatest     bool   `xml:"IsLatest"`
		LastModified string `xml:"LastModified"`
		ETag         string `xml:"ETag,omitempty"`
		Size         *int64 `xml:"Size,omitempty"`
		StorageClass string `xml:"StorageClass,omitempty"`
		Owner        owner  `xml:"Owner"`
	}
	type entry struct {
		XMLName xml.Name
		version
	}
	prefix := c.query.Get("prefix")
	maxKeys := 1000
	if s := c.query.Get("max-keys"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return nil, s3Err(400, "InvalidArgument", "Provided max-keys not an integer or within integer range")
		}
		maxKeys = min(n, 1000)
	}
	out := struct {
		XMLName             xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListVersionsResult"`
		Name                string   `xml:"Name"`
		Prefix              string   `xml:"Prefix"`
		KeyMarker           string   `xml:"KeyMarker"`
		VersionIDMarker     string   `xml:"VersionIdMarker"`
		NextKeyMarker       string   `xml:"NextKeyMarker,omitempty"`
		NextVersionIDMarker string   `xml:"NextVersionIdMarker,omitempty"`
		MaxKeys             int      `xml:"MaxKeys"`
		IsTruncated         bool     `xml:"IsTruncated"`
		Entries             []entry
	}{Name: b.Name, Prefix: prefix, KeyMarker: c.query.Get("key-marker"), VersionIDMarker: c.query.Get("version-id-marker"), MaxKeys: maxKeys}
	all := b.versionsNewestFirst()
	skipping := out.KeyMarker != ""
	for _, v := range all {
		if !strings.HasPrefix(v.Key, prefix) {
			continue
		}
		if skipping {
			if v.Key < out.KeyMarker || (v.Key == out.KeyMarker && out.VersionIDMarker == "") {
				continue
			}
			if v.Key == out.KeyMarker {
				if v.VersionID == out.VersionIDMarker {
					skipping = false
				}
				continue
			}
			skipping = false
		}
		if len(out.Entries) >= maxKeys {
			out.IsTruncated = true
			last := out.Entries[len(out.Entries)-1]
			out.NextKeyMarker, out.NextVersionIDMarker = last.Key, last.VersionID
			break
		}
		e := entry{XMLName: xml.Name{Local: "Version"}, version: version{Key: v.Key, VersionID: orNull(v.VersionID), IsLatest: v.latest,
			LastModified: v.LastModified, Owner: owner{canonicalUserID(c.acct.ID)}}}
		if v.DeleteMarker {
			e.XMLName.Local = "DeleteMarker"
		} else {
			size := v.Size
			e.ETag, e.Size, e.StorageClass = v.ETag, &size, "STANDARD"
		}
		out.Entries = append(out.Entries, e)
	}
	return out, nil
}

type listedVersion struct {
	*s3Object
	latest bool
}

// versionsNewestFirst lists every version and delete marker by key, the
// newest of each key first.
func (b *s3Bucket) versionsNewestFirst() []listedVersion {
	byKey := map[string][]*s3Object{}
	for _, v := range b.Versions {
		byKey[v.Key] = append(byKey[v.Key], v)
	}
	for k, o := range b.Objects {
		byKey[k] = append(byKey[k], o)
	}
	var out []listedVersion
	for _, k := range sortedKeys(byKey) {
		vs := byKey[k]
		for i := len(vs) - 1; i >= 0; i-- {
			out = append(out, listedVersion{vs[i], i == len(vs)-1})
		}
	}
	return out
}

func orNull(id string) string {
	if id == "" {
		return "null"
	}
	return id
}

func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
