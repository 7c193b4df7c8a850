package fakeaws

import (
	"encoding/json"
	"net/http"
)

// Some AWS resources take one configuration write at a time: a write that
// arrives while another is still in progress on the same resource is
// refused, not queued, and the caller is told to try again.
//
//   - S3 answers 409 OperationAborted ("A conflicting conditional
//     operation is currently in progress against this resource") to
//     bucket configuration writes made at once on one bucket, for example
//     PutBucketPolicy with PutPublicAccessBlock (terraform-provider-aws
//     #7628; ansible #67811 for PutBucketPolicy with
//     PutBucketVersioning).
//   - CloudWatch Logs answers 400 OperationAbortedException ("A
//     conflicting operation is currently in progress against this
//     resource") to writes made at once on one log group: metric filters
//     (terraform-provider-aws #7605), subscription filters (#24063) and
//     the retention policy (aws-cdk #17546).
//
// fakeaws holds a resource from a write's arrival until its answer, the
// time its latency stands for; a conflicting write arriving meanwhile
// gets the service's refusal. Reads never conflict.

// conflictErr is the refusal of a write that meets another on the same
// resource, per service.
var conflictErr = map[string]APIError{
	"s3": {Status: http.StatusConflict, Code: "OperationAborted",
		Message: "A conflicting conditional operation is currently in progress against this resource. Please try again."},
	"logs": {Status: http.StatusBadRequest, Code: "OperationAbortedException",
		Message: "A conflicting operation is currently in progress against this resource. Please try again."},
}

// s3BucketWrites are the S3 writes that configure (or create, or delete)
// a bucket as a whole; object writes are not among them.
var s3BucketWrites = map[string]bool{
	"CreateBucket": true, "DeleteBucket": true,
	"PutBucketPolicy": true, "DeleteBucketPolicy": true,
	"PutBucketEncryption": true, "DeleteBucketEncryption": true,
	"PutPublicAccessBlock": true, "DeletePublicAccessBlock": true,
	"PutBucketVersioning":             true,
	"PutBucketLifecycleConfiguration": true, "DeleteBucketLifecycle": true,
	"PutBucketTagging": true, "DeleteBucketTagging": true,
}

// logGroupWrites are the CloudWatch Logs writes on one log group.
var logGroupWrites = map[string]bool{
	"CreateLogGroup": true, "DeleteLogGroup": true,
	"PutRetentionPolicy": true, "DeleteRetentionPolicy": true,
	"PutMetricFilter": true, "DeleteMetricFilter": true,
}

// conflictKey names the resource a call holds while in progress, "" for
// a call that holds none.
func (c *call) conflictKey() string {
	if c.op == nil || !c.op.write {
		return ""
	}
	switch c.svc.name {
	case "s3":
		if s3BucketWrites[c.op.name] && c.path["Bucket"] != "" {
			return "s3/bucket/" + c.path["Bucket"]
		}
	case "logs":
		if !logGroupWrites[c.op.name] {
			return ""
		}
		var in struct {
			LogGroupName string `json:"logGroupName"`
		}
		if json.Unmarshal(c.body, &in) == nil && in.LogGroupName != "" {
			return "logs/" + c.region + "/" + in.LogGroupName
		}
	}
	return ""
}

// hold marks key in progress and returns its release, or the service's
// refusal when another call holds it.
func (s *Server) hold(c *call, key string) (func(), *APIError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.held[key] {
		e := conflictErr[c.svc.name]
		return nil, &e
	}
	s.held[key] = true
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.held, key)
	}, nil
}
